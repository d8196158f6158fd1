CREATE TABLE IF NOT EXISTS "dw"."user_dim" (
  "id" uuid NOT NULL,
  "analytics_id" uuid NOT NULL,
  "login" text,
  "email_hash" text,
  "created_at" timestamptz,
  "source_updated_at" timestamptz,
  "dw_created_at" timestamptz NOT NULL,
  "dw_updated_at" timestamptz NOT NULL,
  CONSTRAINT "user_dim_pkey" PRIMARY KEY (id),
  CONSTRAINT "user_dim_natural_key" UNIQUE NULLS NOT DISTINCT ("analytics_id")
);
COMMENT ON TABLE "dw"."user_dim" IS 'One row per user (MongoDB `users`), latest version (SCD1). The email is kept only as a keyed HMAC-SHA256 hash (email_hash), computed before the data reaches the lake; the analyst role cannot read that column. (include/config/warehouse/user_dim.yaml)';
ALTER TABLE "dw"."user_dim" OWNER TO "dw_owner";
REVOKE ALL ON "dw"."user_dim" FROM "dw_loader";
GRANT SELECT, INSERT, UPDATE, DELETE ON "dw"."user_dim" TO "dw_loader";
REVOKE ALL ON "dw"."user_dim" FROM PUBLIC, "dw_analyst";
REVOKE ALL ("email_hash") ON "dw"."user_dim" FROM "dw_analyst";
GRANT SELECT ("id", "analytics_id", "login", "created_at", "source_updated_at", "dw_created_at", "dw_updated_at") ON "dw"."user_dim" TO "dw_analyst";
