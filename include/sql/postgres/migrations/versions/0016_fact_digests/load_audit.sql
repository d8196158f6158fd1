-- The dimensions' write watermark of the fact loads (dw.warehouse.digest): the last successful
-- load of a table that wrote rows, one index probe per looked-up dimension.
CREATE INDEX load_audit_table_writes ON dw.load_audit (table_name, id)
  WHERE outcome = 'success' AND coalesce(rows_inserted, 0) + coalesce(rows_updated, 0) + coalesce(rows_deleted, 0) > 0;
