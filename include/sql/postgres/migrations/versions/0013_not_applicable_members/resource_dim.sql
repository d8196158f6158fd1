CREATE TABLE IF NOT EXISTS "dw"."resource_dim" (
  "id" uuid NOT NULL,
  "resource_class" text,
  "operating_system" "dw"."operating_system_type" NOT NULL,
  "executor" "dw"."executor_type" NOT NULL,
  "dw_created_at" timestamptz NOT NULL,
  "dw_updated_at" timestamptz NOT NULL,
  CONSTRAINT "resource_dim_pkey" PRIMARY KEY (id),
  CONSTRAINT "resource_dim_natural_key" UNIQUE NULLS NOT DISTINCT ("resource_class", "operating_system", "executor")
);
COMMENT ON TABLE "dw"."resource_dim" IS 'The distinct (resource_class, operating_system, executor) combinations jobs ran on. resource_class may be NULL (jobs that did not declare one); NULL is a value of the key. (include/config/warehouse/resource_dim.yaml)';
ALTER TABLE "dw"."resource_dim" OWNER TO "dw_owner";
REVOKE ALL ON "dw"."resource_dim" FROM "dw_loader";
GRANT SELECT, INSERT, UPDATE, DELETE ON "dw"."resource_dim" TO "dw_loader";
REVOKE ALL ON "dw"."resource_dim" FROM PUBLIC, "dw_analyst";
GRANT SELECT ON "dw"."resource_dim" TO "dw_analyst";
