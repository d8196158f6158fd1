DROP INDEX dw.schema_changes_dt;
DROP TABLE dw.load_quarantine;
