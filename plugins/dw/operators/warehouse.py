"""Operators of the warehouse DAG: migrate the warehouse, load one table.

    MigrateWarehouseOperator(task_id="migrate")
    WarehouseLoadOperator(task_id="load", table_config=cfg, dimensions={...}, bucket="...",
                          extract_task_id="facts.job_ran_fact.extract")

(``dw.dag_factory.load_task`` builds the load from the table's config.) The load reads the
extract URI its run's extract task returned (XCom), streams that file into PostgreSQL and merges
it into ``dw.<table>`` in one transaction (``dw.warehouse.load.load_table``; ``dimensions``: the
config of the dimensions a fact looks up), logs ``COPY n / DELETE n / INSERT n / UPDATE n`` and
returns the counts (XCom). ``loaded_at`` is the run's ``data_interval_end``, so a re-run writes
the same values.

A URI outside the lake bucket's ``extracts/<table>/`` is refused. An extract whose lake changed
since its query started (a partition within its ``lake_bounds`` added or replaced: the digest the
extract task returned differs from the lake's now, docs/decisions/0015-stale-extracts.md), or that
recorded no lake state, is not loaded: the load redoes the extract with the extract task's own
code (on Athena it defers on the query and resumes in ``execute_reextracted``) and loads the new
one once it is current, at most ``MAX_REEXTRACTS`` times per try, then fails retryable
(docs/decisions/0021-extracts-redone-by-their-load.md). Rows PostgreSQL refuses go through the
table's contracts (docs/decisions/0043): new enumerated labels grow their types, rows that do not
convert are quarantined, and the task succeeds with a warning (``dw.notify.changes_seen``) naming
each change, the count and where to look. A problem in the data or the config (no extract, wrong
header, a row of the wrong shape, a contract's ``freeze``) fails the task without retries
(``AirflowFailException``): the error names the table, the date, the file and
the line/column, and the warehouse is as it was. Infrastructure errors (connections) raise as
they are and are retried.

Parse-time cost: none beyond airflow.sdk; psycopg, boto3 and SQLAlchemy are imported in
``execute``.
"""

from __future__ import annotations

import time
from typing import Any

from airflow.sdk import BaseOperator

from dw.hooks.connections import LAKE_CONN_ID, MIGRATE_CONN_ID, WAREHOUSE_CONN_ID


class MigrateWarehouseOperator(BaseOperator):
    """Alembic ``upgrade head`` plus the config-declared tables, unknown members and grants
    (``dw.warehouse.migrate.migrate``), and the facts' monthly partitions this run's loads can
    write (its date, the healing window before it, the day after), under an advisory lock, as the
    owner (connection ``postgres_dw_migrate``, a login in ``dw_owner``). Idempotent."""

    template_fields = ()
    ui_color = "#c9daf8"

    def __init__(self, *, conn_id: str = MIGRATE_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id

    def execute(self, context) -> dict:
        from dw.hooks.warehouse import WarehouseHook
        from dw.warehouse.migrate import migrate, partition_dates

        hook = WarehouseHook(self.conn_id)
        t0 = time.monotonic()
        try:
            start = context.get("data_interval_start")
            look_back = (context.get("params") or {}).get("look_back_days")  # the run's param, if any
            result = migrate(hook.conninfo(), dates=partition_dates(start.date(), look_back) if start else ())
        except Exception as e:
            hook.raise_if_misconfigured(e)  # a wrong connection: fail now, no retries
            raise
        self.log.info(
            "warehouse at revision %s; tables created now: %s; partitions created now: %s; %.2fs",
            result["revision"], ", ".join(result["created"]) or "none", ", ".join(result["partitions"]) or "none",
            time.monotonic() - t0,
        )
        return result


def extract_uri_from_xcom(value: Any) -> str | None:
    """The extract task returns the URI itself or a dict with ``uri``."""
    if isinstance(value, dict):
        value = value.get("uri")
    if isinstance(value, str) and value.startswith("s3://"):
        return value
    return None


def changes_where(table: str, ds: str, quarantined: int) -> str:
    """Where on-call looks after a load that saw upstream changes (docs/decisions/0043)."""
    where = f"dw.schema_changes (entity {table}, dt {ds})"
    if quarantined:
        where = (f"{quarantined} row(s) set aside in dw.load_quarantine (table_name '{table}', dt {ds} and the "
                 f"dates it restated), {where}; fix the cause, then clear this load (runbook: Documentation)")
    return where


class WarehouseLoadOperator(BaseOperator):
    """Load this run's extract of ``table_config``'s table (URI from the XCom of ``extract_task_id``)."""

    template_fields = ("bucket",)
    ui_color = "#b6d7a8"
    MAX_REEXTRACTS = 3  # stale extracts redone in one try before it fails (retryable)

    def __init__(
        self,
        *,
        table_config,
        extract_task_id: str,
        bucket: str,
        dimensions: dict | None = None,
        conn_id: str = WAREHOUSE_CONN_ID,
        aws_conn_id: str = LAKE_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.table_config = table_config
        self.table = table_config.table
        self.dimensions = dict(dimensions or {})
        self.bucket = bucket
        self.extract_task_id = extract_task_id
        self.conn_id = conn_id
        self.aws_conn_id = aws_conn_id

    def execute(self, context) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from dw.lake import run_date

        ds = run_date(context)
        pulled = context["ti"].xcom_pull(task_ids=self.extract_task_id)
        uri = extract_uri_from_xcom(pulled)
        if uri is None:
            raise AirflowFailException(
                f"dw.{self.table} dt={ds}: task {self.extract_task_id} returned no extract URI for this run "
                f"(got {pulled!r}); clear the extract task with its downstream tasks"
            )
        return self._load_if_current(context, ds, pulled, attempt=0)

    def _load_if_current(self, context, ds: str, extract: dict, attempt: int) -> dict:
        """Load ``extract`` if the partitions it could read are as it found them; else redo the
        extract (``_reextract``) and try again."""
        from dw.hooks.lake import s3_client

        uri = extract_uri_from_xcom(extract)
        self._refuse_foreign(ds, uri)
        s3 = s3_client(self.aws_conn_id)
        stale = self._stale(ds, uri, extract, s3)
        if stale:
            return self._reextract(context, ds, stale, attempt + 1)
        return self._load(context, ds, uri, extract, s3)

    def _load(self, context, ds: str, uri: str, extract: dict, s3) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from dw.hooks.warehouse import WarehouseHook
        from dw.warehouse.load import LoadContext, LoadError, load_table

        cfg = self.table_config
        loaded_at = context.get("data_interval_end")
        if loaded_at is None:
            raise AirflowFailException(f"dw.{self.table} dt={ds}: the run has no data interval end (loaded_at)")
        self.log.info("loading dw.%s dt=%s from %s (loaded_at %s)", self.table, ds, uri, loaded_at.isoformat())
        ti = context["ti"]
        load_ctx = LoadContext(
            dag_id=getattr(ti, "dag_id", None), run_id=getattr(ti, "run_id", None), task_id=getattr(ti, "task_id", None),
            try_number=getattr(ti, "try_number", None),
            query_id=extract.get("query_id") if isinstance(extract, dict) else None,
            full_restatement=bool((context.get("params") or {}).get("full_restatement")),
        )
        t0 = time.monotonic()
        with WarehouseHook(self.conn_id).connect() as conn:
            try:
                stats = load_table(conn, cfg, uri, ds, loaded_at, s3, tables=self.dimensions, context=load_ctx)
            except LoadError as e:
                raise AirflowFailException(str(e)) from None
        seconds = time.monotonic() - t0
        if stats.changes:  # new labels its types grew by, rows quarantined: the run succeeds, someone is told
            from dw.notify import changes_seen

            changes_seen(context, stats.changes, where=changes_where(self.table, ds, stats.quarantined))
        for line in (f"COPY {stats.copied}", f"DELETE {stats.deleted}", f"INSERT {stats.inserted}",
                     f"UPDATE {stats.updated}"):
            self.log.info("%s", line)
        self.log.info(
            "dw.%s dt=%s: %s%s in %.2fs",
            self.table, ds, stats.summary(),
            f", dates {', '.join(stats.dates)}" if stats.dates else "", seconds,
        )
        return stats.as_dict()

    # ----------------------------------------------------------------- a stale extract is redone

    def _extractor(self):
        """The run's extract task (the DAG's operator; built from the table's config when this
        load has no DAG, as in tests)."""
        if self.has_dag() and self.extract_task_id in self.dag.task_dict:
            return self.dag.get_task(self.extract_task_id)
        from dw.operators.lake_query import LakeQueryOperator

        return LakeQueryOperator.for_table(self.table, task_id=self.extract_task_id)

    def _reextract(self, context, ds: str, why: str, attempt: int) -> dict:
        """Redo the extract with the extract task's own code (the lake as it is now), then load
        it if it is current (docs/decisions/0021-extracts-redone-by-their-load.md). On Athena the
        query defers this task; ``execute_reextracted`` resumes it. After ``MAX_REEXTRACTS`` the
        task fails with a retryable error (the lake kept changing: its retry tries again)."""
        from airflow.sdk.exceptions import AirflowException, TaskDeferred

        if attempt > self.MAX_REEXTRACTS:
            raise AirflowException(
                f"dw.{self.table} dt={ds}: the lake kept changing while this load re-extracted it "
                f"({self.MAX_REEXTRACTS} extracts in a row were stale: {why}). Nothing was loaded; the task's "
                "retry extracts and loads again."
            )
        self.log.warning("dw.%s dt=%s: %s; extracting again with %s's query (re-extract %d of at most %d), "
                         "nothing loaded yet", self.table, ds, why, self.extract_task_id, attempt, self.MAX_REEXTRACTS)
        try:
            out = self._extractor().execute(context)
        except TaskDeferred as d:
            self.defer(trigger=d.trigger, method_name="execute_reextracted", timeout=d.timeout,
                       kwargs={"extract_kwargs": d.kwargs, "attempt": attempt})
        return self._load_if_current(context, ds, out, attempt)

    def execute_reextracted(self, context, event: dict | None = None, extract_kwargs: dict | None = None,
                            attempt: int = 1) -> dict:
        """Resumed after a re-extract's deferred (Athena) query: its result, loaded if current."""
        from dw.lake import run_date

        out = self._extractor().execute_complete(context, event=event, **(extract_kwargs or {}))
        return self._load_if_current(context, run_date(context), out, attempt)

    def _refuse_foreign(self, ds: str, uri: str) -> None:
        """Fail (no retries) unless ``uri`` is in the lake bucket under this table's extract
        prefix (``extracts/<table>/``): an XCom is data, and the load must not be pointed at raw
        vendor JSON or another table's extract."""
        from airflow.sdk.exceptions import AirflowFailException

        from dw.lake import extract_prefix, split_s3_uri

        bucket, key = split_s3_uri(uri)
        prefix = extract_prefix(self.table, ds).rsplit("dt=", 1)[0]
        if bucket != self.bucket or not key.startswith(prefix) or "/../" in f"/{key}/" or "//" in key:
            raise AirflowFailException(
                f"dw.{self.table} dt={ds}: refusing {uri}: a load reads only extracts under "
                f"s3://{self.bucket}/{prefix}. Nothing was loaded; clear the extract task with its downstream tasks."
            )

    def _stale(self, ds: str, uri: str, extract: Any, s3) -> str | None:
        """Why ``extract`` is stale, or None: a raw partition it could read (within its recorded
        ``lake_bounds``) was added or replaced since its query started, or it recorded no lake
        state (an older XCom, a deferral that lost it: fail closed). Loading a stale extract could
        put older data over a later run's restatement (docs/decisions/0015-stale-extracts.md)."""
        from dw.lake_sql import lake_state

        expected = extract.get("lake_state") if isinstance(extract, dict) else None
        if not isinstance(expected, dict):
            return f"{self.extract_task_id} recorded no lake state with {uri}, so it cannot be checked for staleness"
        now = lake_state(s3, self.bucket, list(expected), extract.get("lake_bounds"))
        changed = sorted(t for t in expected if now.get(t) != expected[t])
        if changed:
            return (f"the lake changed since {self.extract_task_id} wrote {uri} (partitions of "
                    f"{', '.join(changed)} added or replaced)")
        return None
