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
    hashed = {"user_dim"}  # readable column by column, never its email_hash
    published = sorted(f"dw.{t}" for t in [*warehouse_tables(), "date_dim", "load_audit", "load_totals", "unknown_member_dates",
                                                       "unknown_member_expired"]
                       if t not in hashed)
    key = f"extracts/organization_dim/dt={D}/q.csv"
    lake.put_object(Bucket=lake.bucket, Key=key, Body=csv_bytes(
        warehouse_tables()["organization_dim"].column_names,
        [org("aaaaaaaa-0000-4000-8000-00000000000%d" % i, f"org {i}", "2024-01-15T00:00:00Z") for i in range(5)]))
    op = load_task(task_id="load", table="organization_dim", extract_task_id="extract")
    ti = RunTI({"extract": {"uri": f"s3://{lake.bucket}/{key}"}}, "load", "manual__x")
    done: list = []

    def analyst_view(su) -> None:
        assert [r[0] for r in su.execute(ANALYST_READS)] == published
        cols = su.execute("select column_name from information_schema.columns where table_schema = 'dw' "
                          "and table_name = 'user_dim' and has_column_privilege('dw_analyst', 'dw.user_dim', "
                          "column_name, 'select') order by ordinal_position").fetchall()
        assert [c for (c,) in cols] == ["id", "analytics_id", "login", "created_at", "source_updated_at",
                                        "dw_created_at", "dw_updated_at"]
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
        unknown_member={f"{HOSTILE} key": "unknown"}, insert_only=False, date_column=None, lookups=[], grain=[],
        measures=[])
    fact = TableConfig.model_construct(
        table=f"{HOSTILE} fact", kind="fact", description="f", source="mongo", lake_tables=[], loaded=True,
        columns=[Column.model_construct(name=f"{HOSTILE} date", type="date", nullable=False),
                 Column.model_construct(name=f"{HOSTILE} ref", type="text", nullable=True),
                 Column.model_construct(name=f"{HOSTILE} n", type="bigint", nullable=False)],
        checks=TableChecks(), scd=None, natural_key=[], version_column=None, tracked=None, unknown_member={},
        insert_only=False, date_column=f"{HOSTILE} date",
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
    from dw.warehouse.migrate import ensure_tables, migrate
    from tests.helpers import csv_bytes

    migrate(warehouse)
    tables = hostile_tables()
    dim, fact = tables.values()
    with psycopg.connect(warehouse) as pg:
        with pg.transaction():
            assert ensure_tables(pg, tables) == [dim.table, fact.table]
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
    returns (its output, the secrets)."""
    from devstack import generate, vendors
    from tests.helpers import ensure_airflow_db

    ensure_airflow_db()
    for v in vendor_standins.values():
        vendors.configure(v["url"], scale=SCALE)
    generate.seed_base(mongo_app, scale=SCALE)
    generate.seed_day(mongo_app, D, scale=SCALE)
    env = dict(os.environ, AIRFLOW__LOGGING__LOGGING_LEVEL="INFO", PYTHONPATH=os.pathsep.join(sys.path))
    found: dict[str, str] = {}
    for conn_id in ("aws_lake", "postgres_dw", "mongo_app", "dw_pii_key", "stripe_api", "amplitude_api", "chargify_api"):
        var = f"AIRFLOW_CONN_{conn_id.upper()}"
        conn = json.loads(env[var])
        if conn_id in ("aws_lake", "postgres_dw", "mongo_app"):
            # servers that take any password (moto), trust local logins (PostgreSQL), or ignore a
            # password without a login (MongoHook): a fresh known secret each
            conn["password"] = f"{conn_id}-S3cr3t-{secrets.token_hex(8)}"
        env[var] = json.dumps(conn)
        found[conn_id] = conn["password"]
    dags = ["ingest_mongo", "ingest_stripe", "ingest_chargify", "ingest_amplitude", "warehouse"]
    out = subprocess.run([sys.executable, "-c", RUNNER, str(D), *dags], env=env, capture_output=True, text=True,
                         timeout=900, cwd=str(tmp_path))
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-5000:]
    for dag_id in dags:
        assert f"RUN {dag_id} success" in log, log[-5000:]
    return log, found


def secret_forms(value: str) -> set[str]:
    """A secret and the encodings it could leak in (URL-quoted, and inside basic auth)."""
    import base64
    from urllib.parse import quote, quote_plus

    forms = {value, quote(value, safe=""), quote_plus(value)}
    for user_pass in (f"{value}:x", f":{value}"):
        forms.add(base64.b64encode(user_pass.encode()).decode()[:-4])
    return {f for f in forms if len(f) >= 8}


def test_no_secret_in_any_task_log_and_no_email_in_clear_in_the_lake_or_the_warehouse(secret_run, stack, lake, warehouse,
                                                                                       mongo_app):
    from devstack import generate

    log, found = secret_run
    assert "dw.load job_ran_fact" in log or "COPY " in log  # the task logs are there, at INFO
    for conn_id, value in found.items():
        for form in secret_forms(value):
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
