-- dw.user_dim extract: the users snapshot of day D. The email never reaches the lake in clear:
-- ingest_mongo replaced it with a keyed hash (email_hash) before upload.
select
  analytics_id,
  login,
  email_hash,
  created_at,
  updated_at as source_updated_at
from raw_mongo_users
where dt = '{{ run_date }}'
