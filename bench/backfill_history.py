"""Benchmark: a 30-day backfill of the warehouse into a lake and warehouse that already hold a
year, against the same 30 days on a fresh stack (issue 10; goal <= 1.3x in time per day).

MongoDB is seeded and the 30 days (``FIRST`` ..) are landed by the real ingest operators into a
fresh bucket. *Fresh*: a new warehouse database, the warehouse DAG's migrate, extract and load
tasks of the MongoDB-fed tables run day by day, in this process, timed. *A year*: 365 synthetic
past days are added to the lake before ``FIRST`` (the first day's jobs partition with re-minted
ObjectIds and shifted times, ``bench.extract_history._shifted_file``; copies of its users,
projects and organizations partitions), and a second new database gets, before the backfill,
365 dates of ``job_ran_fact`` rows (as many per date as the fresh backfill wrote); the same 30
days are run again, timed. Figure: time per day with a year ÷ fresh.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time

from bench.common import SCALE, Report, fresh_bucket, fresh_database, log

FIRST = dt.date(2024, 3, 1)
DAYS = 30
HISTORY = 365


class _TI:
    def __init__(self, xcoms: dict, task_id: str, day: dt.date):
        self.xcoms, self.task_id, self.try_number, self.dag_id = xcoms, task_id, 1, "warehouse"
        self.run_id = f"backfill__{day}T00:00:00+00:00"

    def xcom_pull(self, task_ids=None, **_):
        return self.xcoms.get(task_ids)


def _ctx(day: dt.date, ti=None) -> dict:
    import pendulum

    start = pendulum.datetime(day.year, day.month, day.day, tz="UTC")
    return {"data_interval_start": start, "data_interval_end": start.add(days=1), "ti": ti, "params": {}}


def _tasks() -> list:
    """The warehouse DAG's migrate, extract and load tasks of the tables fed by MongoDB only, in
    dependency order (the vendor tables need the vendor stand-ins)."""
    from dw.config import warehouse_tables
    from dw.dag_factory import build_warehouse_dag

    tables = warehouse_tables()
    keep = []
    for t in build_warehouse_dag().topological_sort():
        parts = t.task_id.split(".")
        if parts[-1] == "migrate" or (parts[-1] in ("extract", "load") and tables[parts[-2]].source == "mongo"):
            keep.append(t)
    return keep


def _point(st, uri: str) -> None:
    for conn_id in ("postgres_dw", "postgres_dw_migrate"):
        conn = json.loads(st.connections()[conn_id])
        conn["schema"] = uri.rsplit("/", 1)[1]
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)


def _backfill(tasks, days) -> float:
    """Seconds to run ``days`` through the warehouse tasks, day by day (a backfill, one run at a time)."""
    t0 = time.perf_counter()
    for day in days:
        xcoms: dict = {}
        for t in tasks:
            xcoms[t.task_id] = t.execute(_ctx(day, _TI(xcoms, t.task_id, day)))
    return time.perf_counter() - t0


def _add_lake_history(s3) -> None:
    from bench.extract_history import _shifted_file
    from dw.lake import RawPartition

    src = tempfile.mkstemp(suffix=".parquet")[1]
    dst = tempfile.mkstemp(suffix=".parquet")[1]
    try:
        s3.download_file(s3.bucket, RawPartition("mongo", "jobs", FIRST.isoformat(), s3.bucket).key, src)
        for back in range(1, HISTORY + 1):
            ds = (FIRST - dt.timedelta(days=back)).isoformat()
            _shifted_file(src, back, dst)
            s3.upload_file(dst, s3.bucket, RawPartition("mongo", "jobs", ds, s3.bucket).key)
            for coll in ("users", "projects", "organizations"):
                s3.copy_object(Bucket=s3.bucket, Key=RawPartition("mongo", coll, ds, s3.bucket).key,
                               CopySource={"Bucket": s3.bucket, "Key": RawPartition("mongo", coll, FIRST.isoformat(), s3.bucket).key})
    finally:
        os.unlink(src)
        os.unlink(dst)


def _add_warehouse_history(uri: str, per_date: int) -> int:
    """``per_date`` job_ran_fact rows on each of the HISTORY dates before FIRST."""
    from bench.fact_history import fill_dates
    from dw.config import warehouse_tables

    dates = [FIRST - dt.timedelta(days=i) for i in range(HISTORY, 0, -1)]
    return fill_dates(uri, warehouse_tables()["job_ran_fact"], dates, per_date)


def run(st) -> Report:
    import pymongo
    import psycopg

    from devstack import generate
    from dw import config
    from dw.config import mongo_source
    from dw.dag_factory import mongo_task

    rep = Report("backfill_history")
    days = [FIRST + dt.timedelta(days=i) for i in range(DAYS)]
    saved = {k: os.environ.get(k) for k in ("DW_LAKE_BUCKET", "AIRFLOW_CONN_POSTGRES_DW", "AIRFLOW_CONN_POSTGRES_DW_MIGRATE")}
    with fresh_bucket(st) as s3:
        os.environ["DW_LAKE_BUCKET"] = s3.bucket
        config.clear_caches()
        try:
            log(f"seeding and landing {DAYS} days at scale {SCALE}")
            client = pymongo.MongoClient(st.info["mongo_uri"])
            db = client[mongo_source().database]
            client.drop_database(db.name)
            generate.seed_base(db, scale=SCALE)
            for day in days:
                generate.seed_day(db, day, scale=SCALE)
                for name in mongo_source().collections:
                    mongo_task(task_id=name, collection=name).execute(_ctx(day))
            client.close()
            tasks = _tasks()
            with fresh_database(st) as fresh:
                _point(st, fresh)
                log("fresh stack: the 30-day backfill")
                t_fresh = _backfill(tasks, days)
                with psycopg.connect(fresh) as c:
                    fact_rows = c.execute("select count(*) from dw.job_ran_fact").fetchone()[0]
            rep.fact("job_ran_fact rows after the backfill", fact_rows)
            log(f"adding {HISTORY} past days to the lake and the warehouse")
            _add_lake_history(s3)
            with fresh_database(st) as old:
                _point(st, old)
                tasks[0].execute(_ctx(FIRST))  # migrate (creates the tables)
                rep.fact("job_ran_fact rows of history", _add_warehouse_history(old, max(1, fact_rows // DAYS)))
                log("a year in the lake and the warehouse: the same backfill")
                t_hist = _backfill(tasks, days)
            rep.add(f"backfill of {DAYS} days, time per day, lake and warehouse holding a year", t_hist / DAYS,
                    "fresh stack", t_fresh / DAYS, unit="s", goal=1.3)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            config.clear_caches()
    return rep
