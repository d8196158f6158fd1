-- dw.organization_dim extract (Athena / Trino SQL; DuckDB runs it locally, transpiled by sqlglot).
-- organizations lands as a full snapshot every day: the run's partition is the whole collection
-- as of day D. Duplicate analytics_ids are resolved by the load (latest source_updated_at wins).
select
  analytics_id,
  name,
  vcs_type,
  plan_tier,
  created_at,
  updated_at as source_updated_at
from raw_mongo_organizations
where dt = '{{ run_date }}'
