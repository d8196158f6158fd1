-- @@ create_table
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
)

-- @@ expected_columns_table
CREATE TEMP TABLE "_dw_expected_organization_dim" (
  "id" uuid NOT NULL,
  "analytics_id" uuid NOT NULL,
  "name" text,
  "vcs_type" text,
  "plan_tier" text,
  "created_at" timestamptz,
  "source_updated_at" timestamptz,
  "dw_created_at" timestamptz NOT NULL,
  "dw_updated_at" timestamptz NOT NULL
) ON COMMIT DROP

-- @@ member_inserts
INSERT INTO "dw"."organization_dim" ("id", "analytics_id", "name", "dw_created_at", "dw_updated_at") SELECT '00000000-0000-0000-0000-000000000000'::uuid, CAST('00000000-0000-0000-0000-000000000000' AS uuid), CAST('Unknown' AS text), '2000-01-01 00:00:00+00'::timestamptz, '2000-01-01 00:00:00+00'::timestamptz WHERE NOT EXISTS (SELECT 1 FROM "dw"."organization_dim" WHERE id = '00000000-0000-0000-0000-000000000000'::uuid) ON CONFLICT DO NOTHING
;
INSERT INTO "dw"."organization_dim" ("id", "analytics_id", "name", "dw_created_at", "dw_updated_at") SELECT '00000000-0000-0000-0000-000000000001'::uuid, CAST('00000000-0000-0000-0000-000000000001' AS uuid), CAST('Not applicable' AS text), '2000-01-01 00:00:00+00'::timestamptz, '2000-01-01 00:00:00+00'::timestamptz WHERE NOT EXISTS (SELECT 1 FROM "dw"."organization_dim" WHERE id = '00000000-0000-0000-0000-000000000001'::uuid) ON CONFLICT DO NOTHING

-- @@ create_stage
CREATE TEMP TABLE "stage" (
  "analytics_id" uuid NOT NULL,
  "name" text,
  "vcs_type" text,
  "plan_tier" text,
  "created_at" timestamptz,
  "source_updated_at" timestamptz NOT NULL
) ON COMMIT DROP

-- @@ copy_stage
COPY "stage" ("analytics_id", "name", "vcs_type", "plan_tier", "created_at", "source_updated_at") FROM STDIN (FORMAT csv, HEADER true)

-- @@ dimension_upsert
WITH src AS (SELECT DISTINCT ON ("s"."analytics_id") "s"."analytics_id", "s"."name", "s"."vcs_type", "s"."plan_tier", "s"."created_at", "s"."source_updated_at" FROM "stage" AS s ORDER BY "s"."analytics_id" ASC, "s"."source_updated_at" DESC NULLS LAST, "s"."name" DESC NULLS LAST, "s"."vcs_type" DESC NULLS LAST, "s"."plan_tier" DESC NULLS LAST, "s"."created_at" DESC NULLS LAST),
u AS (UPDATE "dw"."organization_dim" AS d SET "name" = s."name", "vcs_type" = s."vcs_type", "plan_tier" = s."plan_tier", "created_at" = s."created_at", "source_updated_at" = s."source_updated_at", dw_updated_at = %(loaded_at)s FROM src AS s WHERE "d"."analytics_id" = "s"."analytics_id" AND d.id NOT IN ('00000000-0000-0000-0000-000000000000'::uuid, '00000000-0000-0000-0000-000000000001'::uuid) AND ROW("d"."name", "d"."vcs_type", "d"."plan_tier", "d"."created_at", "d"."source_updated_at") IS DISTINCT FROM ROW("s"."name", "s"."vcs_type", "s"."plan_tier", "s"."created_at", "s"."source_updated_at") AND ("d"."source_updated_at" IS NULL OR "s"."source_updated_at" >= "d"."source_updated_at") RETURNING 1),
i AS (INSERT INTO "dw"."organization_dim" ("id", "analytics_id", "name", "vcs_type", "plan_tier", "created_at", "source_updated_at", "dw_created_at", "dw_updated_at")
  SELECT * FROM (SELECT md5('organization_dim|' || "s"."analytics_id"::text)::uuid AS id, "s"."analytics_id", "s"."name", "s"."vcs_type", "s"."plan_tier", "s"."created_at", "s"."source_updated_at", %(loaded_at)s AS dw_created_at, %(loaded_at)s AS dw_updated_at FROM src AS s
    WHERE NOT EXISTS (SELECT 1 FROM "dw"."organization_dim" AS d WHERE "d"."analytics_id" = "s"."analytics_id")) AS n ORDER BY n.id RETURNING 1)
SELECT (SELECT count(*) FROM i), (SELECT count(*) FROM u)

