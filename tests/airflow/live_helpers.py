"""Helpers of the running-Airflow tests: the days, the DAGs, and REST API calls (tests/airflow/)."""

from __future__ import annotations

import datetime as dt
import time
import uuid

SCALE = 0.01
DATES = [dt.date(2024, 1, 14), dt.date(2024, 1, 15), dt.date(2024, 1, 16), dt.date(2024, 1, 17)]
INGEST_DAGS = ["ingest_mongo", "ingest_stripe", "ingest_amplitude", "ingest_chargify"]
DAGS = INGEST_DAGS + ["warehouse"]
TERMINAL = {"success", "failed"}


def logical(day: dt.date) -> str:
    """A manual run's logical date for the run that processes ``day``: the day after
    (docs/decisions/0001-run-date.md)."""
    return f"{day + dt.timedelta(days=1)}T00:00:00Z"


def backfill_date(day: dt.date) -> str:
    """A backfill's date for ``day``: the day itself (its runs' logical dates, CronDataIntervalTimetable)."""
    return f"{day}T00:00:00Z"


# --------------------------------------------------------------------------- REST helpers


def task_log(api, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
    """A task's log as text: one line per structured log event (event and details as JSON)."""
    from urllib.parse import quote

    out = api.request("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/logs/{try_number}",
                      params={"full_content": "true"}, headers={"Accept": "application/json"})
    lines = out.get("content") if isinstance(out, dict) else out
    if isinstance(lines, str):
        return lines
    return "\n".join(line if isinstance(line, str) else " ".join(str(v) for v in line.values()) for line in lines or [])


def task_instances(api, dag_id: str, run_id: str) -> dict[str, dict]:
    from urllib.parse import quote

    tis = api.get(f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances", limit=500)["task_instances"]
    return {t["task_id"]: t for t in tis}


def failure_report(api, dag_id: str, run_id: str) -> str:
    """The failed tasks of a run and the end of their logs (for assertion messages)."""
    parts = []
    for tid, ti in task_instances(api, dag_id, run_id).items():
        if ti["state"] in ("failed", "up_for_retry"):
            log = task_log(api, dag_id, run_id, tid, max(ti["try_number"], 1))
            parts.append(f"--- {dag_id} {run_id} {tid} ({ti['state']}):\n" + "\n".join(log.splitlines()[-25:]))
    return "\n".join(parts) or f"{dag_id} {run_id}: no failed task"


def wait_for_runs(api, dag_id: str, run_ids: list[str], timeout: float = 900.0) -> dict[str, str]:
    """Poll until every run is success or failed; {run_id: state}."""
    from urllib.parse import quote

    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    while True:
        states = {r: api.get(f"/dags/{dag_id}/dagRuns/{quote(r, safe='')}")["state"] for r in run_ids}
        if set(states.values()) <= TERMINAL:
            return states
        if time.monotonic() > deadline:
            raise AssertionError(f"{dag_id}: runs not finished after {timeout:.0f}s: {states}")
        time.sleep(3)


def backfill(api, dag_id: str, days: list[dt.date], max_active_runs: int) -> list[str]:
    """POST /api/v2/backfills for the runs processing ``days``; their run ids."""
    bf = api.post("/backfills", {"dag_id": dag_id, "from_date": backfill_date(days[0]), "to_date": backfill_date(days[-1]),
                                 "max_active_runs": max_active_runs, "reprocess_behavior": "none"})
    assert bf["dag_id"] == dag_id and bf["max_active_runs"] == max_active_runs
    # the form's dates are the days loaded: each run's logical date and data interval start at D
    wanted = {d.isoformat() for d in days}
    runs = api.get(f"/dags/{dag_id}/dagRuns", run_type="backfill", limit=100)["dag_runs"]
    ids = [r["dag_run_id"] for r in runs if (r["data_interval_start"] or "")[:10] in wanted]
    assert len(ids) == len(days), (dag_id, [r["dag_run_id"] for r in runs])
    return ids


def trigger(api, dag_id: str, day: dt.date) -> str:
    run = api.post(f"/dags/{dag_id}/dagRuns", {"logical_date": logical(day), "dag_run_id": f"manual__{day}_{uuid.uuid4().hex[:6]}"})
    assert run["data_interval_start"][:10] == day.isoformat(), run
    return run["dag_run_id"]
