"""On-call runbooks, rendered as ``doc_md`` on every DAG, task group and task.

Each says what the piece reads and writes, whether clearing it is safe (it always is:
every task replaces exactly what its run owns), what a clear re-does, what to check when
it fails, and how to backfill. Built from config, so a new table gets its runbook free.
"""

from __future__ import annotations

_DATE = (
    "A run processes one UTC day D, its data interval `[D 00:00, D+1 00:00)`. "
    "The run with logical date D+1 processes D."
)

_BACKFILL = """\
**Backfill** — UI: *Trigger ▸ Backfill*, or CLI:
`airflow backfill create --dag-id {dag} --from-date D1 --to-date D2` (logical dates: the run
for logical date D+1 processes day D). Order does not matter and runs may overlap: loads of
the same table serialize on an advisory lock, and dimensions never go back to an older version.
"""


def ingest_mongo(src) -> str:
    rows = "\n".join(
        f"| `{c.name}` | {c.mode}{' on `' + c.cursor_field + '`' if c.cursor_field else ''} "
        f"| `raw/mongo/{c.name}/dt=D/part-00000.parquet` |"
        for c in src.collections.values()
    )
    return f"""\
# ingest_mongo — MongoDB `{src.database}` into the lake

{_DATE}

| collection | extraction | writes |
|---|---|---|
{rows}

Connections: `{src.conn_id}` (read), `aws_lake` (write), `{src.pii_key_conn_id}` (key of the email hash).
Each task emits the Asset of its collection.

**Clearing is safe.** A task re-extracts its collection for D and replaces the date's
partition with one atomic upload; until the upload completes readers see the old partition.
A snapshot collection re-run later captures the collection as it is then.

**When it fails**: the log's last error names the collection, the date, the document `_id`
and the field. A type error means the source changed shape: fix the type mapping in
`include/config/sources/mongo.yaml` (or the source document) and clear the task.

{_BACKFILL.format(dag="ingest_mongo")}"""


def mongo_collection(src, coll) -> str:
    what = (
        f"documents with `{coll.cursor_field}` in the run's data interval"
        if coll.mode == "incremental"
        else "the whole collection (snapshot)"
    )
    pii = [n for n, f in coll.fields.items() if f.pii]
    pii_line = f"\nFields {', '.join(f'`{p}`' for p in pii)} are replaced by a keyed hash before upload." if pii else ""
    return f"""\
### {src.database}.{coll.name} → `raw/mongo/{coll.name}/dt=D/`

Reads {what}; converts each field with its declared type; writes one Parquet object.{pii_line}
Safe to clear: the re-run replaces the partition atomically. On a conversion error nothing is
written; the error names `_id` and field.
"""


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
    return f"""\
# ingest_{src.source} — the {src.source.capitalize()} API into the lake

{_DATE}

{nl.join(table)}

Connection: `{src.conn_id}` (read; the secret is its password), `aws_lake` (write). Each task
emits the Asset of its entity. Requests that fail with 429, 5xx, a timeout or a cut-short body
are retried in the task with backoff (honouring `Retry-After`), up to {src.max_attempts} attempts each.

{_full_history(src)}**Clearing is safe.** A task re-reads its entity for D and replaces the day's raw JSON and
Parquet, each with one atomic upload, only after the whole day was read; until then readers
see the previous partition. A snapshot entity re-run later captures the objects as they are then.

**When it fails**: the log's last error names the vendor, entity, date and the request
(path, parameters, page) or object at fault.
- `HTTP 401`/`403`: the connection's secret is wrong or lacks read access — fix the
  connection, then clear the task. Never retried.
- other `4xx`: the request was rejected (an API change?); the message quotes the vendor.
- `gave up after N attempts`: the vendor kept failing or rate-limiting; Airflow retries the
  task; if it persists check the vendor's status page, then clear.
- a field that does not convert: the vendor's data changed shape — fix
  `include/config/sources/{src.source}.yaml` (and the Athena DDL), then clear.

{_BACKFILL.format(dag="ingest_" + src.source)}"""


def _full_history(src) -> str:
    if not src.history_start:
        return ""
    return (f"**First load**: trigger with `{{\"full_history\": true}}` to read every object updated since "
            f"{src.history_start} (so the subscription dimension knows every subscription), e.g. "
            f"`airflow dags trigger ingest_{src.source} -c '{{\"full_history\": true}}'`.\n\n")


def vendor_entity(src, ent) -> str:
    pii = [n for n, f in ent.fields.items() if f.pii]
    pii_line = f"\nFields {', '.join(f'`{p}`' for p in pii)} land as a keyed hash." if pii else ""
    return f"""\
### {src.source}.{ent.name} → `raw/{src.source}/{ent.name}/dt=D/`

`GET {ent.endpoint}`: {_VENDOR_WINDOW[src.source][ent.mode]}. Lands every object once (by
`{ent.id_field}`) as raw JSON and as Parquet of {len(ent.fields)} configured fields.{pii_line}
Safe to clear: the re-run replaces the partition atomically. A `401` means the connection
`{src.conn_id}` is wrong: fix it and clear.
"""


def warehouse(tables) -> str:
    dims = ", ".join(f"`dw.{n}`" for n, c in tables.items() if c.kind == "dimension")
    facts = ", ".join(f"`dw.{n}`" for n, c in tables.items() if c.kind == "fact")
    return f"""\
# warehouse — lake → extracts → PostgreSQL star schema

{_DATE}

Stages: `migrate` ▸ `lake_ready` (the day's raw partitions exist) ▸ `dimensions`
({dims}) ▸ `facts` ({facts}), each table `extract` ▸ `load` ▸ checks.

- **extract** runs the table's Athena SQL (`include/sql/athena/extract/<table>.sql`; DuckDB
  locally) and writes `s3://<lake>/extracts/<table>/dt=D/<query id>.csv`.
- **load** streams that file into a temp stage table and upserts `dw.<table>` in ONE
  transaction per table and date, logging `COPY / DELETE / INSERT / UPDATE` counts.

**Clearing is always safe.** Clear a failed task *with its downstream tasks*; a cleared
load re-reads its own run's extract, a cleared extract writes a new one. An unchanged re-run
writes 0 rows. Facts restate whole dates, so a re-run also heals rows that pointed at an
unknown member (late-arriving dimensions).

**When it fails**: the error names the table, the date, the extract file and the row or
field. The warehouse is unchanged by a failed load (the transaction rolled back).

{_BACKFILL.format(dag="warehouse")}"""


MIGRATE = """\
### migrate
Applies the Alembic migrations (`include/sql/postgres/migrations/`) and creates any table
declared in `include/config/warehouse/` that does not exist yet, with its unknown member and
grants. Holds an advisory lock, so concurrent runs are safe; idempotent, safe to clear.
"""

LAKE_READY = """\
### lake_ready
One sensor per raw lake table the loaded tables read: waits (rescheduling, up to 6 h) for the
day's partition object. If one times out, the ingestion DAG of that source has not landed
date D: look at that DAG's run for D, not here.
"""


def lake_ready_sensor(lake_table: str) -> str:
    _, source, entity = lake_table.split("_", 2)
    return f"""\
### {lake_table}
Waits for `raw/{source}/{entity}/dt=D/part-00000.parquet`. If it times out, check the
`ingest_{source}` run for date D (task `{entity}`); clear this sensor once it has landed.
"""


DIMENSIONS = """\
### dimensions
Each dimension's extract ▸ load ▸ checks. Every fact's load waits for the dimensions it looks up.
Dimensions never lose rows and never go back to an older source version.
"""

FACTS = """\
### facts
Each fact's extract (which only reads the lake, so it runs alongside the dimensions) ▸ load
(after its dimensions) ▸ checks.
"""

CHECKS = """\
### checks
common-sql check operators declared in the table's YAML (`checks:`). A failed check does not
undo the load: read which check failed in the log, fix the cause (usually upstream data),
and clear the table's `extract` with downstream.
"""


def table(cfg) -> str:
    return f"""\
### dw.{cfg.table} ({cfg.kind}{', SCD' + str(cfg.scd) if cfg.scd else ''})
{cfg.description}

Source `{cfg.source}`; lake tables {', '.join(f'`{t}`' for t in cfg.lake_tables) or '—'};
config `include/config/warehouse/{cfg.table}.yaml`; SQL `include/sql/athena/extract/{cfg.table}.sql`.
"""


def extract(cfg) -> str:
    return f"""\
### extract dw.{cfg.table}
Runs `include/sql/athena/extract/{cfg.table}.sql` for date D on Athena (DuckDB locally) and
writes a new CSV under `extracts/{cfg.table}/dt=D/`; returns its URI for the load. Reads only
the lake: safe to clear at any time. A failure names the table, the date and the engine's message.
"""


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
    return f"""\
### load dw.{cfg.table}
One transaction: COPY this run's extract into a temp stage table, then {how}.
Safe to clear: the re-run writes the same result (0 rows when nothing changed). If it fails,
the warehouse is as it was; the error names the table, date, file and row/column.
"""
