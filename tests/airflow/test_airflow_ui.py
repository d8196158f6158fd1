"""The UI in headless Chromium (Debian's ``chromium``, driven by Playwright with
``executable_path``; Playwright never downloads a browser): log in, the warehouse DAG's graph
shows dimensions before facts, a task's runbook is rendered. Screenshots go to
``$DW_SCREENSHOTS`` (default ``.local/screenshots/``). Skipped where Chromium is absent;
``.ci/run`` installs it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.airflow,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (apt-get install chromium; .ci/run does)"),
]


@pytest.fixture
def page(live_airflow, api):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield signed_in(browser, live_airflow)
        finally:
            browser.close()


def signed_in(browser, live_airflow):
    """A new page of ``browser`` (UTC), logged in as admin."""
    page = browser.new_page(viewport={"width": 1800, "height": 1000}, timezone_id="UTC")
    page.set_default_timeout(60_000)
    page.goto(live_airflow.base_url + "/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(live_airflow.password())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_airflow.base_url + "/")
    return page


def _shots() -> Path:
    d = Path(os.environ.get("DW_SCREENSHOTS") or REPO / ".local" / "screenshots")
    d.mkdir(parents=True, exist_ok=True)
    return d


def _box(page, node_id: str) -> dict:
    node = page.locator(f'.react-flow__node[data-id="{node_id}"]')
    node.wait_for()
    return node.bounding_box()


def test_graph_shows_dimensions_before_facts(page, live_airflow):
    from dw.config import warehouse_tables

    page.goto(f"{live_airflow.base_url}/dags/warehouse")
    page.get_by_role("button", name="Show Graph (Press g)").click()
    # the groups: migrate and lake_ready, then dimensions, then facts, left to right
    dims, facts = _box(page, "dimensions"), _box(page, "facts")
    assert dims["x"] + dims["width"] <= facts["x"], (dims, facts)
    assert _box(page, "lake_ready")["x"] < dims["x"] and _box(page, "migrate")["x"] < dims["x"]

    page.get_by_role("button", name="Expand all task groups").click()
    loaded = {n: c for n, c in warehouse_tables().items() if c.loaded}
    dim_loads = [_box(page, f"dimensions.{n}.load") for n, c in loaded.items() if c.kind == "dimension"]
    fact_loads = [_box(page, f"facts.{n}.load") for n, c in loaded.items() if c.kind == "fact"]
    assert dim_loads and fact_loads
    assert max(b["x"] + b["width"] for b in dim_loads) <= min(b["x"] for b in fact_loads)
    page.get_by_role("button", name="Fit View").click()
    page.wait_for_timeout(500)
    page.screenshot(path=str(_shots() / "warehouse-graph.png"))


def test_a_tasks_runbook_is_rendered(page, live_airflow):
    from playwright.sync_api import expect

    page.goto(f"{live_airflow.base_url}/dags/warehouse/tasks/facts.job_ran_fact.load")
    page.get_by_role("button", name="Documentation").click()
    doc = page.get_by_role("dialog")
    # Markdown rendered, not shown as text: a heading, bold labels, inline code
    expect(doc.get_by_role("heading", name="load dw.job_ran_fact")).to_be_visible()
    for label in ("Reads", "Writes", "Clear", "When it fails", "Backfill"):
        assert doc.locator("li strong", has_text=label).count() >= 1, label
    assert doc.locator("code", has_text="dw.load_audit").count() >= 1
    assert "**Reads**" not in doc.inner_text()
    page.screenshot(path=str(_shots() / "task-runbook.png"))
