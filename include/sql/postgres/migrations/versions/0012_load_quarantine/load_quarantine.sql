-- dw.load_quarantine: the extract rows a warehouse load set aside because they cannot be loaded
-- (a value that does not convert to its column's type, a NULL in a NOT NULL column, a new
-- enumerated value under discard_row), with the reason; the rest of the extract loads. A load
-- replaces the rows of its table and dates in its transaction, so a clear after the cause is
-- fixed loads them and empties their quarantine. dt: the run's date (a fact row: its own date
-- when that converts). The row is the one place a record is kept: analysts read every column
-- but "record"; reasons never quote a value.
CREATE TABLE dw.load_quarantine (
  table_name     text        NOT NULL,
  dt             date        NOT NULL,
  file           text        NOT NULL,   -- the extract's s3:// URI
  line           bigint      NOT NULL,   -- line of the extract (the header is line 1)
  column_name    text        NOT NULL,   -- the first column that failed
  reason         text        NOT NULL,   -- e.g. 'not a valid integer', 'NULL in a NOT NULL column'
  record         jsonb       NOT NULL,   -- the extract row, column: text value
  quarantined_at timestamptz NOT NULL,   -- the load's loaded_at
  CONSTRAINT load_quarantine_pkey PRIMARY KEY (table_name, dt, file, line)
);
-- the Warehouse view's counts over recent days
CREATE INDEX load_quarantine_dt ON dw.load_quarantine (dt, table_name, reason);
ALTER TABLE dw.load_quarantine OWNER TO dw_owner;
REVOKE ALL ON dw.load_quarantine FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON dw.load_quarantine TO dw_loader;
GRANT SELECT (table_name, dt, file, line, column_name, reason, quarantined_at) ON dw.load_quarantine TO dw_analyst;
COMMENT ON TABLE dw.load_quarantine IS 'Extract rows a warehouse load could not take, with the reason (dw-etl).';
