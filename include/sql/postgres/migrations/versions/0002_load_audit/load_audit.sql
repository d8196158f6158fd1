-- dw.load_audit: the load ledger, one row per attempt to load a table for a run's day.
-- A successful load writes its row in the load's own transaction (the row exists iff the load
-- committed); a failed load writes an outcome 'failed' row after its transaction rolled back.
-- Wall-clock times here are audit metadata: no warehouse value is derived from them.
CREATE TABLE dw.load_audit (
  id              bigint      GENERATED ALWAYS AS IDENTITY,
  table_name      text        NOT NULL,   -- dw.<table_name>
  date            date        NOT NULL,   -- the run's day D (its data interval's start)
  dag_id          text,
  run_id          text,
  task_id         text,
  try_number      integer,
  extract_uri     text,                   -- s3:// object the load read
  query_id        text,                   -- Athena query execution id (or the local DuckDB run's id)
  rows_copied     bigint,
  rows_deleted    bigint,
  rows_inserted   bigint,
  rows_updated    bigint,
  rows_unknown    bigint,                 -- fact rows written pointing at an unknown member
  dates_restated  date[],                 -- fact dates the extract restated
  started_at      timestamptz NOT NULL,
  ended_at        timestamptz NOT NULL,
  outcome         text        NOT NULL,
  error           text,
  CONSTRAINT load_audit_pkey PRIMARY KEY (id),
  CONSTRAINT load_audit_outcome CHECK (outcome IN ('success', 'failed')),
  CONSTRAINT load_audit_error CHECK ((outcome = 'failed') = (error IS NOT NULL))
);
CREATE INDEX load_audit_table_date ON dw.load_audit (table_name, date);
ALTER TABLE dw.load_audit OWNER TO dw_loader;
GRANT SELECT ON dw.load_audit TO dw_analyst;
COMMENT ON TABLE dw.load_audit IS 'One row per warehouse table load (dw-etl): counts, extract, timing, outcome.';
