"""The lake's S3 and its query engine, from the ``aws_lake`` connection.

``s3_hook`` / ``s3_client``: the amazon provider's S3Hook, one per process and connection as it
stands (an edited connection gets a new one); its boto3 client is shared (thread-safe).

``lake_engine(conn_id)``: the ``LakeEngine`` the connection's extra ``lake_engine`` names:
``athena`` (default; ``dw.hooks.athena``) or ``duckdb`` (``dw.hooks.duckdb``). An engine runs an
extract query and writes its result as CSV under an S3 prefix:

- ``start(sql, bucket=, prefix=, database=, workgroup=, label=)`` returns ``Finished(result)`` or
  ``Deferred(trigger)`` (the operator defers on the trigger and calls ``complete(event)``);
- ``result`` is ``{"uri", "rows", "query_id", "engine"}``;
- a query that cannot run raises ``dw.lake_sql.LakeQueryError``.

Extra ``endpoint_url`` points boto3 and DuckDB at an S3-compatible server.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import Any

from dw.hooks.connections import LAKE_CONN_ID, get_connection

# lake_engine -> the LakeEngine class (its module imports its own heavy libraries)
ENGINES = {"athena": "dw.hooks.athena.AthenaEngine", "duckdb": "dw.hooks.duckdb.DuckDBEngine"}

_S3_HOOKS: dict[tuple[str, str], object] = {}
_S3_HOOKS_LOCK = threading.Lock()


def s3_hook(conn_id: str = LAKE_CONN_ID):
    """The S3 hook of ``conn_id``: one per process and connection as it stands."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    key = (conn_id, get_connection(conn_id).get_uri())
    with _S3_HOOKS_LOCK:
        hook = _S3_HOOKS.get(key)
        if hook is None:
            hook = _S3_HOOKS[key] = S3Hook(aws_conn_id=conn_id)
    return hook


def s3_client(conn_id: str = LAKE_CONN_ID):
    return s3_hook(conn_id).get_conn()


def clear_s3_hooks() -> None:
    """Forget the cached hooks (a forked process must build its own clients)."""
    with _S3_HOOKS_LOCK:
        _S3_HOOKS.clear()


def engine_name(conn_id: str = LAKE_CONN_ID) -> str:
    engine = (get_connection(conn_id).extra_dejson or {}).get("lake_engine", "athena")
    if engine not in ENGINES:
        raise ValueError(f"connection {conn_id}: extra lake_engine must be athena or duckdb, not {engine!r}")
    return engine


@dataclass(frozen=True)
class Finished:
    """The query ran: its result ``{"uri", "rows", "query_id", "engine"}``."""

    result: dict


@dataclass(frozen=True)
class Deferred:
    """The query runs on: defer on ``trigger``, then call the engine's ``complete``."""

    trigger: Any
    query_id: str
    output: str


class LakeEngine:
    """Runs an extract query (Athena SQL) over the lake and writes its result as CSV to S3."""

    name: str = ""

    def start(self, sql: str, *, bucket: str, prefix: str, database: str, workgroup: str, label: str = "",
              poll_interval: int = 15, max_polls: int = 480) -> Finished | Deferred:
        """Run or start ``sql``; its result goes under ``s3://<bucket>/<prefix>``. ``label`` names
        the query in log lines."""
        raise NotImplementedError

    def complete(self, event: dict, *, label: str = "") -> dict:
        """The result of a deferred query, from its trigger's event."""
        raise NotImplementedError(f"the {self.name} engine does not defer")

    def rows(self, sql: str, *, bucket: str, prefix: str, database: str, workgroup: str) -> list[dict]:
        """Run a small query (a report: a few rows) to the end and return its rows, values as text."""
        raise NotImplementedError


def lake_engine(conn_id: str = LAKE_CONN_ID) -> LakeEngine:
    """The engine the connection's extra ``lake_engine`` names (its module imported only now)."""
    module, cls = ENGINES[engine_name(conn_id)].rsplit(".", 1)
    return getattr(importlib.import_module(module), cls)(aws_conn_id=conn_id)
