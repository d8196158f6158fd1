CREATE TABLE IF NOT EXISTS "dw"."project_dim" (
  "id" uuid NOT NULL,
  "analytics_id" uuid NOT NULL,
  "organization_analytics_id" uuid,
  "name" text,
  "visibility" "dw"."project_visibility_type" NOT NULL,
  "created_at" timestamptz,
  "source_updated_at" timestamptz,
  "dw_created_at" timestamptz NOT NULL,
  "dw_updated_at" timestamptz NOT NULL,
  CONSTRAINT "project_dim_pkey" PRIMARY KEY (id),
  CONSTRAINT "project_dim_natural_key" UNIQUE NULLS NOT DISTINCT ("analytics_id")
);
COMMENT ON TABLE "dw"."project_dim" IS 'One row per project (MongoDB `projects`), latest version (SCD1). (include/config/warehouse/project_dim.yaml)';
ALTER TABLE "dw"."project_dim" OWNER TO "dw_owner";
REVOKE ALL ON "dw"."project_dim" FROM "dw_loader";
GRANT SELECT, INSERT, UPDATE, DELETE ON "dw"."project_dim" TO "dw_loader";
REVOKE ALL ON "dw"."project_dim" FROM PUBLIC, "dw_analyst";
GRANT SELECT ON "dw"."project_dim" TO "dw_analyst";
