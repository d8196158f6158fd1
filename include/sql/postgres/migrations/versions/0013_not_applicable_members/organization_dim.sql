CREATE TABLE IF NOT EXISTS "dw"."organization_dim" (
  "id" uuid NOT NULL,
  "analytics_id" uuid NOT NULL,
  "name" text,
  "vcs_type" text,
  "plan_tier" text,
  "created_at" timestamptz,
  "source_updated_at" timestamptz,
  "dw_created_at" timestamptz NOT NULL,
  "dw_updated_at" timestamptz NOT NULL,
  CONSTRAINT "organization_dim_pkey" PRIMARY KEY (id),
  CONSTRAINT "organization_dim_natural_key" UNIQUE NULLS NOT DISTINCT ("analytics_id")
);
COMMENT ON TABLE "dw"."organization_dim" IS 'One row per organization (MongoDB `organizations`), latest version (SCD1). (include/config/warehouse/organization_dim.yaml)';
ALTER TABLE "dw"."organization_dim" OWNER TO "dw_owner";
REVOKE ALL ON "dw"."organization_dim" FROM "dw_loader";
GRANT SELECT, INSERT, UPDATE, DELETE ON "dw"."organization_dim" TO "dw_loader";
REVOKE ALL ON "dw"."organization_dim" FROM PUBLIC, "dw_analyst";
GRANT SELECT ON "dw"."organization_dim" TO "dw_analyst";
