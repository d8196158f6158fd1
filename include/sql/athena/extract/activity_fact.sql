-- dw.activity_fact extract for day D (Athena / Trino SQL; DuckDB runs it locally).
-- raw_amplitude_events dt = D holds the events uploaded in D; an event's date is the UTC date of
-- its event_time, and uploads come late (offline clients), so D's uploads touch D and earlier
-- dates. Each touched date of the last 3 days (D-2 .. D) is restated whole from every upload
-- partition that can hold it (its own date .. D); older stragglers are left out. Events are
-- counted once by uuid.
with touched as (
  select distinct cast(event_time as date) as date
  from raw_amplitude_events
  where dt = '{{ run_date }}'
    and cast(event_time as date) between date_add('day', -2, date '{{ run_date }}') and date '{{ run_date }}'
),
events as (
  select uuid, cast(event_time as date) as date, organization_analytics_id, project_analytics_id,
         user_id, event_type, session_id
  from raw_amplitude_events
  where dt >= date_format(date_add('day', -2, date '{{ run_date }}'), '%Y-%m-%d')
    and dt <= '{{ run_date }}'
    and cast(event_time as date) in (select date from touched)
)
select
  date,
  organization_analytics_id,
  project_analytics_id,
  user_id as user_analytics_id,
  event_type,
  count(distinct uuid) as events,
  count(distinct session_id) as sessions
from events
group by 1, 2, 3, 4, 5
