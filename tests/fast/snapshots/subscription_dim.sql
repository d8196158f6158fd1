-- @@ create_table
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
)
;
CREATE UNIQUE INDEX IF NOT EXISTS "subscription_dim_current_key" ON "dw"."subscription_dim" ("subscription_id") NULLS NOT DISTINCT WHERE is_current

-- @@ expected_columns_table
CREATE TEMP TABLE "_dw_expected_subscription_dim" (
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
  "dw_updated_at" timestamptz NOT NULL
) ON COMMIT DROP

-- @@ member_inserts
INSERT INTO "dw"."subscription_dim" ("id", "subscription_id", "product_handle", "state", "valid_from", "valid_to", "is_current", "dw_created_at", "dw_updated_at") SELECT '00000000-0000-0000-0000-000000000000'::uuid, CAST('unknown' AS text), CAST('unknown' AS text), CAST('unknown' AS text), '-infinity'::timestamptz, 'infinity'::timestamptz, true, '2000-01-01 00:00:00+00'::timestamptz, '2000-01-01 00:00:00+00'::timestamptz WHERE NOT EXISTS (SELECT 1 FROM "dw"."subscription_dim" WHERE id = '00000000-0000-0000-0000-000000000000'::uuid) ON CONFLICT DO NOTHING
;
INSERT INTO "dw"."subscription_dim" ("id", "subscription_id", "product_handle", "state", "valid_from", "valid_to", "is_current", "dw_created_at", "dw_updated_at") SELECT '00000000-0000-0000-0000-000000000001'::uuid, CAST('not_applicable' AS text), CAST('not_applicable' AS text), CAST('not_applicable' AS text), '-infinity'::timestamptz, 'infinity'::timestamptz, true, '2000-01-01 00:00:00+00'::timestamptz, '2000-01-01 00:00:00+00'::timestamptz WHERE NOT EXISTS (SELECT 1 FROM "dw"."subscription_dim" WHERE id = '00000000-0000-0000-0000-000000000001'::uuid) ON CONFLICT DO NOTHING

-- @@ create_stage
CREATE TEMP TABLE "stage" (
  "subscription_id" text NOT NULL,
  "organization_analytics_id" uuid,
  "product_handle" text,
  "state" text,
  "source_updated_at" timestamptz NOT NULL
) ON COMMIT DROP

-- @@ copy_stage
COPY "stage" ("subscription_id", "organization_analytics_id", "product_handle", "state", "source_updated_at") FROM STDIN (FORMAT csv, HEADER true)

-- @@ quarantine.create_raw
CREATE TEMP TABLE "stage_raw" (
  line bigint GENERATED ALWAYS AS IDENTITY (START WITH 2),
  "subscription_id" text,
  "organization_analytics_id" text,
  "product_handle" text,
  "state" text,
  "source_updated_at" text
) ON COMMIT DROP

-- @@ quarantine.copy_raw
COPY "stage_raw" ("subscription_id", "organization_analytics_id", "product_handle", "state", "source_updated_at") FROM STDIN (FORMAT csv, HEADER true)

-- @@ quarantine.counts
SELECT count(*) FILTER (WHERE "subscription_id" IS NULL), count(*) FILTER (WHERE "organization_analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("organization_analytics_id", 'uuid')), count(*) FILTER (WHERE "source_updated_at" IS NULL), count(*) FILTER (WHERE "source_updated_at" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("source_updated_at", 'timestamptz')) FROM "stage_raw"

-- @@ quarantine.create_quarantined[every column refused]
CREATE TEMP TABLE "quarantined" ON COMMIT DROP AS
SELECT r.line, %(run_date)s::date AS dt, f.col AS column_name, f.reason, pg_catalog.to_jsonb(r) - 'line' AS record
  FROM "stage_raw" r
  CROSS JOIN LATERAL (SELECT v.col, v.reason FROM (VALUES (0, 'subscription_id', CASE WHEN "r"."subscription_id" IS NULL THEN 'NULL in a NOT NULL column' END),
    (1, 'organization_analytics_id', CASE WHEN "r"."organization_analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."organization_analytics_id", 'uuid') THEN 'not a valid uuid' END),
    (4, 'source_updated_at', CASE WHEN "r"."source_updated_at" IS NULL THEN 'NULL in a NOT NULL column' END),
    (4, 'source_updated_at', CASE WHEN "r"."source_updated_at" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."source_updated_at", 'timestamptz') THEN 'not a valid timestamptz' END)) v(i, col, reason)
                       WHERE v.reason IS NOT NULL ORDER BY v.i LIMIT 1) f

-- @@ quarantine.fill_stage[every column refused]
INSERT INTO "stage" ("subscription_id", "organization_analytics_id", "product_handle", "state", "source_updated_at")
SELECT "r"."subscription_id"::text, "r"."organization_analytics_id"::uuid, "r"."product_handle"::text, "r"."state"::text, "r"."source_updated_at"::timestamptz
  FROM "stage_raw" r
 WHERE NOT EXISTS (SELECT FROM "quarantined" q WHERE q.line = r.line)

-- @@ quarantine.fill_stage[nullable columns discard_value]
INSERT INTO "stage" ("subscription_id", "organization_analytics_id", "product_handle", "state", "source_updated_at")
SELECT "r"."subscription_id"::text, CASE WHEN pg_catalog.pg_input_is_valid("r"."organization_analytics_id", 'uuid') THEN "r"."organization_analytics_id"::uuid END, "r"."product_handle"::text, "r"."state"::text, "r"."source_updated_at"::timestamptz
  FROM "stage_raw" r
 WHERE NOT EXISTS (SELECT FROM "quarantined" q WHERE q.line = r.line)

-- @@ create_observations
CREATE TABLE "dw"."subscription_dim_observations" (
  dt date,
  "subscription_id" text NOT NULL,
  "organization_analytics_id" uuid,
  "product_handle" text,
  "state" text,
  "source_updated_at" timestamptz NOT NULL
)
;
CREATE INDEX "subscription_dim_observations_key" ON "dw"."subscription_dim_observations" ("subscription_id")
;
CREATE INDEX "subscription_dim_observations_dt" ON "dw"."subscription_dim_observations" (dt)
;
INSERT INTO "dw"."subscription_dim_observations" ("subscription_id", "organization_analytics_id", "product_handle", "state", "source_updated_at") SELECT "v"."subscription_id", "v"."organization_analytics_id", "v"."product_handle", "v"."state", "v"."source_updated_at" FROM "dw"."subscription_dim" AS v WHERE v.id NOT IN ('00000000-0000-0000-0000-000000000000'::uuid, '00000000-0000-0000-0000-000000000001'::uuid)
UNION SELECT "v"."subscription_id", "v"."organization_analytics_id", "v"."product_handle", "v"."state", v.valid_from FROM "dw"."subscription_dim" AS v WHERE v.id NOT IN ('00000000-0000-0000-0000-000000000000'::uuid, '00000000-0000-0000-0000-000000000001'::uuid) AND v.valid_from > '-infinity'

-- @@ scd2_observe
CREATE TEMP TABLE "scd2_keys" ON COMMIT DROP AS
SELECT "subscription_id" FROM "dw"."subscription_dim_observations" WHERE dt = %(run_date)s::date UNION SELECT "subscription_id" FROM "stage"
;
DELETE FROM "dw"."subscription_dim_observations" WHERE dt = %(run_date)s::date
;
INSERT INTO "dw"."subscription_dim_observations" (dt, "subscription_id", "organization_analytics_id", "product_handle", "state", "source_updated_at") SELECT DISTINCT %(run_date)s::date, "subscription_id", "organization_analytics_id", "product_handle", "state", "source_updated_at" FROM "stage"
;
DELETE FROM "stage"
;
INSERT INTO "stage" ("subscription_id", "organization_analytics_id", "product_handle", "state", "source_updated_at") SELECT "o"."subscription_id", "o"."organization_analytics_id", "o"."product_handle", "o"."state", "o"."source_updated_at" FROM "dw"."subscription_dim_observations" AS o
WHERE EXISTS (SELECT 1 FROM "scd2_keys" AS k WHERE "k"."subscription_id" = "o"."subscription_id")

-- @@ scd2_statements[obs]
CREATE TEMP TABLE "scd2_obs" ON COMMIT DROP AS
SELECT DISTINCT ON ("subscription_id", "source_updated_at") "s"."subscription_id", "s"."organization_analytics_id", "s"."product_handle", "s"."state", "s"."source_updated_at" FROM "stage" AS s
WHERE NOT EXISTS (SELECT 1 FROM "dw"."subscription_dim" AS u WHERE u.id IN ('00000000-0000-0000-0000-000000000000'::uuid, '00000000-0000-0000-0000-000000000001'::uuid) AND "u"."subscription_id" = "s"."subscription_id")
ORDER BY "subscription_id" ASC, "source_updated_at" ASC, "organization_analytics_id" DESC NULLS LAST, "product_handle" DESC NULLS LAST, "state" DESC NULLS LAST

-- @@ scd2_statements[versions]
CREATE TEMP TABLE "scd2_versions" ON COMMIT DROP AS
WITH marked AS (
  SELECT o.*, ROW("product_handle", "state") IS DISTINCT FROM lag(ROW("product_handle", "state")) OVER (PARTITION BY "subscription_id" ORDER BY "source_updated_at") AS dw_starts
  FROM "scd2_obs" AS o),
numbered AS (
  SELECT m.*, sum(CASE WHEN m.dw_starts THEN 1 ELSE 0 END)
    OVER (PARTITION BY "subscription_id" ORDER BY "source_updated_at" ROWS UNBOUNDED PRECEDING) AS dw_version
  FROM marked AS m),
latest AS (
  SELECT DISTINCT ON ("subscription_id", dw_version) n.*, min("source_updated_at") OVER (PARTITION BY "subscription_id", dw_version) AS dw_started
  FROM numbered AS n ORDER BY "subscription_id", dw_version, "source_updated_at" DESC),
bounded AS (
  SELECT l.*, CASE WHEN l.dw_version = 1 THEN '-infinity'::timestamptz ELSE l.dw_started END AS valid_from,
    coalesce(lead(l.dw_started) OVER (PARTITION BY "subscription_id" ORDER BY l.dw_version), 'infinity'::timestamptz) AS valid_to
  FROM latest AS l)
SELECT md5('subscription_dim|' || "b"."subscription_id"::text || '|' || (b.valid_from)::text)::uuid AS id, "b"."subscription_id", "b"."organization_analytics_id", "b"."product_handle", "b"."state", "b"."source_updated_at", b.valid_from, b.valid_to, b.valid_to = 'infinity'::timestamptz AS is_current
FROM bounded AS b

-- @@ scd2_statements[delete]
WITH w AS (DELETE FROM "dw"."subscription_dim" AS d USING (SELECT DISTINCT "subscription_id" FROM "scd2_versions") AS v
  WHERE "v"."subscription_id" = "d"."subscription_id" AND d.id NOT IN ('00000000-0000-0000-0000-000000000000'::uuid, '00000000-0000-0000-0000-000000000001'::uuid)
  AND d.id NOT IN (SELECT k.id FROM "scd2_versions" AS k) RETURNING 1)
SELECT count(*) FROM w

-- @@ scd2_statements[close]
WITH w AS (UPDATE "dw"."subscription_dim" AS d SET "organization_analytics_id" = v."organization_analytics_id", "product_handle" = v."product_handle", "state" = v."state", "source_updated_at" = v."source_updated_at", "valid_to" = v."valid_to", "is_current" = v."is_current", dw_updated_at = %(loaded_at)s
  FROM "scd2_versions" AS v WHERE d.id = v.id AND v.is_current = false AND ROW("d"."organization_analytics_id", "d"."product_handle", "d"."state", "d"."source_updated_at", "d"."valid_to", "d"."is_current") IS DISTINCT FROM ROW("v"."organization_analytics_id", "v"."product_handle", "v"."state", "v"."source_updated_at", "v"."valid_to", "v"."is_current")
  RETURNING 1)
SELECT count(*) FROM w

-- @@ scd2_statements[update]
WITH w AS (UPDATE "dw"."subscription_dim" AS d SET "organization_analytics_id" = v."organization_analytics_id", "product_handle" = v."product_handle", "state" = v."state", "source_updated_at" = v."source_updated_at", "valid_to" = v."valid_to", "is_current" = v."is_current", dw_updated_at = %(loaded_at)s
  FROM "scd2_versions" AS v WHERE d.id = v.id AND v.is_current = true AND ROW("d"."organization_analytics_id", "d"."product_handle", "d"."state", "d"."source_updated_at", "d"."valid_to", "d"."is_current") IS DISTINCT FROM ROW("v"."organization_analytics_id", "v"."product_handle", "v"."state", "v"."source_updated_at", "v"."valid_to", "v"."is_current")
  RETURNING 1)
SELECT count(*) FROM w

-- @@ scd2_statements[open]
WITH w AS (INSERT INTO "dw"."subscription_dim" (id, "subscription_id", "organization_analytics_id", "product_handle", "state", "source_updated_at", valid_from, valid_to, is_current, dw_created_at, dw_updated_at)
  SELECT v.id, "v"."subscription_id", "v"."organization_analytics_id", "v"."product_handle", "v"."state", "v"."source_updated_at", v.valid_from, v.valid_to, v.is_current, %(loaded_at)s, %(loaded_at)s
  FROM "scd2_versions" AS v WHERE NOT EXISTS (SELECT 1 FROM "dw"."subscription_dim" AS d WHERE d.id = v.id) RETURNING 1)
SELECT count(*) FROM w

