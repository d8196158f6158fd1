-- raw_amplitude_events: Amplitude /api/2/export, landed by ingest_amplitude (window: partition D holds the events uploaded (server_upload_time) in D, whatever their event_time).
-- One Parquet object per partition: {{ location }}dt=YYYY-MM-DD/part-00000.parquet; the objects as
-- served are beside it, in raw/amplitude/events_json/ (docs/decisions/0010-vendor-landing.md).
-- dt_partitioned_parquet (dw.lake_sql): PARTITIONED BY (dt string), Parquet, partition projection on dt.
-- Columns and types follow include/config/sources/amplitude.yaml (tests/test_vendor_warehouse.py checks it).
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.raw_amplitude_events (
  uuid                      string,  -- never null
  insert_id                 string,  -- amplitude field $insert_id
  event_type                string,  -- never null
  event_time                timestamp,  -- never null
  server_upload_time        timestamp,  -- never null
  user_id                   string,
  device_id                 string,
  session_id                bigint,
  organization_analytics_id string,  -- amplitude field event_properties.organization_analytics_id
  project_analytics_id      string,  -- amplitude field event_properties.project_analytics_id
  platform                  string,
  amplitude_id              bigint,
  event_properties          string  -- JSON text
)
{{ dt_partitioned_parquet }}
