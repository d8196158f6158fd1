-- Explicit grants only: no default privilege hands a future table to anyone (0001 granted
-- dw_analyst SELECT, and dw_loader ALL, on every future table of dw). migrate grants each
-- config table as it creates it; a later migration grants the tables it creates.
ALTER DEFAULT PRIVILEGES FOR ROLE dw_loader IN SCHEMA dw REVOKE SELECT ON TABLES FROM dw_analyst;
ALTER DEFAULT PRIVILEGES IN SCHEMA dw REVOKE ALL ON TABLES FROM dw_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA dw REVOKE SELECT ON TABLES FROM dw_analyst;

-- The loader: USAGE on the schema (no CREATE), rows of the tables it loads, nothing else.
REVOKE CREATE ON SCHEMA dw FROM dw_loader;
GRANT USAGE ON SCHEMA dw TO dw_loader;
REVOKE ALL ON ALL TABLES IN SCHEMA dw FROM dw_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA dw TO dw_loader;
REVOKE ALL ON dw.alembic_version FROM dw_loader;
GRANT SELECT ON dw.alembic_version TO dw_loader;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA dw TO dw_loader;
