-- dw.analyze_partition(name): ANALYZE dw.<name>, which must be a partition of a partitioned
-- table of schema dw (a fact's monthly partition), as dw_owner, the owner of both. The fact
-- loads run as dw_loader, which owns nothing: this is the one thing of the owner's they may do.
-- SECURITY DEFINER, so: search_path pinned, the name quoted with %I, anything else refused.
CREATE OR REPLACE FUNCTION dw.analyze_partition(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF NOT EXISTS (
      SELECT 1 FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid
        JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
       WHERE c.relnamespace = 'dw'::pg_catalog.regnamespace AND c.relname = name AND c.relkind = 'r'
         AND c.relispartition AND p.relkind = 'p' AND p.relnamespace = 'dw'::pg_catalog.regnamespace) THEN
    RAISE EXCEPTION 'dw.analyze_partition: % is not a partition of a partitioned table of schema dw', name
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  EXECUTE pg_catalog.format('ANALYZE dw.%I', name);
END
$fn$;
ALTER FUNCTION dw.analyze_partition(text) OWNER TO dw_owner;
REVOKE ALL ON FUNCTION dw.analyze_partition(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dw.analyze_partition(text) TO dw_loader;
