DROP TABLE dw.fact_digests;
