-- dw.activity_fact extract for day D (Athena / Trino SQL; DuckDB runs it locally).
-- raw_amplitude_events dt = D holds the events uploaded in D; an event's date is the UTC date of
-- its event_time, and uploads come late (offline clients), so D's uploads touch D and earlier
-- dates. An event counts if it was uploaded within 7 days of its date: each touched date X of
-- D-7 .. D is restated whole from the upload partitions X .. X+7, whichever run restates it, so
-- the slice of a date does not depend on the order runs happen in (docs/decisions/0008).
-- The dates the unknown-member ledger holds open (D-7 .. D+7: a user or project that had not
-- arrived) are restated the same way (docs/decisions/0014). Events are counted once by uuid.
-- Every partition read is within D-7 .. D+14, whatever the lake's length (0020).
with touched as (
  select distinct cast(event_time as date) as date
  from raw_amplitude_events
  where dt = '{{ run_date }}'
    and cast(event_time as date) between date_add('day', -7, date '{{ run_date }}') and date '{{ run_date }}'
{%- for d in unknown_member_dates %}
  union
  select date '{{ d }}'
{%- endfor %}
),
events as (
  select uuid, cast(event_time as date) as date, organization_analytics_id, project_analytics_id,
         user_id, event_type, session_id
  from raw_amplitude_events
  where dt between '{{ shift(run_date, -7) }}' and '{{ shift(run_date, 14) }}'
    and cast(event_time as date) in (select date from touched)
    and dt between date_format(cast(event_time as date), '%Y-%m-%d')
               and date_format(date_add('day', 7, cast(event_time as date)), '%Y-%m-%d')
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
