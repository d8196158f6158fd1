"""Bad input (RELIABILITY.md): each case is either handled as documented or fails with an error
naming the source, the date and the record, with nothing partial committed in the lake or the
warehouse. The cases the ingestion and load tests already prove are listed in RELIABILITY.md;
these are the rest: malformed JSON from a vendor, a truncated Amplitude zip, an unknown enum value
(grown the same day) and duplicate natural keys coming all the way from MongoDB, and an empty day from every source."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from bson import ObjectId

from tests.helpers import warehouse_fingerprint
from tests.reliability import ctx, lake_fingerprint, rows, run_task, warehouse_tasks

D = dt.date(2024, 1, 15)
DS = D.isoformat()
FAST = {"backoff_seconds": 0.01, "max_backoff_seconds": 0.05, "timeout_seconds": 10, "max_attempts": 3}


def land_vendor(source: str, entity: str, day: dt.date = D, **overrides) -> dict:
    from dw.dag_factory import vendor_task

    return vendor_task(task_id=entity, source=source, entity=entity,
                                overrides={**FAST, **overrides}).execute(ctx(day))


# --------------------------------------------------------------------------- vendors


@pytest.mark.parametrize("source,entity,what", ids=["stripe", "chargify", "amplitude"], argvalues=[
    ("stripe", "customers", r"page 2 \(after cus_\w+\): GET /v1/customers\?.*truncated or malformed JSON body"),
    ("chargify", "subscriptions", r"read 1, page 1: GET /subscriptions\.json\?.*truncated or malformed JSON body"),
    ("amplitude", "events", r"hour \d\d:00: GET /api/2/export\?.*not a readable zip"),
])
def test_vendor_body_that_does_not_parse_fails_naming_the_request_and_leaves_the_lake(lake, vendor_standins, source,
                                                                                    entity, what):
    """The stand-in answers 200 with the right Content-Length but only half of the body: broken
    JSON (Stripe, Chargify), a cut zip (Amplitude). Once, it is retried and the day lands whole;
    on every attempt, the task fails naming vendor, entity, date and request, and the previous
    partition stays."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    from devstack import vendors

    url = vendor_standins[source]["url"]
    path = vendor_source_path(source, entity)
    vendors.inject(url, {"kind": "malformed", "path": path, "after": 1 if source == "stripe" else 0})
    paging = {} if source == "amplitude" else {"page_size": 5}
    first = land_vendor(source, entity, **paging)
    # the malformed body was served once, and every fault the stand-in served the operator (that
    # one, and a 429 of its rate limit when requests come fast enough) cost exactly one retry
    served = [str(e["fault"]) for e in vendors.request_log(url) if e.get("fault")]
    assert served.count("malformed") == 1, served
    assert first["retries"] == len(served) and first["rows"] > 0, (first, served)
    before = lake_fingerprint(lake, lake.bucket, DS)
    vendors.reset(url)
    vendors.inject(url, {"kind": "malformed", "path": path, "after": 1 if source == "stripe" else 0, "count": 99})
    with pytest.raises(AirflowException, match=rf"{source}\.{entity} dt={DS}: {what}.*gave up after 3 attempts") as e:
        land_vendor(source, entity, **paging)
    assert not isinstance(e.value, AirflowFailException)  # Airflow retries the task later
    assert "unchanged" in str(e.value)
    assert lake_fingerprint(lake, lake.bucket, DS) == before


def vendor_source_path(source: str, entity: str) -> str:
    from dw.config import vendor_source

    return vendor_source(source).entities[entity].endpoint


# --------------------------------------------------------------------------- from MongoDB to the warehouse


def job(executor: str = "docker") -> dict:
    t = dt.datetime(2024, 1, 15, 10)
    return {"_id": ObjectId(), "organization_analytics_id": str(uuid.uuid4()), "project_analytics_id": str(uuid.uuid4()),
            "user_analytics_id": str(uuid.uuid4()), "subscription_id": "6100001", "started_at": t, "stopped_at": t,
            "outcome": "success", "resource_class": "medium", "executor": executor, "operating_system": "linux",
            "dlc": False, "credits_used": 10, "dlc_credits_used": 0, "minutes_used": 1.5, "updated_at": t}


def user(analytics_id: str, login: str, updated: dt.datetime) -> dict:
    return {"_id": ObjectId(), "analytics_id": analytics_id, "login": login, "email": f"{login}@example.com",
            "created_at": dt.datetime(2023, 1, 1), "updated_at": updated}


def extract_and_load(table: str) -> dict:
    tasks = {t.task_id: t for t in warehouse_tasks(source=None)}
    group = "facts" if table.endswith("_fact") else "dimensions"
    xcoms: dict = {}
    run_task(tasks[f"{group}.{table}.extract"], D, xcoms)
    return run_task(tasks[f"{group}.{table}.load"], D, xcoms)


@pytest.fixture
def migrated(warehouse, lake):
    from dw.operators.warehouse import MigrateWarehouseOperator

    MigrateWarehouseOperator(task_id="migrate").execute(ctx(D))
    return warehouse


def test_an_executor_the_warehouse_does_not_know_lands_the_same_day_and_is_named(migrated, lake, mongo_app, caplog):
    """A job with an executor dw.executor_type lacks, all the way from MongoDB: the resource
    dimension's load grows the type (contract enum_values: evolve, the default), records the change
    and warns naming it; the fact loads that day with the job on the new member, not Unknown."""
    import logging

    from dw.dag_factory import mongo_task

    caplog.set_level(logging.WARNING)
    docs = [job(), job(), job(executor="gpu_cluster")]
    for i, d in enumerate(docs):  # created on the day (the fact extract's look-back reads the id's time)
        d["_id"] = ObjectId.from_datetime(dt.datetime(2024, 1, 15, 9, 0, i, tzinfo=dt.timezone.utc))
    mongo_app.jobs.insert_many(docs)
    mongo_task(task_id="jobs", collection="jobs").execute(ctx(D))  # the lake takes any string
    stats = extract_and_load("resource_dim")
    assert stats["quarantined"] == 0 and stats["inserted"] == 2
    assert [(c["column_name"], c["detail"], c["mode"]) for c in stats["changes"]] == [("executor", "gpu_cluster", "evolve")]
    assert "dw-etl WARNING warehouse › dimensions.resource_dim.load › date 2024-01-15" in caplog.text
    assert "warehouse.resource_dim.executor: new value 'gpu_cluster' in 1 row(s) → evolve" in caplog.text
    assert rows(migrated, "select entity, column_name, change, detail, action, recorded_by from dw.schema_changes") == [
        ("resource_dim", "executor", "new_enum_value", "gpu_cluster", "evolve",
         "warehouse.dimensions.resource_dim.load:enum_values")]
    mongo_task(task_id="projects", collection="projects").execute(ctx(D))  # the fact's extract reads it
    facts = extract_and_load("job_ran_fact")
    assert facts["quarantined"] == 0 and facts["changes"] == [], facts
    assert rows(migrated, "select r.executor::text, sum(f.jobs_ran) from dw.job_ran_fact f join dw.resource_dim r "
                          "on r.id = f.resource_id group by 1 order by 1") == [("docker", 2), ("gpu_cluster", 1)]


def test_duplicate_natural_keys_from_mongodb_load_the_latest_version_once(migrated, lake, mongo_app):
    """Two MongoDB documents of one user (same analytics_id, one in upper case): both reach the
    lake and the extract; the dimension holds one row, the latest version."""
    from dw.dag_factory import mongo_task

    aid = str(uuid.uuid4())
    mongo_app.users.insert_many([user(aid, "old-login", dt.datetime(2024, 1, 1)),
                                 user(aid.upper(), "new-login", dt.datetime(2024, 1, 10))])
    assert mongo_task(task_id="users", collection="users").execute(ctx(D))["rows"] == 2
    stats = extract_and_load("user_dim")
    assert (stats["copied"], stats["inserted"]) == (2, 1)
    assert rows(migrated, "select login from dw.user_dim where analytics_id = %s", (aid,)) == [("new-login",)]
    # loading the same extract again changes nothing
    before = warehouse_fingerprint(migrated, with_audit=True)
    extract_and_load("user_dim")
    assert warehouse_fingerprint(migrated, with_audit=True) == before


# --------------------------------------------------------------------------- an empty day


def test_an_empty_day_from_every_source(migrated, lake, mongo_app, vendor_standins):
    """Nothing happened anywhere on the day: every ingestion task lands a partition with its schema
    and no row; the lake_ready sensors of the sources that promise rows every day fail naming the
    source, so a scheduled run loads nothing; run anyway, every load writes nothing and every table
    check passes on the empty slices."""
    from airflow.sdk.exceptions import AirflowFailException

    from dw.config import mongo_source, vendor_source, warehouse_tables
    from dw.dag_factory import build_warehouse_dag
    from devstack import vendors
    from dw.dag_factory import mongo_task
    from tests.reliability import RunTI

    from devstack import generate

    day = generate.EPOCH.date() - dt.timedelta(days=30)  # before the vendors' first organization; MongoDB is empty
    vendors.inject(vendor_standins["amplitude"]["url"], {"kind": "status", "status": 404, "count": 24})
    landed = {}
    for name in mongo_source().collections:
        landed[f"mongo.{name}"] = mongo_task(task_id=name, collection=name).execute(ctx(day))["rows"]
    for source in ("stripe", "chargify", "amplitude"):
        for name in vendor_source(source).entities:
            landed[f"{source}.{name}"] = land_vendor(source, name, day)["rows"]
    assert set(landed.values()) == {0}, landed
    objects = lake_fingerprint(lake, lake.bucket, day.isoformat())
    parquet = sorted(k for k in objects if k.endswith(".parquet"))
    assert parquet == sorted(f"raw/{k.replace('.', '/')}/dt={day}/part-00000.parquet" for k in landed)

    dag = build_warehouse_dag()
    from dw.operators.warehouse import MigrateWarehouseOperator

    MigrateWarehouseOperator(task_id="migrate").execute(ctx(day))  # the day's (empty) fact partitions
    before = warehouse_fingerprint(migrated, with_audit=True)
    context = ctx(day, RunTI({}, "x", "manual__empty"))
    fails = {}
    for t in dag.tasks:
        if t.task_id.startswith("lake_ready."):
            try:
                t.poke(context)
            except AirflowFailException as e:
                fails[t.task_id] = str(e)
    promised = {t.task_id for t in dag.tasks if t.task_id.startswith("lake_ready.") and t.min_rows > 0}
    assert set(fails) == promised and promised, fails
    for task_id, msg in fails.items():
        assert f"dt={day}" in msg and "holds 0 rows" in msg, msg

    xcoms: dict = {}
    for t in warehouse_tasks(source=None):
        stats = run_task(t, day, xcoms)
        if t.task_id.endswith(".load"):
            assert (stats["inserted"], stats["updated"], stats["deleted"]) == (0, 0, 0), t.task_id
    for t in dag.tasks:
        if t.task_id.endswith("_checks"):
            t.render_template_fields(context)
            t.execute(context)  # passes: a per-row check holds on no rows
    assert {n for n, c in warehouse_tables().items() if c.checks.table} >= {"job_ran_fact", "invoice_fact"}
    assert warehouse_fingerprint(migrated, with_audit=True) == before
