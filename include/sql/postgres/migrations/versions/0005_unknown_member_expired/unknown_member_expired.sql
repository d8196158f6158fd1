-- dw.unknown_member_expired: the dates that left dw.unknown_member_dates unresolved. A fact load of
-- day D moves its table's ledger dates older than the heal window (D-7) here, with how many extract
-- rows still pointed at an unknown member, so the ledger stays bounded and nothing is restated
-- forever (dw.warehouse.ledger.expire, docs/decisions/0014, 0020). Readable by analysts and on-call;
-- a date here heals only by a backfill of it after the missing dimension rows arrived.
CREATE TABLE dw.unknown_member_expired (
  table_name    text        NOT NULL,   -- dw.<table_name>, a fact
  date          date        NOT NULL,   -- the fact's date that expired with unknown members
  source_rows   bigint      NOT NULL,   -- extract rows of the date still unresolved at its last load
  expired_on    date        NOT NULL,   -- the run's day D of the load that expired it
  dw_updated_at timestamptz NOT NULL,   -- loaded_at (data_interval_end) of that load
  CONSTRAINT unknown_member_expired_pkey PRIMARY KEY (table_name, date)
);
ALTER TABLE dw.unknown_member_expired OWNER TO dw_loader;
GRANT SELECT ON dw.unknown_member_expired TO dw_analyst;
COMMENT ON TABLE dw.unknown_member_expired IS 'Fact dates that left the unknown-member ledger unresolved, with their counts (dw-etl).';
