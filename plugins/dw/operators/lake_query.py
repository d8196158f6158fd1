"""LakeQueryOperator: a warehouse table's extract, from the lake, for the run's day.

    LakeQueryOperator(task_id="extract", table="job_ran_fact")

renders ``include/sql/athena/extract/<table>.sql`` for day D (``dw.lake.run_date``) and writes
its result to a new object under ``s3://<lake>/extracts/<table>/dt=D/``; it returns (XCom)
``{"uri", "rows", "query_id", "engine", "lake_state"}``, and the table's load task reads exactly
that ``uri``. Every attempt writes a new object named after its query id, so a load never reads a
stale or half-written extract (docs/decisions/0002-one-object-per-partition.md). ``lake_state`` is
a digest of the raw tables the query reads, taken before it starts: the load refuses the extract
if the lake changed since (docs/decisions/0015-stale-extracts.md). A fact's extract also restates
the fact's open dates in the unknown-member ledger, read from the warehouse
(docs/decisions/0014-unknown-member-ledger.md).

The engine is the ``aws_lake`` connection's extra ``lake_engine``:

- ``athena`` (production): the query is started on Athena through the amazon provider's
  ``AthenaHook`` (database and workgroup from ``include/config/lake.yaml``) and the task
  **defers** on the provider's ``AthenaTrigger``, so no worker slot waits for the query. Athena
  writes ``<query id>.csv`` to the output location; ``execute_complete`` reads the location
  Athena reports (a workgroup may enforce its own) and fails with Athena's reason if the query
  failed.
- ``duckdb`` (the local profile): the same file, transpiled by sqlglot, runs on DuckDB over the
  same S3 layout (``dw.lake_sql.DuckDBLake``); the CSV, in Athena's output format, is written to
  local disk and uploaded in one PUT.

A query that cannot run (bad SQL, a column that does not exist, a raw table with no DDL) fails
the task without retries (``AirflowFailException``) naming the table, the date and the SQL file;
the warehouse is not touched because the load task never starts. Infrastructure errors are
retried.

Parse-time cost: ``dw.config`` only; duckdb, sqlglot, boto3 and the amazon provider are
imported in ``execute``.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from typing import Any

from airflow.sdk import BaseOperator

from dw.config import warehouse_tables
from dw.hooks.connections import LAKE_CONN_ID, WAREHOUSE_CONN_ID


class LakeQueryOperator(BaseOperator):
    template_fields = ()
    ui_color = "#f9cb9c"

    def __init__(
        self,
        *,
        table: str,
        aws_conn_id: str = LAKE_CONN_ID,
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
        poll_interval: int = 15,
        max_polls: int = 480,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        tables = warehouse_tables()
        if table not in tables:
            raise ValueError(f"LakeQueryOperator: table {table!r} is not in include/config/warehouse/ (known: {sorted(tables)})")
        self.table = table
        self.aws_conn_id = aws_conn_id
        self.warehouse_conn_id = warehouse_conn_id
        self.poll_interval = poll_interval
        self.max_polls = max_polls

    # ------------------------------------------------------------------ helpers

    def _label(self, ds: str) -> str:
        return f"dw.{self.table} extract dt={ds}"

    def _sql(self, ds: str) -> str:
        from airflow.sdk.exceptions import AirflowFailException

        from dw.lake_sql import LakeQueryError, render_extract

        cfg = warehouse_tables()[self.table]
        extra = self._unknown_member_dates(ds) if cfg.kind == "fact" else []
        try:
            return render_extract(self.table, ds, cfg.extract_sql_path, unknown_member_dates=extra)
        except LakeQueryError as e:
            raise AirflowFailException(f"{self._label(ds)}: {e}") from None

    def _unknown_member_dates(self, ds: str) -> list[str]:
        """The fact's open dates in the unknown-member ledger: the extract restates them too, so
        dimension rows that arrived since heal them (docs/decisions/0014-unknown-member-ledger.md)."""
        from dw.hooks.connections import warehouse_connect
        from dw.warehouse.ledger import open_dates

        with warehouse_connect(self.warehouse_conn_id) as conn:
            dates = open_dates(conn, self.table, ds)
        if dates:
            self.log.info("%s: also restating %d date(s) with unknown members: %s", self._label(ds), len(dates),
                          ", ".join(dates))
        return dates

    def _lake_state(self, s3) -> dict[str, str]:
        """The state of the raw tables this extract reads, for its load to check (0015)."""
        from dw.config import lake_config
        from dw.lake_sql import lake_state

        return lake_state(s3, lake_config().bucket, warehouse_tables()[self.table].lake_tables)

    # ------------------------------------------------------------------ execute

    def execute(self, context) -> dict:
        from dw.hooks.connections import lake_engine, s3_client
        from dw.lake import run_date

        ds = run_date(context)
        sql = self._sql(ds)
        engine = lake_engine(self.aws_conn_id)
        self.log.info("%s on %s, SQL %s:\n%s", self._label(ds), engine, warehouse_tables()[self.table].extract_sql_path, sql)
        s3 = s3_client(self.aws_conn_id)
        state = self._lake_state(s3)
        if engine == "duckdb":
            return {**self._run_duckdb(sql, ds, s3), "lake_state": state}
        return self._start_athena(sql, ds, state)

    def _run_duckdb(self, sql: str, ds: str, s3=None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from dw.config import lake_config
        from dw.hooks.connections import s3_client
        from dw.lake import extract_prefix
        from dw.lake_sql import DuckDBLake, LakeQueryError

        query_id = f"duckdb-{uuid.uuid4()}"
        key = f"{extract_prefix(self.table, ds)}{query_id}.csv"
        bucket = lake_config().bucket
        fd, path = tempfile.mkstemp(prefix=f"dw-extract-{self.table}-", suffix=".csv")
        os.close(fd)
        t0 = time.monotonic()
        try:
            with DuckDBLake.connect(self.aws_conn_id) as lake:
                try:
                    rows = lake.extract_to_csv(sql, path)
                except LakeQueryError as e:
                    raise AirflowFailException(
                        f"{self._label(ds)}: {e} (SQL {warehouse_tables()[self.table].extract_sql_path}); "
                        "nothing was written and the warehouse is untouched"
                    ) from None
            t_query = time.monotonic() - t0
            (s3 or s3_client(self.aws_conn_id)).upload_file(path, bucket, key, ExtraArgs={"ContentType": "text/csv"})
        finally:
            os.unlink(path)
        uri = f"s3://{bucket}/{key}"
        self.log.info("%s: %d rows in %.2fs (query %.2fs) -> %s", self._label(ds), rows, time.monotonic() - t0, t_query, uri)
        return {"uri": uri, "rows": rows, "query_id": query_id, "engine": "duckdb"}

    # ------------------------------------------------------------------ Athena (deferrable)

    def _athena_hook(self):
        from airflow.providers.amazon.aws.hooks.athena import AthenaHook

        return AthenaHook(aws_conn_id=self.aws_conn_id)

    def _start_athena(self, sql: str, ds: str, state: dict[str, str] | None = None) -> dict:
        from airflow.providers.amazon.aws.triggers.athena import AthenaTrigger

        from dw.config import lake_config
        from dw.lake import extract_prefix

        lake = lake_config()
        output = f"s3://{lake.bucket}/{extract_prefix(self.table, ds)}"
        query_id = self._athena_hook().run_query(
            query=sql,
            query_context={"Database": lake.athena_database},
            result_configuration={"OutputLocation": output},
            workgroup=lake.athena_workgroup,
        )
        self.log.info("%s: started Athena query %s (results to %s); deferring", self._label(ds), query_id, output)
        self.defer(
            trigger=AthenaTrigger(
                query_execution_id=query_id,
                waiter_delay=self.poll_interval,
                waiter_max_attempts=self.max_polls,
                aws_conn_id=self.aws_conn_id,
            ),
            method_name="execute_complete",
            kwargs={"ds": ds, "lake_state": state},
        )
        return {}  # not reached: defer raises

    def execute_complete(self, context, event: dict | None = None, ds: str | None = None,
                         lake_state: dict[str, str] | None = None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from dw.lake import run_date

        ds = ds or run_date(context)
        event = event or {}
        query_id = event.get("value")
        hook = self._athena_hook()
        if not query_id:
            raise AirflowFailException(f"{self._label(ds)}: the Athena trigger returned no query id: {event!r}")
        state = hook.check_query_status(query_id)
        if event.get("status") != "success" or state != "SUCCEEDED":
            reason = hook.get_state_change_reason(query_id)
            raise AirflowFailException(
                f"{self._label(ds)}: Athena query {query_id} ended {state}: {reason or event.get('message')} "
                f"(SQL {warehouse_tables()[self.table].extract_sql_path}); the warehouse is untouched"
            )
        info = hook.get_query_info(query_id)
        uri = hook.get_output_location(query_id)
        if uri.endswith("/"):  # a location prefix: Athena names the result file after the query
            uri = f"{uri}{query_id}.csv"
        stats = info.get("QueryExecution", {}).get("Statistics", {})
        self.log.info("%s: Athena query %s succeeded, %s bytes scanned -> %s",
                      self._label(ds), query_id, stats.get("DataScannedInBytes"), uri)
        out = {"uri": uri, "rows": None, "query_id": query_id, "engine": "athena"}
        if lake_state is not None:
            out["lake_state"] = lake_state
        return out
