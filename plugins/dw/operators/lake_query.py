"""LakeQueryOperator: a warehouse table's extract, from the lake, for the run's day.

    LakeQueryOperator(task_id="extract", table="job_ran_fact", sql_path=..., lake_tables=[...],
                      restate_unknown_members=True, bucket="...", extracts_prefix="extracts",
                      database="dw_lake", workgroup="primary")

(``dw.dag_factory.lake_query_task`` builds it from the table's config.) It renders ``sql_path``
for day D (``dw.lake.run_date``) and has the ``aws_conn_id`` connection's lake engine
(``dw.hooks.lake``) write the result to a new object under
``s3://<bucket>/<extracts_prefix>/<table>/dt=D/``; it returns (XCom)
``{"uri", "rows", "query_id", "engine", "lake_state", "lake_bounds"}``, and the table's load task reads exactly
that ``uri``. Every attempt writes a new object named after its query id, so a load never reads a
stale or half-written extract (docs/decisions/0002-one-object-per-partition.md). ``lake_state`` is
a digest of the partitions of ``lake_tables`` the query can read (``lake_bounds``: its literal
``dt`` bounds) taken before the query starts: if they changed since, the load redoes the extract (docs/decisions/0015-stale-extracts.md, 0021). With ``restate_unknown_members`` (a
fact) the extract also restates the fact's open dates in the unknown-member ledger, read from
the warehouse (docs/decisions/0014-unknown-member-ledger.md).

An engine that defers (Athena) hands back a trigger: the task defers on it and
``execute_complete`` asks the engine for the result. A query that cannot run (bad SQL, a column
that does not exist, a raw table with no DDL, a failed Athena query) fails the task without
retries (``AirflowFailException``) naming the table, the date and the SQL file; the warehouse is
not touched because the load task never starts. Infrastructure errors are retried.

Parse-time cost: none beyond airflow.sdk; the engines, sqlglot and boto3 are imported in
``execute``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator

from dw.hooks.connections import LAKE_CONN_ID, WAREHOUSE_CONN_ID


class LakeQueryOperator(BaseOperator):
    template_fields = ("bucket", "database", "workgroup")
    ui_color = "#f9cb9c"

    def __init__(
        self,
        *,
        table: str,
        sql_path: str | Path,
        lake_tables: list[str] | tuple[str, ...],
        bucket: str,
        database: str,
        workgroup: str,
        extracts_prefix: str = "extracts",
        restate_unknown_members: bool = False,
        aws_conn_id: str = LAKE_CONN_ID,
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
        poll_interval: int = 15,
        max_polls: int = 480,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.table = table
        self.sql_path = Path(sql_path)
        self.lake_tables = list(lake_tables)
        self.bucket = bucket
        self.database = database
        self.workgroup = workgroup
        self.extracts_prefix = extracts_prefix
        self.restate_unknown_members = restate_unknown_members
        self.aws_conn_id = aws_conn_id
        self.warehouse_conn_id = warehouse_conn_id
        self.poll_interval = poll_interval
        self.max_polls = max_polls

    @classmethod
    def for_table(cls, table: str, **kwargs: Any) -> "LakeQueryOperator":
        """The extract of ``table`` as its config (include/config/warehouse/) and the lake's describe it."""
        from dw.config import lake_config, warehouse_tables

        cfg = warehouse_tables()[table]
        lake = lake_config()
        return cls(table=table, sql_path=cfg.extract_sql_path, lake_tables=cfg.lake_tables,
                   restate_unknown_members=cfg.kind == "fact", bucket=lake.bucket,
                   extracts_prefix=lake.extracts_prefix, database=lake.athena_database,
                   workgroup=lake.athena_workgroup, **kwargs)

    def _label(self, ds: str) -> str:
        return f"dw.{self.table} extract dt={ds}"

    def _sql(self, ds: str, look_back: int | None = None) -> str:
        from airflow.sdk.exceptions import AirflowFailException

        from dw.lake_sql import LakeQueryError, render_extract

        extra = self._unknown_member_dates(ds) if self.restate_unknown_members else []
        if look_back:
            self.log.info("%s: look_back_days %s (the run's param)", self._label(ds), look_back)
        try:
            return render_extract(self.table, ds, self.sql_path, unknown_member_dates=extra, database=self.database,
                                  look_back=look_back)
        except LakeQueryError as e:
            raise AirflowFailException(f"{self._label(ds)}: {e}") from None

    def _unknown_member_dates(self, ds: str) -> list[str]:
        """The fact's open dates in the unknown-member ledger: the extract restates them too, so
        dimension rows that arrived since heal them (docs/decisions/0014-unknown-member-ledger.md)."""
        from dw.hooks.warehouse import WarehouseHook
        from dw.warehouse.ledger import open_dates

        with WarehouseHook(self.warehouse_conn_id).connect() as conn:
            dates = open_dates(conn, self.table, ds)
        if dates:
            self.log.info("%s: also restating %d date(s) with unknown members: %s", self._label(ds), len(dates),
                          ", ".join(dates))
        return dates

    def execute(self, context) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from dw.hooks.lake import Deferred, lake_engine, s3_client
        from dw.lake import extract_prefix, run_date
        from dw.lake_sql import LakeQueryError, dt_bounds, lake_state

        ds = run_date(context)
        look_back = (context.get("params") or {}).get("look_back_days")
        sql = self._sql(ds, look_back)
        engine = lake_engine(self.aws_conn_id)
        self.log.info("%s on %s, SQL %s:\n%s", self._label(ds), engine.name, self.sql_path, sql)
        # the partitions this query can read: the load redoes the extract if one of them changes
        bounds = {t: (list(b) if b else None) for t, b in dt_bounds(sql).items()}
        state = lake_state(s3_client(self.aws_conn_id), self.bucket, self.lake_tables, bounds)
        late = self._late_documents(engine, sql, ds, look_back, context.get("ti"))
        try:
            started = engine.start(sql, bucket=self.bucket, prefix=extract_prefix(self.table, ds, self.extracts_prefix),
                                   database=self.database, workgroup=self.workgroup, label=self._label(ds),
                                   poll_interval=self.poll_interval, max_polls=self.max_polls)
        except LakeQueryError as e:
            raise AirflowFailException(
                f"{self._label(ds)}: {e} (SQL {self.sql_path}); nothing was written and the warehouse is untouched"
            ) from None
        if isinstance(started, Deferred):
            self.log.info("%s: started %s query %s (results to %s); deferring",
                          self._label(ds), engine.name.capitalize(), started.query_id, started.output)
            self.defer(trigger=started.trigger, method_name="execute_complete",
                       kwargs={"ds": ds, "lake_state": state, "lake_bounds": bounds, "late_documents": late})
        return {**started.result, "lake_state": state, "lake_bounds": bounds, **late}

    def _late_documents(self, engine, sql: str, ds: str, look_back: int | None, ti) -> dict:
        """``{"late_documents": n, "late_oldest_created": day}`` for an extract built on
        ``latest_versions``: the day's documents updated more than the look-back after their
        creation, which the extract does not restate. Logged as a warning and recorded in
        ``dw.late_updates`` (the day's row replaced; none: no row), where on-call reads them; the
        runbook extract.md says how to restate them (docs/decisions/0020, 0021). ``look_back``: the
        run's ``look_back_days`` param (None: lake.yaml's). Empty for another extract."""
        from dw.config import lake_config
        from dw.hooks.warehouse import WarehouseHook
        from dw.lake import extract_prefix
        from dw.lake_sql import late_documents_sql
        from dw.warehouse.ledger import record_late_updates

        late_sql = late_documents_sql(sql)
        if late_sql is None:
            return {}
        rows = engine.rows(late_sql, bucket=self.bucket, prefix=extract_prefix(f"{self.table}_late", ds, self.extracts_prefix),
                           database=self.database, workgroup=self.workgroup)
        n = int((rows[0].get("documents") if rows else 0) or 0)
        oldest = rows[0].get("oldest_created") if rows else None
        look_back = look_back or lake_config().look_back_days
        recorded_by = f"{getattr(ti, 'dag_id', None) or 'warehouse'}.{self.task_id}"
        with WarehouseHook(self.warehouse_conn_id).connect() as conn:
            if not record_late_updates(conn, self.table, ds, n, oldest, int(look_back), recorded_by):
                self.log.warning("%s: dw.late_updates does not exist (warehouse not migrated): not recorded",
                                 self._label(ds))
        if n:
            self.log.warning(
                "%s: %d document(s) of the day were updated more than look_back_days (%s) after their creation "
                "(oldest created %s): their update is not restated; recorded in dw.late_updates. To restate it, "
                "backfill this day with a look_back_days that reaches it (runbook, docs/decisions/0020)",
                self._label(ds), n, look_back, oldest)
        return {"late_documents": n, "late_oldest_created": oldest}

    def execute_complete(self, context, event: dict | None = None, ds: str | None = None,
                         lake_state: dict[str, str] | None = None, late_documents: dict | None = None,
                         lake_bounds: dict | None = None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from dw.hooks.lake import lake_engine
        from dw.lake import run_date
        from dw.lake_sql import LakeQueryError

        ds = ds or run_date(context)
        try:
            out = lake_engine(self.aws_conn_id).complete(event or {}, label=self._label(ds))
        except LakeQueryError as e:
            raise AirflowFailException(
                f"{self._label(ds)}: {e} (SQL {self.sql_path}); the warehouse is untouched"
            ) from None
        if lake_state is not None:
            out["lake_state"] = lake_state
            out["lake_bounds"] = lake_bounds
        return {**out, **(late_documents or {})}
