DROP TABLE dw.load_audit;
