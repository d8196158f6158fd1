DROP INDEX dw.load_audit_table_writes;
