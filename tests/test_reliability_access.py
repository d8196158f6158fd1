"""Access and secrets (RELIABILITY.md): what the analyst role cannot reach, identifiers that cannot
inject SQL, no secret in any task log, no user email in clear anywhere in the lake or the warehouse.
The last two on one real run: the five DAGs run with dag.test() for one day in a separate process,
every connection holding a known secret, its whole output (every task's log) searched."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import os
import secrets
import subprocess
import sys
import threading

import psycopg
import pytest

from dw.config import Column, Lookup, Measure, TableChecks, TableConfig
from tests.reliability import ctx, paused_load, rows

D = dt.date(2024, 1, 15)
SCALE = 0.005


# --------------------------------------------------------------------------- the analyst


ANALYST_READS = """
select n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p', 'v', 'm', 'f') and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname not like 'pg_toast%%' and has_table_privilege('dw_analyst', c.oid, 'select')
order by 1"""


def test_analyst_reads_the_published_tables_only_never_a_stage(warehouse, lake):
    """While a load sits in its transaction with its stage filled, and after it: the analyst role
    reads exactly the warehouse's tables (column by column where a table holds a keyed hash), writes
    none of them (tests/test_warehouse_migrate.py::test_analyst_reads_but_cannot_write_or_see_email_hash),
    and no stage, nor any other relation, is readable or even left behind."""
    from dw.config import warehouse_tables
    from dw.dag_factory import load_task
    from dw.operators.warehouse import MigrateWarehouseOperator
    from tests.reliability import RunTI
    from tests.helpers import csv_bytes, org

    MigrateWarehouseOperator(task_id="migrate").execute(ctx(D))
    hashed = {"user_dim"}  # readable column by column, never its email_hash (dw.load_quarantine: never its record)
    published = sorted(f"dw.{t}" for t in [*warehouse_tables(), "date_dim", "late_updates", "load_audit", "load_totals", "schema_changes",
                                                       "schema_changes_first_seen", "unknown_member_dates",
                                                       "unknown_member_expired"]
                       if t not in hashed)
    key = f"extracts/organization_dim/dt={D}/q.csv"
    lake.put_object(Bucket=lake.bucket, Key=key, Body=csv_bytes(
        warehouse_tables()["organization_dim"].column_names,
        [org("aaaaaaaa-0000-4000-8000-00000000000%d" % i, f"org {i}", "2024-01-15T00:00:00Z") for i in range(5)]))
    op = load_task(task_id="load", table="organization_dim", extract_task_id="extract")
    ti = RunTI({"extract": {"uri": f"s3://{lake.bucket}/{key}", "lake_state": {}}}, "load", "manual__x")
    done: list = []

    def analyst_view(su) -> None:
        assert [r[0] for r in su.execute(ANALYST_READS)] == published
        cols = su.execute("select column_name from information_schema.columns where table_schema = 'dw' "
                          "and table_name = 'user_dim' and has_column_privilege('dw_analyst', 'dw.user_dim', "
                          "column_name, 'select') order by ordinal_position").fetchall()
        assert [c for (c,) in cols] == ["id", "analytics_id", "login", "created_at", "source_updated_at",
                                        "dw_created_at", "dw_updated_at"]
        # dw.load_quarantine: every column but the quarantined row itself (docs/decisions/0043)
        cols = su.execute("select column_name from information_schema.columns where table_schema = 'dw' "
                          "and table_name = 'load_quarantine' and has_column_privilege('dw_analyst', "
                          "'dw.load_quarantine', column_name, 'select') order by ordinal_position").fetchall()
        assert [c for (c,) in cols] == ["table_name", "dt", "file", "line", "column_name", "reason", "quarantined_at"]
        su.execute("set role dw_analyst")
        try:
            assert su.execute("select count(*) from pg_class where relname in ('stage', 'resolved')").fetchone() == (0,)
            for stmt in ("select * from stage", "select email_hash from dw.user_dim",
                         "insert into dw.unknown_member_dates values ('job_ran_fact', '2024-01-01', 1, now())"):
                with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedTable)):
                    su.execute(stmt)
            su.execute("select count(*) from dw.load_audit")
            su.execute("select count(*) from dw.unknown_member_dates")
        finally:
            su.execute("reset role")

    with paused_load(warehouse, "copy", "organization_dim") as parked:
        t = threading.Thread(target=lambda: done.append(op.execute(ctx(D, ti))))
        t.start()
        parked()  # the load's stage holds a row, its transaction open
        with psycopg.connect(warehouse, autocommit=True) as su:
            analyst_view(su)
    t.join(60)
    assert done and done[0]["inserted"] == 5
    with psycopg.connect(warehouse, autocommit=True) as su:
        analyst_view(su)
        # nothing of a load outlives its transaction
        assert su.execute("select count(*) from pg_class where relname in ('stage', 'resolved')").fetchone() == (0,)


def test_the_stage_is_private_to_the_loading_session_while_it_is_filled(warehouse, lake, monkeypatch):
    """What the test above cannot show (another session never sees an uncommitted catalog row): seen
    from *inside* the load's transaction, right after the COPY, the stage is a temporary table of
    the loading session (relpersistence 't', in its pg_temp schema), owned by dw_loader, and
    dw_analyst has no privilege on it; PostgreSQL lets no other session read another's temp tables."""
    import dw.warehouse.load as load_mod
    from dw.config import warehouse_tables
    from dw.operators.warehouse import MigrateWarehouseOperator
    from tests.helpers import csv_bytes, org

    MigrateWarehouseOperator(task_id="migrate").execute(ctx(D))
    seen: list = []
    real_copy = load_mod._copy

    def probed_copy(cur, cfg, head, chunks, label):
        n = real_copy(cur, cfg, head, chunks, label)
        seen.append(cur.execute(
            "select c.relpersistence, n.nspname like 'pg_temp%%', pg_get_userbyid(c.relowner), "
            "has_table_privilege('dw_analyst', c.oid, 'select'), current_user "
            "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where c.oid = (select oid from pg_class where relname = 'stage' and pg_table_is_visible(oid))").fetchone())
        return n

    monkeypatch.setattr(load_mod, "_copy", probed_copy)
    key = f"extracts/organization_dim/dt={D}/probe.csv"
    lake.put_object(Bucket=lake.bucket, Key=key, Body=csv_bytes(
        warehouse_tables()["organization_dim"].column_names, [org("aaaaaaaa-0000-4000-8000-000000000009", "o", "2024-01-15T00:00:00Z")]))
    with psycopg.connect(warehouse) as pg:
        load_mod.load_table(pg, warehouse_tables()["organization_dim"], f"s3://{lake.bucket}/{key}", str(D),
                            dt.datetime(2024, 1, 16, tzinfo=dt.timezone.utc), lake)
    assert seen == [("t", True, "dw_loader", False, "dw_loader")]


# --------------------------------------------------------------------------- identifiers


HOSTILE = 'x"; drop table dw.date_dim; --'


def hostile_tables() -> dict[str, TableConfig]:
    """A dimension and a fact whose every identifier is hostile, built without validation (as if
    the config check were gone): what reaches PostgreSQL must still be quoted identifiers."""
    dim = TableConfig.model_construct(
        table=f"{HOSTILE} dim", kind="dimension", description="d", source="mongo", lake_tables=[], loaded=True,
        columns=[Column.model_construct(name=f"{HOSTILE} key", type="text", nullable=False),
                 Column.model_construct(name=f"{HOSTILE} attr", type="text", nullable=True)],
        checks=TableChecks(), scd=1, natural_key=[f"{HOSTILE} key"], version_column=None, tracked=None,
        unknown_member={f"{HOSTILE} key": "unknown"}, not_applicable_member={f"{HOSTILE} key": "not_applicable"},
        insert_only=False, date_column=None, lookups=[], grain=[],
        measures=[])
    fact = TableConfig.model_construct(
        table=f"{HOSTILE} fact", kind="fact", description="f", source="mongo", lake_tables=[], loaded=True,
        columns=[Column.model_construct(name=f"{HOSTILE} date", type="date", nullable=False),
                 Column.model_construct(name=f"{HOSTILE} ref", type="text", nullable=True),
                 Column.model_construct(name=f"{HOSTILE} n", type="bigint", nullable=False)],
        checks=TableChecks(), scd=None, natural_key=[], version_column=None, tracked=None, unknown_member={},
        not_applicable_member={}, insert_only=False, date_column=f"{HOSTILE} date",
        lookups=[Lookup.model_construct(key=f"{HOSTILE} id", dimension=dim.table, match={f"{HOSTILE} key": f"{HOSTILE} ref"},
                                        as_of=None)],
        grain=[f"{HOSTILE} date", f"{HOSTILE} id"], measures=[Measure.model_construct(name=f"{HOSTILE} n", type="bigint")])
    return {dim.table: dim, fact.table: fact}


def test_identifiers_are_validated_at_load_and_quoted_in_every_statement(warehouse, lake):
    """The config refuses a name like ``x; drop table y`` when it loads
    (tests/test_warehouse_migrate.py::test_config_identifiers_are_validated). Behind that check,
    every statement is composed with quoted identifiers: tables and columns named to inject SQL are
    created, granted, loaded and looked up as plain names, and nothing else happens."""
    from dw.hooks.duckdb import DuckDBLake
    from dw.lake_sql import LakeQueryError
    from dw.warehouse.load import load_table
    from dw.warehouse.migrate import ensure_fact_partitions, ensure_tables, migrate
    from tests.helpers import csv_bytes

    migrate(warehouse)
    tables = hostile_tables()
    dim, fact = tables.values()
    with psycopg.connect(warehouse) as pg:
        with pg.transaction():
            assert ensure_tables(pg, tables) == [dim.table, fact.table]
            assert ensure_fact_partitions(pg, tables, [D]) == [f"{fact.table}_p{D:%Y_%m}"]
    at = dt.datetime(2024, 1, 16, tzinfo=dt.timezone.utc)
    for cfg, body in ((dim, [["k1", "a"], ["k2", "b"]]), (fact, [[str(D), "k1", 3], [str(D), "zz", 4]])):
        key = f"extracts/hostile/dt={D}/{len(body)}-{cfg.kind}.csv"
        lake.put_object(Bucket=lake.bucket, Key=key, Body=csv_bytes(cfg.column_names, body))
        with psycopg.connect(warehouse) as pg:
            load_table(pg, cfg, f"s3://{lake.bucket}/{key}", str(D), at, lake, tables=tables)
    assert rows(warehouse, "select count(*) from dw.date_dim") == [(18629,)]  # nothing was dropped
    with psycopg.connect(warehouse) as pg:
        got = pg.execute(psycopg.sql.SQL("select {}, {} from {} order by 2").format(
            psycopg.sql.Identifier(f"{HOSTILE} date"), psycopg.sql.Identifier(f"{HOSTILE} n"),
            psycopg.sql.Identifier("dw", fact.table))).fetchall()
    assert got == [(D, 3), (D, 4)]  # one row resolved, one at the unknown member
    # the lake side refuses what it cannot quote
    with pytest.raises(LakeQueryError):
        DuckDBLake(None, lake.bucket).register(f"raw_mongo_jobs; drop table x")


# --------------------------------------------------------------------------- a real run: secrets and emails


RUNNER = """
import sys, pendulum
from dw import dag_factory
day = pendulum.parse(sys.argv[1], tz="UTC").add(days=1)
for dag_id in sys.argv[2:]:
    dag = (dag_factory.build_ingest_mongo_dag() if dag_id == "ingest_mongo" else dag_factory.build_warehouse_dag()
           if dag_id == "warehouse" else dag_factory.build_ingest_vendor_dag(dag_id[len("ingest_"):]))
    dr = dag.test(logical_date=day)
    print("RUN", dag_id, dr.state, flush=True)
"""


@pytest.fixture
def secret_run(stack, lake, warehouse, mongo_app, vendor_standins, tmp_path):
    """One day through the five DAGs, in a child process, with a known secret in every connection;
    returns (its output, the secrets, the logins)."""
    from devstack import generate, vendors
    from tests.helpers import ensure_airflow_db

    ensure_airflow_db()
    for v in vendor_standins.values():
        vendors.configure(v["url"], scale=SCALE)
    generate.seed_base(mongo_app, scale=SCALE)
    generate.seed_day(mongo_app, D, scale=SCALE)
    env = dict(os.environ, AIRFLOW__LOGGING__LOGGING_LEVEL="INFO", PYTHONPATH=os.pathsep.join(sys.path))
    found: dict[str, str] = {}
    logins: dict[str, str | None] = {}
    for conn_id in ("aws_lake", "postgres_dw", "postgres_dw_migrate", "mongo_app", "dw_pii_key", "stripe_api",
                    "amplitude_api", "chargify_api"):
        var = f"AIRFLOW_CONN_{conn_id.upper()}"
        conn = json.loads(env[var])
        if conn_id in ("aws_lake", "postgres_dw", "postgres_dw_migrate", "mongo_app"):
            # servers that take any password (moto), trust local logins (PostgreSQL), or ignore a
            # password without a login (MongoHook): a fresh known secret each
            conn["password"] = f"{conn_id}-S3cr3t-{secrets.token_hex(8)}"
        env[var] = json.dumps(conn)
        found[conn_id] = conn["password"]
        logins[conn_id] = conn.get("login")
    dags = ["ingest_mongo", "ingest_stripe", "ingest_chargify", "ingest_amplitude", "warehouse"]
    out = subprocess.run([sys.executable, "-c", RUNNER, str(D), *dags], env=env, capture_output=True, text=True,
                         timeout=900, cwd=str(tmp_path))
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-5000:]
    for dag_id in dags:
        assert f"RUN {dag_id} success" in log, log[-5000:]
    return log, found, logins


def _b64_cores(data: bytes) -> set[str]:
    """What base64 of any text containing ``data`` contains, whatever ``data``'s offset: the
    characters of each of the 3 alignments that depend on ``data`` alone."""
    import base64

    cores = set()
    for pad in range(3):
        enc = base64.b64encode(b"\0" * pad + data).decode()
        start = (pad * 4 + 2) // 3  # the first character free of the padding bytes
        end = len(enc) - (4 if (pad + len(data)) % 3 else 0)  # the last group may mix in what follows
        cores.add(enc[start + (1 if pad else 0):end])
    return cores


def secret_forms(value: str, login: str | None = None) -> set[str]:
    """A secret and every form a connection's credentials can leak in: as is (a bearer token, a
    password), URL-quoted (a connection URI), JSON- and repr-escaped, and base64 inside basic auth
    (``base64(login:secret)`` as Amplitude sends it, ``base64(secret:x)`` as Chargify does, or any
    other framing: the secret's base64 at each of the three byte alignments)."""
    import base64
    from urllib.parse import quote, quote_plus

    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1], repr(value)[1:-1]}
    for user_pass in (f"{value}:x", f":{value}", f"{login}:{value}" if login else None):
        if user_pass:
            forms.add(base64.b64encode(user_pass.encode()).decode())
    forms |= _b64_cores(value.encode())
    return {f for f in forms if len(f) >= 8}


@pytest.mark.parametrize("login,secret", [("amp-key-12345", "amp-S3cr3t-0123456789abcdef"), (None, "sk_test_0123456789"),
                                          ("u", "p@ss/w:rd+with spaces&more")])
def test_secret_forms_catch_every_encoding_of_a_credential(login, secret):
    """The forms the log search looks for catch the secret however a client could have written it."""
    import base64
    from urllib.parse import quote

    forms = secret_forms(secret, login)
    def basic(user_pass: str) -> str:
        return "Authorization: Basic " + base64.b64encode(user_pass.encode()).decode()

    leaks = [basic(f"{login}:{secret}"), basic(f"{secret}:x"), basic(f":{secret}"), basic(f"someone-else:{secret}"),
             basic(f"a:{secret}"), basic(f"ab:{secret}"), basic(f"abc:{secret}"),
             f"Authorization: Bearer {secret}", f"postgresql://dw:{quote(secret, safe='')}@h/db",
             json.dumps({"password": secret}), repr({"password": secret})]
    for leak in leaks:
        assert any(f in leak for f in forms), leak


def test_no_secret_in_any_task_log_and_no_email_in_clear_in_the_lake_or_the_warehouse(secret_run, stack, lake, warehouse,
                                                                                       mongo_app):
    from devstack import generate

    log, found, logins = secret_run
    assert "dw.load job_ran_fact" in log or "COPY " in log  # the task logs are there, at INFO
    for conn_id, value in found.items():
        for form in secret_forms(value, logins.get(conn_id)):
            assert form not in log, f"{conn_id}'s secret appears in the task logs"
    for v in stack.info["vendors"].values():  # the stand-ins' keys, as the vendors know them
        for value in (v["key"], v["secret"]):
            if value:
                assert value not in log

    # every user's email, as generated: not in any lake object, not in any warehouse column
    users = generate.base_users(generate.SEED, SCALE) + [
        u for back in range((D - min(D - dt.timedelta(days=7), generate.vendor_first_day(D))).days + 1)
        for u in generate.new_users(generate.SEED, SCALE, D - dt.timedelta(days=back))]
    emails = {generate.email_of(u) for u in users} | {generate.email_of(u).lower() for u in users}
    assert {d["email"] for d in mongo_app.users.find({}, {"email": 1})} <= emails  # what MongoDB holds
    lake_text = lake_texts(lake)
    assert len(lake_text) > 20
    # every object the run uploaded (raw partitions, raw JSON, extracts) is encrypted server-side
    for key in lake_text:
        assert lake.head_object(Bucket=lake.bucket, Key=key).get("ServerSideEncryption") == "AES256", key
    for key, text in lake_text.items():
        leaked = [e for e in emails if e in text]
        assert not leaked, (key, leaked[:3])
        for value in found.values():
            assert value not in text, key
    with psycopg.connect(warehouse) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_schema not in ('pg_catalog', 'information_schema')").fetchall()
        assert len(tables) >= 10
        for schema, table in tables:
            q = psycopg.sql.SQL("select t::text from {} as t").format(psycopg.sql.Identifier(schema, table))
            for (row,) in con.execute(q):
                assert "@example.com" not in row or not any(e in row for e in emails), (schema, table, row[:200])
                assert not any(v in row for v in found.values()), (schema, table)


def lake_texts(lake) -> dict[str, str]:
    """Every object of the lake as text: Parquet decoded value by value, gzip inflated, CSV as is."""
    import pyarrow.parquet as pq

    out = {}
    for page in lake.get_paginator("list_objects_v2").paginate(Bucket=lake.bucket):
        for o in page.get("Contents", []):
            body = lake.get_object(Bucket=lake.bucket, Key=o["Key"])["Body"].read()
            if o["Key"].endswith(".parquet"):
                text = json.dumps(pq.read_table(io.BytesIO(body)).to_pylist(), default=str)
            elif o["Key"].endswith(".gz"):
                text = gzip.decompress(body).decode("utf-8", "replace")
            else:
                text = body.decode("utf-8", "replace")
            out[o["Key"]] = text
    return out


# --------------------------------------------------------------------------- personal data in errors


EMAIL = "jane.leak-7f3a@customer-example.org"


class _Served:
    """A loopback HTTP server answering every GET with ``body`` (JSON), recording POSTed bodies
    (a Slack webhook stand-in)."""

    def __init__(self, body=None):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        served = self
        self.body, self.posts = body, []

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):  # noqa: N802
                data = json.dumps(served.body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):  # noqa: N802
                served.posts.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
                self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _customer(**over) -> dict:
    c = {"id": 101, "first_name": "Jane", "last_name": "Leak", "email": EMAIL, "reference": None,
         "organization": "Acme", "created_at": "2024-01-15T01:00:00+00:00", "updated_at": "2024-01-15T02:00:00+00:00"}
    c.update(over)
    return {"customer": c}


MALFORMED = {
    "id_not_usable": [_customer(id={"email": EMAIL})],
    "field_of_the_wrong_type": [_customer(organization={"contact": EMAIL})],
    "time_out_of_window": [_customer(updated_at=EMAIL)],
    "item_not_an_object": [{"customer": EMAIL}],
    "body_not_an_array": {"customer": {"email": EMAIL}},
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_vendor_object_never_puts_its_email_in_a_log_a_notification_or_the_warehouse(
        case, lake, warehouse, monkeypatch, caplog, capfd):
    """Chargify serves a malformed customer carrying a known email: the task fails naming vendor,
    entity, date and request (object id where there is one), and the email is in no log line, not in
    the Slack message dw.notify posts, not in the lake and not in any warehouse row (dw.load_audit
    included, after a load that also fails on a row holding the email)."""
    import logging

    from airflow.sdk.exceptions import AirflowException

    from dw import notify
    from dw.dag_factory import load_task, vendor_task
    from dw.operators.warehouse import MigrateWarehouseOperator
    from tests.helpers import csv_bytes, org
    from tests.reliability import RunTI

    caplog.set_level(logging.DEBUG)
    vendor, slack = _Served(MALFORMED[case]), _Served()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_CHARGIFY_API", json.dumps(
            {"conn_type": "http", "host": "127.0.0.1", "port": vendor.port, "schema": "http", "password": "k-123456789"}))
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", json.dumps(
            {"conn_type": "slackwebhook", "password": f"http://127.0.0.1:{slack.port}/hook"}))
        # data_type: freeze: the failure's messages are the subject (under the default contract the
        # object is quarantined instead: tests/test_ingest_vendors.py::test_contract_modes_on_a_vendor_table)
        op = vendor_task(task_id="customers", source="chargify", entity="customers",
                         overrides={"backoff_seconds": 0.01, "max_backoff_seconds": 0.05, "max_attempts": 2,
                                    "contract": {"data_type": "freeze"}})
        with pytest.raises(AirflowException) as e:
            op.execute(ctx(D))
        assert "chargify.customers dt=2024-01-15" in str(e.value)

        class TI:
            dag_id, task_id, try_number, log_url = "ingest_chargify", "customers", 1, "http://x/log"

        notify.task_failed(ctx(D, TI(), exception=e.value))
        assert len(slack.posts) == 1 and "chargify.customers dt=2024-01-15" in slack.posts[0]

        # a load of extract rows that hold the email: the value refused (not a uuid) is quarantined,
        # the run warns (Slack too); a whole row quoted by PostgreSQL (a row of the wrong shape) fails it
        MigrateWarehouseOperator(task_id="migrate").execute(ctx(D))
        cols = ["analytics_id", "name", "vcs_type", "plan_tier", "created_at", "source_updated_at"]
        for i, bad in enumerate(([
                                  [EMAIL, EMAIL, "github", "free", "2024-01-01T00:00:00Z", "2024-01-15T00:00:00Z"]],
                                 [org("aaaaaaaa-0000-4000-8000-000000000002", EMAIL, "2024-01-15T00:00:00Z") + [EMAIL]])):
            key = f"extracts/organization_dim/dt={D}/bad-{i}.csv"
            lake.put_object(Bucket=lake.bucket, Key=key, Body=csv_bytes(cols, bad))
            load = load_task(task_id="load", table="organization_dim", extract_task_id="extract")
            load_ctx = ctx(D, RunTI({"extract": {"uri": f"s3://{lake.bucket}/{key}", "lake_state": {}}}, "load",
                                    "manual__x"))
            if i == 0:
                assert load.execute(load_ctx)["quarantined"] == 1
                assert len(slack.posts) == 2 and "1 row(s) set aside in dw.load_quarantine" in slack.posts[1]
            else:
                with pytest.raises(AirflowException) as le:
                    load.execute(load_ctx)
                assert "dw.organization_dim dt=2024-01-15" in str(le.value) and ": line 2 (data row 1)" in str(le.value)
                assert EMAIL not in str(le.value)
            lake.delete_object(Bucket=lake.bucket, Key=key)
    finally:
        vendor.close()
        slack.close()

    out, err = capfd.readouterr()
    assert EMAIL not in str(e.value)
    assert EMAIL not in caplog.text and EMAIL not in out + err
    assert not any(EMAIL in p for p in slack.posts)
    assert not any(EMAIL in t for t in lake_texts(lake).values())
    assert rows(warehouse, "select count(*) from dw.load_audit where outcome = 'failed'") == [(1,)]
    with psycopg.connect(warehouse) as con:
        for schema, table in con.execute("select table_schema, table_name from information_schema.tables "
                                         "where table_schema = 'dw'").fetchall():
            # the quarantined row is the one place a record is kept (its record column: no analyst reads it)
            q = psycopg.sql.SQL("select (to_jsonb(t) - 'record')::text from {} as t").format(
                psycopg.sql.Identifier(schema, table))
            assert not any(EMAIL in r for (r,) in con.execute(q)), (schema, table)
        assert con.execute("select count(*) from dw.load_quarantine where record::text like %s",
                           (f"%{EMAIL}%",)).fetchone() == (1,)
        assert con.execute("select has_column_privilege('dw_analyst', 'dw.load_quarantine', 'record', 'select')"
                           ).fetchone() == (False,)


def test_uploads_use_the_configured_kms_key(lake, mongo_app, monkeypatch):
    """With ``server_side_encryption: aws:kms`` and ``DW_LAKE_KMS_KEY_ID``, a raw partition lands
    encrypted with that key (README, Production: the lake's access model)."""
    import dw.lake
    from dw.config import lake_config
    from dw.dag_factory import mongo_task

    kms = lake_config().model_copy(update={"server_side_encryption": "aws:kms"})
    monkeypatch.setattr(dw.lake, "lake_config", lambda: kms)
    monkeypatch.setenv("DW_LAKE_KMS_KEY_ID", "alias/dw-lake-test")
    assert dw.lake.upload_args("text/csv") == {"ContentType": "text/csv", "ServerSideEncryption": "aws:kms",
                                                "SSEKMSKeyId": "alias/dw-lake-test"}
    mongo_task(task_id="organizations", collection="organizations").execute(ctx(D))
    key = f"raw/mongo/organizations/dt={D}/part-00000.parquet"
    head = lake.head_object(Bucket=lake.bucket, Key=key)
    assert (head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")) == ("aws:kms", "alias/dw-lake-test")
