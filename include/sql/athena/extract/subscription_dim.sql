-- dw.subscription_dim extract for day D (Athena / Trino SQL; DuckDB runs it locally).
-- raw_chargify_subscriptions dt = D holds the subscriptions whose updated_at fell in D, as they
-- stood then. For each of them, every observation in the lake (any partition) is extracted: the
-- load rebuilds each touched subscription's whole version history from its observations (SCD2 on
-- product_handle and state, docs/decisions/0011), so the result is the same whichever order the
-- days are loaded in. The billing id is the Chargify subscription id as text: what the job
-- documents carry in subscription_id.
with touched as (
  select distinct id
  from raw_chargify_subscriptions
  where dt = '{{ run_date }}'
)
select distinct
  cast(s.id as varchar) as subscription_id,
  s.organization_analytics_id,
  s.product_handle,
  s.state,
  s.updated_at as source_updated_at
from raw_chargify_subscriptions s
join touched t on t.id = s.id
