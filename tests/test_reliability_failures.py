"""Nothing lost, nothing half-done (RELIABILITY.md): a warehouse load killed in each phase of its
transaction, a lake query that fails, and clearing tasks of successful and failed runs — against
the session's real PostgreSQL, moto S3 and nx-27017, with the warehouse DAG's own tasks.

One lake for the module, built like production does it day by day: MongoDB seeded with D1, D1
ingested, the warehouse run for D1; then D2 seeded, ingested and loaded (D2's documents restate
D1: jobs that ran over midnight, corrections, late users). The warehouse after that is the clean
run every test compares with, by row counts and checksums of every table."""

from __future__ import annotations

import datetime as dt
import threading
import types

import psycopg
import pytest

from tests.helpers import warehouse_fingerprint
from tests.reliability import (
    create_database,
    drop_database,
    lake_fingerprint,
    paused_load,
    point_warehouse,
    run_task,
    run_warehouse_day,
    terminate,
    warehouse_tasks,
)

D1, D2 = dt.date(2024, 3, 4), dt.date(2024, 3, 5)
SCALE = 0.01
FACT_LOAD = "facts.job_ran_fact.load"


@pytest.fixture(scope="module")
def days(stack):
    """The module's lake and warehouses: ``clean`` (D1 then D2 run in order), ``before_fact`` (a
    copy taken in D2's run just before its job_ran_fact load), the runs' XComs and fingerprints."""
    import uuid

    import pymongo

    from dw import config
    from dw.config import mongo_source
    from devstack import generate
    from tests.reliability import land_mongo_day

    mp = pytest.MonkeyPatch()
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    s3 = stack.boto3_client()
    s3.create_bucket(Bucket=bucket)
    mp.setenv("DW_LAKE_BUCKET", bucket)
    config.clear_caches()
    client = pymongo.MongoClient(stack.info["mongo_uri"])
    db = client[mongo_source().database]
    client.drop_database(db.name)
    generate.seed_base(db, scale=SCALE)
    clean = create_database(stack)
    point_warehouse(mp, stack, clean)
    tasks = warehouse_tasks()

    land_mongo_day(db, D1, SCALE)
    xcoms1 = run_warehouse_day(D1, tasks=tasks)
    land_mongo_day(db, D2, SCALE)
    xcoms2: dict = {}
    i = [t.task_id for t in tasks].index(FACT_LOAD)
    run_warehouse_day(D2, xcoms2, tasks[:i])
    before_fact = create_database(stack, template=clean)
    run_warehouse_day(D2, xcoms2, tasks[i:])
    ns = types.SimpleNamespace(
        s3=s3, bucket=bucket, mongo=db, clean=clean, before_fact=before_fact, tasks={t.task_id: t for t in tasks},
        order=[t.task_id for t in tasks], xcoms={D1: xcoms1, D2: xcoms2},
        fp_clean=warehouse_fingerprint(clean, with_audit=True), fp_before_fact=warehouse_fingerprint(before_fact, with_audit=True),
    )
    # the case is there: D2's fact load restated D1 and deleted D1 rows (vanished grains, healed members)
    stats = xcoms2[FACT_LOAD]
    assert stats["dates"][:2] == [D1.isoformat(), D2.isoformat()] and stats["deleted"] > 0 and stats["inserted"] > 0
    yield ns
    for uri in (clean, before_fact):
        drop_database(stack, uri)
    client.close()
    mp.undo()
    config.clear_caches()


@pytest.fixture
def copy_of(stack, monkeypatch):
    """``copy_of(uri)``: a new database copied from ``uri``, with ``postgres_dw`` pointed at it."""
    made = []

    def make(template: str) -> str:
        uri = create_database(stack, template=template)
        made.append(uri)
        point_warehouse(monkeypatch, stack, uri)
        return uri

    yield make
    for uri in made:
        drop_database(stack, uri)


# --------------------------------------------------------------------------- a load killed mid-transaction


@pytest.mark.parametrize("phase", ["copy", "after_delete", "upsert"])
def test_load_killed_in_each_phase_leaves_the_warehouse_as_it_was_and_the_retry_equals_a_clean_run(days, copy_of, phase):
    from airflow.sdk.exceptions import AirflowFailException

    wh = copy_of(days.before_fact)
    lake_before = lake_fingerprint(days.s3, days.bucket)
    load = days.tasks[FACT_LOAD]
    errors: list[BaseException] = []

    def attempt():
        try:
            run_task(load, D2, dict(days.xcoms[D2]))
        except BaseException as e:  # noqa: BLE001 - inspected below
            errors.append(e)

    with paused_load(wh, phase, "job_ran_fact") as parked:
        worker = threading.Thread(target=attempt)
        worker.start()
        pid = parked()  # the load's backend, inside its transaction at the phase
        terminate(wh, pid)  # killed from a second connection
        worker.join(60)
    assert not worker.is_alive()
    # the task failed with an infrastructure error: Airflow retries it (not a data error)
    assert len(errors) == 1 and isinstance(errors[0], psycopg.OperationalError), errors
    assert not isinstance(errors[0], AirflowFailException)
    # nothing of the killed transaction is left: every table as it was before the load
    assert warehouse_fingerprint(wh, with_audit=True) == days.fp_before_fact
    assert lake_fingerprint(days.s3, days.bucket) == lake_before
    # the attempt is in the load ledger although its connection died (written on a new one)
    with psycopg.connect(wh) as con:
        failed = con.execute("select error from dw.load_audit where table_name = 'job_ran_fact' and date = %s "
                             "and outcome = 'failed'", (D2,)).fetchall()
    assert len(failed) == 1 and "terminat" in failed[0][0], failed

    # the retry (the task's next try) succeeds and the warehouse equals the clean run's
    stats = run_task(load, D2, dict(days.xcoms[D2]), try_number=2)
    assert stats == days.xcoms[D2][FACT_LOAD]
    assert warehouse_fingerprint(wh, with_audit=True) == days.fp_clean


# --------------------------------------------------------------------------- clearing


def test_clearing_any_single_task_of_either_run_leaves_the_warehouse_equal_to_a_clean_run(days, copy_of):
    """Every migrate, extract and load task of D1's and D2's runs cleared alone, one after the other.
    A load of D1 cleared after D2 ran finds D1's extract, written before D2's partitions landed,
    stale: a fact's extract can read D2's partitions, so its load redoes the extract (a new extract
    object of D1) and loads that, with no clear of the extract (docs/decisions/0021); a
    dimension's extract reads D1 only, so D2's partitions leave it current and it is loaded as is."""
    wh = copy_of(days.clean)
    redone = []
    for day in (D1, D2):
        for task_id in days.order:
            xcoms = dict(days.xcoms[day])
            table = task_id.split(".")[-2] if "." in task_id else None
            prefix = f"extracts/{table}/dt={day}/"
            objects = set(lake_fingerprint(days.s3, days.bucket, prefix=prefix)) if task_id.endswith(".load") else set()
            run_task(days.tasks[task_id], day, xcoms, try_number=2)
            if task_id.endswith(".load") and set(lake_fingerprint(days.s3, days.bucket, prefix=prefix)) - objects:
                redone.append((day, task_id))
            assert warehouse_fingerprint(wh) == warehouse_fingerprint(days.clean), (day, task_id)
    # D1's loads whose extracts can read D2's partitions redid them (job_ran_fact: its window
    # reaches past D1); no dimension's (it reads D1's partitions only), no load of D2's run
    assert (D1, "facts.job_ran_fact.load") in redone, redone
    assert not [t for d, t in redone if t.startswith("dimensions.") or d == D2], redone


def test_a_backfill_day_whose_partition_changes_between_extract_and_load_is_re_extracted(days, copy_of):
    """A backfill overlapping the next day's ingestion: D1's fact extract runs, then a partition it
    can read is replaced (D2's jobs re-ingested with one more version of a D1 job), then D1's load.
    The load finds the extract stale, redoes it and loads the lake as it is now: the warehouse
    equals D1's and D2's runs made after the change, with no manual clear."""
    import pymongo

    from dw.dag_factory import mongo_task
    from tests.reliability import ctx

    wh = copy_of(days.before_fact)
    xcoms = dict(days.xcoms[D1])
    run_task(days.tasks["facts.job_ran_fact.extract"], D1, xcoms, try_number=2)
    # the next day's ingestion lands again, with a correction of a D1 job
    jobs = days.mongo.jobs
    doc = jobs.find_one({"started_at": {"$gte": dt.datetime(2024, 3, 4), "$lt": dt.datetime(2024, 3, 5)}},
                        sort=[("_id", pymongo.ASCENDING)])
    original = dict(doc)
    try:
        jobs.update_one({"_id": doc["_id"]}, {"$set": {"credits_used": (doc.get("credits_used") or 0) + 1000,
                                                       "updated_at": dt.datetime(2024, 3, 5, 23, 0)}})
        mongo_task(task_id="jobs", collection="jobs").execute(ctx(D2))
        run_task(days.tasks["facts.job_ran_fact.load"], D1, xcoms, try_number=2)
        with psycopg.connect(wh) as con:
            credits = con.execute("select sum(credits_used) from dw.job_ran_fact where date = %s", (D1,)).fetchone()[0]
        # what a clean load of D1 reads from the lake now: the correction is in
        from tests.reliability import run_warehouse_day
        ref = copy_of(days.before_fact)
        ref_x = run_warehouse_day(D1, {}, [days.tasks[t] for t in days.order if t.startswith("facts.job_ran_fact")])
        with psycopg.connect(ref) as con:
            want = con.execute("select sum(credits_used) from dw.job_ran_fact where date = %s", (D1,)).fetchone()[0]
        assert ref_x["facts.job_ran_fact.load"]["dates"]
        assert credits == want
        assert warehouse_fingerprint(wh) == warehouse_fingerprint(ref)
    finally:
        jobs.replace_one({"_id": doc["_id"]}, original)
        mongo_task(task_id="jobs", collection="jobs").execute(ctx(D2))


def test_clearing_a_failed_task_with_its_downstream_tasks_equals_a_clean_run(days, copy_of):
    """D1's loads fail after D2 ran (the stale extract above); the runbook's remedy, clearing the
    extract with its downstream tasks, extracts the lake as it is and loads it: a clean run."""
    wh = copy_of(days.clean)
    for task_id in days.order:
        if task_id.endswith(".extract"):
            xcoms = dict(days.xcoms[D1])
            run_task(days.tasks[task_id], D1, xcoms, try_number=2)
            run_task(days.tasks[task_id.replace(".extract", ".load")], D1, xcoms, try_number=2)
            assert warehouse_fingerprint(wh, with_audit=True) == days.fp_clean, task_id


# --------------------------------------------------------------------------- a lake query that fails


def test_failed_lake_query_never_lets_the_load_start_on_a_missing_or_stale_extract(days, copy_of, monkeypatch, tmp_path):
    """Through Airflow itself (dag.test on the warehouse DAG's user_dim group): the extract's query
    names a column that does not exist; the load never starts, though an older extract of the
    same table and day is in the lake. Cleared alone, the load finds no extract of its run and
    fails. The SQL fixed and the group cleared: a clean run."""
    import shutil

    import pendulum

    from dw import config, paths
    from dw.dag_factory import build_warehouse_dag
    from tests.helpers import ensure_airflow_db

    ensure_airflow_db()
    wh = copy_of(days.clean)
    extract, load = "dimensions.user_dim.extract", "dimensions.user_dim.load"
    prefix = f"extracts/user_dim/dt={D2}/"
    stale = lake_fingerprint(days.s3, days.bucket, prefix=prefix)
    assert stale  # D2's earlier extract is in the lake
    include = tmp_path / "include"
    shutil.copytree(paths.include_dir(), include)
    (include / "sql" / "athena" / "extract" / "user_dim.sql").write_text(
        "select analytics_id, login, no_such_column as email_hash, created_at, updated_at as source_updated_at\n"
        "from raw_mongo_users where dt = '{{ run_date }}'\n")
    monkeypatch.setenv("DW_INCLUDE_DIR", str(include))
    config.clear_caches()
    logical = pendulum.datetime(D2.year, D2.month, D2.day, tz="UTC").add(days=1)

    def run(prefix: str) -> dict[str, str]:
        full = build_warehouse_dag()
        tasks = [t for t in full.task_ids if t.startswith(prefix)]
        dag = full.partial_subset(task_ids=tasks, include_downstream=False, include_upstream=False)
        dr = dag.test(logical_date=logical)
        return {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in dr.get_task_instances()}

    try:
        states = run("dimensions.user_dim.")
        assert states[extract] == "failed" and states[load] == "upstream_failed", states
        assert audit_rows(wh, "user_dim") == []  # the load never ran: not even a failed attempt
        assert warehouse_fingerprint(wh, with_audit=True) == days.fp_clean
        assert lake_fingerprint(days.s3, days.bucket, prefix=prefix) == stale  # nothing written

        states = run(load)  # an engineer clears the load alone
        assert states == {load: "failed"}
        assert warehouse_fingerprint(wh, with_audit=True) == days.fp_clean
    finally:
        monkeypatch.delenv("DW_INCLUDE_DIR")
        config.clear_caches()
    states = run("dimensions.user_dim.")  # the SQL fixed, the group cleared
    assert set(states.values()) == {"success"}, states
    assert warehouse_fingerprint(wh, with_audit=True) == days.fp_clean
    assert [r[0] for r in audit_rows(wh, "user_dim")] == ["success"]


def audit_rows(uri: str, table: str) -> list[tuple]:
    """The load ledger's rows written by dag.test runs (run ids manual__...) for ``table``."""
    with psycopg.connect(uri) as con:
        return con.execute("select outcome, error from dw.load_audit where table_name = %s and run_id like 'manual%%'",
                           (table,)).fetchall()
