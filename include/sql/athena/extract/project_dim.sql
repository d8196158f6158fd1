-- dw.project_dim extract: the projects snapshot of day D (the whole collection as of D).
select
  analytics_id,
  organization_analytics_id,
  name,
  visibility,
  created_at,
  updated_at as source_updated_at
from raw_mongo_projects
where dt = '{{ run_date }}'
