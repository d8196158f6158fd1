"""WarehouseHook: the ``postgres_dw`` connection, used through psycopg 3 (COPY streaming,
psycopg.sql).

    hook = WarehouseHook("postgres_dw")
    with hook.connect() as conn: ...

Two connections: ``postgres_dw`` (``WAREHOUSE_CONN_ID``), a login in ``dw_loader`` that loads
rows (and, as a member of ``dw_analyst``, serves the Warehouse view), and
``postgres_dw_migrate`` (``MIGRATE_CONN_ID``), a login in ``dw_owner`` that the migrate task
uses to create and alter tables (docs/decisions/0041). Every session pins ``search_path`` to
``pg_catalog, pg_temp`` (libpq ``options``).

A connection whose settings are wrong (unknown database or role, bad password) fails the task
with ``AirflowFailException``: retrying will not mend it. The message names the connection and
where it points, never its password. Anything else (refused, timed out: the server may be
restarting) is left to the task's retries.

psycopg is imported inside the methods.
"""

from __future__ import annotations

import re

from airflow.sdk import BaseHook

from dw.hooks.connections import WAREHOUSE_CONN_ID

# PostgreSQL's answers at login to a connection whose settings are wrong (not a server that is down).
_PG_MISCONFIGURED = re.compile(
    r'FATAL:\s+(database ".*" does not exist|role ".*" does not exist|password authentication failed'
    r'|no pg_hba\.conf entry|permission denied for database)'
    r'|fe_sendauth: no password supplied'
)


PIN_SEARCH_PATH_OPTION = "-c search_path=pg_catalog,pg_temp"


class WarehouseHook(BaseHook):
    conn_name_attr = "conn_id"
    default_conn_name = WAREHOUSE_CONN_ID
    conn_type = "postgres"
    hook_name = "DW warehouse (psycopg 3)"

    def __init__(self, conn_id: str = WAREHOUSE_CONN_ID, **kwargs) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id

    def conninfo(self) -> str:
        """A libpq conninfo string built from the Airflow connection."""
        from psycopg.conninfo import make_conninfo

        c = self.get_connection(self.conn_id)
        extra = c.extra_dejson or {}
        kwargs = {
            "host": c.host or None,
            "port": c.port or None,
            "user": c.login or None,
            "password": c.password or None,
            "dbname": c.schema or extra.get("dbname") or None,
            "application_name": "dw-etl",
        }
        for k in ("sslmode", "sslrootcert", "connect_timeout"):
            if k in extra:
                kwargs[k] = extra[k]
        # every session (loads, migrate, the Warehouse view) resolves names in pg_catalog and its
        # own temp tables only; the connection's own ``options`` come first, this wins
        kwargs["options"] = " ".join(o for o in (extra.get("options"), PIN_SEARCH_PATH_OPTION) if o)
        return make_conninfo("", **{k: v for k, v in kwargs.items() if v is not None})

    def get_conn(self, **kwargs):
        """A psycopg connection; a misconfigured connection raises ``AirflowFailException``."""
        import psycopg

        try:
            return psycopg.connect(self.conninfo(), **kwargs)
        except psycopg.OperationalError as e:
            self.raise_if_misconfigured(e)
            raise

    connect = get_conn

    def raise_if_misconfigured(self, exc: BaseException) -> None:
        """Raise ``AirflowFailException`` if ``exc`` says the connection itself is wrong."""
        text = str(exc)
        if not _PG_MISCONFIGURED.search(text):
            return
        from airflow.sdk.exceptions import AirflowFailException

        c = self.get_connection(self.conn_id)
        where = f"{c.login or ''}@{c.host or ''}:{c.port or ''}/{c.schema or ''}"
        reason = text.split("FATAL:", 1)[-1].strip().splitlines()[0]
        raise AirflowFailException(
            f"connection {self.conn_id} ({where}) is misconfigured: {reason}. Fix it (Admin > Connections > "
            f"{self.conn_id}), then clear this task with its downstream tasks. Not retried: a wrong connection "
            "does not mend itself."
        ) from None
