-- dw_0007_unpartition_fact(table): the partitioned dw.<table> back to one plain table with the
-- same columns, primary key and comments (rows copied in key order, partitions dropped).
CREATE FUNCTION pg_temp.dw_0007_unpartition_fact(tbl text) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  old text := left(tbl, 54) || '_0007_new';
  pkey text;
  pkey_cols text;
  cmt text;
BEGIN
  SELECT c.conname,
         (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
            FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum)
    INTO pkey, pkey_cols
    FROM pg_catalog.pg_constraint c
   WHERE c.conrelid = format('dw.%I', tbl)::regclass AND c.contype = 'p';
  cmt := obj_description(format('dw.%I', tbl)::regclass, 'pg_class');
  EXECUTE format('CREATE TABLE dw.%I (LIKE dw.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS)', old, tbl);
  EXECUTE format('INSERT INTO dw.%I SELECT * FROM dw.%I ORDER BY %s', old, tbl, pkey_cols);
  EXECUTE format('DROP TABLE dw.%I', tbl);  -- its partitions with it
  EXECUTE format('ALTER TABLE dw.%I RENAME TO %I', old, tbl);
  EXECUTE format('ALTER TABLE dw.%I ADD CONSTRAINT %I PRIMARY KEY (%s)', tbl, pkey, pkey_cols);
  EXECUTE format('COMMENT ON TABLE dw.%I IS %L', tbl, cmt);
  EXECUTE format('ALTER TABLE dw.%I OWNER TO dw_loader', tbl);
END
$fn$;
