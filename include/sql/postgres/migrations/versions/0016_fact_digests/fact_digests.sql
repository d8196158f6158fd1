-- dw.fact_digests: per fact and date, what the last load that resolved the date read: its
-- extract slice, the resolve statement and the looked-up dimensions' write watermark, as one md5
-- (dw.warehouse.digest). A load leaves a date whose digest is unchanged as it is, without
-- resolving it (docs/decisions/0032). Written by the fact load in its own transaction.
CREATE TABLE dw.fact_digests (
  table_name text NOT NULL,   -- dw.<table_name>, a fact
  date       date NOT NULL,   -- a date of that fact
  digest     text NOT NULL,   -- md5 hex
  CONSTRAINT fact_digests_pkey PRIMARY KEY (table_name, date)
);
ALTER TABLE dw.fact_digests OWNER TO dw_owner;
REVOKE ALL ON dw.fact_digests FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON dw.fact_digests TO dw_loader;
COMMENT ON TABLE dw.fact_digests IS 'Per fact and date: digest of the extract slice and resolution its last resolving load read (dw-etl, 0032).';
