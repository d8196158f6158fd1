"""The Athena lake engine: the amazon provider's ``AthenaHook``, deferring on ``AthenaTrigger``.

The query is started with the database, workgroup and output location given; the caller defers
on the returned trigger, so no worker slot waits for the query. Athena writes
``<query id>.csv`` to the output location; ``complete`` reads the location Athena reports (a
workgroup may enforce its own) and, if the query failed, raises ``LakeQueryError`` with Athena's
reason, or a plain (retried) error when Athena marks the failure ``AthenaError.Retryable``.
"""

from __future__ import annotations

from airflow.providers.amazon.aws.hooks.athena import AthenaHook

from dw.hooks.lake import Deferred, LakeEngine
from dw.lake_sql import LakeQueryError


class AthenaEngine(AthenaHook, LakeEngine):
    name = "athena"

    def start(self, sql: str, *, bucket: str, prefix: str, database: str, workgroup: str, label: str = "",
              poll_interval: int = 15, max_polls: int = 480) -> Deferred:
        from airflow.providers.amazon.aws.triggers.athena import AthenaTrigger

        output = f"s3://{bucket}/{prefix}"
        query_id = self.run_query(
            query=sql,
            query_context={"Database": database},
            result_configuration={"OutputLocation": output},
            workgroup=workgroup,
        )
        trigger = AthenaTrigger(query_execution_id=query_id, waiter_delay=poll_interval,
                                waiter_max_attempts=max_polls, aws_conn_id=self.aws_conn_id)
        return Deferred(trigger=trigger, query_id=query_id, output=output)

    def complete(self, event: dict, *, label: str = "") -> dict:
        query_id = event.get("value")
        if not query_id:
            raise LakeQueryError(f"the Athena trigger returned no query id: {event!r}")
        state = self.check_query_status(query_id)
        if event.get("status") != "success" or state != "SUCCEEDED":
            reason = self.get_state_change_reason(query_id)
            error = (self.get_query_info(query_id).get("QueryExecution", {}).get("Status", {}).get("AthenaError") or {})
            msg = f"Athena query {query_id} ended {state}: {reason or event.get('message')}"
            if error.get("Retryable"):  # throttling, an internal error: the task's retry runs it again
                raise RuntimeError(f"{msg} (Athena marks it retryable: AthenaError {error.get('ErrorCategory')}"
                                   f"/{error.get('ErrorType')})")
            raise LakeQueryError(msg)
        info = self.get_query_info(query_id)
        uri = self.get_output_location(query_id)
        if uri.endswith("/"):  # a location prefix: Athena names the result file after the query
            uri = f"{uri}{query_id}.csv"
        stats = info.get("QueryExecution", {}).get("Statistics", {})
        self.log.info("%s: Athena query %s succeeded, %s bytes scanned -> %s",
                      label, query_id, stats.get("DataScannedInBytes"), uri)
        return {"uri": uri, "rows": None, "query_id": query_id, "engine": "athena"}

    def rows(self, sql: str, *, bucket: str, prefix: str, database: str, workgroup: str) -> list[dict]:
        query_id = self.run_query(query=sql, query_context={"Database": database},
                                  result_configuration={"OutputLocation": f"s3://{bucket}/{prefix}"},
                                  workgroup=workgroup)
        state = self.poll_query_status(query_id, max_polling_attempts=120, sleep_time=5)
        if state != "SUCCEEDED":
            raise LakeQueryError(f"Athena query {query_id} ended {state}: {self.get_state_change_reason(query_id)}")
        result = self.get_query_results(query_id) or {}
        data = [[c.get("VarCharValue") for c in r.get("Data", [])] for r in result.get("ResultSet", {}).get("Rows", [])]
        return [dict(zip(data[0], r)) for r in data[1:]] if data else []
