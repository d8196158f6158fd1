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

-- @@ dimension_upsert
WITH src AS (SELECT DISTINCT ON ("s"."resource_class", "s"."operating_system", "s"."executor") "s"."resource_class", "s"."operating_system", "s"."executor" FROM "stage" AS s ORDER BY "s"."resource_class" ASC, "s"."operating_system" ASC, "s"."executor" ASC),
i AS (INSERT INTO "dw"."resource_dim" ("id", "resource_class", "operating_system", "executor", "dw_created_at", "dw_updated_at")
  SELECT * FROM (SELECT md5('resource_dim|' || coalesce("s"."resource_class"::text,  E'\\N') || '|' || "s"."operating_system"::text || '|' || "s"."executor"::text)::uuid AS id, "s"."resource_class", "s"."operating_system", "s"."executor", %(loaded_at)s AS dw_created_at, %(loaded_at)s AS dw_updated_at FROM src AS s
    WHERE NOT EXISTS (SELECT 1 FROM "dw"."resource_dim" AS d WHERE coalesce("d"."resource_class"::text, '') = coalesce("s"."resource_class"::text, '') AND ("d"."resource_class" IS NULL) = ("s"."resource_class" IS NULL) AND "d"."operating_system" = "s"."operating_system" AND "d"."executor" = "s"."executor")) AS n ORDER BY n.id RETURNING 1)
SELECT (SELECT count(*) FROM i), 0::bigint

