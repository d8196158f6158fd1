-- @@ session_settings
SET LOCAL timezone = 'UTC'
;
SET LOCAL datestyle = 'ISO, YMD'

-- @@ analyze(STAGE)
ANALYZE "stage"

-- @@ analyze(RESOLVED)
ANALYZE "resolved"

