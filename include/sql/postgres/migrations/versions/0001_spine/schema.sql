-- The warehouse schema (env.py may already have created it, to hold dw.alembic_version).
CREATE SCHEMA IF NOT EXISTS dw;
ALTER SCHEMA dw OWNER TO dw_loader;
REVOKE ALL ON SCHEMA dw FROM PUBLIC;
COMMENT ON SCHEMA dw IS 'Kimball star schema loaded by dw-etl (Airflow DAG warehouse). Owner dw_loader; read with dw_analyst.';
