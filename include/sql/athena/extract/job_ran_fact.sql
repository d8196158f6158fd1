-- dw.job_ran_fact extract for day D (Athena / Trino SQL; DuckDB runs it locally).
--
-- raw_mongo_jobs dt = D holds every job document whose updated_at fell in D, whatever its
-- event date (a job that ran over midnight, a correction). Those documents touch event dates
-- (the UTC date of started_at) in their current version and in any earlier version in the
-- lake. Each touched date is restated whole, from the latest version in the lake of every job
-- of that date; the load replaces exactly those dates (docs/decisions/0005, 0008). The dates
-- the unknown-member ledger still holds open are restated too, so jobs whose user, project or
-- organization arrived late point at it once it is there (0014). Grains
-- are pre-aggregated here; the load aggregates again after resolving surrogate keys.
with day_jobs as (
  select distinct id
  from raw_mongo_jobs
  where dt = '{{ run_date }}'
),
touched as (
  select distinct cast(j.started_at as date) as date
  from raw_mongo_jobs j
  join day_jobs d on d.id = j.id
{%- for d in unknown_member_dates %}
  union
  select date '{{ d }}'
{%- endfor %}
),
candidates as (
  select distinct id
  from raw_mongo_jobs
  where cast(started_at as date) in (select date from touched)
),
versions as (
  select
    j.*,
    row_number() over (partition by j.id order by j.updated_at desc, j.dt desc) as version_rank
  from raw_mongo_jobs j
  join candidates c on c.id = j.id
),
projects as (
  select
    analytics_id,
    visibility,
    row_number() over (partition by analytics_id order by updated_at desc, dt desc) as version_rank
  from raw_mongo_projects
)
select
  cast(j.started_at as date) as date,
  j.organization_analytics_id,
  j.project_analytics_id,
  j.user_analytics_id,
  j.subscription_id as subscription_billing_id,
  j.resource_class,
  j.operating_system,
  j.executor,
  coalesce(p.visibility, 'unknown') as project_visibility,
  coalesce(j.outcome, 'unknown') as outcome,
  coalesce(j.dlc, false) as dlc,
  count(*) as jobs_ran,
  sum(j.credits_used) as credits_used,
  sum(j.dlc_credits_used) as dlc_credits_used,
  sum(j.minutes_used) as minutes_used
from versions j
left join projects p
  on p.analytics_id = j.project_analytics_id
  and p.version_rank = 1
where j.version_rank = 1
  and cast(j.started_at as date) in (select date from touched)
group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
