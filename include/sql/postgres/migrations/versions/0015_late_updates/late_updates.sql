-- dw.late_updates: per fact and day D, what the fact's extract of D saw beyond its look-back:
-- documents of D's partition updated more than look_back_days after their creation, which the
-- extract does not restate (docs/decisions/0020, 0021). The extract task replaces its row for
-- (table, D) on every attempt, and deletes it when there are none (a run with a look_back_days
-- that reaches them restated them): the rows are the late updates not restated yet. Readable by
-- analysts and on-call; counts and dates only, never a document's value.
CREATE TABLE dw.late_updates (
  dt             date    NOT NULL,   -- the day whose partition held the late updates (the run that saw them)
  table_name     text    NOT NULL,   -- the fact whose extract saw them
  documents      bigint  NOT NULL CHECK (documents > 0),
  oldest_created date    NOT NULL,   -- the oldest creation day among them
  look_back_days integer NOT NULL CHECK (look_back_days > 0),  -- the look-back the extract ran with
  recorded_by    text    NOT NULL,   -- <dag_id>.<task_id> that saw them
  CONSTRAINT late_updates_pkey PRIMARY KEY (table_name, dt)
);
ALTER TABLE dw.late_updates OWNER TO dw_owner;
REVOKE ALL ON dw.late_updates FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON dw.late_updates TO dw_loader;
GRANT SELECT ON dw.late_updates TO dw_analyst;
COMMENT ON TABLE dw.late_updates IS 'Updates beyond the fact extracts'' look-back, not restated yet, per fact and day (dw-etl).';
