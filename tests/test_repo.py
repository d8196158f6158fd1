"""The repository's promises to a newcomer: the README's commands, CI, pins, compose."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_readme_first_screen_gives_demo_and_test_commands():
    first_screen = "\n".join((REPO / "README.md").read_text().splitlines()[:25])
    assert "make demo" in first_screen
    assert "make test" in first_screen


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^make test\b", ci, re.M)
    makefile = (REPO / "Makefile").read_text()
    # `make test` installs what it needs from the pinned requirements before running pytest
    assert re.search(r"^test: venv", makefile, re.M)
    assert "-r requirements-dev.txt -c constraints.txt" in makefile


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;]+)$", line)
        assert m, f"{path.name}: not pinned exactly: {line!r}"
        pins[m.group(1).lower().replace("_", "-")] = m.group(3)
    return pins


def test_requirements_are_pinned_and_duckdb_extension_matches():
    runtime = {**_pins(REPO / "requirements.txt"), **_pins(REPO / "requirements-duckdb.txt")}
    _pins(REPO / "requirements-dev.txt")
    constraints = _pins(REPO / "constraints.txt")
    assert runtime["duckdb"] == runtime["duckdb-extension-httpfs"]
    for name, version in runtime.items():
        assert constraints.get(name) == version, f"constraints.txt disagrees on {name}"


def test_compose_matches_the_code_connections():
    from dw.config import mongo_source, vendor_source
    from dw.hooks.connections import LAKE_CONN_ID, MIGRATE_CONN_ID, MONGO_CONN_ID, WAREHOUSE_CONN_ID

    compose = yaml.safe_load((REPO / "docker-compose.yaml").read_text())
    services = compose["services"]
    for needed in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                   "airflow-worker", "redis", "airflow-db", "warehouse-db", "minio", "mongodb"):
        assert needed in services
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    conn_ids = {k[len("AIRFLOW_CONN_"):].lower() for k in env if k.startswith("AIRFLOW_CONN_")}
    src = mongo_source()
    vendor_conns = {vendor_source(v).conn_id for v in ("stripe", "amplitude", "chargify")}
    assert conn_ids == {LAKE_CONN_ID, WAREHOUSE_CONN_ID, MIGRATE_CONN_ID, MONGO_CONN_ID, src.conn_id,
                        src.pii_key_conn_id} | vendor_conns
    assert "vendor-standins" in services
    for k in env:
        if k.startswith("AIRFLOW_CONN_"):
            json.loads(env[k])
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/dw/dags"
