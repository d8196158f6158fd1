-- raw_stripe_charges: Stripe /v1/charges, landed by ingest_stripe (window: partition D holds the charges created in D).
-- One Parquet object per partition: {{ location }}dt=YYYY-MM-DD/part-00000.parquet; the objects as
-- served are beside it, in raw/stripe/charges_json/ (docs/decisions/0010-vendor-landing.md).
-- dt_partitioned_parquet (dw.lake_sql): PARTITIONED BY (dt string), Parquet, partition projection on dt.
-- Columns and types follow include/config/sources/stripe.yaml (tests/test_vendor_warehouse.py checks it).
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.raw_stripe_charges (
  id              string,  -- never null
  created         timestamp,  -- unix seconds as served, landed as a UTC timestamp; never null
  customer        string,
  invoice         string,
  currency        string,  -- never null
  amount          bigint,  -- never null
  amount_captured bigint,
  amount_refunded bigint,  -- never null
  status          string,  -- never null
  paid            boolean,
  refunded        boolean,
  captured        boolean,
  failure_code    string
)
{{ dt_partitioned_parquet }}
