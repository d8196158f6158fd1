-- raw_chargify_customers: Chargify /customers.json, landed by ingest_chargify (window: partition D holds the customers whose updated_at fell in D).
-- One Parquet object per partition: {{ location }}dt=YYYY-MM-DD/part-00000.parquet; the objects as
-- served are beside it, in raw/chargify/customers_json/ (docs/decisions/0010-vendor-landing.md).
-- dt_partitioned_parquet (dw.lake_sql): PARTITIONED BY (dt string), Parquet, partition projection on dt.
-- Columns and types follow include/config/sources/chargify.yaml (tests/test_vendor_warehouse.py checks it).
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.raw_chargify_customers (
  id                        bigint,  -- never null
  organization_analytics_id string,  -- chargify field reference
  organization              string,
  email_hash                string,  -- chargify field email; keyed hash (HMAC-SHA256) of the value
  created_at                timestamp,  -- never null
  updated_at                timestamp  -- never null
)
{{ dt_partitioned_parquet }}
