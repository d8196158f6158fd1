-- @@ create_table
CREATE TABLE IF NOT EXISTS "dw"."job_ran_fact" (
  "date" date NOT NULL,
  "organization_id" uuid NOT NULL,
  "project_id" uuid NOT NULL,
  "user_id" uuid NOT NULL,
  "resource_id" uuid NOT NULL,
  "subscription_id" uuid NOT NULL,
  "project_visibility" "dw"."project_visibility_type" NOT NULL,
  "outcome" "dw"."job_outcome_type" NOT NULL,
  "dlc" boolean NOT NULL,
  "jobs_ran" bigint,
  "credits_used" bigint,
  "dlc_credits_used" bigint,
  "minutes_used" numeric(18, 3),
  "dw_updated_at" timestamptz NOT NULL,
  CONSTRAINT "job_ran_fact_pkey" PRIMARY KEY ("date", "organization_id", "project_id", "user_id", "resource_id", "subscription_id", "project_visibility", "outcome", "dlc")
) PARTITION BY RANGE ("date")
;
CREATE TABLE IF NOT EXISTS "dw"."job_ran_fact_p_before" PARTITION OF "dw"."job_ran_fact" FOR VALUES FROM (MINVALUE) TO ('2000-01-01'::date)
;
REVOKE ALL ON "dw"."job_ran_fact_p_before" FROM PUBLIC, "dw_analyst", "dw_loader"
;
GRANT SELECT, INSERT, UPDATE, DELETE ON "dw"."job_ran_fact_p_before" TO "dw_loader"

-- @@ expected_columns_table
CREATE TEMP TABLE "_dw_expected_job_ran_fact" (
  "date" date NOT NULL,
  "organization_id" uuid NOT NULL,
  "project_id" uuid NOT NULL,
  "user_id" uuid NOT NULL,
  "resource_id" uuid NOT NULL,
  "subscription_id" uuid NOT NULL,
  "project_visibility" "dw"."project_visibility_type" NOT NULL,
  "outcome" "dw"."job_outcome_type" NOT NULL,
  "dlc" boolean NOT NULL,
  "jobs_ran" bigint,
  "credits_used" bigint,
  "dlc_credits_used" bigint,
  "minutes_used" numeric(18, 3),
  "dw_updated_at" timestamptz NOT NULL
) ON COMMIT DROP

-- @@ member_inserts
(none)

-- @@ create_stage
CREATE TEMP TABLE "stage" (
  "date" date NOT NULL,
  "organization_analytics_id" uuid,
  "project_analytics_id" uuid,
  "user_analytics_id" uuid,
  "subscription_billing_id" text,
  "resource_class" text,
  "operating_system" "dw"."operating_system_type",
  "executor" "dw"."executor_type",
  "project_visibility" "dw"."project_visibility_type" NOT NULL,
  "outcome" "dw"."job_outcome_type" NOT NULL,
  "dlc" boolean NOT NULL,
  "jobs_ran" bigint NOT NULL,
  "credits_used" bigint,
  "dlc_credits_used" bigint,
  "minutes_used" numeric(18, 3)
) ON COMMIT DROP

-- @@ copy_stage
COPY "stage" ("date", "organization_analytics_id", "project_analytics_id", "user_analytics_id", "subscription_billing_id", "resource_class", "operating_system", "executor", "project_visibility", "outcome", "dlc", "jobs_ran", "credits_used", "dlc_credits_used", "minutes_used") FROM STDIN (FORMAT csv, HEADER true)

-- @@ quarantine.create_raw
CREATE TEMP TABLE "stage_raw" (
  line bigint GENERATED ALWAYS AS IDENTITY (START WITH 2),
  "date" text,
  "organization_analytics_id" text,
  "project_analytics_id" text,
  "user_analytics_id" text,
  "subscription_billing_id" text,
  "resource_class" text,
  "operating_system" text,
  "executor" text,
  "project_visibility" text,
  "outcome" text,
  "dlc" text,
  "jobs_ran" text,
  "credits_used" text,
  "dlc_credits_used" text,
  "minutes_used" text
) ON COMMIT DROP

-- @@ quarantine.copy_raw
COPY "stage_raw" ("date", "organization_analytics_id", "project_analytics_id", "user_analytics_id", "subscription_billing_id", "resource_class", "operating_system", "executor", "project_visibility", "outcome", "dlc", "jobs_ran", "credits_used", "dlc_credits_used", "minutes_used") FROM STDIN (FORMAT csv, HEADER true)

-- @@ quarantine.counts
SELECT count(*) FILTER (WHERE "date" IS NULL), count(*) FILTER (WHERE "date" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("date", 'date')), count(*) FILTER (WHERE "organization_analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("organization_analytics_id", 'uuid')), count(*) FILTER (WHERE "project_analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("project_analytics_id", 'uuid')), count(*) FILTER (WHERE "user_analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("user_analytics_id", 'uuid')), count(*) FILTER (WHERE "operating_system" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("operating_system", 'dw.operating_system_type')), count(*) FILTER (WHERE "executor" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("executor", 'dw.executor_type')), count(*) FILTER (WHERE "project_visibility" IS NULL), count(*) FILTER (WHERE "project_visibility" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("project_visibility", 'dw.project_visibility_type')), count(*) FILTER (WHERE "outcome" IS NULL), count(*) FILTER (WHERE "outcome" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("outcome", 'dw.job_outcome_type')), count(*) FILTER (WHERE "dlc" IS NULL), count(*) FILTER (WHERE "dlc" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("dlc", 'boolean')), count(*) FILTER (WHERE "jobs_ran" IS NULL), count(*) FILTER (WHERE "jobs_ran" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("jobs_ran", 'bigint')), count(*) FILTER (WHERE "credits_used" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("credits_used", 'bigint')), count(*) FILTER (WHERE "dlc_credits_used" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("dlc_credits_used", 'bigint')), count(*) FILTER (WHERE "minutes_used" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("minutes_used", 'numeric(18,3)')) FROM "stage_raw"

-- @@ quarantine.create_quarantined[every column refused]
CREATE TEMP TABLE "quarantined" ON COMMIT DROP AS
SELECT r.line, CASE WHEN pg_catalog.pg_input_is_valid("r"."date", 'date') THEN "r"."date"::date ELSE %(run_date)s::date END AS dt, f.col AS column_name, f.reason, pg_catalog.to_jsonb(r) - 'line' AS record
  FROM "stage_raw" r
  CROSS JOIN LATERAL (SELECT v.col, v.reason FROM (VALUES (0, 'date', CASE WHEN "r"."date" IS NULL THEN 'NULL in a NOT NULL column' END),
    (0, 'date', CASE WHEN "r"."date" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."date", 'date') THEN 'not a valid date' END),
    (1, 'organization_analytics_id', CASE WHEN "r"."organization_analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."organization_analytics_id", 'uuid') THEN 'not a valid uuid' END),
    (2, 'project_analytics_id', CASE WHEN "r"."project_analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."project_analytics_id", 'uuid') THEN 'not a valid uuid' END),
    (3, 'user_analytics_id', CASE WHEN "r"."user_analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."user_analytics_id", 'uuid') THEN 'not a valid uuid' END),
    (6, 'operating_system', CASE WHEN "r"."operating_system" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."operating_system", 'dw.operating_system_type') THEN 'not a value of dw.operating_system_type' END),
    (7, 'executor', CASE WHEN "r"."executor" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."executor", 'dw.executor_type') THEN 'not a value of dw.executor_type' END),
    (8, 'project_visibility', CASE WHEN "r"."project_visibility" IS NULL THEN 'NULL in a NOT NULL column' END),
    (8, 'project_visibility', CASE WHEN "r"."project_visibility" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."project_visibility", 'dw.project_visibility_type') THEN 'not a value of dw.project_visibility_type' END),
    (9, 'outcome', CASE WHEN "r"."outcome" IS NULL THEN 'NULL in a NOT NULL column' END),
    (9, 'outcome', CASE WHEN "r"."outcome" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."outcome", 'dw.job_outcome_type') THEN 'not a value of dw.job_outcome_type' END),
    (10, 'dlc', CASE WHEN "r"."dlc" IS NULL THEN 'NULL in a NOT NULL column' END),
    (10, 'dlc', CASE WHEN "r"."dlc" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."dlc", 'boolean') THEN 'not a valid boolean' END),
    (11, 'jobs_ran', CASE WHEN "r"."jobs_ran" IS NULL THEN 'NULL in a NOT NULL column' END),
    (11, 'jobs_ran', CASE WHEN "r"."jobs_ran" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."jobs_ran", 'bigint') THEN 'not a valid bigint' END),
    (12, 'credits_used', CASE WHEN "r"."credits_used" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."credits_used", 'bigint') THEN 'not a valid bigint' END),
    (13, 'dlc_credits_used', CASE WHEN "r"."dlc_credits_used" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."dlc_credits_used", 'bigint') THEN 'not a valid bigint' END),
    (14, 'minutes_used', CASE WHEN "r"."minutes_used" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."minutes_used", 'numeric(18,3)') THEN 'not a valid numeric(18,3)' END)) v(i, col, reason)
                       WHERE v.reason IS NOT NULL ORDER BY v.i LIMIT 1) f

-- @@ quarantine.fill_stage[every column refused]
INSERT INTO "stage" ("date", "organization_analytics_id", "project_analytics_id", "user_analytics_id", "subscription_billing_id", "resource_class", "operating_system", "executor", "project_visibility", "outcome", "dlc", "jobs_ran", "credits_used", "dlc_credits_used", "minutes_used")
SELECT "r"."date"::date, "r"."organization_analytics_id"::uuid, "r"."project_analytics_id"::uuid, "r"."user_analytics_id"::uuid, "r"."subscription_billing_id"::text, "r"."resource_class"::text, "r"."operating_system"::"dw"."operating_system_type", "r"."executor"::"dw"."executor_type", "r"."project_visibility"::"dw"."project_visibility_type", "r"."outcome"::"dw"."job_outcome_type", "r"."dlc"::boolean, "r"."jobs_ran"::bigint, "r"."credits_used"::bigint, "r"."dlc_credits_used"::bigint, "r"."minutes_used"::numeric(18, 3)
  FROM "stage_raw" r
 WHERE NOT EXISTS (SELECT FROM "quarantined" q WHERE q.line = r.line)

-- @@ quarantine.fill_stage[nullable columns discard_value]
INSERT INTO "stage" ("date", "organization_analytics_id", "project_analytics_id", "user_analytics_id", "subscription_billing_id", "resource_class", "operating_system", "executor", "project_visibility", "outcome", "dlc", "jobs_ran", "credits_used", "dlc_credits_used", "minutes_used")
SELECT "r"."date"::date, CASE WHEN pg_catalog.pg_input_is_valid("r"."organization_analytics_id", 'uuid') THEN "r"."organization_analytics_id"::uuid END, CASE WHEN pg_catalog.pg_input_is_valid("r"."project_analytics_id", 'uuid') THEN "r"."project_analytics_id"::uuid END, CASE WHEN pg_catalog.pg_input_is_valid("r"."user_analytics_id", 'uuid') THEN "r"."user_analytics_id"::uuid END, "r"."subscription_billing_id"::text, "r"."resource_class"::text, CASE WHEN pg_catalog.pg_input_is_valid("r"."operating_system", 'dw.operating_system_type') THEN "r"."operating_system"::"dw"."operating_system_type" END, CASE WHEN pg_catalog.pg_input_is_valid("r"."executor", 'dw.executor_type') THEN "r"."executor"::"dw"."executor_type" END, "r"."project_visibility"::"dw"."project_visibility_type", "r"."outcome"::"dw"."job_outcome_type", "r"."dlc"::boolean, "r"."jobs_ran"::bigint, CASE WHEN pg_catalog.pg_input_is_valid("r"."credits_used", 'bigint') THEN "r"."credits_used"::bigint END, CASE WHEN pg_catalog.pg_input_is_valid("r"."dlc_credits_used", 'bigint') THEN "r"."dlc_credits_used"::bigint END, CASE WHEN pg_catalog.pg_input_is_valid("r"."minutes_used", 'numeric(18,3)') THEN "r"."minutes_used"::numeric(18, 3) END
  FROM "stage_raw" r
 WHERE NOT EXISTS (SELECT FROM "quarantined" q WHERE q.line = r.line)

-- @@ fact_resolve
CREATE TEMP TABLE "resolved" ON COMMIT DROP AS
SELECT "r"."date",
  "r"."organization_id",
  "r"."project_id",
  "r"."user_id",
  "r"."resource_id",
  "r"."subscription_id",
  "r"."project_visibility",
  "r"."outcome",
  "r"."dlc",
  CAST(sum("r"."jobs_ran") AS bigint) AS "jobs_ran",
  CAST(sum("r"."credits_used") AS bigint) AS "credits_used",
  CAST(sum("r"."dlc_credits_used") AS bigint) AS "dlc_credits_used",
  CAST(sum("r"."minutes_used") AS numeric(18, 3)) AS "minutes_used",
  sum(r."dw_open_rows")::bigint AS "dw_open_rows"
FROM (SELECT "s"."date" AS "date",
    coalesce("l0".id, CASE WHEN ("s"."organization_analytics_id" IS NULL) THEN '00000000-0000-0000-0000-000000000001'::uuid ELSE '00000000-0000-0000-0000-000000000000'::uuid END) AS "organization_id",
    coalesce("l1".id, CASE WHEN ("s"."project_analytics_id" IS NULL) THEN '00000000-0000-0000-0000-000000000001'::uuid ELSE '00000000-0000-0000-0000-000000000000'::uuid END) AS "project_id",
    coalesce("l2".id, CASE WHEN ("s"."user_analytics_id" IS NULL) THEN '00000000-0000-0000-0000-000000000001'::uuid ELSE '00000000-0000-0000-0000-000000000000'::uuid END) AS "user_id",
    coalesce("l3".id, CASE WHEN ("s"."operating_system" IS NULL AND "s"."executor" IS NULL) THEN '00000000-0000-0000-0000-000000000001'::uuid ELSE '00000000-0000-0000-0000-000000000000'::uuid END) AS "resource_id",
    coalesce("l4".id, CASE WHEN ("s"."subscription_billing_id" IS NULL) THEN '00000000-0000-0000-0000-000000000001'::uuid ELSE '00000000-0000-0000-0000-000000000000'::uuid END) AS "subscription_id",
    "s"."project_visibility" AS "project_visibility",
    "s"."outcome" AS "outcome",
    "s"."dlc" AS "dlc",
    "s"."jobs_ran",
    "s"."credits_used",
    "s"."dlc_credits_used",
    "s"."minutes_used",
    CASE WHEN (("l0".id IS NULL AND "s"."organization_analytics_id" IS NOT NULL) OR ("l1".id IS NULL AND "s"."project_analytics_id" IS NOT NULL) OR ("l2".id IS NULL AND "s"."user_analytics_id" IS NOT NULL) OR ("l3".id IS NULL AND "s"."operating_system" IS NOT NULL AND "s"."executor" IS NOT NULL) OR ("l4".id IS NULL AND "s"."subscription_billing_id" IS NOT NULL)) THEN 1 ELSE 0 END AS "dw_open_rows"
  FROM "stage" AS s
  LEFT JOIN "dw"."organization_dim" AS "l0" ON "l0"."analytics_id" = "s"."organization_analytics_id"
  LEFT JOIN "dw"."project_dim" AS "l1" ON "l1"."analytics_id" = "s"."project_analytics_id"
  LEFT JOIN "dw"."user_dim" AS "l2" ON "l2"."analytics_id" = "s"."user_analytics_id"
  LEFT JOIN "dw"."resource_dim" AS "l3" ON coalesce("l3"."resource_class"::text, '') = coalesce("s"."resource_class"::text, '') AND ("l3"."resource_class" IS NULL) = ("s"."resource_class" IS NULL) AND "l3"."operating_system" = "s"."operating_system" AND "l3"."executor" = "s"."executor"
  LEFT JOIN "dw"."subscription_dim" AS "l4" ON "l4"."subscription_id" = "s"."subscription_billing_id" AND ("l4".valid_from AT TIME ZONE 'UTC')::date <= "s"."date" AND "s"."date" < ("l4".valid_to AT TIME ZONE 'UTC')::date
  OFFSET 0) AS r
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9

-- @@ fact_dates
SELECT "date", count(*) FILTER (WHERE "organization_id" = '00000000-0000-0000-0000-000000000000'::uuid OR "project_id" = '00000000-0000-0000-0000-000000000000'::uuid OR "user_id" = '00000000-0000-0000-0000-000000000000'::uuid OR "resource_id" = '00000000-0000-0000-0000-000000000000'::uuid OR "subscription_id" = '00000000-0000-0000-0000-000000000000'::uuid) FROM "resolved" GROUP BY "date" ORDER BY "date"

-- @@ fact_holds_dates
SELECT EXISTS (SELECT 1 FROM "dw"."job_ran_fact" WHERE "date" = ANY(%(dates)s))

-- @@ fact_insert
WITH i AS (INSERT INTO "dw"."job_ran_fact" ("date", "organization_id", "project_id", "user_id", "resource_id", "subscription_id", "project_visibility", "outcome", "dlc", "jobs_ran", "credits_used", "dlc_credits_used", "minutes_used", dw_updated_at)
  SELECT "r"."date", "r"."organization_id", "r"."project_id", "r"."user_id", "r"."resource_id", "r"."subscription_id", "r"."project_visibility", "r"."outcome", "r"."dlc", "r"."jobs_ran", "r"."credits_used", "r"."dlc_credits_used", "r"."minutes_used", %(loaded_at)s FROM "resolved" AS r ORDER BY "r"."date", "r"."organization_id", "r"."project_id", "r"."user_id", "r"."resource_id", "r"."subscription_id", "r"."project_visibility", "r"."outcome", "r"."dlc" RETURNING 1)
SELECT 0::bigint, count(*), 0::bigint FROM i

-- @@ fact_merge
WITH d AS MATERIALIZED (
  SELECT f.dw_tableoid, f.dw_ctid, r."date" IS NULL AS dw_gone, "r"."date", "r"."organization_id", "r"."project_id", "r"."user_id", "r"."resource_id", "r"."subscription_id", "r"."project_visibility", "r"."outcome", "r"."dlc", "r"."jobs_ran", "r"."credits_used", "r"."dlc_credits_used", "r"."minutes_used"
  FROM "resolved" AS r FULL JOIN (SELECT tableoid AS dw_tableoid, ctid AS dw_ctid, "date", "organization_id", "project_id", "user_id", "resource_id", "subscription_id", "project_visibility", "outcome", "dlc", "jobs_ran", "credits_used", "dlc_credits_used", "minutes_used" FROM "dw"."job_ran_fact" WHERE "date" = ANY(%(dates)s)) AS f
    ON r."date" = f."date" AND r."organization_id" = f."organization_id" AND r."project_id" = f."project_id" AND r."user_id" = f."user_id" AND r."resource_id" = f."resource_id" AND r."subscription_id" = f."subscription_id" AND r."project_visibility" = f."project_visibility" AND r."outcome" = f."outcome" AND r."dlc" = f."dlc"
  WHERE f.dw_ctid IS NULL OR r."date" IS NULL OR ROW("f"."jobs_ran", "f"."credits_used", "f"."dlc_credits_used", "f"."minutes_used") IS DISTINCT FROM ROW("r"."jobs_ran", "r"."credits_used", "r"."dlc_credits_used", "r"."minutes_used")),
x AS (DELETE FROM "dw"."job_ran_fact" AS f USING d WHERE f."date" = ANY(%(dates)s) AND f.tableoid = d.dw_tableoid AND f.ctid = d.dw_ctid AND d.dw_gone RETURNING 1),
u AS (UPDATE "dw"."job_ran_fact" AS f SET "jobs_ran" = d."jobs_ran", "credits_used" = d."credits_used", "dlc_credits_used" = d."dlc_credits_used", "minutes_used" = d."minutes_used", dw_updated_at = %(loaded_at)s FROM d
  WHERE f."date" = ANY(%(dates)s) AND f.tableoid = d.dw_tableoid AND f.ctid = d.dw_ctid AND NOT d.dw_gone RETURNING 1),
i AS (INSERT INTO "dw"."job_ran_fact" ("date", "organization_id", "project_id", "user_id", "resource_id", "subscription_id", "project_visibility", "outcome", "dlc", "jobs_ran", "credits_used", "dlc_credits_used", "minutes_used", dw_updated_at)
  SELECT "d"."date", "d"."organization_id", "d"."project_id", "d"."user_id", "d"."resource_id", "d"."subscription_id", "d"."project_visibility", "d"."outcome", "d"."dlc", "d"."jobs_ran", "d"."credits_used", "d"."dlc_credits_used", "d"."minutes_used", %(loaded_at)s FROM d WHERE d.dw_ctid IS NULL ORDER BY "d"."date", "d"."organization_id", "d"."project_id", "d"."user_id", "d"."resource_id", "d"."subscription_id", "d"."project_visibility", "d"."outcome", "d"."dlc" RETURNING 1)
SELECT (SELECT count(*) FROM x), (SELECT count(*) FROM i), (SELECT count(*) FROM u)

-- @@ create_partition[2024-12]
CREATE TABLE "dw"."job_ran_fact_p2024_12" (LIKE "dw"."job_ran_fact" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
;
ALTER TABLE "dw"."job_ran_fact_p2024_12" OWNER TO "dw_owner"
;
ALTER TABLE "dw"."job_ran_fact" ATTACH PARTITION "dw"."job_ran_fact_p2024_12" FOR VALUES FROM ('2024-12-01'::date) TO ('2025-01-01'::date)
;
REVOKE ALL ON "dw"."job_ran_fact_p2024_12" FROM PUBLIC, "dw_analyst", "dw_loader"
;
GRANT SELECT, INSERT, UPDATE, DELETE ON "dw"."job_ran_fact_p2024_12" TO "dw_loader"

-- @@ analyze_partitions[2024-01-31, 2024-02-01]
SELECT "dw"."analyze_partition"('job_ran_fact_p2024_01')
;
SELECT "dw"."analyze_partition"('job_ran_fact_p2024_02')

-- @@ ledger.record[0]
WITH open AS (SELECT "date" AS date, sum("dw_open_rows")::bigint AS n FROM "resolved"
WHERE "date" = ANY(%(dates)s) GROUP BY "date" HAVING sum("dw_open_rows") > 0),
closed AS (DELETE FROM "dw"."unknown_member_dates" AS l WHERE l.table_name = %(table)s AND l.date = ANY(%(dates)s)
  AND NOT EXISTS (SELECT 1 FROM open AS o WHERE o.date = l.date))
INSERT INTO "dw"."unknown_member_dates" AS l (table_name, date, source_rows, dw_updated_at)
SELECT %(table)s, o.date, o.n, %(loaded_at)s FROM open AS o
ON CONFLICT (table_name, date) DO UPDATE SET source_rows = excluded.source_rows,
  dw_updated_at = excluded.dw_updated_at WHERE l.source_rows <> excluded.source_rows

-- @@ ledger.record[1]
SELECT count(*) FROM "dw"."unknown_member_dates" WHERE table_name = %s AND date = ANY(%s)

