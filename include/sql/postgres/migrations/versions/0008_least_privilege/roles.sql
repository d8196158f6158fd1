-- dw_owner NOLOGIN: owns schema dw and everything in it; only the migrating login (connection
-- postgres_dw_migrate) is a member. dw_loader keeps USAGE on dw and DML on its tables only.
-- Cluster-wide, so guarded twice like 0001's roles.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'dw_owner') THEN
    BEGIN
      CREATE ROLE dw_owner NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
END
$$;

-- The migrating login must act as dw_owner (to hand it ownership). A superuser already can; a
-- CREATEROLE login that created the role grants itself membership; otherwise a DBA runs
-- `GRANT dw_owner TO <migrating login>` once.
DO $$
BEGIN
  IF NOT pg_catalog.pg_has_role(current_user, 'dw_owner', 'USAGE') THEN
    EXECUTE pg_catalog.format('GRANT dw_owner TO %I', current_user);
  END IF;
END
$$;
