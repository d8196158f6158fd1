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
    third page. Both objects of the day (raw JSON and Parquet) stay as they were."""
    from devstack import vendors
    from dw.dag_factory import vendor_task

    def land():
        return vendor_task(task_id="customers", source="stripe", entity="customers",
                                    overrides={"page_size": 5, "timeout_seconds": 120}).execute(ctx(D))

    url = vendor_standins["stripe"]["url"]
    rows = land()["rows"]
    assert rows > 10
    before = lake_fingerprint(lake, lake.bucket, DS)
    assert sorted(before) == ["raw/stripe/customers/dt=2024-01-15/part-00000.parquet",
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
