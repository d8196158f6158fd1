DROP TABLE dw.load_quarantine;
