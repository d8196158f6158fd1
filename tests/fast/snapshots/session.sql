-- @@ session_settings
SET LOCAL search_path = pg_catalog, pg_temp
;
SET LOCAL timezone = 'UTC'
;
SET LOCAL datestyle = 'ISO, YMD'

-- @@ analyze(STAGE)
ANALYZE "stage"

-- @@ analyze(RESOLVED)
ANALYZE "resolved"

-- @@ quarantine.replace_quarantine[common path]
DELETE FROM "dw"."load_quarantine" WHERE table_name = %(table)s AND dt = ANY(%(dates)s::date[] || %(run_date)s::date)

-- @@ quarantine.replace_quarantine[rows quarantined]
DELETE FROM "dw"."load_quarantine" WHERE table_name = %(table)s AND dt = ANY(%(dates)s::date[] || %(run_date)s::date || ARRAY(SELECT DISTINCT dt FROM "quarantined"))
;
INSERT INTO "dw"."load_quarantine" (table_name, dt, file, line, column_name, reason, record, quarantined_at)
SELECT %(table)s, dt, %(file)s, line, column_name, reason, record, %(loaded_at)s FROM "quarantined"

