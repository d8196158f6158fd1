-- dw.add_enum_value(type_name, value): add the label value to the enumerated type dw.<type_name>
-- (nothing if it has it), as dw_owner, the types' owner. A load calls it on a second connection
-- that commits before the load casts (a label added in a transaction is unusable until that
-- transaction commits). SECURITY DEFINER, so: search_path pinned, names quoted with %I/%L, only
-- enum types of schema dw, only plain labels (letters, digits, _ . + -; at most 63 bytes).
-- Returns whether it added the label. Errors never repeat the value.
CREATE OR REPLACE FUNCTION dw.add_enum_value(type_name text, value text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t
                  WHERE t.typnamespace = 'dw'::pg_catalog.regnamespace AND t.typname = type_name AND t.typtype = 'e') THEN
    RAISE EXCEPTION 'dw.add_enum_value: % is not an enumerated type of schema dw', type_name
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF value IS NULL OR value !~ '^[A-Za-z0-9][A-Za-z0-9_.+-]{0,62}$' THEN
    RAISE EXCEPTION 'dw.add_enum_value: not a plain label for dw.%', type_name
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_enum e JOIN pg_catalog.pg_type t ON t.oid = e.enumtypid
              WHERE t.typnamespace = 'dw'::pg_catalog.regnamespace AND t.typname = type_name AND e.enumlabel = value) THEN
    RETURN false;
  END IF;
  EXECUTE pg_catalog.format('ALTER TYPE dw.%I ADD VALUE IF NOT EXISTS %L', type_name, value);
  RETURN true;
END
$fn$;
ALTER FUNCTION dw.add_enum_value(text, text) OWNER TO dw_owner;
REVOKE ALL ON FUNCTION dw.add_enum_value(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dw.add_enum_value(text, text) TO dw_loader;
