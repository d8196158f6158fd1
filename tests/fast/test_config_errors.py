"""A bad warehouse table config fails when it loads, with a message naming the file and the
field. No server: each test edits a copy of include/config/warehouse/ (and the extract SQL
files) in a temp include tree and loads it with ``warehouse_tables(config_dir)``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def include(tmp_path) -> Path:
    """A temp include tree with the repository's warehouse config and extract SQL."""
    inc = tmp_path / "include"
    shutil.copytree(REPO / "include" / "config" / "warehouse", inc / "config" / "warehouse")
    shutil.copytree(REPO / "include" / "sql" / "athena" / "extract", inc / "sql" / "athena" / "extract")
    return inc


def _edit(include: Path, table: str, change) -> Path:
    path = include / "config" / "warehouse" / f"{table}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _column(data: dict, name: str) -> dict:
    return next(c for c in data["columns"] if c["name"] == name)


def _load_error(include: Path) -> str:
    from dw.config import warehouse_tables

    with pytest.raises(ValueError) as e:
        warehouse_tables(include / "config")
    return str(e.value)


def test_the_unchanged_tree_loads(include):
    from dw.config import warehouse_tables

    tables = warehouse_tables(include / "config")
    assert {"user_dim", "job_ran_fact", "subscription_dim"} <= set(tables)


def _set_match(match: dict):
    def change(d):
        d["lookups"][0]["match"] = match

    return change


def _set_dimension(d):
    d["lookups"][0]["dimension"] = "activity_fact"


# (id, table whose YAML is edited, edit, what the message says besides the file)
BAD_TABLES = [
    ("bad identifier", "user_dim", lambda d: _column(d, "login").update(name="Login-Name"),
     ["columns.1.name", "should match pattern"]),
    ("unknown type", "user_dim", lambda d: _column(d, "login").update(type="varchar(20)"),
     ["columns.1.type", "unsupported column type 'varchar(20)'"]),
    ("unknown key", "user_dim", lambda d: d.update(natural_keys=d.pop("natural_key")),
     ["natural_keys", "Extra inputs are not permitted"]),
    ("fact without date column", "job_ran_fact", lambda d: d.pop("date_column"),
     ["a fact needs date_column"]),
    ("nullable grain column", "job_ran_fact", lambda d: _column(d, "dlc").update(nullable=True),
     ["grain column 'dlc' must be declared nullable: false"]),
    ("measure in the grain", "job_ran_fact", lambda d: d["grain"].append("jobs_ran"),
     ["measure 'jobs_ran' is in the grain"]),
    ("lookup on a missing extract column", "job_ran_fact", _set_match({"analytics_id": "org_analytics_id"}),
     ["lookup organization_id matches on 'org_analytics_id', not an extract column"]),
    ("lookup to a non-dimension", "job_ran_fact", _set_dimension,
     ["lookups: organization_id names 'activity_fact', not a dimension"]),
    ("lookup to a missing dimension column", "job_ran_fact", _set_match({"analytics_key": "organization_analytics_id"}),
     ["lookups: organization_id: organization_dim has no column 'analytics_key'"]),
    ("table named unlike its file", "user_dim", lambda d: d.update(table="users_dim"),
     ["table 'users_dim' must match the file name"]),
    ("SCD2 without version column", "subscription_dim", lambda d: d.pop("version_column"),
     ["an SCD2 dimension needs version_column"]),
    ("duplicate column", "user_dim", lambda d: d["columns"].append({"name": "login", "type": "text"}),
     ["duplicate column names"]),
]


@pytest.mark.parametrize("table, change, expected", [c[1:] for c in BAD_TABLES], ids=[c[0] for c in BAD_TABLES])
def test_bad_table_config(include, table, change, expected):
    path = _edit(include, table, change)
    msg = _load_error(include)
    assert str(path) in msg
    for text in expected:
        assert text in msg


def test_missing_extract_sql(include):
    sql = include / "sql" / "athena" / "extract" / "user_dim.sql"
    sql.unlink()
    msg = _load_error(include)
    assert str(include / "config" / "warehouse" / "user_dim.yaml") in msg
    assert f"extract SQL {sql} is missing" in msg


def test_not_yaml(include):
    path = include / "config" / "warehouse" / "user_dim.yaml"
    path.write_text("table: user_dim\ncolumns: [\n")
    msg = _load_error(include)
    assert str(path) in msg
    assert "not valid YAML" in msg


def test_unknown_member_of_a_not_null_natural_key(include):
    """Found when migrate builds the unknown member (server-free here): the message names the
    table and the column."""
    from dw.config import warehouse_tables
    from dw.warehouse.ddl import member_inserts
    from dw.warehouse.sql import ConfigError

    _edit(include, "user_dim", lambda d: d["unknown_member"].pop("analytics_id"))
    cfg = warehouse_tables(include / "config")["user_dim"]
    with pytest.raises(ConfigError, match="table user_dim: unknown_member needs a value for the NOT NULL column 'analytics_id'"):
        member_inserts(cfg)


def test_not_applicable_member_of_a_not_null_natural_key(include):
    from dw.config import warehouse_tables
    from dw.warehouse.ddl import member_inserts
    from dw.warehouse.sql import ConfigError

    _edit(include, "resource_dim", lambda d: d["not_applicable_member"].pop("executor"))
    cfg = warehouse_tables(include / "config")["resource_dim"]
    with pytest.raises(ConfigError, match="table resource_dim: not_applicable_member needs a value for the NOT NULL column 'executor'"):
        member_inserts(cfg)


def test_the_two_members_need_different_natural_keys(include):
    _edit(include, "organization_dim", lambda d: d["not_applicable_member"].update(analytics_id=d["unknown_member"]["analytics_id"]))
    msg = _load_error(include)
    assert "organization_dim.yaml" in msg
    assert "unknown_member and not_applicable_member need different natural keys (analytics_id)" in msg


def test_include_dir_from_the_environment(include, monkeypatch):
    """``DW_INCLUDE_DIR`` points the default loader at the tree."""
    from dw import config

    _edit(include, "job_ran_fact", lambda d: d.pop("date_column"))
    monkeypatch.setenv("DW_INCLUDE_DIR", str(include))
    config.clear_caches()
    try:
        with pytest.raises(ValueError, match="(?s)job_ran_fact.yaml: .*a fact needs date_column"):
            config.warehouse_tables()
    finally:
        monkeypatch.delenv("DW_INCLUDE_DIR")
        config.clear_caches()
