-- @@ create_table
CREATE TABLE IF NOT EXISTS "dw"."resource_dim" (
  "id" uuid NOT NULL,
  "resource_class" text,
  "operating_system" "dw"."operating_system_type" NOT NULL,
  "executor" "dw"."executor_type" NOT NULL,
  "dw_created_at" timestamptz NOT NULL,
  "dw_updated_at" timestamptz NOT NULL,
  CONSTRAINT "resource_dim_pkey" PRIMARY KEY (id),
  CONSTRAINT "resource_dim_natural_key" UNIQUE NULLS NOT DISTINCT ("resource_class", "operating_system", "executor")
)

-- @@ expected_columns_table
CREATE TEMP TABLE "_dw_expected_resource_dim" (
  "id" uuid NOT NULL,
  "resource_class" text,
  "operating_system" "dw"."operating_system_type" NOT NULL,
  "executor" "dw"."executor_type" NOT NULL,
  "dw_created_at" timestamptz NOT NULL,
  "dw_updated_at" timestamptz NOT NULL
) ON COMMIT DROP

-- @@ member_inserts
INSERT INTO "dw"."resource_dim" ("id", "resource_class", "operating_system", "executor", "dw_created_at", "dw_updated_at") SELECT '00000000-0000-0000-0000-000000000000'::uuid, CAST('unknown' AS text), CAST('unknown' AS "dw"."operating_system_type"), CAST('unknown' AS "dw"."executor_type"), '2000-01-01 00:00:00+00'::timestamptz, '2000-01-01 00:00:00+00'::timestamptz WHERE NOT EXISTS (SELECT 1 FROM "dw"."resource_dim" WHERE id = '00000000-0000-0000-0000-000000000000'::uuid) ON CONFLICT DO NOTHING
;
INSERT INTO "dw"."resource_dim" ("id", "resource_class", "operating_system", "executor", "dw_created_at", "dw_updated_at") SELECT '00000000-0000-0000-0000-000000000001'::uuid, CAST('not_applicable' AS text), CAST('not_applicable' AS "dw"."operating_system_type"), CAST('not_applicable' AS "dw"."executor_type"), '2000-01-01 00:00:00+00'::timestamptz, '2000-01-01 00:00:00+00'::timestamptz WHERE NOT EXISTS (SELECT 1 FROM "dw"."resource_dim" WHERE id = '00000000-0000-0000-0000-000000000001'::uuid) ON CONFLICT DO NOTHING

-- @@ create_stage
CREATE TEMP TABLE "stage" (
  "resource_class" text,
  "operating_system" "dw"."operating_system_type" NOT NULL,
  "executor" "dw"."executor_type" NOT NULL
) ON COMMIT DROP

-- @@ copy_stage
COPY "stage" ("resource_class", "operating_system", "executor") FROM STDIN (FORMAT csv, HEADER true)

-- @@ quarantine.create_raw
CREATE TEMP TABLE "stage_raw" (
  line bigint GENERATED ALWAYS AS IDENTITY (START WITH 2),
  "resource_class" text,
  "operating_system" text,
  "executor" text
) ON COMMIT DROP

-- @@ quarantine.copy_raw
COPY "stage_raw" ("resource_class", "operating_system", "executor") FROM STDIN (FORMAT csv, HEADER true)

-- @@ quarantine.counts
SELECT count(*) FILTER (WHERE "operating_system" IS NULL), count(*) FILTER (WHERE "operating_system" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("operating_system", 'dw.operating_system_type')), count(*) FILTER (WHERE "executor" IS NULL), count(*) FILTER (WHERE "executor" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("executor", 'dw.executor_type')) FROM "stage_raw"

-- @@ quarantine.create_quarantined[every column refused]
CREATE TEMP TABLE "quarantined" ON COMMIT DROP AS
SELECT r.line, %(run_date)s::date AS dt, f.col AS column_name, f.reason, pg_catalog.to_jsonb(r) - 'line' AS record
  FROM "stage_raw" r
  CROSS JOIN LATERAL (SELECT v.col, v.reason FROM (VALUES (1, 'operating_system', CASE WHEN "r"."operating_system" IS NULL THEN 'NULL in a NOT NULL column' END),
    (1, 'operating_system', CASE WHEN "r"."operating_system" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."operating_system", 'dw.operating_system_type') THEN 'not a value of dw.operating_system_type' END),
    (2, 'executor', CASE WHEN "r"."executor" IS NULL THEN 'NULL in a NOT NULL column' END),
    (2, 'executor', CASE WHEN "r"."executor" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."executor", 'dw.executor_type') THEN 'not a value of dw.executor_type' END)) v(i, col, reason)
                       WHERE v.reason IS NOT NULL ORDER BY v.i LIMIT 1) f

-- @@ quarantine.fill_stage[every column refused]
INSERT INTO "stage" ("resource_class", "operating_system", "executor")
SELECT "r"."resource_class"::text, "r"."operating_system"::"dw"."operating_system_type", "r"."executor"::"dw"."executor_type"
  FROM "stage_raw" r
 WHERE NOT EXISTS (SELECT FROM "quarantined" q WHERE q.line = r.line)

-- @@ quarantine.fill_stage[nullable columns discard_value]
INSERT INTO "stage" ("resource_class", "operating_system", "executor")
SELECT "r"."resource_class"::text, "r"."operating_system"::"dw"."operating_system_type", "r"."executor"::"dw"."executor_type"
  FROM "stage_raw" r
 WHERE NOT EXISTS (SELECT FROM "quarantined" q WHERE q.line = r.line)

-- @@ dimension_upsert
WITH src AS (SELECT DISTINCT ON ("s"."resource_class", "s"."operating_system", "s"."executor") "s"."resource_class", "s"."operating_system", "s"."executor" FROM "stage" AS s ORDER BY "s"."resource_class" ASC, "s"."operating_system" ASC, "s"."executor" ASC),
i AS (INSERT INTO "dw"."resource_dim" ("id", "resource_class", "operating_system", "executor", "dw_created_at", "dw_updated_at")
  SELECT * FROM (SELECT md5('resource_dim|' || coalesce("s"."resource_class"::text,  E'\\N') || '|' || "s"."operating_system"::text || '|' || "s"."executor"::text)::uuid AS id, "s"."resource_class", "s"."operating_system", "s"."executor", %(loaded_at)s AS dw_created_at, %(loaded_at)s AS dw_updated_at FROM src AS s
    WHERE NOT EXISTS (SELECT 1 FROM "dw"."resource_dim" AS d WHERE coalesce("d"."resource_class"::text, '') = coalesce("s"."resource_class"::text, '') AND ("d"."resource_class" IS NULL) = ("s"."resource_class" IS NULL) AND "d"."operating_system" = "s"."operating_system" AND "d"."executor" = "s"."executor")) AS n ORDER BY n.id RETURNING 1)
SELECT (SELECT count(*) FROM i), 0::bigint

