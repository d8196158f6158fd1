-- raw_chargify_subscriptions: Chargify /subscriptions.json, landed by ingest_chargify (window: partition D holds the subscriptions whose updated_at fell in D, as they stood then).
-- One Parquet object per partition: {{ location }}dt=YYYY-MM-DD/part-00000.parquet; the objects as
-- served are beside it, in raw/chargify/subscriptions_json/ (docs/decisions/0010-vendor-landing.md).
-- dt_partitioned_parquet (dw.lake_sql): PARTITIONED BY (dt string), Parquet, partition projection on dt.
-- Columns and types follow include/config/sources/chargify.yaml (tests/test_vendor_warehouse.py checks it).
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.raw_chargify_subscriptions (
  id                        bigint,  -- never null
  state                     string,  -- never null
  product_handle            string,  -- chargify field product.handle; never null
  product_price_in_cents    bigint,  -- chargify field product.price_in_cents
  customer_id               bigint,  -- chargify field customer.id
  organization_analytics_id string,  -- chargify field customer.reference
  created_at                timestamp,  -- never null
  updated_at                timestamp,  -- never null
  activated_at              timestamp,
  canceled_at               timestamp,
  current_period_ends_at    timestamp
)
{{ dt_partitioned_parquet }}
