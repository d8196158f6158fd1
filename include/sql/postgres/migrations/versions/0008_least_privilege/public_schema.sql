-- Nobody but its owner creates objects in public: a function planted there cannot shadow one
-- the platform calls (every session also pins search_path to pg_catalog, pg_temp). PostgreSQL
-- 15+ already has it so; on an older or upgraded server a login that does not own public
-- leaves it to a DBA (a notice, not a failure).
DO $$
BEGIN
  REVOKE CREATE ON SCHEMA public FROM PUBLIC;
EXCEPTION WHEN insufficient_privilege OR invalid_schema_name THEN
  RAISE NOTICE 'could not REVOKE CREATE ON SCHEMA public FROM PUBLIC (%): a DBA must', SQLERRM;
END
$$;
