-- dw.subscription_dim extract for day D (Athena / Trino SQL; DuckDB runs it locally).
-- raw_chargify_subscriptions dt = D holds the subscriptions whose updated_at fell in D, as they
-- stood then. The load keeps the latest per subscription_id and opens a version when
-- product_handle or state changed (SCD2, docs/decisions/0005). The billing id is the Chargify
-- subscription id as text: what the job documents carry in subscription_id.
select
  cast(id as varchar) as subscription_id,
  organization_analytics_id,
  product_handle,
  state,
  updated_at as source_updated_at
from raw_chargify_subscriptions
where dt = '{{ run_date }}'
