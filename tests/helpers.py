"""Test helpers: run a DAG for a day in-process, and fingerprint the warehouse."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pendulum

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
    """Run ``dag_id`` for ``day`` (the run whose data interval is that day) with dag.test()."""
    ensure_airflow_db()
    dag = dag or build_dag(dag_id)
    logical = pendulum.datetime(day.year, day.month, day.day, tz="UTC").add(days=1)
    dr = dag.test(logical_date=logical, run_conf=conf)
    state = str(getattr(dr.state, "value", dr.state))
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
    (dw.load_audit records attempts, not data). The audit timestamps
    are left out unless asked for: they record which run wrote a row, so they differ between
    runs in different orders while the data is the same."""
    import psycopg
    from psycopg import sql

    out = {}
    with psycopg.connect(uri) as con:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema='dw' and table_type='BASE TABLE' "
            "and table_name <> 'load_audit' order by 1"
        )]
        for t in tables:
            cols = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema='dw' and table_name=%s "
                "order by ordinal_position", (t,)
            ) if with_audit or r[0] not in AUDIT_COLUMNS]
            row = sql.SQL("row({})::text").format(sql.SQL(", ").join(sql.Identifier(c) for c in cols))
            q = sql.SQL("select count(*), coalesce(md5(string_agg(r, E'\\n' order by r)), '') from "
                        "(select {} as r from {}) s").format(row, sql.Identifier("dw", t))
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
