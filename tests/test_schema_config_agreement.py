"""The warehouse config and the Alembic migrations describe the same schema
(docs/decisions/0045-migrations-from-config.md): a scratch database on the stack's PostgreSQL is
migrated with the revisions only (``upgrade_migrations``, nothing made from the YAML) and
compared with include/config/warehouse/*.yaml and types.yaml (``dw.warehouse.schema_diff``).
``make migration`` is tested end to end on a copy of include/: generated, applied, agreeing."""

from __future__ import annotations

import shutil

import psycopg
import pytest
import yaml

from dw import config, paths
from dw.warehouse.migrate import upgrade_migrations
from dw.warehouse.schema_diff import differences


def _differences(uri: str):
    config.clear_caches()  # the YAML as it is now
    with psycopg.connect(uri) as con, con.cursor() as cur:
        cur.execute("SET search_path = pg_catalog, pg_temp")
        return differences(cur, config.warehouse_tables(), config.warehouse_types())


def _report(diffs) -> str:
    return "the config and the migrations disagree:\n" + "\n".join(d.message() for d in diffs)


def test_config_and_migrations_agree(warehouse, dw_tables):
    upgrade_migrations(warehouse)
    diffs = _differences(warehouse)
    assert not diffs, _report(diffs)


@pytest.fixture
def include_copy(tmp_path, monkeypatch):
    """A copy of include/ (config, SQL, migrations) the test may change, in use through DW_INCLUDE_DIR."""
    inc = tmp_path / "include"
    shutil.copytree(paths.include_dir(), inc)
    monkeypatch.setenv("DW_INCLUDE_DIR", str(inc))
    config.clear_caches()
    yield inc
    config.clear_caches()


def _edit(inc, name, change):
    path = inc / "config" / "warehouse" / f"{name}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _grow(inc):
    """A new nullable column, a new table and a new enum value, as an engineer would add them."""
    _edit(inc, "organization_dim", lambda d: d["columns"].insert(3, {"name": "country", "type": "text"}))
    _edit(inc, "types", lambda d: d["types"]["operating_system_type"].insert(3, "freebsd"))
    team = yaml.safe_load((inc / "config" / "warehouse" / "organization_dim.yaml").read_text())
    team.update(table="team_dim", description="Teams.", lake_tables=["raw_mongo_organizations"])
    (inc / "config" / "warehouse" / "team_dim.yaml").write_text(yaml.safe_dump(team, sort_keys=False))
    (inc / "sql" / "athena" / "extract" / "team_dim.sql").write_text("select 1 -- placeholder\n")


def test_disagreement_names_the_yaml_file_and_what_differs(warehouse, stack, include_copy):
    upgrade_migrations(warehouse)
    _grow(include_copy)
    _edit(include_copy, "user_dim", lambda d: d["columns"].pop(2))  # email_hash dropped from the YAML
    messages = [d.message() for d in _differences(warehouse)]
    assert messages == [
        "include/config/warehouse/types.yaml: declares value 'freebsd' of dw.operating_system_type, which the "
        "migrations do not add: run `make migration NAME=...`",
        "include/config/warehouse/organization_dim.yaml: declares column dw.organization_dim.country (text), which "
        "the migrations do not add: run `make migration NAME=...`",
        "include/config/warehouse/team_dim.yaml: declares table dw.team_dim, which the migrations do not create: "
        "run `make migration NAME=...`",
        "include/config/warehouse/user_dim.yaml: does not declare column dw.user_dim.email_hash (text), which the "
        "migrations create: write the Alembic revision by hand",
    ], messages


def test_make_migration_writes_a_revision_that_brings_the_migrations_to_the_config(
        warehouse, stack, include_copy, capsys):
    from devstack import make_migration
    from dw.warehouse.migrate import head_revision, migrate

    old_head = head_revision()
    upgrade_migrations(warehouse)  # a warehouse at today's head, then the config grows
    with psycopg.connect(warehouse, autocommit=True) as con:
        # a load met the value upstream first (the run-time growth): the revision must not fail on it
        con.execute("ALTER TYPE dw.operating_system_type ADD VALUE IF NOT EXISTS 'freebsd'")
    _grow(include_copy)
    config.clear_caches()

    assert make_migration.main(["--name", "grow_config"], admin_uri=stack.info["pg_uri"]) == 0
    versions = include_copy / "sql" / "postgres" / "migrations" / "versions"
    rev = f"{int(old_head) + 1:04d}"
    py = versions / f"{rev}_grow_config.py"
    assert py.exists() and not (paths.MIGRATIONS_DIR / "versions" / py.name).exists()
    assert f'down_revision = {old_head!r}' in py.read_text()
    assert "COMMIT_AFTER = ('operating_system_type.sql',)" in py.read_text()
    folder = py.with_suffix("")
    assert sorted(p.name for p in folder.iterdir()) == [
        "operating_system_type.sql", "organization_dim.downgrade.sql", "organization_dim.sql",
        "team_dim.downgrade.sql", "team_dim.sql"]
    assert ("ALTER TYPE \"dw\".\"operating_system_type\" ADD VALUE IF NOT EXISTS 'freebsd' AFTER 'windows'"
            in (folder / "operating_system_type.sql").read_text())
    assert 'ADD COLUMN IF NOT EXISTS "country" text' in (folder / "organization_dim.sql").read_text()
    assert head_revision() == rev

    # applied to the warehouse at the old head, and to a new one: both agree with the config
    upgrade_migrations(warehouse)
    assert not _differences(warehouse), _report(_differences(warehouse))
    result = migrate(warehouse, config.warehouse_tables())
    assert result["revision"] == rev and result["created"] == []
    with psycopg.connect(warehouse) as con:
        # the value the load added stays where it was added (IF NOT EXISTS: the revision skipped it)
        assert con.execute("select enum_range(null::dw.operating_system_type)::text").fetchone()[0] == (
            "{linux,macos,windows,unknown,not_applicable,freebsd}")
        assert con.execute("select count(*) from dw.team_dim").fetchone()[0] == 2  # its two members
    capsys.readouterr()
    # a new scratch database migrated with the revisions, 0014 included, agrees too
    assert make_migration.main(["--name", "again"], admin_uri=stack.info["pg_uri"]) == 0
    assert "nothing to write" in capsys.readouterr().out
    assert not (versions / f"{int(rev) + 1:04d}_again.py").exists()

    # a change it does not write: listed with its file, nothing written
    _edit(include_copy, "user_dim", lambda d: d["columns"].pop(2))
    config.clear_caches()
    assert make_migration.main(["--name", "drop_hash"], admin_uri=stack.info["pg_uri"]) == 1
    err = capsys.readouterr().err
    assert "include/config/warehouse/user_dim.yaml: does not declare column dw.user_dim.email_hash" in err
    assert not list(versions.glob("*_drop_hash*"))
