"""Connections of the platform, read through Airflow's own hooks.

- ``aws_lake``: S3 (and Athena). Extra ``lake_engine``: ``athena`` (default) or
  ``duckdb`` (the local profile runs the Athena SQL on DuckDB against the same S3).
  Extra ``endpoint_url`` points boto3 and DuckDB at an S3-compatible server.
- ``postgres_dw``: the warehouse, used through psycopg 3 (COPY streaming, psycopg.sql).
- ``mongo_app``: the production MongoDB, through the mongo provider's MongoHook.
- ``dw_pii_key``: its password is the key of the keyed email hash.

Heavy imports stay inside the functions: this module is imported by operators at parse time.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import urlparse

LAKE_CONN_ID = "aws_lake"
WAREHOUSE_CONN_ID = "postgres_dw"
MONGO_CONN_ID = "mongo_app"


def get_connection(conn_id: str):
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def lake_engine(conn_id: str = LAKE_CONN_ID) -> str:
    engine = (get_connection(conn_id).extra_dejson or {}).get("lake_engine", "athena")
    if engine not in ("athena", "duckdb"):
        raise ValueError(f"connection {conn_id}: extra lake_engine must be athena or duckdb, not {engine!r}")
    return engine


_S3_HOOKS: dict[tuple[str, str], object] = {}
_S3_HOOKS_LOCK = threading.Lock()


def s3_hook(conn_id: str = LAKE_CONN_ID):
    """The S3 hook of ``conn_id``: one per process and connection as it stands (an edited
    connection gets a new one). Each new hook builds a boto3 session whose first client parses
    botocore's JSON models, 0.2-0.5 s of CPU, and one extract task used to build three; the
    hook's client is reused (boto3 clients are thread-safe)."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    key = (conn_id, get_connection(conn_id).get_uri())
    with _S3_HOOKS_LOCK:
        hook = _S3_HOOKS.get(key)
        if hook is None:
            hook = _S3_HOOKS[key] = S3Hook(aws_conn_id=conn_id)
    return hook


def s3_client(conn_id: str = LAKE_CONN_ID):
    return s3_hook(conn_id).get_conn()


def duckdb_connect(conn_id: str = LAKE_CONN_ID):
    """A DuckDB connection that reads and writes the lake's S3 with the connection's
    credentials. The httpfs extension is loaded from the pinned duckdb-extension-httpfs
    wheel; DuckDB never downloads anything."""
    import os

    import duckdb
    import duckdb_extension_httpfs

    ext = os.path.join(
        os.path.dirname(duckdb_extension_httpfs.__file__), "extensions", f"v{duckdb.__version__}", "httpfs.duckdb_extension"
    )
    if not os.path.exists(ext):
        raise RuntimeError(
            f"httpfs extension for duckdb {duckdb.__version__} not found at {ext}: "
            "pin duckdb-extension-httpfs to the same version as duckdb"
        )
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute(f"LOAD '{ext}'")
    con.execute("SET TimeZone = 'UTC'")
    creds = s3_hook(conn_id).get_credentials()
    extra = get_connection(conn_id).extra_dejson or {}
    region = extra.get("region_name") or "us-east-1"
    params = {"KEY_ID": creds.access_key, "SECRET": creds.secret_key, "REGION": region}
    if creds.token:
        params["SESSION_TOKEN"] = creds.token
    endpoint = extra.get("endpoint_url") or (extra.get("service_config", {}).get("s3", {}) or {}).get("endpoint_url")
    if endpoint:
        u = urlparse(endpoint)
        params["ENDPOINT"] = u.netloc
        params["URL_STYLE"] = "path"
        params["USE_SSL"] = "true" if u.scheme == "https" else "false"
    # CREATE SECRET takes literals only; values are quoted as SQL strings.
    body = ", ".join(f"{k} {_duck_literal(v)}" for k, v in params.items())
    con.execute(f"CREATE OR REPLACE SECRET lake (TYPE s3, {body})")
    return con


def _duck_literal(v: str) -> str:
    if v in ("true", "false"):
        return v
    return "'" + str(v).replace("'", "''") + "'"


def warehouse_conninfo(conn_id: str = WAREHOUSE_CONN_ID) -> str:
    """A libpq conninfo string for psycopg 3 built from the Airflow connection."""
    from psycopg.conninfo import make_conninfo

    c = get_connection(conn_id)
    extra = c.extra_dejson or {}
    kwargs = {
        "host": c.host or None,
        "port": c.port or None,
        "user": c.login or None,
        "password": c.password or None,
        "dbname": c.schema or extra.get("dbname") or None,
        "application_name": "dw-etl",
    }
    for k in ("sslmode", "sslrootcert", "connect_timeout", "options"):
        if k in extra:
            kwargs[k] = extra[k]
    return make_conninfo("", **{k: v for k, v in kwargs.items() if v is not None})


def warehouse_connect(conn_id: str = WAREHOUSE_CONN_ID, **kwargs):
    """A psycopg connection to the warehouse; a misconfigured connection fails the task without
    retries (``raise_if_misconfigured``)."""
    import psycopg

    try:
        return psycopg.connect(warehouse_conninfo(conn_id), **kwargs)
    except psycopg.OperationalError as e:
        raise_if_misconfigured(conn_id, e)
        raise


# PostgreSQL's answers at login to a connection whose settings are wrong (not a server that is down).
_PG_MISCONFIGURED = re.compile(
    r'FATAL:\s+(database ".*" does not exist|role ".*" does not exist|password authentication failed'
    r'|no pg_hba\.conf entry|permission denied for database)'
    r'|fe_sendauth: no password supplied'
)


def raise_if_misconfigured(conn_id: str, exc: BaseException) -> None:
    """Turn an error that says the connection itself is wrong (unknown database or role, bad
    password) into an ``AirflowFailException``: retrying in five minutes will not mend it. The
    message names the connection and where it points, never its password. Anything else
    (refused, timed out: the server may be restarting) is left to the task's retries."""
    text = str(exc)
    if not _PG_MISCONFIGURED.search(text):
        return
    from airflow.sdk.exceptions import AirflowFailException

    c = get_connection(conn_id)
    where = f"{c.login or ''}@{c.host or ''}:{c.port or ''}/{c.schema or ''}"
    reason = text.split("FATAL:", 1)[-1].strip().splitlines()[0]
    raise AirflowFailException(
        f"connection {conn_id} ({where}) is misconfigured: {reason}. Fix it (Admin > Connections > {conn_id}), "
        "then clear this task with its downstream tasks. Not retried: a wrong connection does not mend itself."
    ) from None


def mongo_client(conn_id: str = MONGO_CONN_ID):
    from airflow.providers.mongo.hooks.mongo import MongoHook

    return MongoHook(mongo_conn_id=conn_id).get_conn()


def pii_key(conn_id: str) -> bytes:
    c = get_connection(conn_id)
    if not c.password:
        raise ValueError(f"connection {conn_id} has no password: it holds the key of the keyed PII hash")
    return c.password.encode()
