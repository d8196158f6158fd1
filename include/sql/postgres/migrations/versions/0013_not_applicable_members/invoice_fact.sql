CREATE TABLE IF NOT EXISTS "dw"."invoice_fact" (
  "date" date NOT NULL,
  "organization_id" uuid NOT NULL,
  "subscription_id" uuid NOT NULL,
  "currency" text NOT NULL,
  "status" text NOT NULL,
  "invoices" bigint,
  "amount_due" bigint,
  "amount_paid" bigint,
  "amount_refunded" bigint,
  "dw_updated_at" timestamptz NOT NULL,
  CONSTRAINT "invoice_fact_pkey" PRIMARY KEY ("date", "organization_id", "subscription_id", "currency", "status")
) PARTITION BY RANGE ("date");
CREATE TABLE IF NOT EXISTS "dw"."invoice_fact_p_before" PARTITION OF "dw"."invoice_fact" FOR VALUES FROM (MINVALUE) TO ('2000-01-01'::date);
REVOKE ALL ON "dw"."invoice_fact_p_before" FROM PUBLIC, "dw_analyst", "dw_loader";
GRANT SELECT, INSERT, UPDATE, DELETE ON "dw"."invoice_fact_p_before" TO "dw_loader";
COMMENT ON TABLE "dw"."invoice_fact" IS 'Stripe invoices per day (UTC date of created) and grain; amounts in integer minor units of the currency, as Stripe sends them. amount_refunded is the refunds on the invoices'' charges (charges created with the invoice, in the same day''s partition). Invoices are finalized when created, so a day''s partition is the whole date. (include/config/warehouse/invoice_fact.yaml)';
ALTER TABLE "dw"."invoice_fact" OWNER TO "dw_owner";
ALTER TABLE "dw"."invoice_fact_p_before" OWNER TO "dw_owner";
REVOKE ALL ON "dw"."invoice_fact" FROM "dw_loader";
GRANT SELECT, INSERT, UPDATE, DELETE ON "dw"."invoice_fact" TO "dw_loader";
REVOKE ALL ON "dw"."invoice_fact" FROM PUBLIC, "dw_analyst";
GRANT SELECT ON "dw"."invoice_fact" TO "dw_analyst";
