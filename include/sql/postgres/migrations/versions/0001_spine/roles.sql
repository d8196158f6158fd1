-- Roles are cluster-wide: another database of the same cluster may have created them, maybe
-- at this very moment (its migration holds its own database's advisory lock, not ours), so
-- each CREATE ROLE is guarded twice: IF NOT EXISTS, and the duplicate error of a race.
--   dw_loader   NOLOGIN: owns schema dw and everything in it; the Airflow login is a member
--   dw_analyst  NOLOGIN: USAGE on dw and SELECT on its tables (not on personal-data columns)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'dw_loader') THEN
    BEGIN
      CREATE ROLE dw_loader NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'dw_analyst') THEN
    BEGIN
      CREATE ROLE dw_analyst NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
END
$$;

-- The migrating login must be able to act as dw_loader (to hand it ownership). A superuser
-- already can; a CREATEROLE login that just created the role holds ADMIN on it and grants
-- itself membership here; otherwise a DBA runs `GRANT dw_loader TO <airflow login>` once.
DO $$
BEGIN
  IF NOT pg_catalog.pg_has_role(current_user, 'dw_loader', 'USAGE') THEN
    EXECUTE format('GRANT dw_loader TO %I', current_user);
  END IF;
END
$$;
