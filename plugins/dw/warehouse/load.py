"""Load one extract into one warehouse table: ``load_table(...)`` (docs/decisions/0005-warehouse-loads.md).

One transaction per table and run:

1. ``SET LOCAL ROLE dw_loader`` (rows only: it owns nothing, cannot DROP or ALTER), then
   ``pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('dw.<table>'))``: loads of the same table serialize
   (backfills with several runs in flight never deadlock or interleave).
2. The extract is streamed from S3 into ``CREATE TEMP TABLE stage (...) ON COMMIT DROP`` with
   ``COPY ... FROM STDIN (FORMAT csv, HEADER true)``, chunk by chunk (never the whole file in
   memory), after checking that its header names the config columns in order. The COPY runs in
   a savepoint: when PostgreSQL refuses a row (a value that does not convert, a NULL in a NOT
   NULL column, a label an enumerated type lacks), the extract is read again through the
   table's contracts (``dw.warehouse.quarantine``): ``freeze`` fails the load naming the
   column and count; new labels grow their types first (``enum_values: evolve``, committed on a
   second connection); refused rows go to ``quarantined`` and the rest fill the stage.
3. A stage much smaller than the dimensions it meets looks them up by index
   (``dimensions_by_key``). Dimension SCD1: the latest version per natural key updates the row of its key where something
   changed and the source version is not older, and is inserted where the key is new
   (insert-only dimensions: inserted only); ``dimension_sql.dimension_upsert``. SCD2: the
   day's observations replace the day's in ``dw.<table>_observations``, and the versions of
   the keys the day had or has are rebuilt from every recorded observation and merged
   (``dimension_sql.scd2_observe``, ``scd2_statements``; docs/decisions/0021).
   Fact: dates whose extract slice, resolve statement and looked-up dimensions are those of
   their last load are skipped (``dw.warehouse.digest``; not with ``full_restatement``); the
   others: resolve surrogate keys (Not applicable for a key the extract lacks, Unknown for one
   whose dimension row is missing: docs/decisions/0044) and aggregate to the grain; the
   monthly partitions of its dates must exist (the migrate task makes them; a missing one is a
   ``LoadError`` naming it); from
   then on the fact is read by its primary key only (``FACT_BY_KEY``); dates
   the fact holds no row of are inserted, otherwise the restated dates are merged in one
   statement (vanished grains deleted, changed measures updated, new grains inserted;
   ``fact_sql``); the partitions it wrote to are analyzed (``dw.analyze_partition``, which runs
   as their owner: the loader owns nothing); the unknown-member ledger is
   updated (``ledger.record``).
4. The table's ``dw.load_quarantine`` rows of the run's date and the restated dates are
   replaced by the rows it quarantined (none on the common path), and its own rows of
   ``dw.schema_changes`` for the day by the changes it saw (``dw.contracts.record_changes``).
5. A ``dw.load_audit`` row, then commit.

A fact extract must hold complete dates: every date it contains is replaced as a whole
(rows of other dates are never touched).

``loaded_at`` (the run's ``data_interval_end``) stamps ``dw_created_at``/``dw_updated_at``: a
re-run writes the same values. Errors in the data (a missing extract, a wrong header, a row
PostgreSQL rejects) raise ``LoadError`` naming the table, the date, the file and the line and
column, never a value of the extract (it may be personal data); the transaction rolls back
and the warehouse is as it was (a label a type grew by stays, recorded).
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
import time
from dataclasses import asdict, dataclass, field, replace

from dw.config import WAREHOUSE_SCHEMA, TableConfig, warehouse_tables
from dw.lake import split_s3_uri

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
LOCK_TIMEOUT = "20min"  # the longest a load waits for the table's advisory lock
LOAD_WORK_MEM = "256MB"  # per load transaction (SET LOCAL)
# run before a fact load's statements that read the fact (docs/decisions/0030-partitioned-facts.md)
FACT_BY_KEY = "SELECT set_config('enable_seqscan', 'off', true)"
# a stage this many times smaller than a dimension it meets looks that dimension up by key (0031)
BY_KEY_SHARE = 10
DIMENSIONS_BY_KEY = "SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)"
JOINS_BY_COST = "SELECT set_config('enable_hashjoin', 'on', true), set_config('enable_mergejoin', 'on', true)"
MAX_HEADER_BYTES = 1 << 20
_COPY_CONTEXT = re.compile(r"COPY stage(?:_raw)?, line (\d+)(?:, column (\w+))?(?::\s*(.*))?", re.S)


LOADER_ROLE_SQL = "SET LOCAL ROLE dw_loader"


class LoadError(Exception):
    """The extract cannot be loaded as it is (data or config, not infrastructure): retrying
    will not help. The message names table, date, file and line/column."""


class RowRefused(LoadError):
    """PostgreSQL refused a row of the extract (its line and column named)."""


@dataclass(frozen=True)
class LoadStats:
    copied: int = 0  # rows COPY'd into the stage
    deleted: int = 0  # fact rows deleted (vanished grains, healed unknown members)
    inserted: int = 0
    updated: int = 0
    unknown: int = 0  # fact rows written pointing at an unknown member (any lookup)
    dates: list[str] = field(default_factory=list)  # fact dates the extract restated
    skipped: list[str] = field(default_factory=list)  # of those, unchanged dates left as they were (0032)
    quarantined: int = 0  # extract rows set aside in dw.load_quarantine
    changes: list = field(default_factory=list)  # dw.contracts.Change seen (new labels, refused values)

    def as_dict(self) -> dict:
        """The counts for XCom; ``skipped`` only when the load skipped dates."""
        d = asdict(self)
        if not d["skipped"]:
            del d["skipped"]
        return d

    def summary(self) -> str:
        return (
            f"COPY {self.copied} / DELETE {self.deleted} / INSERT {self.inserted} / UPDATE {self.updated}"
            f" (unknown {self.unknown})" + (f" / QUARANTINE {self.quarantined}" if self.quarantined else "")
            + (f" / {len(self.skipped)} unchanged date(s) skipped" if self.skipped else "")
        )


@dataclass(frozen=True)
class LoadContext:
    """Who loads: written to ``dw.load_audit`` with the counts (all optional). ``full_restatement``:
    a fact load resolves and merges every date of its extract, unchanged ones too
    (``dw.warehouse.digest``; the warehouse DAG's ``full_restatement`` param)."""

    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    try_number: int | None = None
    query_id: str | None = None
    full_restatement: bool = False


_AUDIT_INSERT = """
INSERT INTO dw.load_audit (table_name, date, dag_id, run_id, task_id, try_number, extract_uri, query_id,
  rows_copied, rows_deleted, rows_inserted, rows_updated, rows_unknown, dates_restated,
  started_at, ended_at, outcome, error)
VALUES (%(table)s, %(date)s, %(dag_id)s, %(run_id)s, %(task_id)s, %(try_number)s, %(uri)s, %(query_id)s,
  %(copied)s, %(deleted)s, %(inserted)s, %(updated)s, %(unknown)s, %(dates)s::date[],
  %(started_at)s, pg_catalog.clock_timestamp(), %(outcome)s, %(error)s)
"""


def _audit_params(cfg, run_date, uri, ctx: LoadContext, started_at, stats: LoadStats | None, error: str | None) -> dict:
    return {
        "table": cfg.table, "date": run_date, "dag_id": ctx.dag_id, "run_id": ctx.run_id, "task_id": ctx.task_id,
        "try_number": ctx.try_number, "uri": uri, "query_id": ctx.query_id,
        "copied": stats.copied if stats else None, "deleted": stats.deleted if stats else None,
        "inserted": stats.inserted if stats else None, "updated": stats.updated if stats else None,
        "unknown": stats.unknown if stats else None, "dates": stats.dates if stats else None,
        "started_at": started_at, "outcome": "failed" if error else "success", "error": error,
    }


def connect_again(reconnect):
    """A new autocommit connection to the load's server (``reconnect``: its dsn and password,
    read before the load): for what must commit apart from the load's transaction."""
    import psycopg

    dsn, password = reconnect
    return psycopg.connect(dsn, autocommit=True, connect_timeout=10, **({"password": password} if password else {}))


def _audit_failure(conn, params: dict, reconnect: tuple[str, str | None]) -> None:
    """Record a failed load after its transaction rolled back. When the connection is what
    failed (a killed backend, a dropped network), the row is written on a new connection to the
    same server (``reconnect``: the load connection's dsn and password). Best effort: the
    original error is what the task reports."""
    import psycopg

    try:
        if conn.closed or conn.broken:
            with connect_again(reconnect) as fresh:
                fresh.execute(_AUDIT_INSERT, params)
            return
        with conn.transaction():
            conn.execute(_AUDIT_INSERT, params)
    except Exception as e:  # noqa: BLE001
        log.warning("dw.%s dt=%s: could not record the failed load in dw.load_audit: %s", params["table"], params["date"], e)


def load_table(
    conn,
    cfg: TableConfig,
    extract_uri: str,
    run_date: str,
    loaded_at: dt.datetime,
    s3,
    tables: dict[str, TableConfig] | None = None,
    context: LoadContext | None = None,
) -> LoadStats:
    """Load ``extract_uri`` (s3://bucket/key, a CSV with a header) into ``dw.<cfg.table>`` in
    one transaction on ``conn`` (psycopg 3, not inside a transaction: this commits).
    ``run_date`` (YYYY-MM-DD) labels messages and the ledger row; a fact's dates are those the
    extract holds. ``tables``: the config of the dimensions a fact looks up (default:
    ``warehouse_tables()``). Every attempt leaves one ``dw.load_audit`` row: written in the
    load's transaction on success, after the rollback on failure."""
    import psycopg

    label = f"dw.{cfg.table} dt={run_date} file {extract_uri}"
    if loaded_at.tzinfo is None:
        raise ValueError(f"{label}: loaded_at must be timezone-aware")
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise ValueError(f"{label}: load_table runs (and commits) its own transaction; the connection is in one already")
    ctx = context or LoadContext()
    started_at = dt.datetime.now(dt.timezone.utc)
    reconnect = (conn.info.dsn, conn.info.password)  # read now: a broken connection may not tell
    try:
        return _load(conn, cfg, extract_uri, run_date, loaded_at, s3, tables, ctx, started_at, label, reconnect)
    except psycopg.Error as e:
        # a data (22) or constraint (23) error of the merge: its text may quote a row (DETAIL:
        # "Failing row contains ..."), so only its redacted primary message goes on
        if (e.sqlstate or "")[:2] not in ("22", "23"):
            _audit_failure(conn, _audit_params(cfg, run_date, extract_uri, ctx, started_at, None,
                                               f"{type(e).__name__}: {redacted_message(e, cfg)}"), reconnect)
            raise
        err = LoadError(f"{label}: {type(e).__name__} (SQLSTATE {e.sqlstate}): {redacted_message(e, cfg)}. "
                        "Nothing was loaded.")
        _audit_failure(conn, _audit_params(cfg, run_date, extract_uri, ctx, started_at, None, str(err)), reconnect)
        raise err from None
    except Exception as e:
        _audit_failure(conn, _audit_params(cfg, run_date, extract_uri, ctx, started_at, None, str(e)[:4000] or type(e).__name__),
                       reconnect)
        raise


def _load(conn, cfg, extract_uri, run_date, loaded_at, s3, tables, ctx: LoadContext, started_at, label,
          reconnect) -> LoadStats:
    from dw.contracts import record_changes
    from dw.warehouse import dimension_sql, quarantine
    from dw.warehouse.sql import STAGE, analyze, create_stage, session_settings

    bucket, key = split_s3_uri(extract_uri)
    if cfg.kind == "fact":
        tables = warehouse_tables() if tables is None else tables
    params = {"loaded_at": loaded_at}
    recorder = f"{ctx.dag_id}.{ctx.task_id}" if ctx.dag_id and ctx.task_id else "dw.warehouse.load"

    t0 = time.monotonic()
    with conn.transaction(), conn.cursor() as cur:
        for stmt in session_settings():
            cur.execute(stmt)
        cur.execute(LOADER_ROLE_SQL)  # the loader's rights only, whatever else the login may do
        # one load per table at a time; a load that waits longer than LOCK_TIMEOUT fails
        # retryably (SQLSTATE 55P03) instead of holding a worker slot without end
        cur.execute("SELECT pg_catalog.set_config('lock_timeout', %s, true)", (LOCK_TIMEOUT,))
        cur.execute("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext(%s))", (f"dw.{cfg.table}",))
        cur.execute("SELECT pg_catalog.set_config('lock_timeout', '0', true)")
        # the stage, the lookups and the grain aggregation sort and hash in memory (docs/decisions/0012)
        cur.execute("SELECT pg_catalog.set_config('work_mem', %s, true)", (LOAD_WORK_MEM,))
        t_lock = time.monotonic()

        body = _open_extract(s3, bucket, key, label)
        try:
            chunks = body.iter_chunks(chunk_size=CHUNK_BYTES)
            head = check_header(chunks, cfg, label)
            cur.execute(create_stage(cfg))
            with conn.transaction():  # a savepoint: a refused row leaves the stage empty, the load going
                copied = _copy(cur, cfg, head, chunks, label)
            changes, quarantined = [], None
        except RowRefused:
            body.close()
            body = _open_extract(s3, bucket, key, label)
            copied, changes, quarantined = _through_contracts(cur, cfg, body, run_date, label, reconnect, recorder)
        finally:
            body.close()
        cur.execute(analyze(STAGE))
        t_copy = time.monotonic()

        if cfg.kind == "dimension":
            dimensions_by_key(cur, copied, [cfg.table])
            if cfg.scd == 2:
                stats = _load_scd2(cur, cfg, dict(params, run_date=run_date), copied)
            else:
                inserted, updated = cur.execute(dimension_sql.dimension_upsert(cfg), params).fetchone()
                stats = LoadStats(copied=copied, inserted=inserted, updated=updated)
        else:
            stats = _load_fact(cur, cfg, tables, params, copied, label, ctx.full_restatement)
        # this load's quarantine and changes replace what earlier loads of its dates recorded
        qp = {"table": cfg.table, "run_date": run_date, "dates": stats.dates, "file": extract_uri, "loaded_at": loaded_at}
        for stmt in quarantine.replace_quarantine(quarantined is not None):
            cur.execute(stmt, qp)
        record_changes(cur, run_date, quarantine.SOURCE, cfg.table, recorder, quarantine.quarantine_changes(changes))
        stats = replace(stats, quarantined=quarantined or 0, changes=changes)
        cur.execute(_AUDIT_INSERT, _audit_params(cfg, run_date, extract_uri, ctx, started_at, stats, None))
    t_end = time.monotonic()
    log.info(
        "%s: %s; lock %.2fs, copy %.2fs, merge %.2fs",
        label, stats.summary(), t_lock - t0, t_copy - t_lock, t_end - t_copy,
    )
    return stats


# --------------------------------------------------------------------------- extract


def _open_extract(s3, bucket: str, key: str, label: str):
    from botocore.exceptions import ClientError

    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "404", "NotFound", "NoSuchBucket"):
            raise LoadError(
                f"{label}: the extract does not exist ({code}). Nothing was loaded; "
                "clear the table's extract task (with downstream) to write a new one."
            ) from None
        raise


def check_header(chunks, cfg: TableConfig, label: str) -> bytes:
    """Read up to the end of the header line; fail unless it names the config columns in
    order. Returns the bytes read (header included: COPY's HEADER skips it)."""
    buf = b""
    while b"\n" not in buf:
        chunk = next(chunks, None)
        if chunk is None:
            break
        buf += chunk
        if len(buf) > MAX_HEADER_BYTES and b"\n" not in buf:
            raise LoadError(f"{label}: no header line in the first {MAX_HEADER_BYTES} bytes")
    if not buf:
        raise LoadError(f"{label}: the extract is empty (not even a header line); expected columns {cfg.column_names}")
    line = buf.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        got = next(csv.reader([line.decode("utf-8-sig")]), [])
    except (UnicodeDecodeError, csv.Error) as e:
        raise LoadError(f"{label}: unreadable header line: {e}") from None
    want = cfg.column_names
    if got != want:
        missing = [c for c in want if c not in got]
        extra = [c for c in got if c not in want]
        detail = []
        if missing:
            detail.append(f"missing {missing}")
        if extra:
            detail.append(f"unexpected {extra}")
        if not missing and not extra:
            detail.append("same columns in another order")
        raise LoadError(
            f"{label}: header columns {got} do not match the configured columns {want} "
            f"({'; '.join(detail)}). Fix include/sql/athena/extract/{cfg.table}.sql or "
            f"include/config/warehouse/{cfg.table}.yaml."
        )
    return buf


def _copy(cur, cfg: TableConfig, head: bytes, chunks, label: str) -> int:
    from dw.warehouse.sql import copy_stage

    return _copy_into(cur, copy_stage(cfg), cfg, head, chunks, label)


def _copy_into(cur, statement, cfg: TableConfig, head: bytes, chunks, label: str) -> int:
    """COPY the extract (``head`` then ``chunks``) with ``statement``; a row PostgreSQL refuses
    raises ``RowRefused`` naming its line and column."""
    import psycopg

    try:
        with cur.copy(statement) as copy:
            copy.write(head)
            for chunk in chunks:
                copy.write(chunk)
    except psycopg.Error as e:
        ctx = getattr(e.diag, "context", None) or ""
        m = _COPY_CONTEXT.search(ctx)
        # only a data exception (22...) or a violated constraint (23...) is about the data; a backend
        # terminated or a connection lost mid-COPY carries the COPY context too: retryable as it is
        if m is None or (e.sqlstate or "")[:2] not in ("22", "23"):
            raise
        line, column = m.group(1), m.group(2) or e.diag.column_name
        where = f"line {line} (data row {int(line) - 1})"
        if column:
            where += f", column {column}"
        # the context quotes the offending value or line: never repeated (it may be personal data)
        raise RowRefused(f"{label}: {where}: {redacted_message(e, cfg)}. Nothing was loaded.") from None
    return cur.rowcount


def _through_contracts(cur, cfg: TableConfig, body, run_date: str, label: str, reconnect, recorder: str):
    """The extract (``body``, read anew) through the table's contracts into the stage
    (``dw.warehouse.quarantine``). Returns (rows staged, changes seen, rows quarantined)."""
    import psycopg

    from dw.warehouse import quarantine as q

    chunks = body.iter_chunks(chunk_size=CHUNK_BYTES)
    head = check_header(chunks, cfg, label)
    cur.execute(q.create_raw(cfg))
    _copy_into(cur, q.copy_raw(cfg), cfg, head, chunks, label)  # refused here: not a row of the table's shape
    changes = q.findings(cur, cfg)
    if frozen := [c for c in changes if c.mode == "freeze"]:
        raise LoadError(f"{label}: {q.frozen_message(frozen)}. Nothing was loaded.")
    if grown := [c for c in changes if c.kind == "enum_values" and c.mode == "evolve"]:
        with connect_again(reconnect) as second:
            q.grow_enums(second, cfg, run_date, f"{recorder}:enum_values", grown)
        log.warning("%s: added %s", label, ", ".join(f"{c.detail!r} to {c.column_name}" for c in grown))
    cur.execute(q.create_quarantined(cfg, changes), {"run_date": run_date})
    staged = cur.execute(q.fill_stage(cfg, changes)).rowcount
    quarantined = cur.execute(q.COUNT_QUARANTINED).fetchone()[0]
    return staged, changes, quarantined


_QUOTED = re.compile(r'"((?:[^"]|"")*)"')


def redacted_message(e, cfg: TableConfig) -> str:
    """PostgreSQL's primary message of ``e`` with every quoted token that is not one of the
    table's column names (or the stage) replaced by ``"…"``: it may quote a record's value
    (``invalid input syntax for type integer: "…"``); DETAIL and CONTEXT, which quote rows,
    are left out."""
    names = set(cfg.column_names) | {"stage", "resolved", cfg.table}
    msg = getattr(getattr(e, "diag", None), "message_primary", None) or type(e).__name__
    return _QUOTED.sub(lambda m: m.group(0) if m.group(1) in names else '"…"', msg)


# --------------------------------------------------------------------------- merges


def dimensions_by_key(cur, stage_rows: int, dimensions: list[str]) -> bool:
    """When the stage holds ``BY_KEY_SHARE`` times fewer rows than the largest of ``dimensions``
    (its ``pg_class.reltuples``), turn hash and merge joins off (``DIMENSIONS_BY_KEY``, until
    ``JOINS_BY_COST`` or the end of the transaction): the resolve's lookups and the dimension
    merges are then nested loops that probe the dimensions' natural-key and ``id`` indexes once
    per stage row, and cost the stage's keys, not the dimension (docs/decisions/0031-loads-by-key.md). Returns whether it did."""
    if not dimensions:
        return False
    largest = cur.execute(
        "SELECT coalesce(max(c.reltuples), 0) FROM pg_catalog.pg_class AS c"
        " JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = ANY(%s)",
        (WAREHOUSE_SCHEMA, list(dict.fromkeys(dimensions)))).fetchone()[0]
    if stage_rows * BY_KEY_SHARE >= largest:
        return False
    cur.execute(DIMENSIONS_BY_KEY)
    return True


def _load_scd2(cur, cfg: TableConfig, params: dict, copied: int) -> LoadStats:
    from dw.warehouse.dimension_sql import scd2_observe, scd2_statements

    for stmt in scd2_observe(cfg):
        cur.execute(stmt, params)
    stmts = scd2_statements(cfg)
    cur.execute(stmts["obs"])
    cur.execute(stmts["versions"])
    deleted = cur.execute(stmts["delete"]).fetchone()[0]
    closed = cur.execute(stmts["close"], params).fetchone()[0]
    changed = cur.execute(stmts["update"], params).fetchone()[0]
    opened = cur.execute(stmts["open"], params).fetchone()[0]
    return LoadStats(copied=copied, deleted=deleted, inserted=opened, updated=closed + changed)


def _load_fact(cur, cfg: TableConfig, tables: dict[str, TableConfig], params: dict, copied: int, label: str,
               full: bool = False) -> LoadStats:
    from dw.warehouse import ddl, digest, fact_sql, ledger, totals
    from dw.warehouse.sql import RESOLVED, analyze

    # dates whose extract slice and resolution are those of their last load are left as they
    # are, unless a full restatement was asked for (docs/decisions/0032-skip-unchanged-dates.md)
    digests = digest.date_digests(cur, cfg, fact_sql.fact_resolve(cfg, tables).as_string(cur))
    skipped = [] if full else digest.unchanged_dates(cur, cfg, digests)
    by_key = dimensions_by_key(cur, copied, [lk.dimension for lk in cfg.lookups])
    cur.execute(fact_sql.fact_resolve(cfg, tables, skip=bool(skipped)), {"skipped": skipped} if skipped else None)
    if by_key:  # the statements after the resolve join temp tables and the fact: the planner chooses
        cur.execute(JOINS_BY_COST)
    cur.execute(analyze(RESOLVED))
    per_date = cur.execute(fact_sql.fact_dates(cfg)).fetchall()  # (date, rows with an unknown member)
    dates, unknown = [r[0] for r in per_date], sum(r[1] for r in per_date)
    deleted = inserted = updated = 0
    if dates:
        # the monthly partitions of the dates, made by the migrate task (docs/decisions/0030-partitioned-facts.md)
        missing = ddl.missing_partitions(cur, cfg, dates)
        partitioned = missing is not None
        if missing:
            raise LoadError(
                f"{label}: no partition of dw.{cfg.table} for "
                + ", ".join(f"date {d} (partition dw.{p})" for d, p in missing.items())
                + ". The migrate task makes the partitions of its run's dates (the healing window before"
                " it to the day after); run the migrate task of a run of that date first, or"
                " `dw.warehouse.migrate.migrate(conninfo, dates=[...])` as the owner"
                " (include/runbooks/facts.md). Nothing was loaded.")
        # From here on the fact is read by its date-leading primary key only: the restated dates
        # are a slice of their monthly partitions, which a sequential scan would read whole (0030).
        cur.execute(FACT_BY_KEY)
        # dates the fact holds nothing of yet are inserted in key order; others compared and merged
        # in one pass (docs/decisions/0017-fact-load-speed.md)
        p = {**params, "dates": dates}
        held = cur.execute(fact_sql.fact_holds_dates(cfg), p).fetchone()[0]
        deleted, inserted, updated = cur.execute(fact_sql.fact_merge(cfg) if held else fact_sql.fact_insert(cfg), p).fetchone()
        if partitioned and (deleted or inserted or updated):
            # fresh statistics for what the load changed: the restated dates' partitions only (0030)
            for stmt in ddl.analyze_partitions(cfg, dates):
                cur.execute(stmt)
    # the dates that still hold unknown members, for the next runs to restate (docs/decisions/0014)
    ledger.record(cur, cfg, tables, dates, params["loaded_at"])
    # dates past the heal window leave the ledger, with their counts (dw.unknown_member_expired)
    ledger.expire(cur, cfg, params["loaded_at"])
    # extract vs warehouse rows and sums per restated date, for the Warehouse view (dw.load_totals)
    totals.record(cur, cfg, dates, params["loaded_at"])
    # what the load resolved, for the next loads of these dates to skip them if it stays so (0032)
    digest.record(cur, cfg, dates, digests)
    iso = lambda ds: [d.isoformat() if hasattr(d, "isoformat") else str(d) for d in ds]  # noqa: E731
    return LoadStats(
        copied=copied, deleted=deleted, inserted=inserted, updated=updated, unknown=unknown,
        dates=iso(sorted([*dates, *skipped])), skipped=iso(skipped),
    )
