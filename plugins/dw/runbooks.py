"""On-call runbooks, rendered as ``doc_md`` on every DAG, task group and task.

Each one answers, in the same order, what an on-call engineer needs at night: what the piece
**reads** and **writes**, whether it is safe to **clear** (it always is: every task replaces
exactly what its run owns) and what a clear re-does, what to check **when it fails**, and how
to **backfill**. Built from config, so a new table or source gets its runbook free. The UI
shows a DAG's runbook under *Dag Docs*, a task's under *Documentation* on the task's page, and
a task group's on the group's page; every failure message links there (``dw.notify``).
"""

from __future__ import annotations

_DATE = (
    "A run processes one UTC day D, its data interval `[D 00:00, D+1 00:00)`. "
    "The run with logical date D+1 processes D."
)

_FAILURE_MESSAGE = (
    "The last lines of the task's log hold the failure message (`dw-etl FAILED <dag> › <task> › date D`, "
    "with the error and links to the log and this runbook; also posted to Slack when the connection "
    "`slack_alerts` exists). Read the error above it."
)


def _runbook(*, reads: str, writes: str, clear: str, fails: str, backfill: str) -> str:
    """The five answers, in the same order on every DAG, task group and task."""
    return (
        f"- **Reads**: {reads}\n"
        f"- **Writes**: {writes}\n"
        f"- **Clear**: {clear}\n"
        f"- **When it fails**: {fails}\n"
        f"- **Backfill**: {backfill}\n"
    )


def _dag_backfill(dag: str, order: str) -> str:
    return (
        f"UI: *{dag}* ▸ *Trigger* ▸ *Backfill*. The range's dates are when the runs fire, at the end of the "
        f"day each one processes: to load days D1 … D2 enter D1+1 … D2+1 (the dry run lists the runs; their ids "
        f"read `backfill__<D+1>`). *Reprocess behavior* \"Missing Runs\" fills gaps; \"All Runs\" also re-runs "
        f"days that succeeded (after a data fix). CLI: `airflow backfill create --dag-id {dag} --from-date D1+1 "
        f"--to-date D2+1` (`--reprocess-behavior completed` to re-run); API: `POST /api/v2/backfills`. {order}"
    )


_INGEST_ORDER = (
    "Runs may overlap and go in any order: each writes only its own day's partitions. Then backfill "
    "`warehouse` for the same dates (re-ingested days change the lake the warehouse loaded)."
)

_TASK_BACKFILL = (
    "This task runs in every run a backfill of its DAG creates (see the DAG's runbook). To redo only "
    "this task for a range of days: *Browse* ▸ *Task Instances*, filter on this task and the runs, "
    "select them, *Clear* with *Downstream*."
)


def _warehouse_after_ingest(source: str, entity: str) -> str:
    return (f"Re-ingesting day D changes the lake: if `warehouse` loaded D already, clear its run's "
            f"`lake_ready.raw_{source}_{entity}` with downstream so the warehouse reloads from the new partition")


# --------------------------------------------------------------------------- ingest_mongo


def ingest_mongo(src) -> str:
    rows = "\n".join(
        f"| `{c.name}` | {c.mode}{' on `' + c.cursor_field + '`' if c.cursor_field else ''} "
        f"| `raw/mongo/{c.name}/dt=D/part-00000.parquet` |"
        for c in src.collections.values()
    )
    body = _runbook(
        reads=f"MongoDB `{src.database}` through the connection `{src.conn_id}`; the key of the email hash "
              f"from `{src.pii_key_conn_id}`.",
        writes="one Parquet object per collection and day in the lake (`aws_lake`), in the table above; each "
               "task emits its collection's Asset.",
        clear="safe. A cleared task re-extracts its collection for D and replaces the day's partition with one "
              "atomic upload; until it completes readers see the old partition. A snapshot collection cleared "
              "later captures the collection as it is then. " + _warehouse_after_ingest("mongo", "<collection>") + ".",
        fails=f"{_FAILURE_MESSAGE} A conversion error names the collection, the date, the document `_id` and "
              f"the field and is not retried: the source changed shape — fix the document or its type in "
              f"`include/config/sources/mongo.yaml`, then clear the task. A connection error is retried twice; "
              f"if it persists check `{src.conn_id}` (*Admin* ▸ *Connections*). Nothing was written: the previous "
              f"partition stays.",
        backfill=_dag_backfill("ingest_mongo", _INGEST_ORDER),
    )
    return f"""\
# ingest_mongo — MongoDB `{src.database}` into the lake

{_DATE}

| collection | extraction | writes |
|---|---|---|
{rows}

{body}"""


def mongo_collection(src, coll) -> str:
    what = (
        f"the documents of `{src.database}.{coll.name}` whose `{coll.cursor_field}` is in the run's data interval"
        if coll.mode == "incremental"
        else f"the whole collection `{src.database}.{coll.name}` (a snapshot)"
    )
    pii = [n for n, f in coll.fields.items() if f.pii]
    pii_line = f" Fields {', '.join(f'`{p}`' for p in pii)} are replaced by a keyed hash before upload." if pii else ""
    body = _runbook(
        reads=f"{what}, through `{src.conn_id}`.",
        writes=f"`s3://<lake>/raw/mongo/{coll.name}/dt=D/part-00000.parquet`, one object replaced atomically, "
               f"each field converted to its declared type; the Asset `raw_mongo_{coll.name}`.{pii_line}",
        clear="safe: re-extracts the day and replaces the partition. " + _warehouse_after_ingest("mongo", coll.name) + ".",
        fails="a conversion error names the document `_id` and the field (not retried: fix the document or "
              "`include/config/sources/mongo.yaml`, then clear); a connection error is retried, then check "
              f"`{src.conn_id}`. Nothing is written on failure.",
        backfill=_TASK_BACKFILL,
    )
    return f"""\
### {src.database}.{coll.name} → `raw/mongo/{coll.name}/dt=D/`

{body}"""


# --------------------------------------------------------------------------- ingest_<vendor>

_VENDOR_WINDOW = {
    "stripe": {"window": "objects created in the data interval (`created[gte]`/`created[lt]`)",
               "snapshot": "every object created before the interval's end, as it stands now (snapshot)"},
    "chargify": {"window": "objects whose `updated_at` is in the data interval (`date_field=updated_at`, "
                           "`start_datetime`/`end_datetime`), read until two page-numbered reads agree"},
    "amplitude": {"window": "the events uploaded in each hour of the day (Export API, one zip per hour, "
                            "streamed to disk); deferred until the whole day is exportable"},
}


def ingest_vendor(src) -> str:
    table = ["| entity | reads | writes |", "|---|---|---|"] + [
        f"| `{e.name}` | {_VENDOR_WINDOW[src.source][e.mode]} | `raw/{src.source}/{e.name}/dt=D/part-00000.parquet`, "
        f"`raw/{src.source}/{e.name}_json/dt=D/part-00000.jsonl.gz` |"
        for e in src.entities.values()
    ]
    nl = "\n"
    body = _runbook(
        reads=f"the {src.source.capitalize()} API through the connection `{src.conn_id}` (the secret is its "
              f"password). Requests that fail with 429, 5xx, a timeout or a cut-short body are retried in the "
              f"task with backoff (honouring `Retry-After`), up to {src.max_attempts} attempts each.",
        writes="per entity and day, the raw JSON and the Parquet of the configured fields (table above) in the "
               "lake (`aws_lake`); each task emits its entity's Asset.",
        clear="safe. A cleared task re-reads its entity for D and replaces the day's raw JSON and Parquet, each "
              "with one atomic upload, only after the whole day was read; until then readers see the previous "
              "partition. A snapshot entity cleared later captures the objects as they are then. "
              + _warehouse_after_ingest(src.source, "<entity>") + ".",
        fails=f"""{_FAILURE_MESSAGE} It names the vendor, entity, date and the request (path, parameters, page) or object at fault.
  - `HTTP 401`/`403`: the connection's secret is wrong or lacks read access — fix `{src.conn_id}`
    (*Admin* ▸ *Connections*), then clear the task. Never retried.
  - other `4xx`: the request was rejected (an API change?); the message quotes the vendor.
  - `gave up after N attempts`: the vendor kept failing or rate-limiting; Airflow retries the
    task; if it persists check the vendor's status page, then clear.
  - a field that does not convert: the vendor's data changed shape — fix
    `include/config/sources/{src.source}.yaml` (and the Athena DDL), then clear.""",
        backfill=_dag_backfill("ingest_" + src.source, _INGEST_ORDER),
    )
    return f"""\
# ingest_{src.source} — the {src.source.capitalize()} API into the lake

{_DATE}

{nl.join(table)}

{_full_history(src)}{body}"""


def _full_history(src) -> str:
    if not getattr(src, "history_start", None):
        return ""
    return (f"**First load**: the first day a window entity lands (no earlier partition of it in the "
            f"lake) reads every object updated since {src.history_start}, so the subscription dimension "
            f"knows every subscription; nothing to remember. To re-read the whole history on another day, "
            f"trigger with `{{\"full_history\": true}}`, e.g. "
            f"`airflow dags trigger ingest_{src.source} -c '{{\"full_history\": true}}'`.\n\n")


def vendor_entity(src, ent) -> str:
    pii = [n for n, f in ent.fields.items() if f.pii]
    pii_line = f" Fields {', '.join(f'`{p}`' for p in pii)} land as a keyed hash." if pii else ""
    body = _runbook(
        reads=f"`GET {ent.endpoint}` through `{src.conn_id}`: {_VENDOR_WINDOW[src.source][ent.mode]}.",
        writes=f"every object once (by `{ent.id_field}`) as raw JSON (`raw/{src.source}/{ent.name}_json/dt=D/`) and as "
               f"Parquet of {len(ent.fields)} configured fields (`raw/{src.source}/{ent.name}/dt=D/`); the Asset "
               f"`raw_{src.source}_{ent.name}`.{pii_line}",
        clear="safe: re-reads the day and replaces both objects atomically. "
              + _warehouse_after_ingest(src.source, ent.name) + ".",
        fails=f"a `401`/`403` means the connection `{src.conn_id}` is wrong: fix it, then clear (never retried); "
              "`gave up after N attempts` means the vendor kept failing (retried by Airflow); a field that does not "
              "convert means the vendor's data changed shape. Nothing is written on failure.",
        backfill=_TASK_BACKFILL,
    )
    return f"""\
### {src.source}.{ent.name} → `raw/{src.source}/{ent.name}/dt=D/`

{body}"""


# --------------------------------------------------------------------------- warehouse

_WAREHOUSE_ORDER = (
    "Backfill the `ingest_*` DAGs of the same dates first: the `lake_ready` sensors wait for their "
    "partitions. Days may load in any order and overlap (*Max Active Runs*, *Run Backwards*): every "
    "table comes out the same (docs/decisions/0007, 0008, 0011), and loads of one table take turns on "
    "an advisory lock."
)

_LEDGER = (
    "`select table_name, date, run_id, outcome, error, rows_copied, rows_inserted, rows_updated, "
    "rows_deleted, rows_unknown from dw.load_audit where date = 'D' order by id desc;`"
)


def warehouse(tables) -> str:
    dims = ", ".join(f"`dw.{n}`" for n, c in tables.items() if c.kind == "dimension")
    facts = ", ".join(f"`dw.{n}`" for n, c in tables.items() if c.kind == "fact")
    body = _runbook(
        reads="the day's raw lake partitions (through `aws_lake`: Athena, DuckDB locally), checked first by "
              "`lake_ready`; the dimensions a fact looks up.",
        writes="extracts under `s3://<lake>/extracts/<table>/dt=D/`; the tables `dw.*` in `postgres_dw`; one row "
               "per load attempt in the ledger `dw.load_audit` (readable by `dw_analyst`).",
        clear="always safe. Clear a failed task *with its downstream tasks* (*Clear* ▸ *Downstream*): a cleared "
              "load re-reads its own run's extract, a cleared extract writes a new one and its cleared load loads "
              "it. An unchanged re-run writes 0 rows. Facts restate whole dates, so a re-run also heals rows that "
              "pointed at an unknown member (late-arriving dimensions).",
        fails=f"""{_FAILURE_MESSAGE}
  - `lake_ready.*`: the message names the source — its ingestion DAG has not landed day D, or landed
    it empty. Nothing of D was loaded. Fix the ingestion, then clear the sensor with downstream.
  - `connection postgres_dw (…) is misconfigured`: fix the connection (*Admin* ▸ *Connections*), clear.
  - a load: the error names the table, the date, the extract file and the row or column. The
    transaction rolled back, so the warehouse is as it was; the ledger has a `failed` row: {_LEDGER}
  - a check: the load committed; fix the cause (usually upstream data) and clear the table's `extract`
    with downstream.""",
        backfill=_dag_backfill("warehouse", _WAREHOUSE_ORDER),
    )
    return f"""\
# warehouse — lake → extracts → PostgreSQL star schema

{_DATE}

Stages: `migrate` ▸ `lake_ready` (the day's raw partitions exist and are not empty) ▸ `dimensions`
({dims}) ▸ `facts` ({facts}), each table `extract` ▸ `load` ▸ checks.

- **extract** runs the table's Athena SQL (`include/sql/athena/extract/<table>.sql`; DuckDB
  locally) and writes `s3://<lake>/extracts/<table>/dt=D/<query id>.csv`.
- **load** streams that file into a temp stage table and upserts `dw.<table>` in ONE
  transaction per table and date, logging `COPY / DELETE / INSERT / UPDATE` counts.

{body}"""


MIGRATE = """\
### migrate
Applies the Alembic migrations and creates any table declared in `include/config/warehouse/` that
does not exist yet, with its unknown member and grants.

""" + _runbook(
    reads="the revision in `dw.alembic_version`, `include/sql/postgres/migrations/`, `include/config/warehouse/`.",
    writes="schema `dw` in `postgres_dw`: migrations, new tables, unknown members, grants (never alters an "
           "existing table).",
    clear="safe: idempotent, and it holds an advisory lock, so concurrent runs wait for each other.",
    fails="`connection postgres_dw (…) is misconfigured`: fix the connection, then clear with downstream (not "
          "retried). `dw.<table> exists with columns (…) but … declares (…)`: a table's columns changed in config — that needs "
          "an Alembic migration (docs/decisions/0006). A migration's SQL error names the file. Nothing is "
          "half-applied: it runs in one transaction.",
    backfill="runs first in every run; after the first it is a no-op of a second. " + _TASK_BACKFILL,
)

LAKE_READY = """\
### lake_ready
One sensor per raw lake table that the loaded tables read. Every extract waits for the whole group,
so nothing of day D is loaded unless every source landed it.

""" + _runbook(
    reads="the existence and the row count (Parquet footer) of each day's raw partition.",
    writes="nothing.",
    clear="safe: the sensors look again.",
    fails="the message names the source. *still missing after …*: its ingestion DAG has not landed day D "
          "(waited 6 h, rescheduling) — look at that DAG's run for D. *holds N rows, fewer than …*: it "
          "landed D empty or short (`min_rows` in `include/config/sources/<source>.yaml`) — check that "
          "ingestion and the source. Then clear the sensor with downstream.",
    backfill="backfill the `ingest_*` DAGs of the dates first, or the sensors wait for them.",
)


def lake_ready_sensor(lake_table: str, min_rows: int = 0) -> str:
    _, source, entity = lake_table.split("_", 2)
    promise = (f"at least {min_rows} row{'s' if min_rows != 1 else ''} (`min_rows`)" if min_rows
               else "any number of rows (an empty day is valid for this source)")
    body = _runbook(
        reads="the object's existence and its Parquet footer (row count), through `aws_lake`.",
        writes="nothing.",
        clear="safe: it looks again.",
        fails=f"source `{source}`: check the `ingest_{source}` run for date D (task `{entity}`) and the source "
              f"itself; once the partition has landed with its rows, clear this sensor with downstream.",
        backfill=f"backfill `ingest_{source}` for the same dates first. " + _TASK_BACKFILL,
    )
    return f"""\
### {lake_table}
Waits (rescheduling, up to 6 h) for `raw/{source}/{entity}/dt=D/part-00000.parquet`, then checks it
holds {promise}.

{body}"""


DIMENSIONS = """\
### dimensions
Each dimension's extract ▸ load ▸ checks. Every fact's load waits for the dimensions it looks up.

""" + _runbook(
    reads="the day's raw partitions of each dimension's source (see each table's group).",
    writes="the dimension tables `dw.*_dim`; rows are never deleted, never go back to an older source "
           "version, and the unknown member is never touched.",
    clear="safe: a cleared dimension reloads the day; unchanged rows are not written. Clear with downstream "
          "so the facts that look it up reload too.",
    fails="see the failed task's runbook; a dimension that fails holds back the facts that look it up "
          "(`upstream_failed`), which run once it is cleared.",
    backfill=_TASK_BACKFILL,
)

FACTS = """\
### facts
Each fact's extract ▸ load ▸ checks; a fact is extracted and loaded only after the dimensions it looks up.

""" + _runbook(
    reads="the raw partitions each fact's extract SQL reads; the dimensions, for surrogate keys; "
          "`dw.unknown_member_dates`, the dates left with unknown members (docs/decisions/0014).",
    writes="the fact tables, replacing whole dates: every date the day's documents touch is restated, and every "
           "date of the last 7 days the unknown-member ledger holds open; the ledger itself.",
    clear="safe: a cleared fact restates the same dates from the latest data in the lake; rows that pointed "
          "at an unknown member heal when their dimension row has arrived (the runs of the 7 days after such a "
          "date restate it by themselves; later, re-run any of those days).",
    fails="see the failed task's runbook. A fact's load never runs before its dimensions succeeded.",
    backfill=_TASK_BACKFILL,
)

CHECKS = """\
### checks
The common-sql check operators declared in the table's YAML (`checks:`).

""" + _runbook(
    reads="the table: a fact's rows of date D, a dimension's whole table.",
    writes="nothing.",
    clear="safe: read-only; it checks again.",
    fails="the log says which check failed and the value it found. The load already committed, so the data "
          "is in the warehouse: fix the cause (usually upstream data or the extract SQL) and clear the "
          "table's `extract` with downstream. Not retried: a failed check is a finding, not a blip.",
    backfill=_TASK_BACKFILL,
)


def table(cfg) -> str:
    lake = ", ".join(f"`{t}`" for t in cfg.lake_tables) or "—"
    body = _runbook(
        reads=f"source `{cfg.source}`: lake tables {lake}"
              + (f"; the dimensions {', '.join(f'`dw.{lk.dimension}`' for lk in cfg.lookups)}" if cfg.lookups else "") + ".",
        writes=f"`dw.{cfg.table}` in one transaction per run; one row per load attempt in `dw.load_audit`.",
        clear="safe: clear the group's `extract` with downstream to reload day D from the lake as it is now.",
        fails="the failed task's message names the table, the date and the file or check; the failed task's "
              f"runbook says what to do. Ledger: `select * from dw.load_audit where table_name = '{cfg.table}' "
              "order by id desc limit 5;`",
        backfill=_TASK_BACKFILL,
    )
    return f"""\
### dw.{cfg.table} ({cfg.kind}{', SCD' + str(cfg.scd) if cfg.scd else ''})
{cfg.description}

Config `include/config/warehouse/{cfg.table}.yaml`; SQL `include/sql/athena/extract/{cfg.table}.sql`.

{body}"""


def extract(cfg) -> str:
    body = _runbook(
        reads=f"the lake only: {', '.join(f'`{t}`' for t in cfg.lake_tables) or '—'}, through `aws_lake`.",
        writes=f"a new CSV `s3://<lake>/extracts/{cfg.table}/dt=D/<query id>.csv` per attempt; its URI and query id "
               "go to the load (XCom).",
        clear="safe at any time: writes a new extract, never touches the warehouse. Clear with downstream so the "
              "load loads the new file.",
        fails="the message names the table, the date and the engine's error (Athena: the query id — look it up in "
              "the Athena console). A SQL error is not retried: fix the SQL file, then clear with downstream. "
              "The warehouse is untouched.",
        backfill=_TASK_BACKFILL,
    )
    return f"""\
### extract dw.{cfg.table}
Runs `include/sql/athena/extract/{cfg.table}.sql` for date D on Athena (DuckDB locally).

{body}"""


def load(cfg) -> str:
    if cfg.kind == "fact":
        how = (
            "resolves surrogate keys (unknown member `00000000-…` when a dimension row is missing), "
            "deletes the restated dates' rows whose grain is gone (including rows that pointed at an "
            "unknown member), and upserts only rows whose measures changed"
        )
    elif cfg.insert_only:
        how = "adds key combinations not seen before"
    else:
        how = "upserts the latest version of each natural key, never overwriting a newer source version"
    body = _runbook(
        reads="the extract its run's `extract` task returned (never another run's file)"
              + (f", and the dimensions {', '.join(f'`dw.{lk.dimension}`' for lk in cfg.lookups)}" if cfg.lookups else "")
              + ", through `aws_lake` and `postgres_dw`.",
        writes=f"`dw.{cfg.table}`, and one row in `dw.load_audit` (counts COPY / DELETE / INSERT / UPDATE / unknown, "
               "extract, query id, start and end, outcome).",
        clear="safe: the re-run writes the same result (0 rows when nothing changed). To load newer lake data, clear "
              "the `extract` with downstream instead.",
        fails="the warehouse is as it was (the transaction rolled back) and the ledger holds a `failed` row with the "
              "error. A data error names the table, date, file and row/column and is not retried: fix the data or "
              "config, then clear the `extract` with downstream. `the lake changed since … wrote …`: a raw partition "
              "the extract read was replaced or added after it was written (a later ingestion), so the extract is "
              "refused as stale, nothing loaded: clear the `extract` with downstream (docs/decisions/0015). "
              "`connection postgres_dw (…) is misconfigured`: fix the connection, then clear this task with downstream.",
        backfill=_TASK_BACKFILL,
    )
    return f"""\
### load dw.{cfg.table}
One transaction: COPY this run's extract into a temp stage table, then {how}.

{body}"""
