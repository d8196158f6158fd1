DROP TABLE dw.late_updates;
