#!/bin/bash
# Run once by the postgres image on an empty data directory (docker-compose.yaml, warehouse-db):
# the two logins the platform uses (docs/decisions/0041). The migrator owns the database and may
# create roles (the migrations create dw_owner, dw_loader, dw_analyst and grant them); the roles
# are created here first so the loader login can be made a member of dw_loader only.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v loader_pw="$WAREHOUSE_LOADER_PASSWORD" -v migrator_pw="$WAREHOUSE_MIGRATOR_PASSWORD" <<'SQL'
CREATE ROLE dw_owner NOLOGIN;
CREATE ROLE dw_loader NOLOGIN;
CREATE ROLE dw_analyst NOLOGIN;
CREATE ROLE dw_etl_migrator LOGIN CREATEROLE PASSWORD :'migrator_pw';
CREATE ROLE dw_etl_loader LOGIN PASSWORD :'loader_pw';
GRANT dw_owner, dw_loader, dw_analyst TO dw_etl_migrator WITH ADMIN OPTION;
GRANT dw_loader TO dw_etl_loader;
ALTER DATABASE warehouse OWNER TO dw_etl_migrator;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
