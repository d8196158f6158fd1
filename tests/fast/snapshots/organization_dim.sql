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

-- @@ quarantine.create_raw
CREATE TEMP TABLE "stage_raw" (
  line bigint GENERATED ALWAYS AS IDENTITY (START WITH 2),
  "analytics_id" text,
  "name" text,
  "vcs_type" text,
  "plan_tier" text,
  "created_at" text,
  "source_updated_at" text
) ON COMMIT DROP

-- @@ quarantine.copy_raw
COPY "stage_raw" ("analytics_id", "name", "vcs_type", "plan_tier", "created_at", "source_updated_at") FROM STDIN (FORMAT csv, HEADER true)

-- @@ quarantine.counts
SELECT count(*) FILTER (WHERE "analytics_id" IS NULL), count(*) FILTER (WHERE "analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("analytics_id", 'uuid')), count(*) FILTER (WHERE "created_at" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("created_at", 'timestamptz')), count(*) FILTER (WHERE "source_updated_at" IS NULL), count(*) FILTER (WHERE "source_updated_at" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("source_updated_at", 'timestamptz')) FROM "stage_raw"

-- @@ quarantine.create_quarantined[every column refused]
CREATE TEMP TABLE "quarantined" ON COMMIT DROP AS
SELECT r.line, %(run_date)s::date AS dt, f.col AS column_name, f.reason, pg_catalog.to_jsonb(r) - 'line' AS record
  FROM "stage_raw" r
  CROSS JOIN LATERAL (SELECT v.col, v.reason FROM (VALUES (0, 'analytics_id', CASE WHEN "r"."analytics_id" IS NULL THEN 'NULL in a NOT NULL column' END),
    (0, 'analytics_id', CASE WHEN "r"."analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."analytics_id", 'uuid') THEN 'not a valid uuid' END),
    (4, 'created_at', CASE WHEN "r"."created_at" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."created_at", 'timestamptz') THEN 'not a valid timestamptz' END),
    (5, 'source_updated_at', CASE WHEN "r"."source_updated_at" IS NULL THEN 'NULL in a NOT NULL column' END),
    (5, 'source_updated_at', CASE WHEN "r"."source_updated_at" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."source_updated_at", 'timestamptz') THEN 'not a valid timestamptz' END)) v(i, col, reason)
                       WHERE v.reason IS NOT NULL ORDER BY v.i LIMIT 1) f

-- @@ quarantine.fill_stage[every column refused]
INSERT INTO "stage" ("analytics_id", "name", "vcs_type", "plan_tier", "created_at", "source_updated_at")
SELECT "r"."analytics_id"::uuid, "r"."name"::text, "r"."vcs_type"::text, "r"."plan_tier"::text, "r"."created_at"::timestamptz, "r"."source_updated_at"::timestamptz
  FROM "stage_raw" r
 WHERE NOT EXISTS (SELECT FROM "quarantined" q WHERE q.line = r.line)

-- @@ quarantine.fill_stage[nullable columns discard_value]
INSERT INTO "stage" ("analytics_id", "name", "vcs_type", "plan_tier", "created_at", "source_updated_at")
SELECT "r"."analytics_id"::uuid, "r"."name"::text, "r"."vcs_type"::text, "r"."plan_tier"::text, CASE WHEN pg_catalog.pg_input_is_valid("r"."created_at", 'timestamptz') THEN "r"."created_at"::timestamptz END, "r"."source_updated_at"::timestamptz
  FROM "stage_raw" r
 WHERE NOT EXISTS (SELECT FROM "quarantined" q WHERE q.line = r.line)

-- @@ dimension_upsert
WITH src AS (SELECT DISTINCT ON ("s"."analytics_id") "s"."analytics_id", "s"."name", "s"."vcs_type", "s"."plan_tier", "s"."created_at", "s"."source_updated_at" FROM "stage" AS s ORDER BY "s"."analytics_id" ASC, "s"."source_updated_at" DESC NULLS LAST, "s"."name" DESC NULLS LAST, "s"."vcs_type" DESC NULLS LAST, "s"."plan_tier" DESC NULLS LAST, "s"."created_at" DESC NULLS LAST),
u AS (UPDATE "dw"."organization_dim" AS d SET "name" = s."name", "vcs_type" = s."vcs_type", "plan_tier" = s."plan_tier", "created_at" = s."created_at", "source_updated_at" = s."source_updated_at", dw_updated_at = %(loaded_at)s FROM src AS s WHERE "d"."analytics_id" = "s"."analytics_id" AND d.id NOT IN ('00000000-0000-0000-0000-000000000000'::uuid, '00000000-0000-0000-0000-000000000001'::uuid) AND ROW("d"."name", "d"."vcs_type", "d"."plan_tier", "d"."created_at", "d"."source_updated_at") IS DISTINCT FROM ROW("s"."name", "s"."vcs_type", "s"."plan_tier", "s"."created_at", "s"."source_updated_at") AND ("d"."source_updated_at" IS NULL OR "s"."source_updated_at" >= "d"."source_updated_at") RETURNING 1),
i AS (INSERT INTO "dw"."organization_dim" ("id", "analytics_id", "name", "vcs_type", "plan_tier", "created_at", "source_updated_at", "dw_created_at", "dw_updated_at")
  SELECT * FROM (SELECT md5('organization_dim|' || "s"."analytics_id"::text)::uuid AS id, "s"."analytics_id", "s"."name", "s"."vcs_type", "s"."plan_tier", "s"."created_at", "s"."source_updated_at", %(loaded_at)s AS dw_created_at, %(loaded_at)s AS dw_updated_at FROM src AS s
    WHERE NOT EXISTS (SELECT 1 FROM "dw"."organization_dim" AS d WHERE "d"."analytics_id" = "s"."analytics_id")) AS n ORDER BY n.id RETURNING 1)
SELECT (SELECT count(*) FROM i), (SELECT count(*) FROM u)

