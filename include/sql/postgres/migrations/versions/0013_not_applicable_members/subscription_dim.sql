CREATE TABLE IF NOT EXISTS "dw"."subscription_dim" (
  "id" uuid NOT NULL,
  "subscription_id" text NOT NULL,
  "organization_analytics_id" uuid,
  "product_handle" text,
  "state" text,
  "source_updated_at" timestamptz,
  "valid_from" timestamptz NOT NULL,
  "valid_to" timestamptz NOT NULL,
  "is_current" boolean NOT NULL,
  "dw_created_at" timestamptz NOT NULL,
  "dw_updated_at" timestamptz NOT NULL,
  CONSTRAINT "subscription_dim_pkey" PRIMARY KEY (id),
  CONSTRAINT "subscription_dim_version_key" UNIQUE NULLS NOT DISTINCT ("subscription_id", valid_from),
  CONSTRAINT "subscription_dim_valid_range" CHECK (valid_from < valid_to)
);
CREATE UNIQUE INDEX IF NOT EXISTS "subscription_dim_current_key" ON "dw"."subscription_dim" ("subscription_id") NULLS NOT DISTINCT WHERE is_current;
COMMENT ON TABLE "dw"."subscription_dim" IS 'Billing subscriptions (Chargify), SCD2: a plan change (product_handle) or a state change opens a new version at the subscription''s updated_at and closes the previous one. Fed by the subscriptions whose updated_at fell in the run''s day; a re-run of an earlier day is older than the current version and creates nothing. (include/config/warehouse/subscription_dim.yaml)';
ALTER TABLE "dw"."subscription_dim" OWNER TO "dw_owner";
REVOKE ALL ON "dw"."subscription_dim" FROM "dw_loader";
GRANT SELECT, INSERT, UPDATE, DELETE ON "dw"."subscription_dim" TO "dw_loader";
REVOKE ALL ON "dw"."subscription_dim" FROM PUBLIC, "dw_analyst";
GRANT SELECT ON "dw"."subscription_dim" TO "dw_analyst";
