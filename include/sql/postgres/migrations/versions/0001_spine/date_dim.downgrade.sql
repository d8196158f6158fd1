DROP TABLE IF EXISTS dw.date_dim;
