DROP TABLE dw.load_totals;
