"""Machinery of the reliability tests (RELIABILITY.md): lakes built by the real ingestion
operators, warehouse databases made and cloned on the session's PostgreSQL, the warehouse DAG's
tasks run in-process with a run's context, a lake fingerprint, a statement hook that parks a load
inside its transaction, and an S3 proxy that breaks uploads. Real servers throughout: nothing here
mocks pymongo, boto3, psycopg or HTTP."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import http.client
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pendulum
import psycopg
from psycopg import sql

UTC = dt.timezone.utc


# --------------------------------------------------------------------------- runs and contexts


class RunTI:
    """What the warehouse operators read of their task instance: ids, and the XComs of their run."""

    def __init__(self, xcoms: dict, task_id: str, run_id: str, try_number: int = 1):
        self.xcoms, self.task_id, self.run_id, self.try_number = xcoms, task_id, run_id, try_number
        self.dag_id = "warehouse"

    def xcom_pull(self, task_ids=None, **_):
        return self.xcoms.get(task_ids)


def ctx(day: dt.date, ti=None, **extra) -> dict:
    """The context of the run that processes ``day`` (data interval [day, day+1))."""
    start = pendulum.datetime(day.year, day.month, day.day, tz="UTC")
    return {"data_interval_start": start, "data_interval_end": start.add(days=1), "ti": ti, **extra}


def warehouse_tasks(kinds=("migrate", "extract", "load"), source: str | None = "mongo") -> list:
    """The warehouse DAG's tasks (built from the current config) in dependency order: the migrate
    task and the extracts and loads (sensors and checks only read) of the tables fed by ``source``
    (None: every table). The vendor tables' tasks are the same operators; their lakes need the
    vendor stand-ins (tests/test_vendor_warehouse.py)."""
    from dw.config import warehouse_tables
    from dw.dag_factory import build_warehouse_dag

    tables = warehouse_tables()
    keep = []
    for t in build_warehouse_dag().topological_sort():
        parts = t.task_id.split(".")
        if parts[-1] not in kinds:
            continue
        if len(parts) == 3 and source is not None and tables[parts[1]].source != source:
            continue
        keep.append(t)
    return keep


def run_task(task, day: dt.date, xcoms: dict, try_number: int = 1):
    """Execute one task of the run that processes ``day``, as a clear of it would: its return value
    replaces its XCom in ``xcoms`` (the run's XComs)."""
    run_id = f"scheduled__{day + dt.timedelta(days=1)}T00:00:00+00:00"
    xcoms[task.task_id] = task.execute(ctx(day, RunTI(xcoms, task.task_id, run_id, try_number)))
    return xcoms[task.task_id]


def run_warehouse_day(day: dt.date, xcoms: dict | None = None, tasks=None) -> dict:
    """The warehouse DAG's migrate, extracts and loads for ``day``, in dependency order, in this
    process; returns the run's XComs ({task_id: value})."""
    xcoms = {} if xcoms is None else xcoms
    for t in tasks or warehouse_tasks():
        run_task(t, day, xcoms)
    return xcoms


def land_mongo_day(db, day: dt.date, scale: float) -> None:
    """Seed MongoDB with ``day`` and land every collection's partition with the real operator."""
    from dw.config import mongo_source
    from devstack import generate
    from dw.dag_factory import mongo_task

    generate.seed_day(db, day, scale=scale)
    for name in mongo_source().collections:
        mongo_task(task_id=name, collection=name).execute(ctx(day))


# --------------------------------------------------------------------------- databases


def create_database(stack, template: str | None = None) -> str:
    """A new database on the session's PostgreSQL (a copy of ``template``'s, if given); its URI."""
    name = f"wh_{uuid.uuid4().hex[:12]}"
    admin = stack.info["pg_uri"]
    q = sql.SQL("create database {}").format(sql.Identifier(name))
    if template:
        q += sql.SQL(" template {}").format(sql.Identifier(template.rsplit("/", 1)[1]))
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(q)
    return admin.rsplit("/", 1)[0] + "/" + name


def drop_database(stack, uri: str) -> None:
    with psycopg.connect(stack.info["pg_uri"], autocommit=True) as con:
        con.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(uri.rsplit("/", 1)[1])))


def point_warehouse(monkeypatch, stack, uri: str) -> None:
    """``postgres_dw`` and ``postgres_dw_migrate`` → the database at ``uri``."""
    for conn_id in ("postgres_dw", "postgres_dw_migrate"):
        conn = json.loads(stack.connections()[conn_id])
        conn["schema"] = uri.rsplit("/", 1)[1]
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def rows(uri: str, query, params=()) -> list[tuple]:
    with psycopg.connect(uri) as con:
        return con.execute(query, params).fetchall()


# --------------------------------------------------------------------------- the lake


def lake_fingerprint(s3, bucket: str, ds: str | None = None, prefix: str = "") -> dict[str, tuple[int, str]]:
    """{key: (size, md5 of the bytes)} of the lake's objects under ``prefix`` (those of partition
    ``dt=<ds>`` only, if given)."""
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            if ds is None or f"/dt={ds}/" in o["Key"]:
                body = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
                out[o["Key"]] = (len(body), hashlib.md5(body).hexdigest())
    return out


def duckdb_rows(raw_table: str, ds: str) -> int:
    """The rows a DuckDB reader of the lake (the engine that runs the extracts) sees in a partition."""
    from dw.hooks.duckdb import DuckDBLake

    with DuckDBLake.connect() as lake:
        lake.register(raw_table)
        return lake.con.execute(f"select count(*) from {raw_table} where dt = ?", [ds]).fetchone()[0]


# --------------------------------------------------------------------------- a statement hook

PAUSE_KEY = 4242  # the advisory lock a paused load waits on (the loads' own keys are hashtext() values)

PAUSE_FUNCTION = """
create or replace function public.dw_test_pause() returns trigger language plpgsql as $$
declare n int := coalesce(nullif(current_setting('dw_test.rows', true), ''), '0')::int + 1;
begin
  perform set_config('dw_test.rows', n::text, true);
  if n = TG_ARGV[0]::int then  -- park here until the test lets go (or terminates this backend)
    perform pg_advisory_xact_lock_shared(%(key)s);
  end if;
  return case when TG_LEVEL = 'ROW' then coalesce(NEW, OLD) else null end;
end $$;
create or replace function public.dw_test_pause_stage() returns event_trigger language plpgsql as $$
declare r record;
begin
  for r in select * from pg_event_trigger_ddl_commands() loop
    if r.object_identity like '%%.stage' then
      execute format('create trigger dw_test_pause before insert on %%s for each row '
                     'execute function public.dw_test_pause(2)', r.object_identity);
    end if;
  end loop;
end $$;
""" % {"key": PAUSE_KEY}

# where a load can be parked: (DDL installing the hook, the statement the parked backend is in)
PAUSE_POINTS = {
    # the second row COPY writes into the stage
    "copy": ("create event trigger dw_test_pause_stage on ddl_command_end when tag in ('CREATE TABLE') "
             "execute function public.dw_test_pause_stage()", ("COPY",)),
    # once the load has deleted a row of the restated dates (a vanished grain, a healed member)
    "after_delete": ("create trigger dw_test_pause after delete on dw.{table} for each row "
                     "execute function public.dw_test_pause(1)", ("DELETE", "WITH")),
    # the second row the upsert writes
    "upsert": ("create trigger dw_test_pause before insert or update on dw.{table} for each row "
               "execute function public.dw_test_pause(2)", ("WITH",)),
}


@contextlib.contextmanager
def paused_load(uri: str, point: str, table: str):
    """Install a hook that parks the next load of ``dw.<table>`` at ``point`` (see PAUSE_POINTS)
    on an advisory lock held here; yields a function that waits for the parked backend and
    returns its pid. The hook is removed on the way out (it writes nothing)."""
    ddl, _ = PAUSE_POINTS[point]
    holder = psycopg.connect(uri, autocommit=True)
    try:
        holder.execute(PAUSE_FUNCTION)
        holder.execute(ddl.format(table=table))
        holder.execute("select pg_advisory_lock(%s)", (PAUSE_KEY,))

        def parked(timeout: float = 60.0) -> int:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                row = holder.execute(
                    "select l.pid, a.query from pg_locks l join pg_stat_activity a on a.pid = l.pid "
                    "where l.locktype = 'advisory' and l.classid = 0 and l.objid = %s and not l.granted",
                    (PAUSE_KEY,)).fetchone()
                if row:
                    assert row[1].lstrip().upper().startswith(PAUSE_POINTS[point][1]), (point, row[1][:200])
                    return row[0]
                time.sleep(0.02)
            raise AssertionError(f"no load parked at {point} within {timeout}s")

        yield parked
    finally:
        holder.execute("select pg_advisory_unlock_all()")
        holder.execute("drop event trigger if exists dw_test_pause_stage")
        holder.execute(sql.SQL("drop trigger if exists dw_test_pause on {}").format(sql.Identifier("dw", table)))
        holder.close()


def terminate(uri: str, pid: int) -> None:
    with psycopg.connect(uri, autocommit=True) as con:
        assert con.execute("select pg_terminate_backend(%s)", (pid,)).fetchone()[0]


# --------------------------------------------------------------------------- an S3 proxy that breaks uploads


class S3FaultProxy:
    """An HTTP proxy in front of the moto S3 server. Requests pass through unchanged, except the
    PUTs whose key contains ``fault["key"]``: their head and the first half of their body reach
    S3, then either both connections are dropped (``"fail"``: the upload dies part-way) or the
    proxy waits for ``release`` before sending the rest (``"pause"``: an upload in progress).

        with S3FaultProxy(stack.info["s3_endpoint"]) as proxy:
            proxy.fault = {"key": "raw/mongo/jobs/", "mode": "fail"}
            ... an aws_lake connection with endpoint_url=proxy.url ...
    """

    def __init__(self, target: str):
        u = urlsplit(target)
        self.target = (u.hostname, u.port)
        self.fault: dict | None = None
        self.broken: list[str] = []  # keys of the PUTs the proxy broke or held
        self.reached = threading.Event()  # a paused PUT is half-way
        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> S3FaultProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _relay(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy.fault
                hit = (fault is not None and self.command == "PUT" and fault["key"] in self.path and len(body) > 1)
                head = f"{self.command} {self.path} HTTP/1.1\r\n"
                for k, v in self.headers.items():
                    if k.lower() not in ("expect", "connection"):
                        head += f"{k}: {v}\r\n"
                head += "Connection: close\r\n\r\n"
                up = socket.create_connection(proxy.target, timeout=60)
                try:
                    up.sendall(head.encode() + (body[: len(body) // 2] if hit else body))
                    if hit:
                        proxy.broken.append(self.path)
                        if fault["mode"] == "fail":
                            self.close_connection = True
                            return  # both connections close: S3 got half a body, the client no answer
                        proxy.reached.set()
                        proxy.release.wait(120)
                        up.sendall(body[len(body) // 2:])
                    resp = http.client.HTTPResponse(up, method=self.command)
                    resp.begin()
                    data = resp.read()
                    self.send_response(resp.status)
                    for k, v in resp.getheaders():
                        if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                            self.send_header(k, v)
                    length = resp.getheader("Content-Length") if self.command == "HEAD" else None
                    self.send_header("Content-Length", length or str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    up.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

        return Handler


def lake_through(monkeypatch, stack, endpoint: str) -> None:
    """``aws_lake`` → S3 at ``endpoint`` (e.g. an S3FaultProxy), DuckDB engine as in the stack."""
    conn = json.loads(stack.connections()["aws_lake"])
    conn["extra"]["endpoint_url"] = endpoint
    monkeypatch.setenv("AIRFLOW_CONN_AWS_LAKE", json.dumps(conn))
