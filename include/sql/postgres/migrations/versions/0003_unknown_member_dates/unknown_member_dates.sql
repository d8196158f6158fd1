-- dw.unknown_member_dates: per fact table, the dates whose last load left extract rows at an
-- unknown member although their natural key could still arrive (dw.warehouse.ledger). Written by
-- the fact load in its own transaction; read by the fact's extract task, which restates these
-- dates so that late-arriving dimension rows heal them (docs/decisions/0014).
CREATE TABLE dw.unknown_member_dates (
  table_name    text        NOT NULL,   -- dw.<table_name>, a fact
  date          date        NOT NULL,   -- a date of that fact
  source_rows   bigint      NOT NULL,   -- extract rows of the date whose key did not resolve yet
  dw_updated_at timestamptz NOT NULL,   -- the loaded_at (data_interval_end) of the load that wrote it
  CONSTRAINT unknown_member_dates_pkey PRIMARY KEY (table_name, date),
  CONSTRAINT unknown_member_dates_rows CHECK (source_rows > 0)
);
ALTER TABLE dw.unknown_member_dates OWNER TO dw_loader;
GRANT SELECT ON dw.unknown_member_dates TO dw_analyst;
COMMENT ON TABLE dw.unknown_member_dates IS 'Fact dates holding unknown members that may still resolve (dw-etl): restated by the next runs.';
