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

