-- @@ create_table
CREATE TABLE IF NOT EXISTS "dw"."activity_fact" (
  "date" date NOT NULL,
  "organization_id" uuid NOT NULL,
  "project_id" uuid NOT NULL,
  "user_id" uuid NOT NULL,
  "event_type" text NOT NULL,
  "events" bigint,
  "sessions" bigint,
  "dw_updated_at" timestamptz NOT NULL,
  CONSTRAINT "activity_fact_pkey" PRIMARY KEY ("date", "organization_id", "project_id", "user_id", "event_type")
) PARTITION BY RANGE ("date")
;
CREATE TABLE IF NOT EXISTS "dw"."activity_fact_p_before" PARTITION OF "dw"."activity_fact" FOR VALUES FROM (MINVALUE) TO ('2000-01-01'::date)
;
REVOKE ALL ON "dw"."activity_fact_p_before" FROM PUBLIC, "dw_analyst", "dw_loader"
;
GRANT SELECT, INSERT, UPDATE, DELETE ON "dw"."activity_fact_p_before" TO "dw_loader"

-- @@ expected_columns_table
CREATE TEMP TABLE "_dw_expected_activity_fact" (
  "date" date NOT NULL,
  "organization_id" uuid NOT NULL,
  "project_id" uuid NOT NULL,
  "user_id" uuid NOT NULL,
  "event_type" text NOT NULL,
  "events" bigint,
  "sessions" bigint,
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
  "event_type" text NOT NULL,
  "events" bigint NOT NULL,
  "sessions" bigint NOT NULL
) ON COMMIT DROP

-- @@ copy_stage
COPY "stage" ("date", "organization_analytics_id", "project_analytics_id", "user_analytics_id", "event_type", "events", "sessions") FROM STDIN (FORMAT csv, HEADER true)

-- @@ quarantine.create_raw
CREATE TEMP TABLE "stage_raw" (
  line bigint GENERATED ALWAYS AS IDENTITY (START WITH 2),
  "date" text,
  "organization_analytics_id" text,
  "project_analytics_id" text,
  "user_analytics_id" text,
  "event_type" text,
  "events" text,
  "sessions" text
) ON COMMIT DROP

-- @@ quarantine.copy_raw
COPY "stage_raw" ("date", "organization_analytics_id", "project_analytics_id", "user_analytics_id", "event_type", "events", "sessions") FROM STDIN (FORMAT csv, HEADER true)

-- @@ quarantine.counts
SELECT count(*) FILTER (WHERE "date" IS NULL), count(*) FILTER (WHERE "date" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("date", 'date')), count(*) FILTER (WHERE "organization_analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("organization_analytics_id", 'uuid')), count(*) FILTER (WHERE "project_analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("project_analytics_id", 'uuid')), count(*) FILTER (WHERE "user_analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("user_analytics_id", 'uuid')), count(*) FILTER (WHERE "event_type" IS NULL), count(*) FILTER (WHERE "events" IS NULL), count(*) FILTER (WHERE "events" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("events", 'bigint')), count(*) FILTER (WHERE "sessions" IS NULL), count(*) FILTER (WHERE "sessions" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("sessions", 'bigint')) FROM "stage_raw"

-- @@ quarantine.create_quarantined[every column refused]
CREATE TEMP TABLE "quarantined" ON COMMIT DROP AS
SELECT r.line, CASE WHEN pg_catalog.pg_input_is_valid("r"."date", 'date') THEN "r"."date"::date ELSE %(run_date)s::date END AS dt, f.col AS column_name, f.reason, pg_catalog.to_jsonb(r) - 'line' AS record
  FROM "stage_raw" r
  CROSS JOIN LATERAL (SELECT v.col, v.reason FROM (VALUES (0, 'date', CASE WHEN "r"."date" IS NULL THEN 'NULL in a NOT NULL column' END),
    (0, 'date', CASE WHEN "r"."date" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."date", 'date') THEN 'not a valid date' END),
    (1, 'organization_analytics_id', CASE WHEN "r"."organization_analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."organization_analytics_id", 'uuid') THEN 'not a valid uuid' END),
    (2, 'project_analytics_id', CASE WHEN "r"."project_analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."project_analytics_id", 'uuid') THEN 'not a valid uuid' END),
    (3, 'user_analytics_id', CASE WHEN "r"."user_analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."user_analytics_id", 'uuid') THEN 'not a valid uuid' END),
    (4, 'event_type', CASE WHEN "r"."event_type" IS NULL THEN 'NULL in a NOT NULL column' END),
    (5, 'events', CASE WHEN "r"."events" IS NULL THEN 'NULL in a NOT NULL column' END),
    (5, 'events', CASE WHEN "r"."events" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."events", 'bigint') THEN 'not a valid bigint' END),
    (6, 'sessions', CASE WHEN "r"."sessions" IS NULL THEN 'NULL in a NOT NULL column' END),
    (6, 'sessions', CASE WHEN "r"."sessions" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."sessions", 'bigint') THEN 'not a valid bigint' END)) v(i, col, reason)
                       WHERE v.reason IS NOT NULL ORDER BY v.i LIMIT 1) f

-- @@ quarantine.fill_stage[every column refused]
INSERT INTO "stage" ("date", "organization_analytics_id", "project_analytics_id", "user_analytics_id", "event_type", "events", "sessions")
SELECT "r"."date"::date, "r"."organization_analytics_id"::uuid, "r"."project_analytics_id"::uuid, "r"."user_analytics_id"::uuid, "r"."event_type"::text, "r"."events"::bigint, "r"."sessions"::bigint
  FROM "stage_raw" r
 WHERE NOT EXISTS (SELECT FROM "quarantined" q WHERE q.line = r.line)

-- @@ quarantine.fill_stage[nullable columns discard_value]
INSERT INTO "stage" ("date", "organization_analytics_id", "project_analytics_id", "user_analytics_id", "event_type", "events", "sessions")
SELECT "r"."date"::date, CASE WHEN pg_catalog.pg_input_is_valid("r"."organization_analytics_id", 'uuid') THEN "r"."organization_analytics_id"::uuid END, CASE WHEN pg_catalog.pg_input_is_valid("r"."project_analytics_id", 'uuid') THEN "r"."project_analytics_id"::uuid END, CASE WHEN pg_catalog.pg_input_is_valid("r"."user_analytics_id", 'uuid') THEN "r"."user_analytics_id"::uuid END, "r"."event_type"::text, "r"."events"::bigint, "r"."sessions"::bigint
  FROM "stage_raw" r
 WHERE NOT EXISTS (SELECT FROM "quarantined" q WHERE q.line = r.line)

-- @@ fact_resolve
CREATE TEMP TABLE "resolved" ON COMMIT DROP AS
SELECT "r"."date",
  "r"."organization_id",
  "r"."project_id",
  "r"."user_id",
  "r"."event_type",
  CAST(sum("r"."events") AS bigint) AS "events",
  CAST(sum("r"."sessions") AS bigint) AS "sessions",
  sum(r."dw_open_rows")::bigint AS "dw_open_rows"
FROM (SELECT "s"."date" AS "date",
    coalesce("l0".id, CASE WHEN ("s"."organization_analytics_id" IS NULL) THEN '00000000-0000-0000-0000-000000000001'::uuid ELSE '00000000-0000-0000-0000-000000000000'::uuid END) AS "organization_id",
    coalesce("l1".id, CASE WHEN ("s"."project_analytics_id" IS NULL) THEN '00000000-0000-0000-0000-000000000001'::uuid ELSE '00000000-0000-0000-0000-000000000000'::uuid END) AS "project_id",
    coalesce("l2".id, CASE WHEN ("s"."user_analytics_id" IS NULL) THEN '00000000-0000-0000-0000-000000000001'::uuid ELSE '00000000-0000-0000-0000-000000000000'::uuid END) AS "user_id",
    "s"."event_type" AS "event_type",
    "s"."events",
    "s"."sessions",
    CASE WHEN (("l0".id IS NULL AND "s"."organization_analytics_id" IS NOT NULL) OR ("l1".id IS NULL AND "s"."project_analytics_id" IS NOT NULL) OR ("l2".id IS NULL AND "s"."user_analytics_id" IS NOT NULL)) THEN 1 ELSE 0 END AS "dw_open_rows"
  FROM "stage" AS s
  LEFT JOIN "dw"."organization_dim" AS "l0" ON "l0"."analytics_id" = "s"."organization_analytics_id"
  LEFT JOIN "dw"."project_dim" AS "l1" ON "l1"."analytics_id" = "s"."project_analytics_id"
  LEFT JOIN "dw"."user_dim" AS "l2" ON "l2"."analytics_id" = "s"."user_analytics_id"
  OFFSET 0) AS r
GROUP BY 1, 2, 3, 4, 5

-- @@ fact_dates
SELECT "date", count(*) FILTER (WHERE "organization_id" = '00000000-0000-0000-0000-000000000000'::uuid OR "project_id" = '00000000-0000-0000-0000-000000000000'::uuid OR "user_id" = '00000000-0000-0000-0000-000000000000'::uuid) FROM "resolved" GROUP BY "date" ORDER BY "date"

-- @@ fact_holds_dates
SELECT EXISTS (SELECT 1 FROM "dw"."activity_fact" WHERE "date" = ANY(%(dates)s))

-- @@ fact_insert
WITH i AS (INSERT INTO "dw"."activity_fact" ("date", "organization_id", "project_id", "user_id", "event_type", "events", "sessions", dw_updated_at)
  SELECT "r"."date", "r"."organization_id", "r"."project_id", "r"."user_id", "r"."event_type", "r"."events", "r"."sessions", %(loaded_at)s FROM "resolved" AS r ORDER BY "r"."date", "r"."organization_id", "r"."project_id", "r"."user_id", "r"."event_type" RETURNING 1)
SELECT 0::bigint, count(*), 0::bigint FROM i

-- @@ fact_merge
WITH d AS MATERIALIZED (
  SELECT f.dw_tableoid, f.dw_ctid, r."date" IS NULL AS dw_gone, "r"."date", "r"."organization_id", "r"."project_id", "r"."user_id", "r"."event_type", "r"."events", "r"."sessions"
  FROM "resolved" AS r FULL JOIN (SELECT tableoid AS dw_tableoid, ctid AS dw_ctid, "date", "organization_id", "project_id", "user_id", "event_type", "events", "sessions" FROM "dw"."activity_fact" WHERE "date" = ANY(%(dates)s)) AS f
    ON r."date" = f."date" AND r."organization_id" = f."organization_id" AND r."project_id" = f."project_id" AND r."user_id" = f."user_id" AND r."event_type" = f."event_type"
  WHERE f.dw_ctid IS NULL OR r."date" IS NULL OR ROW("f"."events", "f"."sessions") IS DISTINCT FROM ROW("r"."events", "r"."sessions")),
x AS (DELETE FROM "dw"."activity_fact" AS f USING d WHERE f."date" = ANY(%(dates)s) AND f.tableoid = d.dw_tableoid AND f.ctid = d.dw_ctid AND d.dw_gone RETURNING 1),
u AS (UPDATE "dw"."activity_fact" AS f SET "events" = d."events", "sessions" = d."sessions", dw_updated_at = %(loaded_at)s FROM d
  WHERE f."date" = ANY(%(dates)s) AND f.tableoid = d.dw_tableoid AND f.ctid = d.dw_ctid AND NOT d.dw_gone RETURNING 1),
i AS (INSERT INTO "dw"."activity_fact" ("date", "organization_id", "project_id", "user_id", "event_type", "events", "sessions", dw_updated_at)
  SELECT "d"."date", "d"."organization_id", "d"."project_id", "d"."user_id", "d"."event_type", "d"."events", "d"."sessions", %(loaded_at)s FROM d WHERE d.dw_ctid IS NULL ORDER BY "d"."date", "d"."organization_id", "d"."project_id", "d"."user_id", "d"."event_type" RETURNING 1)
SELECT (SELECT count(*) FROM x), (SELECT count(*) FROM i), (SELECT count(*) FROM u)

-- @@ create_partition[2024-12]
CREATE TABLE "dw"."activity_fact_p2024_12" (LIKE "dw"."activity_fact" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
;
ALTER TABLE "dw"."activity_fact_p2024_12" OWNER TO "dw_owner"
;
ALTER TABLE "dw"."activity_fact" ATTACH PARTITION "dw"."activity_fact_p2024_12" FOR VALUES FROM ('2024-12-01'::date) TO ('2025-01-01'::date)
;
REVOKE ALL ON "dw"."activity_fact_p2024_12" FROM PUBLIC, "dw_analyst", "dw_loader"
;
GRANT SELECT, INSERT, UPDATE, DELETE ON "dw"."activity_fact_p2024_12" TO "dw_loader"

-- @@ analyze_partitions[2024-01-31, 2024-02-01]
SELECT "dw"."analyze_partition"('activity_fact_p2024_01')
;
SELECT "dw"."analyze_partition"('activity_fact_p2024_02')

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

