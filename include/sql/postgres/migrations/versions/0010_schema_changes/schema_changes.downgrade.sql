DROP VIEW dw.schema_changes_first_seen;
DROP TABLE dw.schema_changes;
