"""Backfills in any order and at once, and late-arriving dimensions (RELIABILITY.md).

A week of generated MongoDB data landed day by day by the real ingestion operator; the warehouse
DAG's migrate, extract and load tasks run in-process for each day:

- in order, checking after every day that the users who reach MongoDB a day after their first
  job point at the unknown member until the next day's run and at themselves after it;
- in reverse order, into a second warehouse;
- as a backfill with four runs in flight (threads, each a run of one day in dependency order),
  their first loads released together so that loads of the same table contend;

and the three warehouses are equal table by table. Then the users of the last day arrive on a
day with no job at all: only the unknown-member ledger can bring their jobs home."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import threading
import time
import types

import psycopg
import pytest

from dw.config import UNKNOWN_ID
from tests.helpers import warehouse_fingerprint
from tests.reliability import (
    create_database,
    drop_database,
    point_warehouse,
    rows,
    run_task,
    warehouse_tasks,
)

SCALE = 0.005
SEED = 42
DAYS = [dt.date(2024, 4, 1) + dt.timedelta(days=i) for i in range(7)]
FACT = "job_ran_fact"


@pytest.fixture(scope="module")
def week(stack):
    """The lake of the week, and each day's dimension extracts (a dimension's extract reads only
    the lake, so every schedule below may load the same objects; the fact's extract also reads
    the warehouse's ledger and is run by each schedule)."""
    import uuid

    import pymongo

    from dw import config
    from dw.config import mongo_source
    from devstack import generate
    from tests.reliability import land_mongo_day

    mp = pytest.MonkeyPatch()
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    stack.boto3_client().create_bucket(Bucket=bucket)
    mp.setenv("DW_LAKE_BUCKET", bucket)
    config.clear_caches()
    client = pymongo.MongoClient(stack.info["mongo_uri"])
    db = client[mongo_source().database]
    client.drop_database(db.name)
    generate.seed_base(db, SEED, SCALE)
    for day in DAYS:
        land_mongo_day(db, day, SCALE)
    tasks = warehouse_tasks()
    dim_extracts = {}
    for day in DAYS:
        xcoms: dict = {}
        for t in tasks:
            if t.task_id.startswith("dimensions.") and t.task_id.endswith(".extract"):
                run_task(t, day, xcoms)
        dim_extracts[day] = xcoms
    made: list[str] = []
    yield types.SimpleNamespace(db=db, tasks=tasks, dim_extracts=dim_extracts, mp=mp, made=made)
    for uri in made:
        drop_database(stack, uri)
    client.close()
    mp.undo()
    config.clear_caches()


def run_day(week, day: dt.date) -> dict:
    """One run of the warehouse DAG for ``day``: migrate, dimension loads (their extracts taken
    from the module), the fact's extract and load, in the DAG's dependency order."""
    xcoms = dict(week.dim_extracts[day])
    for t in week.tasks:
        if not (t.task_id.startswith("dimensions.") and t.task_id.endswith(".extract")):
            run_task(t, day, xcoms)
    return xcoms


def new_warehouse(stack, week, monkeypatch) -> str:
    uri = create_database(stack)
    week.made.append(uri)
    point_warehouse(monkeypatch, stack, uri)
    return uri


def jobs_by_user(db, day: dt.date, user_ids: set[str]) -> dict[str, int]:
    lo = dt.datetime.combine(day, dt.time())
    out: dict[str, int] = {}
    for j in db.jobs.find({"started_at": {"$gte": lo, "$lt": lo + dt.timedelta(days=1)}}, {"user_analytics_id": 1}):
        u = j["user_analytics_id"].lower()
        if u in user_ids:
            out[u] = out.get(u, 0) + 1
    return out


def late_users(day: dt.date) -> set[str]:
    """The users created on ``day`` whose document reaches MongoDB only the next day."""
    from devstack import generate

    return {u.analytics_id for u in generate.new_users(SEED, SCALE, day) if generate.is_late(SEED, "user", u.key)}


def user_unknowns(uri: str, day: dt.date) -> int:
    return rows(uri, "select coalesce(sum(jobs_ran), 0) from dw.job_ran_fact where date = %s and user_id = %s",
                (day, UNKNOWN_ID))[0][0]


def jobs_of(uri: str, day: dt.date, user: str) -> int:
    return rows(uri, "select coalesce(sum(f.jobs_ran), 0) from dw.job_ran_fact f join dw.user_dim u on u.id = f.user_id "
                     "where f.date = %s and u.analytics_id = %s", (day, user))[0][0]


# --------------------------------------------------------------------------- the backfills


@pytest.fixture(scope="module")
def in_order(stack, week):
    """The week run oldest day first, each day checked for its late users: (warehouse, fingerprint)."""
    mp = pytest.MonkeyPatch()
    uri = new_warehouse(stack, week, mp)
    for i, day in enumerate(DAYS):
        run_day(week, day)
        late = late_users(day)
        late_jobs = jobs_by_user(week.db, day, late)
        assert late_jobs, f"{day}: the generator always has a late user with jobs"
        # today's late users are not in the warehouse yet: their jobs point at the unknown member
        assert rows(uri, "select count(*) from dw.user_dim where analytics_id = any(%s::uuid[])", (list(late),)) == [(0,)]
        assert user_unknowns(uri, day) == sum(late_jobs.values()), day
        assert (day,) in rows(uri, "select date from dw.unknown_member_dates where table_name = %s", (FACT,))
        if i:
            # yesterday's late users arrived today: their jobs of yesterday point at them, and no
            # job of yesterday is left at the unknown user
            prev = DAYS[i - 1]
            for user, n in jobs_by_user(week.db, prev, late_users(prev)).items():
                assert jobs_of(uri, prev, user) == n, (prev, user)
            assert user_unknowns(uri, prev) == 0, prev
    yield uri, warehouse_fingerprint(uri)
    mp.undo()


GROWN = "select distinct column_name, detail, action from dw.schema_changes where change = 'new_enum_value' order by 1, 2"


def test_backfill_in_reverse_order_equals_in_order(stack, week, in_order, monkeypatch):
    """Also: the week holds a day of new enumerated values (2024-04-05); in either order the types
    grow by the same labels, recorded once each (in order by resource_dim's load of the 5th, in
    reverse by job_ran_fact's of the 6th, which restates the 5th first)."""
    uri = new_warehouse(stack, week, monkeypatch)
    for day in reversed(DAYS):
        run_day(week, day)
    assert warehouse_fingerprint(uri) == in_order[1]
    assert rows(uri, GROWN) == rows(in_order[0], GROWN) == [("executor", "firecracker", "evolve"),
                                                           ("operating_system", "freebsd", "evolve")]


def test_backfill_with_four_runs_at_once_equals_in_order_without_deadlock(stack, week, in_order, monkeypatch):
    """Seven runs, four in flight (a worker takes the next day when its run ends, as the scheduler
    starts backfill runs oldest first). The first four runs' dimension loads are held at the
    first table's lock until all four wait there, so loads of one table really do contend; they
    serialize on pg_advisory_xact_lock and none deadlocks."""
    uri = new_warehouse(stack, week, monkeypatch)
    first = next(t.task_id.split(".")[1] for t in week.tasks if t.task_id.endswith(".load"))
    started = threading.Barrier(5)

    def one_run(day: dt.date) -> dict:
        if day in DAYS[:4]:
            started.wait(60)
        return run_day(week, day)

    with psycopg.connect(uri, autocommit=True) as holder:
        holder.execute("select pg_advisory_lock(hashtext(%s))", (f"dw.{first}",))
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            runs = [pool.submit(one_run, day) for day in DAYS]
            started.wait(60)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                waiting = holder.execute(
                    "select count(*) from pg_locks w join pg_locks h on h.pid = pg_backend_pid() and h.locktype = 'advisory' "
                    "and (h.database, h.classid, h.objid, h.objsubid) = (w.database, w.classid, w.objid, w.objsubid) "
                    "where w.locktype = 'advisory' and not w.granted").fetchone()[0]
                if waiting == 4:
                    break
                time.sleep(0.02)
            assert waiting == 4  # four loads of dw.<first table> waiting on its lock at once
            holder.execute("select pg_advisory_unlock(hashtext(%s))", (f"dw.{first}",))
            for r in runs:
                r.result(timeout=600)  # every run ends, none with an error (a deadlock would raise)
    assert warehouse_fingerprint(uri) == in_order[1]


# --------------------------------------------------------------------------- late-arriving dimensions


def test_late_users_heal_through_the_ledger_on_a_day_no_job_touches(stack, week, in_order):
    """The last day's late users reach MongoDB the next day, and no job document changes that day:
    nothing in the day's partitions touches the last day. The fact's extract restates it because
    the ledger holds it open; its jobs then point at their users."""
    from dw.config import mongo_source
    from devstack import generate
    from dw.dag_factory import mongo_task
    from dw.warehouse.ledger import HEAL_DAYS, open_dates
    from tests.reliability import ctx

    uri, _ = in_order
    point = pytest.MonkeyPatch()
    point_warehouse(point, stack, uri)
    last, nxt = DAYS[-1], DAYS[-1] + dt.timedelta(days=1)
    late = late_users(last)
    late_jobs = jobs_by_user(week.db, last, late)
    assert user_unknowns(uri, last) == sum(late_jobs.values()) > 0
    assert (last,) in rows(uri, "select date from dw.unknown_member_dates where table_name = %s", (FACT,))
    arrival = dt.datetime.combine(nxt, dt.time(1))
    week.db.users.insert_many([generate.user_doc(SEED, u, arrival) for u in generate.new_users(SEED, SCALE, last)
                               if u.analytics_id in late])
    try:
        for name in mongo_source().collections:
            out = mongo_task(task_id=name, collection=name).execute(ctx(nxt))
            if name == "jobs":
                assert out["rows"] == 0  # no job document changed on that day
        xcoms: dict = {}
        for t in week.tasks:
            run_task(t, nxt, xcoms)
        stats = xcoms[f"facts.{FACT}.load"]
        assert last.isoformat() in stats["dates"]  # restated only because the ledger held it open
        for user, n in late_jobs.items():
            assert jobs_of(uri, last, user) == n, user
        assert user_unknowns(uri, last) == 0
        # the ledger's window: dates from HEAL_DAYS before the run's day on are restated
        with psycopg.connect(uri) as con:
            assert min(open_dates(con, FACT, nxt.isoformat())) >= (nxt - dt.timedelta(days=HEAL_DAYS)).isoformat()
            assert DAYS[0].isoformat() not in open_dates(con, FACT, (DAYS[0] + dt.timedelta(days=HEAL_DAYS + 1)).isoformat())
    finally:
        point.undo()
