"""The running Airflow, driven through its REST API as users drive it: a backfill of three days
equals three `dags test` runs; a broken connection fails its task with a clear message and the
failure message in its log (and on the Slack webhook); mended and cleared with its downstream
tasks, the run succeeds and the warehouse equals a clean run. Minutes: `make test-airflow`."""

from __future__ import annotations

import json

import pytest
from live_helpers import (
    DATES,
    INGEST_DAGS,
    backfill,
    failure_report,
    task_instances,
    task_log,
    trigger,
    wait_for_runs,
)

from tests.helpers import warehouse_fingerprint

pytestmark = pytest.mark.airflow

BACKFILLED = DATES[:3]
BROKEN_DAY = DATES[3]


def _assert_succeeded(api, dag_id: str, states: dict[str, str]) -> None:
    failed = [r for r, s in states.items() if s != "success"]
    assert not failed, "\n".join(failure_report(api, dag_id, r) for r in failed)


def test_backfill_of_three_days_equals_three_dags_test_runs(stack, api, reference):
    import psycopg

    # the ingestion DAGs first, then the warehouse; the days of each backfill overlap, as the
    # runbook allows (every table comes out the same in any order)
    ingest = {dag_id: backfill(api, dag_id, BACKFILLED, max_active_runs=3) for dag_id in INGEST_DAGS}
    for dag_id, run_ids in ingest.items():
        _assert_succeeded(api, dag_id, wait_for_runs(api, dag_id, run_ids, timeout=900))
    run_ids = backfill(api, "warehouse", BACKFILLED, max_active_runs=3)
    _assert_succeeded(api, "warehouse", wait_for_runs(api, "warehouse", run_ids, timeout=1200))

    # every load of every run is in the ledger, which the analyst role can read
    live = stack.info["pg_uri"]
    with psycopg.connect(live) as con:
        con.execute("set role dw_analyst")
        rows = con.execute(
            """select run_id, table_name, date::text, outcome, extract_uri, query_id, rows_copied, started_at <= ended_at
               from dw.load_audit where run_id = any(%s)""", (run_ids,)).fetchall()
    loaded = {t.split(".")[-2] for t in task_instances(api, "warehouse", run_ids[0]) if t.endswith(".load")}
    assert {(r[0], r[1]) for r in rows} == {(run, t) for run in run_ids for t in loaded}
    for run, table, date, outcome, uri, query_id, copied, ordered in rows:
        assert outcome == "success" and uri.startswith("s3://") and f"/extracts/{table}/dt={date}/" in uri
        assert query_id and copied is not None and ordered, (run, table)

    # the same days loaded by three `dags test` runs into a second, clean warehouse
    for day in BACKFILLED:
        reference.run(day)
    assert warehouse_fingerprint(live) == warehouse_fingerprint(reference.uri)


def test_a_broken_connection_fails_clearly_and_a_clear_mends_the_run(stack, api, reference, live_airflow):
    from tests.helpers import Webhook

    from dw.notify import MARK

    hook = Webhook()
    good: dict = {}
    try:
        api.post("/connections", {"connection_id": "slack_alerts", "conn_type": "slackwebhook",
                                  "host": f"http://127.0.0.1:{hook.port}/services", "password": "T000/B000/oncall"})
        for dag_id in INGEST_DAGS:
            run_id = trigger(api, dag_id, BROKEN_DAY)
            _assert_succeeded(api, dag_id, wait_for_runs(api, dag_id, [run_id], timeout=600))

        # an on-call night: someone points the warehouse's connections (the migrator's, which the
        # first task uses, and the loader's) at a database that does not exist
        good = {c: api.get(f"/connections/{c}") for c in ("postgres_dw_migrate", "postgres_dw")}
        for c, conn in good.items():
            api.patch(f"/connections/{c}", {**_body(conn), "schema": "warehouse_gone"}, update_mask="schema")
        run_id = trigger(api, "warehouse", BROKEN_DAY)
        assert wait_for_runs(api, "warehouse", [run_id], timeout=900) == {run_id: "failed"}
        tis = task_instances(api, "warehouse", run_id)
        failed = sorted(t for t, ti in tis.items() if ti["state"] == "failed")
        assert failed == ["migrate"], failure_report(api, "warehouse", run_id)
        assert tis["migrate"]["try_number"] == 1  # a wrong connection is not retried
        assert all(ti["state"] == "upstream_failed" for t, ti in tis.items() if t.endswith(".load"))

        log = task_log(api, "warehouse", run_id, "migrate", 1)
        assert "connection postgres_dw_migrate (" in log and 'database "warehouse_gone" does not exist' in log, \
            log[-3000:]
        day = BROKEN_DAY.isoformat()
        assert f"{MARK} warehouse › migrate › date {day} (try 1)" in log
        assert f"runbook: {live_airflow.base_url}/dags/warehouse/tasks/migrate" in log
        assert f"log: {live_airflow.base_url}/dags/warehouse/runs/" in log
        posted = [body["text"] for _, _, body in hook.received]
        assert len(posted) == 1 and posted[0].startswith(f"{MARK} warehouse › migrate › date {day}"), posted
        assert "does not exist" in posted[0].splitlines()[1]

        # mend the connection, clear the failed task with its downstream tasks
        for c, conn in good.items():
            api.patch(f"/connections/{c}", _body(conn), update_mask="schema")
        cleared = api.post("/dags/warehouse/clearTaskInstances", {
            "dry_run": False, "dag_run_id": run_id, "task_ids": ["migrate"], "include_downstream": True,
            "only_failed": False, "reset_dag_runs": True, "note": "warehouse connections mended"})
        cleared_ids = {ti["task_id"] for ti in cleared["task_instances"]}
        assert "migrate" in cleared_ids and {t for t in tis if t.endswith(".load")} <= cleared_ids
        assert not any(t.startswith("lake_ready.") for t in cleared_ids)  # not downstream of migrate
        _assert_succeeded(api, "warehouse", wait_for_runs(api, "warehouse", [run_id], timeout=900))
        assert task_instances(api, "warehouse", run_id)["migrate"]["try_number"] == 2
        assert len(hook.received) == 1  # the successful re-run sent nothing
    finally:
        hook.close()
        for c, conn in good.items():  # mended whatever happened: later tests use these connections
            api.patch(f"/connections/{c}", _body(conn), update_mask="schema")

    # the warehouse equals a clean run of the same four days
    reference.run(BROKEN_DAY)
    assert warehouse_fingerprint(stack.info["pg_uri"]) == warehouse_fingerprint(reference.uri)


def _body(conn: dict) -> dict:
    """A connection as the PATCH body wants it (the GET answer minus read-only fields)."""
    keep = ("connection_id", "conn_type", "description", "host", "login", "schema", "port", "password", "extra")
    body = {k: conn.get(k) for k in keep if conn.get(k) is not None}
    if isinstance(body.get("extra"), dict):
        body["extra"] = json.dumps(body["extra"])
    return body
