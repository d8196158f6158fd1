-- dw.job_ran_fact extract for day D (Athena / Trino SQL; DuckDB runs it locally).
--
-- raw_mongo_jobs dt = D holds every job document whose updated_at fell in D, whatever its
-- event date (a job that ran over midnight, a correction, a job moved to another day). The
-- latest_versions pattern (macros/latest_versions.sql, docs/decisions/0020) gives the dates D
-- touches (``touched``: the jobs' event dates, the UTC date of started_at, in their current and
-- earlier versions, and the dates the unknown-member ledger holds open, 0014) and the latest
-- version of every job of those dates (``latest``), reading a bounded window of partitions.
-- Each touched date is restated whole; the load replaces exactly those dates (0005, 0008).
-- A project's visibility is the one of its latest document in the snapshots of the event date
-- and the day after (a project that arrives a day late is known), 'unknown' if in neither.
-- Grains are pre-aggregated here; the load aggregates again after resolving surrogate keys.
{% from 'macros/latest_versions.sql' import latest_versions -%}
with {{ latest_versions('raw_mongo_jobs', 'cast(started_at as date)') }},
projects as (
  select t.date, p.analytics_id, p.visibility,
         row_number() over (partition by t.date, p.analytics_id order by p.dt desc, p.updated_at desc, p.id desc)
           as version_rank
  from raw_mongo_projects p
  join touched t
    on p.dt between date_format(t.date, '%Y-%m-%d') and date_format(date_add('day', 1, t.date), '%Y-%m-%d')
  where p.dt between '{{ shift(run_date, -look_back - 1) }}' and '{{ shift(run_date, look_back + 1) }}'
    and p.dt between (select date_format(min(date), '%Y-%m-%d') from touched)
                 and (select date_format(date_add('day', 1, max(date)), '%Y-%m-%d') from touched)
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
from latest j
left join projects p
  on p.analytics_id = j.project_analytics_id
  and p.date = cast(j.started_at as date)
  and p.version_rank = 1
group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
