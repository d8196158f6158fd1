"""No half partition, ever (RELIABILITY.md): an extraction killed mid-stream (MongoDB and a vendor
API), an S3 upload that dies part-way, and an upload in progress, against the session's nx-27017,
moto S3 server and vendor stand-ins. After each: the list and checksums of the date's lake objects,
and what a DuckDB reader of the lake (the engine that runs the extracts locally) sees."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import signal
import threading
import time
import uuid

import pendulum
import pytest
from bson import ObjectId

from dw.lake import RawPartition
from tests.reliability import S3FaultProxy, ctx, duckdb_rows, lake_fingerprint, lake_through

D = dt.date(2024, 1, 15)
DS = D.isoformat()
JOBS = RawPartition("mongo", "jobs", DS)


def jobs(n: int, outcome: str) -> list[dict]:
    t = dt.datetime(2024, 1, 15, 10)
    return [{"_id": ObjectId(), "organization_analytics_id": str(uuid.uuid4()), "project_analytics_id": str(uuid.uuid4()),
             "user_analytics_id": str(uuid.uuid4()), "subscription_id": "6100001", "started_at": t, "stopped_at": t,
             "outcome": outcome, "resource_class": "medium", "executor": "docker", "operating_system": "linux",
             "dlc": False, "credits_used": 10, "dlc_credits_used": 0, "minutes_used": 1.5, "updated_at": t}
            for _ in range(n)]


def ingest_jobs() -> dict:
    from dw.dag_factory import mongo_task

    return mongo_task(task_id="jobs", collection="jobs").execute(ctx(D))


def in_child(target, *args) -> multiprocessing.Process:
    """``target(*args)`` in a forked child process (to be killed with SIGKILL). The child gets its
    own S3 clients: the cached ones' connection pools belong to this process."""

    def run():
        from dw.hooks.lake import clear_s3_hooks

        clear_s3_hooks()
        target(*args)

    p = multiprocessing.get_context("fork").Process(target=run, daemon=True)
    p.start()
    return p


def wait_for(what: str, probe, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = probe()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError(f"{what}: not within {timeout}s")


@pytest.fixture
def small_batches(tmp_path, monkeypatch):
    """mongo.yaml with batch_size 20: a day of 100 jobs streams in five batches."""
    import re
    import shutil

    from dw import config, paths

    include = tmp_path / "include"
    shutil.copytree(paths.include_dir(), include)
    cfg = include / "config" / "sources" / "mongo.yaml"
    cfg.write_text(re.sub(r"(?m)^batch_size: \d+", "batch_size: 20", cfg.read_text()))
    monkeypatch.setenv("DW_INCLUDE_DIR", str(include))
    config.clear_caches()
    yield
    config.clear_caches()


def test_mongo_extraction_killed_mid_stream_leaves_the_previous_partition(lake, mongo_app, small_batches, tmp_path):
    """The re-run of a day streams its documents batch by batch; it is killed (SIGKILL) while it
    waits for its third batch. Readers keep seeing the previous partition, whole."""
    mongo_app.jobs.insert_many(jobs(100, "failed"))
    assert ingest_jobs()["rows"] == 100
    before = lake_fingerprint(lake, lake.bucket, DS)
    mongo_app.jobs.update_many({}, {"$set": {"outcome": "success"}})
    mongo_app.jobs.insert_many(jobs(20, "success"))
    marker = tmp_path / "parked"

    def rerun_parked_at_the_third_batch():
        from pymongo import monitoring

        class Park(monitoring.CommandListener):
            get_mores = 0

            def started(self, event):
                if event.command_name == "getMore":
                    Park.get_mores += 1
                    if Park.get_mores == 2:  # two batches read and converted, the stream open
                        marker.write_text(str(os.getpid()))
                        time.sleep(600)

            def succeeded(self, event):
                pass

            def failed(self, event):
                pass

        monitoring.register(Park())
        ingest_jobs()

    child = in_child(rerun_parked_at_the_third_batch)
    wait_for("the re-run parked mid-stream", marker.exists)
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    assert lake_fingerprint(lake, lake.bucket, DS) == before
    assert duckdb_rows("raw_mongo_jobs", DS) == 100
    assert lake.list_multipart_uploads(Bucket=lake.bucket).get("Uploads", []) == []
    # the task's retry lands the day whole
    assert ingest_jobs()["rows"] == 120 and duckdb_rows("raw_mongo_jobs", DS) == 120


def test_vendor_extraction_killed_mid_paging_leaves_the_previous_partition(lake, vendor_standins):
    """Stripe customers re-landed page by page; the run is killed while the stand-in holds its
    third page. The objects of the day (raw JSON, Parquet and the manifest of changes) stay as they were."""
    from devstack import vendors
    from dw.dag_factory import vendor_task

    def land():
        return vendor_task(task_id="customers", source="stripe", entity="customers",
                                    overrides={"page_size": 5, "timeout_seconds": 120}).execute(ctx(D))

    url = vendor_standins["stripe"]["url"]
    rows = land()["rows"]
    assert rows > 10
    before = lake_fingerprint(lake, lake.bucket, DS)
    assert sorted(before) == ["changes/stripe/customers/dt=2024-01-15/manifest.json",  # the day's changes (0042)
                              "raw/stripe/customers/dt=2024-01-15/part-00000.parquet",
                              "raw/stripe/customers_json/dt=2024-01-15/part-00000.jsonl.gz"]
    vendors.reset(url)
    vendors.inject(url, {"kind": "timeout", "seconds": 30, "path": "/v1/customers", "after": 2})
    child = in_child(land)
    wait_for("the third page held", lambda: any(e["fault"] == "timeout" for e in vendors.request_log(url)))
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    assert lake_fingerprint(lake, lake.bucket, DS) == before
    assert duckdb_rows("raw_stripe_customers", DS) == rows
    vendors.reset(url)
    assert land()["rows"] == rows


@pytest.fixture
def proxy(stack, monkeypatch):
    """``aws_lake`` through an S3FaultProxy in front of moto, boto3 retrying twice."""
    with S3FaultProxy(stack.info["s3_endpoint"]) as p:
        lake_through(monkeypatch, stack, p.url)
        conn = json.loads(os.environ["AIRFLOW_CONN_AWS_LAKE"])
        conn["extra"]["config_kwargs"] = {"retries": {"max_attempts": 2, "mode": "standard"}}
        monkeypatch.setenv("AIRFLOW_CONN_AWS_LAKE", json.dumps(conn))
        yield p


def test_s3_upload_failing_part_way_leaves_the_previous_partition(lake, mongo_app, proxy):
    """Every attempt to PUT the new partition reaches S3 with half its body, then the connection
    dies. The task fails (retryably: Airflow tries again later); the old object is untouched."""
    from airflow.sdk.exceptions import AirflowFailException

    mongo_app.jobs.insert_many(jobs(30, "failed"))
    ingest_jobs()
    before = lake_fingerprint(lake, lake.bucket, DS)
    mongo_app.jobs.insert_many(jobs(10, "success"))
    proxy.fault = {"key": "raw/mongo/jobs/", "mode": "fail"}
    with pytest.raises(Exception) as failed:
        ingest_jobs()
    assert not isinstance(failed.value, AirflowFailException)
    assert len(proxy.broken) >= 2  # boto3 tried again; every attempt died part-way
    assert lake_fingerprint(lake, lake.bucket, DS) == before
    assert duckdb_rows("raw_mongo_jobs", DS) == 30
    assert lake.list_multipart_uploads(Bucket=lake.bucket).get("Uploads", []) == []
    proxy.fault = None
    assert ingest_jobs()["rows"] == 40 and duckdb_rows("raw_mongo_jobs", DS) == 40


def test_readers_see_the_previous_partition_until_the_new_one_is_complete(lake, mongo_app, proxy):
    """The new partition's upload is held half-way: readers of the date see the old partition,
    whole; once the upload completes, the new one, whole."""
    mongo_app.jobs.insert_many(jobs(30, "failed"))
    ingest_jobs()
    before = lake_fingerprint(lake, lake.bucket, DS)
    mongo_app.jobs.insert_many(jobs(10, "success"))
    proxy.fault = {"key": "raw/mongo/jobs/", "mode": "pause"}
    done: list = []
    t = threading.Thread(target=lambda: done.append(ingest_jobs()))
    t.start()
    assert proxy.reached.wait(60)  # half of the new object is on its way to S3
    assert lake_fingerprint(lake, lake.bucket, DS) == before
    assert duckdb_rows("raw_mongo_jobs", DS) == 30
    proxy.release.set()
    t.join(60)
    assert done and done[0]["rows"] == 40
    after = lake_fingerprint(lake, lake.bucket, DS)
    assert list(after) == list(before) and after != before
    assert duckdb_rows("raw_mongo_jobs", DS) == 40


def test_a_vendor_pair_cut_between_its_uploads_is_not_landed_until_its_retry(lake, vendor_standins, proxy):
    """A vendor day is raw JSON then Parquet (docs/decisions/0040). A re-landing whose Parquet upload
    dies part-way, after its JSON went through, leaves the new JSON beside the old Parquet: the
    warehouse's lake_ready sensor does not take that day (the two objects' landing ids differ) and
    waits; the task's retry lands both, and the sensor takes the day."""
    from devstack import vendors
    from dw.dag_factory import vendor_task
    from dw.operators.lake_sensor import LakePartitionSensor
    from dw.sources.http import LANDING_META, pair_landed

    def land():
        return vendor_task(task_id="customers", source="stripe", entity="customers",
                           overrides={"page_size": 50}).execute(ctx(D))

    sensor = LakePartitionSensor(task_id="lake_ready", source="stripe", entity="customers", bucket=lake.bucket,
                                 raw_prefix="raw")
    parquet, raw_json = (f"raw/stripe/customers/dt={DS}/part-00000.parquet",
                         f"raw/stripe/customers_json/dt={DS}/part-00000.jsonl.gz")
    land()
    assert sensor.poke(ctx(D)) is True
    first = {k: lake.head_object(Bucket=lake.bucket, Key=k) for k in (parquet, raw_json)}
    assert first[parquet]["Metadata"][LANDING_META] == first[raw_json]["Metadata"][LANDING_META]

    vendors.configure(vendor_standins["stripe"]["url"], seed=4242)  # the vendor now serves other objects
    proxy.fault = {"key": "raw/stripe/customers/", "mode": "fail"}  # the Parquet only, not customers_json/
    with pytest.raises(Exception):
        land()
    cut = {k: lake.head_object(Bucket=lake.bucket, Key=k) for k in (parquet, raw_json)}
    assert cut[parquet]["ETag"] == first[parquet]["ETag"]  # the old Parquet, whole
    assert cut[raw_json]["ETag"] != first[raw_json]["ETag"]  # the new JSON went through
    landed, why = pair_landed(lake, lake.bucket, parquet)
    assert not landed and "different landings" in why
    assert sensor.poke(ctx(D)) is False  # the warehouse waits: no extract reads a half-landed day

    proxy.fault = None
    land()  # Airflow's retry
    assert pair_landed(lake, lake.bucket, parquet) == (True, "")
    assert sensor.poke(ctx(D)) is True


def test_a_multipart_upload_cut_part_way_leaves_no_pending_upload_and_the_old_object(lake, proxy, tmp_path):
    """Above boto3's multipart threshold (8 MiB) a partition is uploaded in parts; every part's
    request dies half-way. The upload fails, is aborted (no multipart upload left pending, so no
    parts billed or visible), and the object under the key is the previous one."""
    from dw.hooks.lake import s3_client
    from dw.lake import upload_args

    key = f"raw/mongo/jobs/dt={DS}/part-00000.parquet"
    lake.put_object(Bucket=lake.bucket, Key=key, Body=b"the previous partition")
    big = tmp_path / "part.parquet"
    big.write_bytes(os.urandom(9 << 20))
    proxy.fault = {"key": "raw/mongo/jobs/", "mode": "fail"}  # every PUT of a part (the path quotes '=')
    with pytest.raises(Exception):
        s3_client().upload_file(str(big), lake.bucket, key, ExtraArgs=upload_args("application/vnd.apache.parquet"))
    assert any("uploadId" in b or "partNumber" in b for b in map(str, proxy.broken)), proxy.broken  # a real multipart upload
    assert lake.list_multipart_uploads(Bucket=lake.bucket).get("Uploads", []) == []
    assert lake.get_object(Bucket=lake.bucket, Key=key)["Body"].read() == b"the previous partition"


def test_athena_lake_state_survives_the_deferral_and_a_stale_or_unchecked_extract_is_redone(stack, lake, mongo_app, monkeypatch):
    """On Athena (moto's API) the extract defers: the lake state it listed before the query travels in
    the deferral's kwargs to execute_complete and into its XCom. The load refuses that extract once the
    lake moved, and an XCom without a state at all (fail closed) — before reading anything: it redoes
    the extract, deferring on a new Athena query (docs/decisions/0021)."""
    from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

    from dw.dag_factory import lake_query_task, load_task
    from dw.hooks.lake import s3_client
    from dw.lake_sql import lake_state
    from tests.reliability import RunTI

    mongo_app.organizations.insert_one({"_id": ObjectId(), "analytics_id": str(uuid.uuid4()), "name": "a",
                                        "vcs_type": "github", "plan_tier": "free",
                                        "created_at": dt.datetime(2024, 1, 1), "updated_at": dt.datetime(2024, 1, 15, 3)})
    from dw.dag_factory import mongo_task

    mongo_task(task_id="organizations", collection="organizations").execute(ctx(D))
    conn = json.loads(os.environ["AIRFLOW_CONN_AWS_LAKE"])
    conn["extra"].pop("lake_engine")
    monkeypatch.setenv("AIRFLOW_CONN_AWS_LAKE", json.dumps(conn))
    op = lake_query_task(task_id="extract", table="organization_dim", poll_interval=1, max_polls=5)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx(D))
    kwargs = deferred.value.kwargs
    query_id = deferred.value.trigger.serialize()[1]["query_execution_id"]
    out = op.execute_complete(ctx(D), event={"status": "success", "value": query_id}, **kwargs)
    state = lake_state(s3_client(), lake.bucket, op.lake_tables)
    assert out["lake_state"] == state and state and all(state.values())

    load = load_task(task_id="load", table="organization_dim", extract_task_id="extract")
    # the day's partition replaced after the query started (the only partition the extract reads)
    mongo_app.organizations.insert_one({"_id": ObjectId(), "analytics_id": str(uuid.uuid4()), "name": "b",
                                        "vcs_type": "github", "plan_tier": "free",
                                        "created_at": dt.datetime(2024, 1, 1), "updated_at": dt.datetime(2024, 1, 15, 4)})
    mongo_task(task_id="organizations", collection="organizations").execute(ctx(D))
    # the load does not load the stale extract: it redoes it, on Athena by deferring on the new query
    with pytest.raises(TaskDeferred) as redo:
        load.execute(ctx(D, RunTI({"extract": out}, "load", "manual__x")))
    assert redo.value.method_name == "execute_reextracted" and redo.value.kwargs["attempt"] == 1
    assert redo.value.trigger.serialize()[1]["query_execution_id"] != query_id
    lost = {k: v for k, v in out.items() if k != "lake_state"}  # a deferral that dropped the state
    with pytest.raises(TaskDeferred) as redo:  # fail closed: an extract that cannot be checked is redone
        load.execute(ctx(D, RunTI({"extract": lost}, "load", "manual__x")))
    assert redo.value.method_name == "execute_reextracted"