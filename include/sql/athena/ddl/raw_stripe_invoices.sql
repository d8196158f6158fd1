-- raw_stripe_invoices: Stripe /v1/invoices, landed by ingest_stripe (window: partition D holds the invoices created in D).
-- One Parquet object per partition: {{ location }}dt=YYYY-MM-DD/part-00000.parquet; the objects as
-- served are beside it, in raw/stripe/invoices_json/ (docs/decisions/0010-vendor-landing.md).
-- dt_partitioned_parquet (dw.lake_sql): PARTITIONED BY (dt string), Parquet, partition projection on dt.
-- Columns and types follow include/config/sources/stripe.yaml (tests/test_vendor_warehouse.py checks it).
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.raw_stripe_invoices (
  id                      string,  -- never null
  created                 timestamp,  -- unix seconds as served, landed as a UTC timestamp; never null
  customer                string,  -- never null
  subscription            string,
  billing_subscription_id string,  -- stripe field metadata.billing_subscription_id
  billing_reason          string,
  currency                string,  -- never null
  status                  string,  -- never null
  amount_due              bigint,  -- never null
  amount_paid             bigint,  -- never null
  amount_remaining        bigint,
  total                   bigint,
  paid                    boolean,
  number                  string,
  period_start            timestamp,  -- unix seconds as served, landed as a UTC timestamp
  period_end              timestamp  -- unix seconds as served, landed as a UTC timestamp
)
{{ dt_partitioned_parquet }}
