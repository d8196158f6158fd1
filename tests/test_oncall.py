"""What the on-call engineer relies on, checked cheaply (the running-Airflow tests are in
tests/airflow/, `make test-airflow`): runbooks on every DAG, task group and task; the failure
message and its delivery to a Slack webhook (a local HTTP server stands in for Slack); the
freshness check of lake_ready against the moto S3 server; a misconfigured warehouse
connection failing at once with a clear message."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pendulum
import pytest

from tests.helpers import Webhook

REPO = Path(__file__).resolve().parents[1]
SECTIONS = ("**Reads**", "**Writes**", "**Clear**", "**When it fails**", "**Backfill**")
D = dt.date(2024, 1, 15)


def ctx(day: dt.date = D) -> dict:
    start = pendulum.datetime(day.year, day.month, day.day, tz="UTC")
    return {"data_interval_start": start, "data_interval_end": start.add(days=1)}


# --------------------------------------------------------------------------- runbooks


def test_every_dag_task_group_and_task_has_a_complete_runbook():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert not bag.import_errors
    missing = []
    for dag in bag.dags.values():
        docs = {f"{dag.dag_id}": dag.doc_md}
        docs.update({f"{dag.dag_id}.{t.task_id}": t.doc_md for t in dag.tasks})
        docs.update({f"{dag.dag_id}.{g}": tg.doc_md for g, tg in dag.task_group_dict.items()})
        for where, doc in docs.items():
            absent = [s for s in SECTIONS if s not in (doc or "")]
            if absent:
                missing.append((where, absent))
        assert all(t.on_failure_callback for t in dag.tasks), dag.dag_id
    assert not missing, missing


def test_the_warehouse_runbook_says_how_to_backfill_and_read_the_ledger():
    from dw import dag_factory

    doc = dag_factory.build_warehouse_dag().doc_md
    assert "POST /api/v2/backfills" in doc and "airflow backfill create --dag-id warehouse" in doc
    assert "Max Active Runs" in doc and "ingest_*" in doc
    assert "dw.load_audit" in doc and "dw-etl FAILED" in doc


# --------------------------------------------------------------------------- the failure message


def test_failure_message_is_compact_and_links_log_and_runbook():
    from dw import notify

    msg = notify.failure_message(
        dag_id="warehouse", task_id="facts.job_ran_fact.load", date="2024-01-15",
        error=notify.error_line(RuntimeError("dw.job_ran_fact dt=2024-01-15: boom\nTraceback ...")),
        log_url="http://localhost:8080/dags/warehouse/runs/r1/tasks/facts.job_ran_fact.load?try_number=2",
        runbook=notify.runbook_url("http://localhost:8080/", "warehouse", "facts.job_ran_fact.load"),
        try_number=2,
    )
    assert msg.splitlines() == [
        "dw-etl FAILED warehouse › facts.job_ran_fact.load › date 2024-01-15 (try 2)",
        "error: dw.job_ran_fact dt=2024-01-15: boom …",
        "log: http://localhost:8080/dags/warehouse/runs/r1/tasks/facts.job_ran_fact.load?try_number=2",
        "runbook: http://localhost:8080/dags/warehouse/tasks/facts.job_ran_fact.load",
    ]
    long = notify.error_line(ValueError("x" * 5000))
    assert len(long) <= notify.MAX_ERROR + 2 and long.endswith("…")
    assert notify.error_line(KeyError()) == "KeyError"


def test_slack_webhook_url_follows_the_slack_provider_rules():
    from airflow.sdk import Connection

    from dw.notify import slack_webhook_url

    def conn(**kw):
        return Connection(conn_id="slack_alerts", conn_type="slackwebhook", **kw)

    assert slack_webhook_url(conn(password="T0/B0/xyz")) == "https://hooks.slack.com/services/T0/B0/xyz"
    assert slack_webhook_url(conn(password="https://hooks.slack.com/services/T0/B0/xyz", host="ignored")) == \
        "https://hooks.slack.com/services/T0/B0/xyz"
    assert slack_webhook_url(conn(password="/T0/B0/xyz", host="127.0.0.1/hook", port=8099, schema="http")) == \
        "http://127.0.0.1:8099/hook/T0/B0/xyz"
    assert slack_webhook_url(conn(password="T0", host="http://127.0.0.1:8099/services/")) == \
        "http://127.0.0.1:8099/services/T0"
    with pytest.raises(ValueError, match="password"):
        slack_webhook_url(conn())


@pytest.fixture
def webhook(monkeypatch):
    hook = Webhook()
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", hook.connection())
    yield hook
    hook.close()


def test_post_to_slack_posts_the_text_and_survives_a_rejecting_webhook(webhook, monkeypatch, caplog):
    from dw import notify

    assert notify.post_to_slack("dw-etl FAILED x › y › date 2024-01-15") is True
    assert webhook.received == [("/services/T000/B000/secret", "application/json",
                                 {"text": "dw-etl FAILED x › y › date 2024-01-15"})]

    bad = Webhook(status=403)
    try:
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", bad.connection("T000/B000/revoked"))
        with caplog.at_level("WARNING"):
            assert notify.post_to_slack("text") is False
        assert "403" in caplog.text and "revoked" not in caplog.text  # the webhook URL is a secret
    finally:
        bad.close()

    monkeypatch.delenv("AIRFLOW_CONN_SLACK_ALERTS")
    assert notify.post_to_slack("text") is False  # no connection: nothing to post to


def test_the_callback_logs_and_posts_one_message(webhook, caplog):
    """``task_failed`` with the context a failed task's callback gets (the running-Airflow test
    checks the same in a real task's log and on the webhook)."""
    from types import SimpleNamespace

    from dw import notify

    ti = SimpleNamespace(dag_id="warehouse", task_id="migrate", try_number=1,
                         log_url="http://localhost:8080/dags/warehouse/runs/manual__1/tasks/migrate?try_number=1")
    context = {**ctx(), "ti": ti, "exception": RuntimeError("connection postgres_dw (…) is misconfigured")}
    with caplog.at_level("ERROR", logger="dw.notify"):
        notify.task_failed(context)
    texts = [body["text"] for _, _, body in webhook.received]
    assert len(texts) == 1 and texts[0] in caplog.text
    assert texts[0].splitlines() == [
        "dw-etl FAILED warehouse › migrate › date 2024-01-15 (try 1)",
        "error: connection postgres_dw (…) is misconfigured",
        f"log: {ti.log_url}",
        "runbook: http://localhost:8080/dags/warehouse/tasks/migrate",
    ]


# --------------------------------------------------------------------------- freshness (lake_ready)


def _put_parquet(s3, key: str, rows: int) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array([str(i) for i in range(rows)], pa.string())}), buf)
    s3.put_object(Bucket=s3.bucket, Key=key, Body=buf.getvalue())


def test_lake_ready_fails_an_empty_partition_naming_the_source(lake):
    from airflow.sdk.exceptions import AirflowFailException

    from dw.lake import RawPartition
    from dw.dag_factory import lake_sensor_task
    from dw.lake import parquet_rows

    part = RawPartition("mongo", "jobs", D.isoformat())
    sensor = lake_sensor_task(task_id="raw_mongo_jobs", source="mongo", entity="jobs", min_rows=1)
    assert sensor.poke(ctx()) is False  # not landed yet: keep waiting

    _put_parquet(lake, part.key, 0)  # landed, but empty
    with pytest.raises(AirflowFailException) as e:
        sensor.poke(ctx())
    msg = str(e.value)
    assert msg.startswith("source mongo: ") and part.uri in msg and "holds 0 rows" in msg
    assert "ingest_mongo run for date 2024-01-15 (task jobs)" in msg and "min_rows" in msg

    _put_parquet(lake, part.key, 3)
    assert parquet_rows(lake, lake.bucket, part.key) == 3
    assert sensor.poke(ctx()) is True
    # a source whose empty day is valid
    from dw.sources.http import json_key

    stripe_key = RawPartition("stripe", "invoices", D.isoformat()).key
    _put_parquet(lake, stripe_key, 0)
    # a vendor day is two objects (docs/decisions/0040): without its raw JSON it has not landed
    assert lake_sensor_task(task_id="i", source="stripe", entity="invoices").poke(ctx()) is False
    lake.put_object(Bucket=lake.bucket, Key=json_key(stripe_key), Body=b"")
    assert lake_sensor_task(task_id="i", source="stripe", entity="invoices").poke(ctx()) is True


def test_lake_ready_timeout_names_the_source(lake):
    from airflow.sdk.exceptions import AirflowSensorTimeout

    from dw.dag_factory import lake_sensor_task

    sensor = lake_sensor_task(task_id="raw_chargify_customers", source="chargify", entity="customers",
                                 mode="poke", poke_interval=0.1, timeout=0.3)
    with pytest.raises(AirflowSensorTimeout) as e:
        sensor.execute(ctx())
    msg = str(e.value)
    assert msg.startswith("source chargify: ") and "still missing" in msg
    assert "ingest_chargify run for date 2024-01-15 (task customers)" in msg


# --------------------------------------------------------------------------- a misconfigured connection


def test_a_misconfigured_warehouse_connection_fails_at_once_without_its_password(stack, warehouse, monkeypatch):
    import psycopg
    from airflow.sdk.exceptions import AirflowFailException

    from dw.hooks.warehouse import WarehouseHook

    with WarehouseHook().connect() as con:  # the fixture's connection works
        assert con.execute("select 1").fetchone() == (1,)
    conn = json.loads(stack.connections()["postgres_dw"])
    monkeypatch.setenv("AIRFLOW_CONN_POSTGRES_DW", json.dumps({**conn, "schema": "no_such_db", "password": "s3cret-pw"}))
    with pytest.raises(AirflowFailException) as e:
        WarehouseHook().connect()
    msg = str(e.value)
    assert msg.startswith("connection postgres_dw (") and 'database "no_such_db" does not exist' in msg
    assert "clear this task" in msg and "s3cret-pw" not in msg
    # a server that does not answer may come back: left to the task's retries
    monkeypatch.setenv("AIRFLOW_CONN_POSTGRES_DW", json.dumps({**conn, "port": 1}))
    with pytest.raises(psycopg.OperationalError):
        WarehouseHook().connect()
