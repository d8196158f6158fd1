"""The Warehouse view (plugin ``warehouse_view``, ``dw.ui``) in the running Airflow: its JSON
endpoints logged in (JWT) and refused without a login, the page in headless Chromium inside
Airflow's navigation after a day loaded through the REST API, with one raw partition deleted on
purpose; and its queries on a warehouse holding a year of ledger history (index use, < 1 s)."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from live_helpers import DATES, INGEST_DAGS, failure_report, trigger, wait_for_runs

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ENDPOINTS = ("tables", "sources", "open", "agreement")
GONE = ("stripe", "charges")  # the raw table whose partition of the day is deleted on purpose
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def day(api) -> dt.date:
    """A day the warehouse loaded through the running Airflow: one an earlier test of the
    session loaded, or else DATES[1], ingested and loaded now (REST: trigger, wait)."""
    done = api.get("/dags/warehouse/dagRuns", state="success", limit=100)["dag_runs"]
    if done:
        return max(dt.date.fromisoformat(r["data_interval_start"][:10]) for r in done)
    d = DATES[1]
    ingest = {dag_id: trigger(api, dag_id, d) for dag_id in INGEST_DAGS}
    for dag_id, run_id in ingest.items():
        state = wait_for_runs(api, dag_id, [run_id])[run_id]
        assert state == "success", failure_report(api, dag_id, run_id)
    run_id = trigger(api, "warehouse", d)
    assert wait_for_runs(api, "warehouse", [run_id])[run_id] == "success", failure_report(api, "warehouse", run_id)
    return d


@pytest.fixture(scope="module")
def gone_partition(stack, day):
    """The raw partition ``GONE`` of ``day`` deleted from the lake (put back afterwards)."""
    from dw.lake import RawPartition

    part = RawPartition(*GONE, day.isoformat())
    s3, bucket, key = stack.boto3_client(), part.bucket, part.key
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.delete_object(Bucket=bucket, Key=key)
    yield f"raw_{GONE[0]}_{GONE[1]}"  # the raw table's name
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def _get(live_airflow, api, path: str, **kw):
    import requests

    if api._token is None:
        api._login()
    return requests.get(f"{live_airflow.base_url}/warehouse/{path}", timeout=30,
                        headers={"Authorization": f"Bearer {api._token}"}, **kw)


def test_plugin_is_registered_with_a_nav_view_and_an_app(api):
    plugins = {p["name"]: p for p in api.get("/plugins")["plugins"]}
    p = plugins["warehouse_view"]
    assert [a["url_prefix"] for a in p["fastapi_apps"]] == ["/warehouse"]
    (view,) = p["external_views"]
    assert (view["name"], view["href"], view["destination"], view["url_route"]) == ("Warehouse", "/warehouse/", "nav", "warehouse")


def test_endpoints_refuse_requests_without_a_login(live_airflow):
    import requests

    base = f"{live_airflow.base_url}/warehouse"
    for ep in ENDPOINTS:
        assert requests.get(f"{base}/api/{ep}", timeout=30).status_code == 401, ep
        bad = requests.get(f"{base}/api/{ep}", headers={"Authorization": "Bearer not-a-jwt"}, timeout=30)
        assert bad.status_code in (401, 403), (ep, bad.status_code)
        forged = requests.get(f"{base}/api/{ep}", cookies={"_token": "not-a-jwt"}, timeout=30)
        assert forged.status_code in (401, 403), (ep, forged.status_code)
    page = requests.get(f"{base}/", allow_redirects=False, timeout=30)
    assert page.status_code in (302, 303, 307) and "/auth/" in page.headers["location"], (page.status_code, page.headers)


def test_endpoints_answer_logged_in(live_airflow, api, day, gone_partition):
    from dw.config import warehouse_tables

    d = day.isoformat()
    out = {}
    for ep in ENDPOINTS:
        _get(live_airflow, api, f"api/{ep}")  # warm: connections, footer cache
        t0 = time.monotonic()
        r = _get(live_airflow, api, f"api/{ep}", params={"end": d} if ep != "open" else None)
        elapsed = time.monotonic() - t0
        assert r.status_code == 200, (ep, r.status_code, r.text[:500])
        assert elapsed < 1.0, f"/warehouse/api/{ep} took {elapsed:.2f}s"
        assert not EMAIL.search(r.text), ep
        out[ep] = r.json()

    tables = {t["table"]: t for t in out["tables"]["tables"]}
    assert set(tables) == set(warehouse_tables())
    job = tables["job_ran_fact"]
    assert job["last_date"] == d and job["last_load"]["outcome"] == "success"
    assert job["last_load"]["copied"] > 0 and job["last_load"]["duration_s"] >= 0
    assert job["last_load"]["log_url"].startswith("/dags/warehouse/runs/")
    assert {p["date"]: p["rows"] for p in job["rows_per_day"]}[d] > 0
    assert tables["organization_dim"]["last_date"] == d

    calendar = {s["table"]: {c["date"]: c for c in s["days"]} for s in out["sources"]["sources"]}
    assert calendar[gone_partition][d]["status"] == "missing"
    assert calendar["raw_mongo_jobs"][d]["status"] == "present" and calendar["raw_mongo_jobs"][d]["rows"] > 0

    agreement = {(a["table"], a["date"]): a for a in out["agreement"]["agreement"]}
    a = agreement[("job_ran_fact", d)]
    assert a["agrees"] and a["extract_rows"] >= a["warehouse_rows"] > 0
    assert {m["measure"] for m in a["measures"]} == {"jobs_ran", "credits_used", "dlc_credits_used", "minutes_used"}

    assert set(out["open"]) >= {"unknown_members", "failed_loads", "quarantined", "schema_changes"}


def test_queries_on_a_year_of_history_use_indexes_and_answer_within_a_second(warehouse):
    """dw.load_audit / load_totals / unknown_member_dates / load_quarantine / schema_changes with a
    year of daily loads of every table; the view's queries as dw_analyst: each under a second, no sequential scan of a ledger
    where an index serves (the failed-load list reads the recent rows only)."""
    import psycopg

    from dw.config import warehouse_tables
    from dw.ui import queries
    from dw.warehouse.migrate import migrate

    migrate(warehouse)
    configs = warehouse_tables()
    end, today = dt.date(2024, 12, 31), dt.date(2025, 1, 1)
    with psycopg.connect(warehouse, autocommit=True) as con:
        con.execute("""
            INSERT INTO dw.load_audit (table_name, date, dag_id, run_id, task_id, try_number, rows_copied, rows_deleted,
              rows_inserted, rows_updated, rows_unknown, started_at, ended_at, outcome, error)
            SELECT t, d::date, 'warehouse', 'scheduled__' || d::date, 'x.' || t || '.load', a, 1000, 1, 10, 5, 0,
              d + interval '1 day', d + interval '1 day 30 seconds', CASE WHEN a = 1 AND extract(day FROM d) = 7 THEN 'failed' ELSE 'success' END,
              CASE WHEN a = 1 AND extract(day FROM d) = 7 THEN 'boom' END
            FROM unnest(%s::text[]) AS t, generate_series('2024-01-01'::date, '2024-12-31', '1 day') AS d, generate_series(1, 2) AS a
        """, (list(configs),))
        facts = [n for n, c in configs.items() if c.kind == "fact"]
        con.execute("""
            INSERT INTO dw.load_totals SELECT t, d::date, 100, '{"m": "1"}', 90, '{"m": "1"}', d
            FROM unnest(%s::text[]) AS t, generate_series('2024-01-01'::date, '2024-12-31', '1 day') AS d
        """, (facts,))
        con.execute("INSERT INTO dw.unknown_member_dates SELECT 'job_ran_fact', d::date, 3, d "
                    "FROM generate_series('2024-06-01'::date, '2024-12-31', '3 days') AS d")
        # a year of quarantine and schema changes: every table, every day, three reasons / changes
        con.execute("""
            INSERT INTO dw.load_quarantine SELECT t, d::date, 's3://b/x.csv', l, 'c', 'not a valid bigint', '{}', d
            FROM unnest(%s::text[]) AS t, generate_series('2024-01-01'::date, '2024-12-31', '1 day') AS d,
                 generate_series(2, 4) AS l
        """, (list(configs),))
        con.execute("""
            INSERT INTO dw.schema_changes SELECT d::date, 'warehouse', t, 'c', 'new_enum_value', 'v' || (l %% 20), 1,
              'evolve', 'warehouse.x.' || l
            FROM unnest(%s::text[]) AS t, generate_series('2024-01-01'::date, '2024-12-31', '1 day') AS d,
                 generate_series(1, 3) AS l
        """, (list(configs),))
        con.execute("ANALYZE dw.load_audit; ANALYZE dw.load_totals; ANALYZE dw.unknown_member_dates; "
                    "ANALYZE dw.load_quarantine; ANALYZE dw.schema_changes")
        statements = []

        class Traced:
            """The analyst's cursor, recording each statement for the plans below."""

            def __init__(self, cur):
                self.cur = cur

            def execute(self, q, params=None):
                statements.append((q, params))
                return self.cur.execute(q, params)

        with psycopg.connect(warehouse) as ro:
            ro.read_only = True
            with queries.analyst(ro) as cur:
                t0 = time.monotonic()
                end_default = queries.default_end(Traced(cur), today, list(configs))
                tables = queries.tables(Traced(cur), configs, end, today)
                questions = queries.open_questions(Traced(cur), today)
                agreement = queries.agreement(Traced(cur), configs, end)
                elapsed = time.monotonic() - t0
        assert elapsed < 1.0, elapsed
        assert end_default == end
        assert len(tables) == len(configs) and all(t["last_date"] == "2024-12-31" for t in tables)
        assert len(agreement) == 30 * len(facts)
        # quarantine counts and schema changes: the recent days only, with each change's first seen
        assert questions["quarantined"][0] == {"date": "2024-12-31", "table": sorted(configs)[0],
                                               "reason": "not a valid bigint", "rows": 3,
                                               "since": questions["quarantined"][0]["since"]}
        assert all(r["date"] >= "2024-12-01" for r in questions["quarantined"] + questions["schema_changes"])
        assert all(c["first_seen"] == "2024-01-01" for c in questions["schema_changes"])
        # the plans: the ledgers' indexes, no full scan of dw.load_audit for the per-table reads, nor
        # of the quarantine or the schema changes as their history grows
        for q, params in statements:
            if not any(t in q for t in ("load_audit", "load_quarantine", "schema_changes")) or "now()" in q:
                continue
            plan = "\n".join(r[0] for r in psycopg.ClientCursor(con).execute("EXPLAIN " + q, params))
            for t in ("load_audit", "load_quarantine", "schema_changes"):
                assert f"Seq Scan on {t}" not in plan, plan


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (apt-get install chromium; .ci/run does)")
def test_page_in_the_airflow_ui_shows_tables_a_chart_and_the_missing_partition(live_airflow, api, day, gone_partition):
    from playwright.sync_api import expect, sync_playwright

    d = day.isoformat()
    shots = Path(os.environ.get("DW_SCREENSHOTS") or REPO / ".local" / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1800, "height": 1400})
            page.set_default_timeout(60_000)
            requested: list[str] = []
            page.on("request", lambda r: requested.append(r.url))
            page.goto(live_airflow.base_url + "/")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(live_airflow.password())
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(live_airflow.base_url + "/")

            # the navigation links the view; the UI shows it in a frame
            nav = page.locator('a[href$="plugin/warehouse"]')
            expect(nav.first).to_be_attached()
            nav.first.click()
            page.wait_for_url("**/plugin/warehouse**")
            frame_el = page.locator("iframe[title='Warehouse']")
            expect(frame_el).to_be_attached()
            frame = frame_el.element_handle().content_frame()
            frame.wait_for_selector("body[data-ready]")
            assert frame.locator("body").get_attribute("data-ready") == "yes", frame.locator("#status").inner_text()
            # ?end= pins the window on the loaded day
            frame.goto(f"{live_airflow.base_url}/warehouse/?end={d}")
            frame.wait_for_selector("body[data-ready=yes]")

            from dw.config import warehouse_tables

            rows = frame.locator("#tables tbody tr")
            assert rows.count() == len(warehouse_tables())
            expect(frame.locator('#tables tr[data-table="job_ran_fact"] .badge.success')).to_be_visible()
            bars = frame.evaluate("""() => {
                const c = document.querySelector('canvas[data-table="job_ran_fact"]');
                const chart = Chart.getChart(c);
                return chart ? chart.data.datasets[0].data.filter(v => v > 0).length : -1;
            }""")
            assert bars >= 1, bars
            cell = frame.locator(f'#sources tr[data-table="{gone_partition}"] td[data-date="{d}"]')
            assert cell.get_attribute("data-status") == "missing"
            present = frame.locator(f'#sources tr[data-table="raw_mongo_jobs"] td[data-date="{d}"]')
            assert present.get_attribute("data-status") == "present"
            expect(frame.locator('#agreement tr[data-table="job_ran_fact"] .badge.yes').first).to_be_visible()
            assert not EMAIL.search(frame.locator("body").inner_text())
            # Chart.js came from the plugin; nothing from elsewhere
            assert f"{live_airflow.base_url}/warehouse/static/vendor/chart.umd.min.js" in requested
            assert all(u.startswith((live_airflow.base_url, "data:", "blob:", "about:")) for u in requested), \
                sorted({u for u in requested if not u.startswith(live_airflow.base_url)})
            page.screenshot(path=str(shots / "warehouse-view.png"), full_page=True)
            frame.locator("body").screenshot(path=str(shots / "warehouse-view-page.png"))

            # the last load's link opens its task log in the Airflow UI around the frame
            frame.locator('#tables tr[data-table="job_ran_fact"] a').first.click()
            page.wait_for_url("**/dags/warehouse/runs/**/tasks/facts.job_ran_fact.load**")
            expect(page.locator("iframe[title='Warehouse']")).to_have_count(0)
        finally:
            browser.close()
