"""Shared fixtures: one embedded stack (PostgreSQL, moto S3, nx-27017 MongoDB, the vendor
stand-ins; ``devstack.stack``) per test session, real servers on 127.0.0.1, and fresh per-test
namespaces on them:

- ``warehouse``: a fresh PostgreSQL database, ``postgres_dw`` pointed at it
- ``lake``: a fresh S3 bucket, the lake config pointed at it (DW_LAKE_BUCKET)
- ``mongo_app``: the ``app`` database, emptied

Airflow runs with a throw-away AIRFLOW_HOME (SQLite metadata DB) under the session's
temp dir; connections come from AIRFLOW_CONN_* environment variables.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# plugins/ (the dw package) and the repository root (devstack, bench, tests.helpers)
for _path in (str(REPO), str(REPO / "plugins")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# Airflow settings must be in the environment before anything imports airflow.
_SESSION_HOME = Path(os.environ.get("DW_TEST_HOME") or f"/tmp/dw-etl-tests-{os.getpid()}")
os.environ.setdefault("AIRFLOW_HOME", str(_SESSION_HOME / "airflow"))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(REPO / "plugins"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
os.environ.setdefault("DW_REPO_ROOT", str(REPO))


FAST_TIER = REPO / "tests" / "fast"


def pytest_collection_modifyitems(config, items):
    """The fast tier (tests/fast, ``make test-fast``) starts no servers: none of its tests may use
    the ``stack`` fixture, directly or through another fixture."""
    for item in items:
        if FAST_TIER in Path(item.path).parents and "stack" in getattr(item, "fixturenames", ()):
            raise pytest.UsageError(f"{item.nodeid} uses the stack: the fast tier (tests/fast) runs no servers")


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The embedded stack for this session; its connections are in os.environ."""
    from devstack.stack import Stack

    st = Stack(state=_SESSION_HOME / "stack")
    st.up()
    saved = {k: os.environ.get(k) for k in st.environ()}
    os.environ.update(st.environ())
    yield st
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    st.down(quiet=True)


@pytest.fixture
def lake(stack, monkeypatch):
    """A fresh, empty lake bucket; returns a boto3 S3 client with ``.bucket`` set."""
    from dw.config import lake_config

    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    s3 = stack.boto3_client()
    s3.create_bucket(Bucket=bucket)
    monkeypatch.setenv("DW_LAKE_BUCKET", bucket)
    lake_config.cache_clear()
    s3.bucket = bucket  # type: ignore[attr-defined]
    yield s3
    lake_config.cache_clear()


@pytest.fixture
def warehouse(stack, monkeypatch):
    """A fresh, empty warehouse database; returns its psycopg URI. ``postgres_dw`` points at it."""
    import psycopg
    from psycopg import sql

    from tests.helpers import new_warehouse

    uri = new_warehouse(stack, monkeypatch)
    yield uri
    with psycopg.connect(stack.info["pg_uri"], autocommit=True) as con:
        con.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(uri.rsplit("/", 1)[1])))


@pytest.fixture
def dw_tables(monkeypatch, tmp_path):
    """The repository's warehouse config. ``warehouse_tables()`` also requires each loaded
    table's Athena extract SQL; while a tree lacks one, the tests run on a copy of include/
    with placeholder SQL files (only the YAML matters to migrate and load)."""
    from dw import config, paths

    config.clear_caches()
    try:
        tables = config.warehouse_tables()
    except ValueError as e:
        if "extract SQL" not in str(e):
            raise
        include = tmp_path / "include"
        shutil.copytree(paths.include_dir(), include)
        for y in (include / "config" / "warehouse").glob("*.yaml"):
            sql_file = include / "sql" / "athena" / "extract" / f"{y.stem}.sql"
            if not sql_file.exists():
                sql_file.write_text("select 1 -- placeholder for the warehouse tests\n")
        monkeypatch.setenv("DW_INCLUDE_DIR", str(include))
        config.clear_caches()
        tables = config.warehouse_tables()
    yield tables
    config.clear_caches()


@pytest.fixture
def mongo_app(stack):
    """The source MongoDB database ``app``, emptied."""
    import pymongo

    from dw.config import mongo_source

    client = pymongo.MongoClient(stack.info["mongo_uri"])
    db_name = mongo_source().database
    client.drop_database(db_name)
    yield client[db_name]
    client.close()


VENDOR_SCALE = 0.02
VENDOR_CLOCK = "2024-01-16T03:00:00+00:00"


@pytest.fixture
def vendor_standins(stack):
    """The Stripe, Amplitude and Chargify stand-ins of the session's stack, reset (no faults,
    empty request log, no rate-limit history) and set to seed 42, scale ``VENDOR_SCALE`` and
    the clock ``VENDOR_CLOCK``. Returns ``{vendor: {"url", "key", "secret", ...}}``."""
    from devstack import vendors

    info = stack.info["vendors"]
    for name, v in info.items():
        vendors.reset(v["url"])
        vendors.configure(v["url"], seed=42, scale=VENDOR_SCALE, rate_limit=vendors.vendor_class(name).default_rate_limit,
                          rate_window=1.0)
        vendors.set_clock(v["url"], VENDOR_CLOCK)
    yield info
    for v in info.values():
        vendors.reset(v["url"])
