ALTER SCHEMA dw OWNER TO dw_loader;
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT c.relname FROM pg_catalog.pg_class c
           WHERE c.relnamespace = 'dw'::pg_catalog.regnamespace AND c.relkind IN ('r', 'p')
  LOOP
    EXECUTE pg_catalog.format('ALTER TABLE dw.%I OWNER TO dw_loader', r.relname);
  END LOOP;
  FOR r IN SELECT t.typname FROM pg_catalog.pg_type t
           WHERE t.typnamespace = 'dw'::pg_catalog.regnamespace AND t.typtype = 'e'
  LOOP
    EXECUTE pg_catalog.format('ALTER TYPE dw.%I OWNER TO dw_loader', r.typname);
  END LOOP;
END
$$;
