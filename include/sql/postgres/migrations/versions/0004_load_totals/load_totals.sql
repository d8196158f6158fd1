-- dw.load_totals: per fact table and date, what the last load of that date saw in its extract
-- (rows, measure sums) and what the fact held after it (rows, measure sums), written by the fact
-- load in its own transaction (dw.warehouse.totals). The Warehouse view compares the two sides
-- without scanning the lake or the fact.
CREATE TABLE dw.load_totals (
  table_name    text        NOT NULL,   -- dw.<table_name>, a fact
  date          date        NOT NULL,   -- a date of that fact the load restated
  extract_rows  bigint      NOT NULL,   -- extract (lake) rows of the date
  extract_sums  jsonb       NOT NULL,   -- {measure: sum} over those rows (numbers as text)
  dw_rows       bigint      NOT NULL,   -- fact rows of the date after the load
  dw_sums       jsonb       NOT NULL,   -- {measure: sum} over the fact rows of the date
  dw_updated_at timestamptz NOT NULL,   -- loaded_at (data_interval_end) of the load that last changed the row
  CONSTRAINT load_totals_pkey PRIMARY KEY (table_name, date)
);
ALTER TABLE dw.load_totals OWNER TO dw_loader;
GRANT SELECT ON dw.load_totals TO dw_analyst;
COMMENT ON TABLE dw.load_totals IS 'Per fact and date: extract vs warehouse rows and measure sums at the last load (dw-etl).';

-- The Warehouse view reads through postgres_dw (a login in dw_loader) as the analyst: SET ROLE
-- dw_analyst needs dw_loader to be a member of dw_analyst (which adds no privilege: the loader owns
-- every table). A login without ADMIN on dw_analyst leaves it to a DBA: GRANT dw_analyst TO dw_loader.
DO $$
BEGIN
  IF NOT pg_catalog.pg_has_role('dw_loader', 'dw_analyst', 'MEMBER') THEN
    GRANT dw_analyst TO dw_loader;
  END IF;
EXCEPTION WHEN insufficient_privilege OR unique_violation OR internal_error THEN  -- no ADMIN, or a concurrent migration of another database granting it
  RAISE NOTICE 'could not GRANT dw_analyst TO dw_loader (%): a DBA must, for the Warehouse view', SQLERRM;
END
$$;
