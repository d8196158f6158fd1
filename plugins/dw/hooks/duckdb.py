"""The DuckDB lake engine: the Athena extract SQL run on DuckDB over the lake's S3.

For deployments without Athena (the local stack, docker-compose's MinIO); it needs
requirements-duckdb.txt (duckdb and the pinned httpfs extension wheel: DuckDB downloads
nothing). ``DuckDBLake`` creates one view per raw table a query names, over the table's Parquet
partitions within the query's literal ``dt`` bounds (``dw.lake_sql.dt_bounds``: a partition
outside them is never opened; hive partitioning on ``dt``, every column cast to the type its DDL declares, missing
columns NULL, as Athena reads them), transpiles the query with sqlglot and writes the result as
CSV in Athena's output format: a header line, every value quoted, NULL an empty unquoted field.
``DuckDBEngine`` writes that CSV to local disk and uploads it in one PUT as
``<prefix>duckdb-<uuid>.csv``.

duckdb is imported only when a connection is opened.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import uuid
from urllib.parse import urlparse

from airflow.sdk import BaseHook

from dw.hooks.connections import LAKE_CONN_ID, get_connection
from dw.hooks.lake import Finished, LakeEngine, s3_client, s3_hook
from dw.lake import objects_in_bounds
from dw.lake_sql import LakeQueryError, dt_bounds, raw_table_columns, raw_table_prefix, to_duckdb


class DuckDBEngine(BaseHook, LakeEngine):
    """A DuckDB connection that reads and writes the lake's S3 with the ``aws_lake`` credentials."""

    name = "duckdb"
    conn_name_attr = "aws_conn_id"
    default_conn_name = LAKE_CONN_ID
    hook_name = "DW lake (DuckDB)"

    def __init__(self, aws_conn_id: str = LAKE_CONN_ID, **kwargs) -> None:
        super().__init__(**kwargs)
        self.aws_conn_id = aws_conn_id

    def get_conn(self):
        """A DuckDB connection with the httpfs extension loaded from its pinned wheel and an S3
        secret from the connection (credentials, region, ``endpoint_url``)."""
        import duckdb
        import duckdb_extension_httpfs

        ext = os.path.join(
            os.path.dirname(duckdb_extension_httpfs.__file__), "extensions", f"v{duckdb.__version__}",
            "httpfs.duckdb_extension",
        )
        if not os.path.exists(ext):
            raise RuntimeError(
                f"httpfs extension for duckdb {duckdb.__version__} not found at {ext}: "
                "pin duckdb-extension-httpfs to the same version as duckdb"
            )
        con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
        con.execute(f"LOAD '{ext}'")
        con.execute("SET TimeZone = 'UTC'")
        # Athena's from_base(text, radix), which DuckDB lacks and sqlglot passes through (the
        # extracts read a MongoDB ObjectId's creation time: base 16 only)
        con.execute("CREATE OR REPLACE MACRO from_base(s, b) AS CASE WHEN b = 16 THEN CAST('0x' || s AS BIGINT) END")
        creds = s3_hook(self.aws_conn_id).get_credentials()
        extra = get_connection(self.aws_conn_id).extra_dejson or {}
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
        body = ", ".join(f"{k} {_secret_literal(v)}" for k, v in params.items())
        con.execute(f"CREATE OR REPLACE SECRET lake (TYPE s3, {body})")
        return con

    def start(self, sql: str, *, bucket: str, prefix: str, database: str, workgroup: str, label: str = "",
              poll_interval: int = 15, max_polls: int = 480) -> Finished:
        from dw.lake import upload_args

        query_id = f"duckdb-{uuid.uuid4()}"
        key = f"{prefix}{query_id}.csv"
        fd, path = tempfile.mkstemp(prefix="dw-extract-", suffix=".csv")
        os.close(fd)
        t0 = time.monotonic()
        try:
            with DuckDBLake(self.get_conn(), bucket, self.aws_conn_id) as lake:
                rows = lake.extract_to_csv(sql, path)
            t_query = time.monotonic() - t0
            s3_client(self.aws_conn_id).upload_file(path, bucket, key, ExtraArgs=upload_args("text/csv"))
        finally:
            os.unlink(path)
        uri = f"s3://{bucket}/{key}"
        self.log.info("%s: %d rows in %.2fs (query %.2fs) -> %s", label, rows, time.monotonic() - t0, t_query, uri)
        return Finished({"uri": uri, "rows": rows, "query_id": query_id, "engine": "duckdb"})


    def rows(self, sql: str, *, bucket: str, prefix: str, database: str, workgroup: str) -> list[dict]:
        with DuckDBLake(self.get_conn(), bucket, self.aws_conn_id) as lake:
            return lake.rows(sql)


class DuckDBLake:
    """Athena extract SQL on a DuckDB connection over the lake's S3.

        with DuckDBLake.connect() as lake:
            rows = lake.extract_to_csv(sql, "/tmp/out.csv")
    """

    def __init__(self, con, bucket: str, aws_conn_id: str = LAKE_CONN_ID):
        self.con = con
        self.bucket = bucket
        self.aws_conn_id = aws_conn_id

    @classmethod
    def connect(cls, conn_id: str | None = None, bucket: str | None = None) -> DuckDBLake:
        """A lake on a new connection of ``conn_id`` (default ``aws_lake``); ``bucket`` defaults to
        the lake config's."""
        conn_id = conn_id or LAKE_CONN_ID
        if bucket is None:
            from dw.config import lake_config

            bucket = lake_config().bucket
        return cls(DuckDBEngine(aws_conn_id=conn_id).get_conn(), bucket, conn_id)

    def __enter__(self) -> DuckDBLake:
        return self

    def __exit__(self, *exc) -> None:
        self.con.close()

    def register(self, raw_table: str, bounds: tuple[str, str] | None = None, union_by_name: bool = False) -> int:
        """Create the view ``raw_table`` over its partitions (only those with ``dt`` in ``bounds``,
        inclusive, when given: nothing else is opened); returns how many partition files."""
        ident = _quote(raw_table)
        cols = raw_table_columns(raw_table)
        prefix = raw_table_prefix(raw_table)
        files = self._partition_files(prefix, bounds)
        if not files:
            select = ", ".join(f"CAST(NULL AS {c.duckdb_type}) AS {_quote(c.name)}" for c in cols)
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {ident} AS SELECT {select}, CAST(NULL AS VARCHAR) AS dt WHERE false")
            return 0
        uris = "[" + ", ".join(_literal(f"s3://{self.bucket}/{k}") for k in files) + "]"

        def reader(by_name: bool) -> str:
            return (f"read_parquet({uris}, hive_partitioning = true, hive_types = {{'dt': 'VARCHAR'}}, "
                    f"union_by_name = {'true' if by_name else 'false'})")

        # Binding reads only the first file's schema, so a partition the query prunes (by dt or
        # by the day's bounds) is never opened; when the first file lacks a declared column, or
        # (extract_to_csv) the files' schemas differ, every file's schema is read (union_by_name).
        by_name = union_by_name
        present = {r[0] for r in self.con.execute(f"DESCRIBE SELECT * FROM {reader(by_name)}").fetchall()}
        if not by_name and not {c.name for c in cols} <= present:
            by_name = True
            present = {r[0] for r in self.con.execute(f"DESCRIBE SELECT * FROM {reader(True)}").fetchall()}
        reader = reader(by_name)
        select = ", ".join(
            (f"CAST({_quote(c.name)} AS {c.duckdb_type})" if c.name in present else f"CAST(NULL AS {c.duckdb_type})")
            + f" AS {_quote(c.name)}"
            for c in cols
        )
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {ident} AS SELECT {select}, dt FROM {reader}")
        return len(files)

    def _partition_files(self, prefix: str, bounds: tuple[str, str] | None = None) -> list[str]:
        """The Parquet objects under ``prefix`` (with ``dt`` in ``bounds``: listed from the first
        of them on, in key order, so the listing too is bounded by the window)."""
        return [o["Key"] for o in objects_in_bounds(s3_client(self.aws_conn_id), self.bucket, prefix, bounds)
                if o["Key"].endswith(".parquet")]

    def rows(self, athena_sql: str) -> list[dict]:
        """A small query's rows, values as text (``None`` for NULL)."""
        import duckdb

        for t, bounds in dt_bounds(athena_sql).items():
            self.register(t, bounds)
        try:
            cur = self.con.execute(to_duckdb(athena_sql))
            names = [d[0] for d in cur.description]
            return [{n: (None if v is None else str(v)) for n, v in zip(names, r)} for r in cur.fetchall()]
        except duckdb.Error as e:
            raise LakeQueryError(f"the query failed on DuckDB: {e}") from None

    def extract_to_csv(self, athena_sql: str, path: str) -> int:
        """Run the query and write its result to ``path`` in Athena's CSV format; returns rows."""
        import duckdb

        bounds = dt_bounds(athena_sql)
        query = to_duckdb(athena_sql)
        for by_name in (False, True):
            for t, b in bounds.items():
                try:
                    self.register(t, b, union_by_name=by_name)
                except duckdb.Error as e:
                    raise LakeQueryError(f"cannot read the partitions of {t}: {e}") from None
            try:
                (rows,) = self.con.execute(
                    f"COPY ({query}) TO {_literal(path)} (FORMAT csv, HEADER true, FORCE_QUOTE *, DELIMITER ',')"
                ).fetchone()
                return int(rows)
            except duckdb.Error as e:
                if not by_name and _SCHEMA_MISMATCH.search(str(e)):
                    continue  # partitions of different schemas: read every file's (union_by_name)
                raise LakeQueryError(f"the query failed on DuckDB: {e}") from None
        raise AssertionError("unreachable")


_SCHEMA_MISMATCH = re.compile(r"schema|union_by_name|column .* not found|mismatch", re.I)


def _quote(ident: str) -> str:
    if not re.match(r"^[a-z_][a-z0-9_]*$", ident):
        raise LakeQueryError(f"not a plain identifier: {ident!r}")
    return f'"{ident}"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _secret_literal(v: str) -> str:
    if v in ("true", "false"):
        return v
    return "'" + str(v).replace("'", "''") + "'"
