-- raw_mongo_jobs: MongoDB app.jobs, landed by ingest_mongo (incremental on updated_at: partition D holds the documents whose updated_at fell in D).
-- One Parquet object per partition: {{ location }}dt=YYYY-MM-DD/part-00000.parquet
-- dt_partitioned_parquet (dw.lake_sql): PARTITIONED BY (dt string), Parquet, partition projection
-- on dt (no partition repair: a new day is readable as soon as it lands).
-- Columns and types follow include/config/sources/mongo.yaml (tests/test_lake_query.py checks it).
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.raw_mongo_jobs (
  id                        string,  -- MongoDB field _id; never null
  organization_analytics_id string,
  project_analytics_id      string,
  user_analytics_id         string,
  subscription_id           string,
  started_at                timestamp,  -- never null
  stopped_at                timestamp,
  outcome                   string,
  resource_class            string,
  executor                  string,
  operating_system          string,
  dlc                       boolean,
  credits_used              bigint,
  dlc_credits_used          bigint,
  minutes_used              decimal(18,3),
  updated_at                timestamp  -- never null
)
{{ dt_partitioned_parquet }}
