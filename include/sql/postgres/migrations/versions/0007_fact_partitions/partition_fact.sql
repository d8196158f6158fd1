-- dw_0007_partition_fact(table): dw.<table>, a plain fact table, becomes a table partitioned by
-- RANGE of the first column of its primary key (the date), one partition per month from 2000-01
-- that holds rows, named <table>_pYYYY_MM as dw.warehouse.ddl.partition_name names them, and
-- <table>_p_before for all earlier dates (dw.warehouse.ddl.create_table makes the same). Same columns,
-- defaults, NOT NULLs, CHECKs, primary key name and comments; owner dw_loader (0008, next, hands
-- everything in dw to dw_owner and grants the loader DML); partitions are
-- not readable by dw_analyst (the analyst reads the parent; migrate grants it after this step).
CREATE FUNCTION pg_temp.dw_0007_partition_fact(tbl text) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  old text := left(tbl, 54) || '_0007_old';
  pkey text;
  pkey_cols text;
  date_col text;
  cmt text;
  m date;
  part text;
BEGIN
  SELECT c.conname,
         (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
            FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum),
         (SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = c.conkey[1])
    INTO pkey, pkey_cols, date_col
    FROM pg_catalog.pg_constraint c
   WHERE c.conrelid = format('dw.%I', tbl)::regclass AND c.contype = 'p';
  IF pkey IS NULL THEN
    RAISE EXCEPTION 'dw.% has no primary key: cannot tell its date column', tbl;
  END IF;
  cmt := obj_description(format('dw.%I', tbl)::regclass, 'pg_class');

  EXECUTE format('ALTER TABLE dw.%I RENAME TO %I', tbl, old);
  EXECUTE format('ALTER TABLE dw.%I RENAME CONSTRAINT %I TO %I', old, pkey, left(old, 58) || '_pkey');
  EXECUTE format('CREATE TABLE dw.%I (LIKE dw.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS) '
                 'PARTITION BY RANGE (%I)', tbl, old, date_col);
  EXECUTE format('ALTER TABLE dw.%I ADD CONSTRAINT %I PRIMARY KEY (%s)', tbl, pkey, pkey_cols);
  EXECUTE format('COMMENT ON TABLE dw.%I IS %L', tbl, cmt);
  EXECUTE format('ALTER TABLE dw.%I OWNER TO dw_loader', tbl);

  part := left(tbl, 54) || '_p_before';
  EXECUTE format('CREATE TABLE dw.%I PARTITION OF dw.%I FOR VALUES FROM (MINVALUE) TO (%L)', part, tbl, date '2000-01-01');
  EXECUTE format('ALTER TABLE dw.%I OWNER TO dw_loader', part);
  EXECUTE format('REVOKE ALL ON dw.%I FROM PUBLIC, dw_analyst', part);
  -- the months from 2000-01 between the first and the last date (index ends of the primary key)
  -- that hold rows
  FOR m IN EXECUTE format(
      'SELECT g::date FROM (SELECT greatest(min(%1$I), date ''2000-01-01'') AS lo, max(%1$I) AS hi FROM dw.%2$I) AS b, '
      'generate_series(date_trunc(''month'', b.lo), b.hi, interval ''1 month'') AS g '
      'WHERE EXISTS (SELECT 1 FROM dw.%2$I AS o WHERE o.%1$I >= g::date AND o.%1$I < (g + interval ''1 month'')::date)',
      date_col, old)
  LOOP
    part := left(tbl, 54) || '_p' || to_char(m, 'YYYY_MM');
    EXECUTE format('CREATE TABLE dw.%I PARTITION OF dw.%I FOR VALUES FROM (%L) TO (%L)',
                   part, tbl, m, (m + interval '1 month')::date);
    EXECUTE format('ALTER TABLE dw.%I OWNER TO dw_loader', part);
    EXECUTE format('REVOKE ALL ON dw.%I FROM PUBLIC, dw_analyst', part);
  END LOOP;

  EXECUTE format('INSERT INTO dw.%I SELECT * FROM dw.%I ORDER BY %s', tbl, old, pkey_cols);
  EXECUTE format('DROP TABLE dw.%I', old);
  EXECUTE format('ANALYZE dw.%I', tbl);
END
$fn$;
