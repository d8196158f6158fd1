-- Schema dw and everything in it (tables, their sequences, views, enum types) now belong to
-- dw_owner: the login that loads (dw_loader) can no longer DROP or ALTER the warehouse.
ALTER SCHEMA dw OWNER TO dw_owner;
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT c.relname, c.relkind FROM pg_catalog.pg_class c
           WHERE c.relnamespace = 'dw'::pg_catalog.regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
             AND c.relowner <> 'dw_owner'::pg_catalog.regrole
  LOOP
    EXECUTE pg_catalog.format(CASE WHEN r.relkind = 'v' THEN 'ALTER VIEW dw.%I OWNER TO dw_owner'
                                   WHEN r.relkind = 'm' THEN 'ALTER MATERIALIZED VIEW dw.%I OWNER TO dw_owner'
                                   WHEN r.relkind = 'f' THEN 'ALTER FOREIGN TABLE dw.%I OWNER TO dw_owner'
                                   ELSE 'ALTER TABLE dw.%I OWNER TO dw_owner' END, r.relname);
  END LOOP;
  FOR r IN SELECT t.typname FROM pg_catalog.pg_type t
           WHERE t.typnamespace = 'dw'::pg_catalog.regnamespace AND t.typtype = 'e'
             AND t.typowner <> 'dw_owner'::pg_catalog.regrole
  LOOP
    EXECUTE pg_catalog.format('ALTER TYPE dw.%I OWNER TO dw_owner', r.typname);
  END LOOP;
END
$$;
COMMENT ON SCHEMA dw IS 'Kimball star schema loaded by dw-etl (Airflow DAG warehouse). Owner dw_owner (migrations); written by dw_loader; read with dw_analyst.';
