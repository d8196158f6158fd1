-- raw_stripe_customers: Stripe /v1/customers, landed by ingest_stripe (snapshot: partition D holds every customer created before D+1 00:00, as read on the run).
-- One Parquet object per partition: {{ location }}dt=YYYY-MM-DD/part-00000.parquet; the objects as
-- served are beside it, in raw/stripe/customers_json/ (docs/decisions/0010-vendor-landing.md).
-- dt_partitioned_parquet (dw.lake_sql): PARTITIONED BY (dt string), Parquet, partition projection on dt.
-- Columns and types follow include/config/sources/stripe.yaml (tests/test_vendor_warehouse.py checks it).
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.raw_stripe_customers (
  id                        string,  -- never null
  created                   timestamp,  -- unix seconds as served, landed as a UTC timestamp; never null
  organization_analytics_id string,  -- stripe field metadata.analytics_id
  billing_subscription_id   string,  -- stripe field metadata.billing_subscription_id
  name                      string,
  email_hash                string,  -- stripe field email; keyed hash (HMAC-SHA256) of the value
  currency                  string,
  delinquent                boolean,
  livemode                  boolean
)
{{ dt_partitioned_parquet }}
