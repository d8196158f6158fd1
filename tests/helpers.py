"""Test helpers shared by the test modules: run a DAG for a day in-process, fresh and migrated
warehouses, extract CSVs, what the vendor stand-ins serve, a Slack webhook stand-in, and a
fingerprint of the warehouse."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pendulum
import requests

UTC = dt.timezone.utc
# The day the vendor_standins fixture's clock (conftest.VENDOR_CLOCK, 03:00 the day after) has complete.
VENDOR_DAY = dt.date(2024, 1, 15)
# Retry settings of the vendor operators that keep failure tests short.
FAST = {"backoff_seconds": 0.05, "max_backoff_seconds": 2.0, "timeout_seconds": 10}

_MIGRATED: set[str] = set()


def ensure_airflow_db() -> None:
    import os

    home = os.environ["AIRFLOW_HOME"]
    if home in _MIGRATED:
        return
    Path(home).mkdir(parents=True, exist_ok=True)
    airflow = Path(sys.executable).parent / "airflow"
    r = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    _MIGRATED.add(home)


def build_dag(dag_id: str):
    """Build a DAG now, from the current config (tests point the config at fresh namespaces)."""
    from dw import dag_factory

    if dag_id == "ingest_mongo":
        return dag_factory.build_ingest_mongo_dag()
    if dag_id == "warehouse":
        return dag_factory.build_warehouse_dag()
    return dag_factory.build_ingest_vendor_dag(dag_id.removeprefix("ingest_"))


INGEST_DAGS = ("ingest_mongo", "ingest_stripe", "ingest_amplitude", "ingest_chargify")


def run_dag(dag_id: str, day: dt.date, *, expect: str = "success", dag=None, conf: dict | None = None):
    """Run ``dag_id`` for ``day`` (the run whose data interval is that day) with dag.test().
    A run with no task instance fails (unless ``expect="no task instances"``)."""
    ensure_airflow_db()
    dag = dag or build_dag(dag_id)
    logical = pendulum.datetime(day.year, day.month, day.day, tz="UTC").add(days=1)
    dr = dag.test(logical_date=logical, run_conf=conf)
    state = str(getattr(dr.state, "value", dr.state))
    if not dr.get_task_instances():  # a run with no task instance did nothing: never a success
        from dw.lake import no_tasks_error

        state = "no task instances"
        if expect != state:
            raise AssertionError(no_tasks_error(dag_id, day.isoformat()))
    if state != expect:
        failed = [ti.task_id for ti in dr.get_task_instances() if str(getattr(ti.state, "value", ti.state)) == "failed"]
        raise AssertionError(f"{dag_id} for {day}: run {state}, expected {expect}; failed tasks {failed}")
    return dr


def load_stats(dr) -> dict[str, dict]:
    """{table: stats} returned (XCom) by the run's warehouse load tasks."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    out: dict[str, dict] = {}
    with create_session() as session:
        rows = session.query(XComModel).filter(
            XComModel.dag_id == dr.dag_id, XComModel.run_id == dr.run_id, XComModel.key == "return_value"
        )
        for x in rows:
            if x.task_id.endswith(".load"):
                val = x.value
                if isinstance(val, str):
                    import json

                    val = json.loads(val)
                out[x.task_id.split(".")[-2]] = val
    return out


AUDIT_COLUMNS = {"dw_created_at", "dw_updated_at"}


def warehouse_fingerprint(uri: str, *, with_audit: bool = False) -> dict[str, tuple[int, str]]:
    """{table: (row count, md5 of all rows)} for every table of schema dw but the load ledger
    (dw.load_audit records attempts, not data) and dw.fact_digests (what each fact date's last
    load read, down to the load_audit ids of the dimension loads before it: load history too). The audit timestamps
    are left out unless asked for: they record which run wrote a row, so they differ between
    runs in different orders while the data is the same. So are, unless asked for, the rows of
    dw.schema_changes recording a type's growth (``recorded_by`` ``….:enum_values``): a type grows
    once, by whichever load meets the label first (docs/decisions/0043)."""
    import psycopg
    from psycopg import sql

    out = {}
    with psycopg.connect(uri) as con:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema='dw' and table_type='BASE TABLE' "
            "and table_name not in ('load_audit', 'fact_digests') order by 1"
        )]
        for t in tables:
            cols = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema='dw' and table_name=%s "
                "order by ordinal_position", (t,)
            ) if with_audit or r[0] not in AUDIT_COLUMNS]
            row = sql.SQL("row({})::text").format(sql.SQL(", ").join(sql.Identifier(c) for c in cols))
            where = sql.SQL("where recorded_by not like '%:enum_values'" if t == "schema_changes" and not with_audit
                            else "")
            q = sql.SQL("select count(*), coalesce(md5(string_agg(r, E'\\n' order by r)), '') from "
                        "(select {} as r from {} {}) s").format(row, sql.Identifier("dw", t), where)
            out[t] = tuple(con.execute(q).fetchone())
    return out


def ingest_day(stack, day: dt.date, *, seed: int = 42, scale: float) -> None:
    """Every ingestion DAG for ``day``, the vendor stand-ins pinned to the seed, scale and a clock
    of D+1 03:00 UTC (the day complete, Amplitude's export delay passed). On the first day in the
    lake, ingest_chargify reads the whole history by itself (docs/decisions/0010)."""
    from devstack import vendors

    vendors.configure_all(stack.vendor_urls(), seed=seed, scale=scale,
                          now=dt.datetime.combine(day + dt.timedelta(days=1), dt.time(3), dt.timezone.utc))
    for dag_id in INGEST_DAGS:
        run_dag(dag_id, day)


# --------------------------------------------------------------------------- warehouse


def new_warehouse(stack, monkeypatch) -> str:
    """A fresh, empty warehouse database on the stack, ``postgres_dw`` and ``postgres_dw_migrate``
    pointed at it; its URI."""
    import psycopg
    from psycopg import sql

    name = f"wh_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(stack.info["pg_uri"], autocommit=True) as con:
        con.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    for conn_id in ("postgres_dw", "postgres_dw_migrate"):  # the loader and the migrator
        conn = json.loads(stack.connections()[conn_id])
        conn["schema"] = name
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return stack.info["pg_uri"].rsplit("/", 1)[0] + "/" + name


# The months the tests load facts into: migrate makes their partitions (the migrate task makes
# those of its run's dates; dw.warehouse.migrate.partition_dates).
TEST_MONTHS = ["2024-01-01", "2024-02-01", "2024-03-01"]


def run_migrate(uri: str, tables, dates=TEST_MONTHS) -> dict:
    from dw.warehouse.migrate import migrate

    return migrate(uri, tables, dates=dates)


def csv_bytes(header: list[str], rows: list[list]) -> bytes:
    """Like the extracts: every value quoted, NULL as an empty unquoted field."""

    def field(v) -> str:
        if v is None:
            return ""
        if isinstance(v, bool):
            v = "true" if v else "false"
        return '"' + str(v).replace('"', '""') + '"'

    lines = [",".join(field(h) for h in header)] + [",".join(field(v) for v in r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def org(analytics_id, name, updated, plan="free"):
    return [analytics_id, name, "github", plan, "2024-01-01T00:00:00Z", updated]


# --------------------------------------------------------------------------- vendor stand-ins


def stripe(v, path, key=None, **params):
    key = v["stripe"]["key"] if key is None else key
    return requests.get(v["stripe"]["url"] + path, params=params, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def chargify(v, path, key=None, **params):
    return requests.get(v["chargify"]["url"] + path, params=params, auth=(key or v["chargify"]["key"], "x"), timeout=30)


def stripe_all(v, path, **params):
    out, after = [], None
    while True:
        p = dict(params, limit=7, **({"starting_after": after} if after else {}))
        r = stripe(v, path, **p)
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["data"]
        if not body["has_more"]:
            return out
        after = body["data"][-1]["id"]


def chargify_all(v, path, per_page=200, **params):
    out, page = [], 1
    while True:
        r = chargify(v, path, page=page, per_page=per_page, **params)
        assert r.status_code == 200, r.text
        items = r.json()
        out += items
        if len(items) < per_page:
            return out
        page += 1


def day_bounds(day: dt.date = VENDOR_DAY) -> tuple[int, int]:
    lo = int(dt.datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    return lo, lo + 86_400


def served(v, source: str, entity: str, day: dt.date = VENDOR_DAY, since: dt.date | None = None) -> list[dict]:
    """What the stand-in serves for the entity and day, read independently of the ingestion code."""
    lo, hi = day_bounds(day)
    if source == "stripe":
        params = {"created[lt]": hi} if entity in ("customers", "subscriptions") else {"created[gte]": lo, "created[lt]": hi}
        if entity == "subscriptions":
            params["status"] = "all"
        return stripe_all(v, f"/v1/{entity}", **params)
    if source == "chargify":
        root = entity[:-1]
        items = chargify_all(v, f"/{entity}.json", date_field="updated_at",
                             start_datetime=f"{(since or day).isoformat()}T00:00:00Z",
                             end_datetime=f"{day.isoformat()}T23:59:59Z")
        return [it[root] for it in items]
    raise ValueError(source)


def amplitude_served(v, day: dt.date = VENDOR_DAY) -> tuple[bytes, list[dict]]:
    """The gzip members the Export API serves for the day's hours, concatenated, and their events."""
    a = v["amplitude"]
    raw, events = b"", []
    for h in range(24):
        stamp = f"{day.strftime('%Y%m%d')}T{h:02d}"
        for _ in range(10):  # the stand-in's rate limit applies to this reader too
            r = requests.get(a["url"] + "/api/2/export", params={"start": stamp, "end": stamp},
                             auth=(a["key"], a["secret"]), timeout=60)
            if r.status_code != 429:
                break
            time.sleep(float(r.headers["Retry-After"]))
        if r.status_code == 404:
            continue
        assert r.status_code == 200, r.text
        with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
            for name in sorted(zf.namelist()):
                member = zf.read(name)
                raw += member
                events += [json.loads(ln) for ln in gzip.decompress(member).splitlines()]
    return raw, events


# --------------------------------------------------------------------------- Slack


class Webhook:
    """A local HTTP server standing in for a Slack incoming webhook: records each POSTed body."""

    def __init__(self, status: int = 200):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"invalid_token")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def connection(self, token: str = "T000/B000/secret") -> str:
        return json.dumps({"conn_type": "slackwebhook", "host": f"http://127.0.0.1:{self.port}/services",
                           "password": token})

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- lake contracts

# (mode, kind) of every lake contract the config accepts (data_type: evolve is refused)
CONTRACT_CASES = [(m, k) for k in ("data_type", "new_fields") for m in ("discard_row", "discard_value", "evolve", "freeze")
                  if (m, k) != ("evolve", "data_type")]


def lake_object(lake, key: str) -> bytes | None:
    """The object's bytes, None if it does not exist."""
    from botocore.exceptions import ClientError

    try:
        return lake.get_object(Bucket=lake.bucket, Key=key)["Body"].read()
    except ClientError:
        return None
