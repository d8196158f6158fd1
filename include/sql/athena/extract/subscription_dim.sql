-- dw.subscription_dim extract for day D (Athena / Trino SQL; DuckDB runs it locally).
-- raw_chargify_subscriptions dt = D holds the subscriptions whose updated_at fell in D, as they
-- stood then: the extract is that partition only. The load records these observations as D's
-- (dw.subscription_dim_observations, replacing what an earlier load of D recorded) and rebuilds
-- each touched subscription's version history (SCD2 on product_handle and state) from every
-- observation the warehouse holds, so the result is the same whichever order the days are loaded
-- in (docs/decisions/0011, 0021). The billing id is the Chargify subscription id as text: what
-- the job documents carry in subscription_id.
select distinct
  cast(s.id as varchar) as subscription_id,
  s.organization_analytics_id,
  s.product_handle,
  s.state,
  s.updated_at as source_updated_at
from raw_chargify_subscriptions s
where s.dt = '{{ run_date }}'
