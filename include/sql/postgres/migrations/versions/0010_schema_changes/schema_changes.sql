-- dw.schema_changes: one row per day, place and kind of upstream change the platform saw (a new
-- field in a source, a new value of an enumerated column, values whose type did not convert),
-- with how many rows showed it and what the column's contract did with them. The task that saw
-- the change replaces its own rows for its day in one transaction, so a re-run writes the same
-- rows. First seen = min(dt) per (source, entity, column_name, change, detail). Readable by
-- analysts and on-call; detail holds a type name or an enumerated value, never a record's value.
CREATE TABLE dw.schema_changes (
  dt          date   NOT NULL,   -- the day whose data showed the change
  source      text   NOT NULL,   -- mongo, stripe, amplitude, chargify, or warehouse
  entity      text   NOT NULL,   -- the collection, vendor table, or warehouse table
  column_name text   NOT NULL,   -- the field or column
  change      text   NOT NULL CHECK (change IN ('new_field', 'new_enum_value', 'type_mismatch')),
  detail      text   NOT NULL DEFAULT '',  -- the observed type, or the new enumerated value
  row_count   bigint NOT NULL CHECK (row_count >= 0),
  action      text   NOT NULL CHECK (action IN ('evolve', 'freeze', 'discard_row', 'discard_value', 'quarantine')),
  recorded_by text   NOT NULL,   -- <dag_id>.<task_id> that saw it
  CONSTRAINT schema_changes_pkey PRIMARY KEY (dt, source, entity, column_name, change, detail, recorded_by)
);
CREATE INDEX schema_changes_place ON dw.schema_changes (source, entity, column_name, change, detail, dt);
ALTER TABLE dw.schema_changes OWNER TO dw_owner;
REVOKE ALL ON dw.schema_changes FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON dw.schema_changes TO dw_loader;
GRANT SELECT ON dw.schema_changes TO dw_analyst;
COMMENT ON TABLE dw.schema_changes IS 'Upstream changes seen per day and what the contract did (dw-etl).';

-- first seen and last seen of each change, for on-call and the Warehouse view
CREATE VIEW dw.schema_changes_first_seen AS
SELECT source, entity, column_name, change, detail,
       min(dt) AS first_seen, max(dt) AS last_seen, sum(row_count) AS row_count,
       (array_agg(action ORDER BY dt DESC))[1] AS last_action
  FROM dw.schema_changes
 GROUP BY source, entity, column_name, change, detail;
ALTER VIEW dw.schema_changes_first_seen OWNER TO dw_owner;
REVOKE ALL ON dw.schema_changes_first_seen FROM PUBLIC;
GRANT SELECT ON dw.schema_changes_first_seen TO dw_analyst, dw_loader;
