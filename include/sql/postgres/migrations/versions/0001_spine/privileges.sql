-- Who may do what in dw. The loader owns everything (it is the owner of the schema and of
-- each table); the analyst reads. migrate re-applies the table grants after it creates the
-- config-declared tables, column by column where a table holds personal data
-- (dw.user_dim.email_hash is never readable by dw_analyst).
GRANT USAGE, CREATE ON SCHEMA dw TO dw_loader;
GRANT USAGE ON SCHEMA dw TO dw_analyst;

GRANT ALL ON dw.date_dim TO dw_loader;
GRANT SELECT ON dw.date_dim TO dw_analyst;

-- Tables created later (by dw_loader or by the migrating login): the loader may do
-- everything, the analyst may read. Tables with personal-data columns get column grants
-- from migrate in the same transaction that creates them.
ALTER DEFAULT PRIVILEGES FOR ROLE dw_loader IN SCHEMA dw GRANT SELECT ON TABLES TO dw_analyst;
ALTER DEFAULT PRIVILEGES IN SCHEMA dw GRANT ALL ON TABLES TO dw_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA dw GRANT SELECT ON TABLES TO dw_analyst;
