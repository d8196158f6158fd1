"""A backfill entered in the UI's dialog, in headless Chromium (as test_airflow_ui.py): the range
typed is the days loaded (CronDataIntervalTimetable, docs/decisions/0001-run-date.md). The dry
run counts exactly those days; the backfill's runs have those logical dates; the warehouse's
load ledger has, for every loaded table, a successful load of each of those days and of no
other day since the click. Minutes: `make test-airflow PYTEST_ARGS="-k backfill_entered_in_the_ui"`."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from live_helpers import DATES, INGEST_DAGS, backfill, failure_report, wait_for_runs
from test_airflow_ui import ARGS, CHROMIUM, _shots, signed_in

pytestmark = [
    pytest.mark.airflow,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (apt-get install chromium; .ci/run does)"),
]

DAYS = DATES[1:3]  # 2024-01-15 .. 2024-01-16


def _ui_date(day: dt.date) -> str:
    return day.strftime("%Y/%m/%d")  # the dialog's date field (YYYY/MM/DD), time HH:mm


def _wait_backfill(api, since: dt.datetime, timeout: float = 1500.0) -> dict:
    """The warehouse backfill created after ``since``, once completed."""
    deadline = time.monotonic() + timeout
    while True:
        mine = sorted((b for b in api.get("/backfills", dag_id="warehouse", limit=100)["backfills"]
                       if dt.datetime.fromisoformat(b["created_at"]) >= since), key=lambda b: b["id"])
        if mine and mine[-1]["completed_at"]:
            return mine[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"the UI's backfill did not complete in {timeout:.0f}s: {mine}")
        time.sleep(5)


def test_a_backfill_entered_in_the_ui_loads_exactly_its_days(stack, live_airflow, api):
    import psycopg
    from playwright.sync_api import expect, sync_playwright

    # the days' raw partitions (the ingestion DAGs' runs of those days, made now if missing)
    for dag_id in INGEST_DAGS:
        runs = backfill(api, dag_id, DAYS, max_active_runs=2)
        states = wait_for_runs(api, dag_id, runs, timeout=900)
        assert set(states.values()) == {"success"}, "\n".join(failure_report(api, dag_id, r) for r in runs)
    live = stack.info["pg_uri"]
    with psycopg.connect(live) as con:
        t0 = con.execute("select now()").fetchone()[0]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = signed_in(browser, live_airflow)
            page.goto(f"{live_airflow.base_url}/dags/warehouse")
            page.get_by_role("button", name="Trigger").first.click()
            dialog = page.get_by_role("dialog")
            dialog.get_by_text("Backfill", exact=True).click()
            fields = dialog.get_by_test_id("datetime-input")
            for field, day in zip((fields.nth(0), fields.nth(1)), (DAYS[0], DAYS[-1])):
                field.click()  # opens the date-time popover: a date field, a time field, a calendar
                page.get_by_placeholder("YYYY/MM/DD").fill(_ui_date(day))
                page.get_by_placeholder("HH:mm").fill("00:00")
                dialog.get_by_text("Date Range").click()  # closes the popover
                expect(page.get_by_placeholder("YYYY/MM/DD")).to_have_count(0)
            # shown as "MMM DD, YYYY HH:mm" in the UI's time zone (UTC)
            expect(fields.nth(0)).to_contain_text(DAYS[0].strftime("%b %d, %Y 00:00"))
            expect(fields.nth(1)).to_contain_text(DAYS[-1].strftime("%b %d, %Y 00:00"))
            dialog.get_by_text("All Runs", exact=True).click()  # the days ran before: run them again
            # the dry run: one run per day typed
            expect(dialog.get_by_text(f"{len(DAYS)} runs will be triggered.")).to_be_visible()
            page.screenshot(path=str(_shots() / "backfill-dialog.png"))
            dialog.get_by_role("button", name="Run Backfill").click()
            expect(page.get_by_text("Backfill generated")).to_be_visible()
        finally:
            browser.close()

    bf = _wait_backfill(api, t0)
    assert (bf["from_date"][:10], bf["to_date"][:10]) == (DAYS[0].isoformat(), DAYS[-1].isoformat()), bf
    runs = [r for r in api.get("/dags/warehouse/dagRuns", run_type="backfill", limit=100)["dag_runs"]
            if r["logical_date"][:10] in {d.isoformat() for d in DAYS}]
    assert sorted(r["logical_date"][:10] for r in runs) == [d.isoformat() for d in DAYS], runs
    assert all(r["data_interval_start"][:10] == r["logical_date"][:10] for r in runs), runs
    failed = [r["dag_run_id"] for r in runs if r["state"] != "success"]
    assert not failed, "\n".join(failure_report(api, "warehouse", r) for r in failed)
    # what was loaded since the click: each loaded table, each of the days, nothing else
    with psycopg.connect(live) as con:
        loads = con.execute("select table_name, date::text, outcome from dw.load_audit where started_at >= %s",
                            (t0,)).fetchall()
    tables = {t for t, _, _ in loads}
    assert {d for _, d, _ in loads} == {d.isoformat() for d in DAYS}, loads
    assert {(t, d) for t, d, o in loads if o == "success"} == {(t, d.isoformat()) for t in tables for d in DAYS}
    assert {"job_ran_fact", "subscription_dim", "user_dim"} <= tables, tables
