-- @@ create_table
CREATE TABLE IF NOT EXISTS "dw"."invoice_fact" (
  "date" date NOT NULL,
  "organization_id" uuid NOT NULL,
  "subscription_id" uuid NOT NULL,
  "currency" text NOT NULL,
  "status" text NOT NULL,
  "invoices" bigint,
  "amount_due" bigint,
  "amount_paid" bigint,
  "amount_refunded" bigint,
  "dw_updated_at" timestamptz NOT NULL,
  CONSTRAINT "invoice_fact_pkey" PRIMARY KEY ("date", "organization_id", "subscription_id", "currency", "status")
) PARTITION BY RANGE ("date")
;
CREATE TABLE IF NOT EXISTS "dw"."invoice_fact_p_before" PARTITION OF "dw"."invoice_fact" FOR VALUES FROM (MINVALUE) TO ('2000-01-01'::date)
;
REVOKE ALL ON "dw"."invoice_fact_p_before" FROM PUBLIC, "dw_analyst", "dw_loader"
;
GRANT SELECT, INSERT, UPDATE, DELETE ON "dw"."invoice_fact_p_before" TO "dw_loader"

-- @@ expected_columns_table
CREATE TEMP TABLE "_dw_expected_invoice_fact" (
  "date" date NOT NULL,
  "organization_id" uuid NOT NULL,
  "subscription_id" uuid NOT NULL,
  "currency" text NOT NULL,
  "status" text NOT NULL,
  "invoices" bigint,
  "amount_due" bigint,
  "amount_paid" bigint,
  "amount_refunded" bigint,
  "dw_updated_at" timestamptz NOT NULL
) ON COMMIT DROP

-- @@ member_inserts
(none)

-- @@ create_stage
CREATE TEMP TABLE "stage" (
  "date" date NOT NULL,
  "organization_analytics_id" uuid,
  "subscription_billing_id" text,
  "currency" text NOT NULL,
  "status" text NOT NULL,
  "invoices" bigint NOT NULL,
  "amount_due" bigint NOT NULL,
  "amount_paid" bigint NOT NULL,
  "amount_refunded" bigint NOT NULL
) ON COMMIT DROP

-- @@ copy_stage
COPY "stage" ("date", "organization_analytics_id", "subscription_billing_id", "currency", "status", "invoices", "amount_due", "amount_paid", "amount_refunded") FROM STDIN (FORMAT csv, HEADER true)

-- @@ quarantine.create_raw
CREATE TEMP TABLE "stage_raw" (
  line bigint GENERATED ALWAYS AS IDENTITY (START WITH 2),
  "date" text,
  "organization_analytics_id" text,
  "subscription_billing_id" text,
  "currency" text,
  "status" text,
  "invoices" text,
  "amount_due" text,
  "amount_paid" text,
  "amount_refunded" text
) ON COMMIT DROP

-- @@ quarantine.copy_raw
COPY "stage_raw" ("date", "organization_analytics_id", "subscription_billing_id", "currency", "status", "invoices", "amount_due", "amount_paid", "amount_refunded") FROM STDIN (FORMAT csv, HEADER true)

-- @@ quarantine.counts
SELECT count(*) FILTER (WHERE "date" IS NULL), count(*) FILTER (WHERE "date" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("date", 'date')), count(*) FILTER (WHERE "organization_analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("organization_analytics_id", 'uuid')), count(*) FILTER (WHERE "currency" IS NULL), count(*) FILTER (WHERE "status" IS NULL), count(*) FILTER (WHERE "invoices" IS NULL), count(*) FILTER (WHERE "invoices" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("invoices", 'bigint')), count(*) FILTER (WHERE "amount_due" IS NULL), count(*) FILTER (WHERE "amount_due" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("amount_due", 'bigint')), count(*) FILTER (WHERE "amount_paid" IS NULL), count(*) FILTER (WHERE "amount_paid" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("amount_paid", 'bigint')), count(*) FILTER (WHERE "amount_refunded" IS NULL), count(*) FILTER (WHERE "amount_refunded" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("amount_refunded", 'bigint')) FROM "stage_raw"

-- @@ quarantine.create_quarantined[every column refused]
CREATE TEMP TABLE "quarantined" ON COMMIT DROP AS
SELECT r.line, CASE WHEN pg_catalog.pg_input_is_valid("r"."date", 'date') THEN "r"."date"::date ELSE %(run_date)s::date END AS dt, f.col AS column_name, f.reason, pg_catalog.to_jsonb(r) - 'line' AS record
  FROM "stage_raw" r
  CROSS JOIN LATERAL (SELECT v.col, v.reason FROM (VALUES (0, 'date', CASE WHEN "r"."date" IS NULL THEN 'NULL in a NOT NULL column' END),
    (0, 'date', CASE WHEN "r"."date" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."date", 'date') THEN 'not a valid date' END),
    (1, 'organization_analytics_id', CASE WHEN "r"."organization_analytics_id" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."organization_analytics_id", 'uuid') THEN 'not a valid uuid' END),
    (3, 'currency', CASE WHEN "r"."currency" IS NULL THEN 'NULL in a NOT NULL column' END),
    (4, 'status', CASE WHEN "r"."status" IS NULL THEN 'NULL in a NOT NULL column' END),
    (5, 'invoices', CASE WHEN "r"."invoices" IS NULL THEN 'NULL in a NOT NULL column' END),
    (5, 'invoices', CASE WHEN "r"."invoices" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."invoices", 'bigint') THEN 'not a valid bigint' END),
    (6, 'amount_due', CASE WHEN "r"."amount_due" IS NULL THEN 'NULL in a NOT NULL column' END),
    (6, 'amount_due', CASE WHEN "r"."amount_due" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."amount_due", 'bigint') THEN 'not a valid bigint' END),
    (7, 'amount_paid', CASE WHEN "r"."amount_paid" IS NULL THEN 'NULL in a NOT NULL column' END),
    (7, 'amount_paid', CASE WHEN "r"."amount_paid" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."amount_paid", 'bigint') THEN 'not a valid bigint' END),
    (8, 'amount_refunded', CASE WHEN "r"."amount_refunded" IS NULL THEN 'NULL in a NOT NULL column' END),
    (8, 'amount_refunded', CASE WHEN "r"."amount_refunded" IS NOT NULL AND NOT pg_catalog.pg_input_is_valid("r"."amount_refunded", 'bigint') THEN 'not a valid bigint' END)) v(i, col, reason)
                       WHERE v.reason IS NOT NULL ORDER BY v.i LIMIT 1) f

-- @@ quarantine.fill_stage[every column refused]
INSERT INTO "stage" ("date", "organization_analytics_id", "subscription_billing_id", "currency", "status", "invoices", "amount_due", "amount_paid", "amount_refunded")
SELECT "r"."date"::date, "r"."organization_analytics_id"::uuid, "r"."subscription_billing_id"::text, "r"."currency"::text, "r"."status"::text, "r"."invoices"::bigint, "r"."amount_due"::bigint, "r"."amount_paid"::bigint, "r"."amount_refunded"::bigint
  FROM "stage_raw" r
 WHERE NOT EXISTS (SELECT FROM "quarantined" q WHERE q.line = r.line)

-- @@ quarantine.fill_stage[nullable columns discard_value]
INSERT INTO "stage" ("date", "organization_analytics_id", "subscription_billing_id", "currency", "status", "invoices", "amount_due", "amount_paid", "amount_refunded")
SELECT "r"."date"::date, CASE WHEN pg_catalog.pg_input_is_valid("r"."organization_analytics_id", 'uuid') THEN "r"."organization_analytics_id"::uuid END, "r"."subscription_billing_id"::text, "r"."currency"::text, "r"."status"::text, "r"."invoices"::bigint, "r"."amount_due"::bigint, "r"."amount_paid"::bigint, "r"."amount_refunded"::bigint
  FROM "stage_raw" r
 WHERE NOT EXISTS (SELECT FROM "quarantined" q WHERE q.line = r.line)

-- @@ fact_resolve
CREATE TEMP TABLE "resolved" ON COMMIT DROP AS
SELECT "r"."date",
  "r"."organization_id",
  "r"."subscription_id",
  "r"."currency",
  "r"."status",
  CAST(sum("r"."invoices") AS bigint) AS "invoices",
  CAST(sum("r"."amount_due") AS bigint) AS "amount_due",
  CAST(sum("r"."amount_paid") AS bigint) AS "amount_paid",
  CAST(sum("r"."amount_refunded") AS bigint) AS "amount_refunded",
  sum(r."dw_open_rows")::bigint AS "dw_open_rows"
FROM (SELECT "s"."date" AS "date",
    coalesce("l0".id, CASE WHEN ("s"."organization_analytics_id" IS NULL) THEN '00000000-0000-0000-0000-000000000001'::uuid ELSE '00000000-0000-0000-0000-000000000000'::uuid END) AS "organization_id",
    coalesce("l1".id, CASE WHEN ("s"."subscription_billing_id" IS NULL) THEN '00000000-0000-0000-0000-000000000001'::uuid ELSE '00000000-0000-0000-0000-000000000000'::uuid END) AS "subscription_id",
    "s"."currency" AS "currency",
    "s"."status" AS "status",
    "s"."invoices",
    "s"."amount_due",
    "s"."amount_paid",
    "s"."amount_refunded",
    CASE WHEN (("l0".id IS NULL AND "s"."organization_analytics_id" IS NOT NULL) OR ("l1".id IS NULL AND "s"."subscription_billing_id" IS NOT NULL)) THEN 1 ELSE 0 END AS "dw_open_rows"
  FROM "stage" AS s
  LEFT JOIN "dw"."organization_dim" AS "l0" ON "l0"."analytics_id" = "s"."organization_analytics_id"
  LEFT JOIN "dw"."subscription_dim" AS "l1" ON "l1"."subscription_id" = "s"."subscription_billing_id" AND ("l1".valid_from AT TIME ZONE 'UTC')::date <= "s"."date" AND "s"."date" < ("l1".valid_to AT TIME ZONE 'UTC')::date
  OFFSET 0) AS r
GROUP BY 1, 2, 3, 4, 5

-- @@ fact_dates
SELECT "date", count(*) FILTER (WHERE "organization_id" = '00000000-0000-0000-0000-000000000000'::uuid OR "subscription_id" = '00000000-0000-0000-0000-000000000000'::uuid) FROM "resolved" GROUP BY "date" ORDER BY "date"

-- @@ fact_holds_dates
SELECT EXISTS (SELECT 1 FROM "dw"."invoice_fact" WHERE "date" = ANY(%(dates)s))

-- @@ fact_insert
WITH i AS (INSERT INTO "dw"."invoice_fact" ("date", "organization_id", "subscription_id", "currency", "status", "invoices", "amount_due", "amount_paid", "amount_refunded", dw_updated_at)
  SELECT "r"."date", "r"."organization_id", "r"."subscription_id", "r"."currency", "r"."status", "r"."invoices", "r"."amount_due", "r"."amount_paid", "r"."amount_refunded", %(loaded_at)s FROM "resolved" AS r ORDER BY "r"."date", "r"."organization_id", "r"."subscription_id", "r"."currency", "r"."status" RETURNING 1)
SELECT 0::bigint, count(*), 0::bigint FROM i

-- @@ fact_merge
WITH d AS MATERIALIZED (
  SELECT f.dw_tableoid, f.dw_ctid, r."date" IS NULL AS dw_gone, "r"."date", "r"."organization_id", "r"."subscription_id", "r"."currency", "r"."status", "r"."invoices", "r"."amount_due", "r"."amount_paid", "r"."amount_refunded"
  FROM "resolved" AS r FULL JOIN (SELECT tableoid AS dw_tableoid, ctid AS dw_ctid, "date", "organization_id", "subscription_id", "currency", "status", "invoices", "amount_due", "amount_paid", "amount_refunded" FROM "dw"."invoice_fact" WHERE "date" = ANY(%(dates)s)) AS f
    ON r."date" = f."date" AND r."organization_id" = f."organization_id" AND r."subscription_id" = f."subscription_id" AND r."currency" = f."currency" AND r."status" = f."status"
  WHERE f.dw_ctid IS NULL OR r."date" IS NULL OR ROW("f"."invoices", "f"."amount_due", "f"."amount_paid", "f"."amount_refunded") IS DISTINCT FROM ROW("r"."invoices", "r"."amount_due", "r"."amount_paid", "r"."amount_refunded")),
x AS (DELETE FROM "dw"."invoice_fact" AS f USING d WHERE f."date" = ANY(%(dates)s) AND f.tableoid = d.dw_tableoid AND f.ctid = d.dw_ctid AND d.dw_gone RETURNING 1),
u AS (UPDATE "dw"."invoice_fact" AS f SET "invoices" = d."invoices", "amount_due" = d."amount_due", "amount_paid" = d."amount_paid", "amount_refunded" = d."amount_refunded", dw_updated_at = %(loaded_at)s FROM d
  WHERE f."date" = ANY(%(dates)s) AND f.tableoid = d.dw_tableoid AND f.ctid = d.dw_ctid AND NOT d.dw_gone RETURNING 1),
i AS (INSERT INTO "dw"."invoice_fact" ("date", "organization_id", "subscription_id", "currency", "status", "invoices", "amount_due", "amount_paid", "amount_refunded", dw_updated_at)
  SELECT "d"."date", "d"."organization_id", "d"."subscription_id", "d"."currency", "d"."status", "d"."invoices", "d"."amount_due", "d"."amount_paid", "d"."amount_refunded", %(loaded_at)s FROM d WHERE d.dw_ctid IS NULL ORDER BY "d"."date", "d"."organization_id", "d"."subscription_id", "d"."currency", "d"."status" RETURNING 1)
SELECT (SELECT count(*) FROM x), (SELECT count(*) FROM i), (SELECT count(*) FROM u)

-- @@ create_partition[2024-12]
CREATE TABLE "dw"."invoice_fact_p2024_12" (LIKE "dw"."invoice_fact" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
;
ALTER TABLE "dw"."invoice_fact_p2024_12" OWNER TO "dw_owner"
;
ALTER TABLE "dw"."invoice_fact" ATTACH PARTITION "dw"."invoice_fact_p2024_12" FOR VALUES FROM ('2024-12-01'::date) TO ('2025-01-01'::date)
;
REVOKE ALL ON "dw"."invoice_fact_p2024_12" FROM PUBLIC, "dw_analyst", "dw_loader"
;
GRANT SELECT, INSERT, UPDATE, DELETE ON "dw"."invoice_fact_p2024_12" TO "dw_loader"

-- @@ analyze_partitions[2024-01-31, 2024-02-01]
SELECT "dw"."analyze_partition"('invoice_fact_p2024_01')
;
SELECT "dw"."analyze_partition"('invoice_fact_p2024_02')

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

