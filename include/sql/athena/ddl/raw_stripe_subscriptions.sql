-- raw_stripe_subscriptions: Stripe /v1/subscriptions, landed by ingest_stripe (snapshot: partition D holds every subscription created before D+1 00:00 (status=all), as read on the run).
-- One Parquet object per partition: {{ location }}dt=YYYY-MM-DD/part-00000.parquet; the objects as
-- served are beside it, in raw/stripe/subscriptions_json/ (docs/decisions/0010-vendor-landing.md).
-- dt_partitioned_parquet (dw.lake_sql): PARTITIONED BY (dt string), Parquet, partition projection on dt.
-- Columns and types follow include/config/sources/stripe.yaml (tests/test_vendor_warehouse.py checks it).
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.raw_stripe_subscriptions (
  id                      string,  -- never null
  created                 timestamp,  -- unix seconds as served, landed as a UTC timestamp; never null
  customer                string,  -- never null
  status                  string,  -- never null
  currency                string,
  billing_subscription_id string,  -- stripe field metadata.billing_subscription_id
  plan                    string,  -- stripe field metadata.plan
  price_id                string,  -- stripe field items.data.0.price.id
  unit_amount             bigint,  -- stripe field items.data.0.price.unit_amount
  current_period_start    timestamp,  -- unix seconds as served, landed as a UTC timestamp
  current_period_end      timestamp,  -- unix seconds as served, landed as a UTC timestamp
  canceled_at             timestamp,  -- unix seconds as served, landed as a UTC timestamp
  ended_at                timestamp  -- unix seconds as served, landed as a UTC timestamp
)
{{ dt_partitioned_parquet }}
