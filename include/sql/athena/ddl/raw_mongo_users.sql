-- raw_mongo_users: MongoDB app.users, landed by ingest_mongo (snapshot: partition D holds the whole collection as of D).
-- One Parquet object per partition: {{ location }}dt=YYYY-MM-DD/part-00000.parquet
-- dt_partitioned_parquet (dw.lake_sql): PARTITIONED BY (dt string), Parquet, partition projection
-- on dt (no partition repair: a new day is readable as soon as it lands).
-- Columns and types follow include/config/sources/mongo.yaml (tests/test_lake_query.py checks it).
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.raw_mongo_users (
  id           string,  -- MongoDB field _id; never null
  analytics_id string,  -- never null
  login        string,
  email_hash   string,  -- MongoDB field email, keyed HMAC-SHA256 of the value
  created_at   timestamp,
  updated_at   timestamp  -- never null
)
{{ dt_partitioned_parquet }}
