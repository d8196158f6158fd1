{#-
The lake's "latest version" pattern, written once (docs/decisions/0020-bounded-extracts.md).
A fact extract imports it and selects from the CTEs it defines:

    {% from 'macros/latest_versions.sql' import latest_versions %}
    with {{ latest_versions('raw_mongo_jobs', 'cast(started_at as date)') }}
    select <its date and columns> from latest group by ...

``table`` is a raw table whose partition dt = D holds the documents updated on D (any version
of a document may be in any partition); ``event`` the SQL expression of a version's event date
(columns unqualified). It defines:

- ``touched``  (date): the event dates D restates: those of D's documents, in their current
  version and every earlier one (a moved document leaves its old date), and the unknown-member
  ledger's open dates (``unknown_member_dates``);
- ``latest``   (every column of ``table``): the latest version of each document whose latest
  version is on a touched date;
- ``lv_late``  (``lv_id``, ``lv_created``): D's documents created more than ``look_back`` days
  before D, beyond the contract (their update is not restated: reported by the extract task).

The contract, with L = ``look_back`` (lake.yaml ``look_back_days``): every version of a document
lands within L days of its creation day (the time in its MongoDB ObjectId, ``created``), carries
an event date from the day before its creation to L days after it, and lands no earlier than the
day before its event date. Then a touched date X is restated from its documents' versions in
partitions X-L-1 .. X+L+1 only, the same whichever run restates it. Every partition read is
within D-2L-2 .. D+2L+1 (literal bounds, so Athena's partition projection prunes the rest); the
tighter bounds from the day's documents (subqueries: their creation days, the touched dates)
let an engine with dynamic filtering skip what the day does not touch.
-#}
{% macro latest_versions(table, event, id='id', updated='updated_at', created=none) -%}
{%- set L = look_back -%}
{%- set created = created or "cast(from_unixtime(try(from_base(substr(" ~ id ~ ", 1, 8), 16))) as date)" -%}
lv_day as (
  -- D's documents and their creation day (an id minted after D counts as created on D)
  select distinct {{ id }} as lv_id,
         least(coalesce({{ created }}, date '{{ run_date }}'), date '{{ run_date }}') as lv_created
  from {{ table }}
  where dt = '{{ run_date }}'
),
lv_late as (
  select lv_id, lv_created from lv_day where lv_created < date '{{ shift(run_date, -L) }}'
),
lv_prior as (
  -- every version of D's documents (created D-L .. D: within L days of creation)
  select {{ event }} as lv_date
  from {{ table }} v
  join lv_day d on d.lv_id = v.{{ id }}
  where v.dt between '{{ shift(run_date, -L) }}' and '{{ run_date }}'
    and v.dt >= (select date_format(min(lv_created), '%Y-%m-%d') from lv_day
                 where lv_created >= date '{{ shift(run_date, -L) }}')
    and d.lv_created >= date '{{ shift(run_date, -L) }}'
),
touched as (
  select distinct lv_date as date
  from lv_prior
  where lv_date between date '{{ shift(run_date, -L - 1) }}' and date '{{ shift(run_date, L) }}'
{%- for d in unknown_member_dates %}
  union
  select date '{{ d }}'
{%- endfor %}
),
lv_candidates as (
  -- the documents with a version on a touched date X, and their creation days: such a version
  -- lands from the day before X on (an event is not recorded before it happens) to X+L+1
  select {{ id }} as lv_id, min(coalesce({{ created }}, date(dt))) as lv_created
  from {{ table }}
  where dt between '{{ shift(run_date, -L - 2) }}' and '{{ shift(run_date, 2 * L + 1) }}'
    and dt between (select date_format(date_add('day', -1, min(date)), '%Y-%m-%d') from touched)
               and (select date_format(date_add('day', {{ L + 1 }}, max(date)), '%Y-%m-%d') from touched)
    and {{ event }} in (select date from touched)
  group by {{ id }}
),
lv_versions as (
  -- every version of the candidates landed within L days of the document's creation, newest
  -- first (one version per document and partition: dt breaks a tie on {{ updated }})
  select v.*,
         row_number() over (partition by v.{{ id }} order by v.{{ updated }} desc, v.dt desc) as lv_rank
  from {{ table }} v
  join lv_candidates c on c.lv_id = v.{{ id }}
  where v.dt between '{{ shift(run_date, -2 * L - 2) }}' and '{{ shift(run_date, 2 * L + 1) }}'
    and v.dt between (select date_format(min(lv_created), '%Y-%m-%d') from lv_candidates)
                 and (select date_format(date_add('day', {{ L + 1 }}, max(date)), '%Y-%m-%d') from touched)
    and v.dt <= date_format(date_add('day', {{ L }}, c.lv_created), '%Y-%m-%d')
),
latest as (
  select *
  from lv_versions
  where lv_rank = 1
    and {{ event }} in (select date from touched)
)
{%- endmacro %}
