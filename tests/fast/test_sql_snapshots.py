"""Every statement the warehouse generates for the tables of include/config/warehouse/, compared
with the golden files under tests/fast/snapshots/ (one file per table, plus ``session.sql``).
No server: statements are rendered with ``psycopg.sql``'s ``as_string(None)``.

A change to generated SQL shows up here as a diff. When it is intended, regenerate the golden
files and commit them with the change:

    DW_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -q tests/fast/test_sql_snapshots.py
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
CONFIG_DIR = REPO / "include" / "config"
UPDATE = os.environ.get("DW_UPDATE_SNAPSHOTS", "") not in ("", "0")
MARK = "-- @@ "


class RecordingCursor:
    """Stands in for a psycopg cursor: keeps the statements, answers every fetch with 0."""

    def __init__(self):
        self.statements = []

    def execute(self, stmt, params=None):
        self.statements.append(stmt)
        return self

    def fetchone(self):
        return (0,)


def _text(stmts) -> str:
    if stmts is None:
        return "(none)"
    if not isinstance(stmts, list):
        stmts = [stmts]
    return "\n;\n".join(s.as_string(None) for s in stmts)


def _tables():
    from dw.config import warehouse_tables

    return warehouse_tables(CONFIG_DIR)


def render_session() -> dict[str, str]:
    from dw.warehouse import quarantine
    from dw.warehouse.sql import RESOLVED, STAGE, analyze, session_settings

    return {
        "session_settings": _text(session_settings()),
        "analyze(STAGE)": _text(analyze(STAGE)),
        "analyze(RESOLVED)": _text(analyze(RESOLVED)),
        "quarantine.replace_quarantine[common path]": _text(quarantine.replace_quarantine(False)),
        "quarantine.replace_quarantine[rows quarantined]": _text(quarantine.replace_quarantine(True)),
    }


def render_table(name: str) -> dict[str, str]:
    """Statement name -> SQL text, for every statement generated for ``dw.<name>``."""
    from dw.warehouse import ddl, dimension_sql, fact_sql, ledger
    from dw.warehouse.sql import copy_stage, create_stage

    tables = _tables()
    cfg = tables[name]
    out = {
        "create_table": _text(ddl.create_table(cfg)),
        "expected_columns_table": _text(ddl.expected_columns_table(cfg, f"_dw_expected_{name}"[:63])),
        "member_inserts": _text(ddl.member_inserts(cfg) or None),
        "create_stage": _text(create_stage(cfg)),
        "copy_stage": _text(copy_stage(cfg)),
        **render_quarantine(cfg),
    }
    if cfg.kind == "dimension" and cfg.scd == 2:
        out["create_observations"] = _text(ddl.create_observations(cfg))
        out["scd2_observe"] = _text(dimension_sql.scd2_observe(cfg))
        for step, stmt in dimension_sql.scd2_statements(cfg).items():
            out[f"scd2_statements[{step}]"] = _text(stmt)
    elif cfg.kind == "dimension":
        out["dimension_upsert"] = _text(dimension_sql.dimension_upsert(cfg))
    else:
        out["fact_resolve"] = _text(fact_sql.fact_resolve(cfg, tables))
        out["fact_dates"] = _text(fact_sql.fact_dates(cfg))
        out["fact_holds_dates"] = _text(fact_sql.fact_holds_dates(cfg))
        out["fact_insert"] = _text(fact_sql.fact_insert(cfg))
        out["fact_merge"] = _text(fact_sql.fact_merge(cfg))
        out["create_partition[2024-12]"] = _text(ddl.create_partition(cfg, dt.date(2024, 12, 1)))
        out["analyze_partitions[2024-01-31, 2024-02-01]"] = _text(
            ddl.analyze_partitions(cfg, [dt.date(2024, 1, 31), dt.date(2024, 2, 1)]))
        cur = RecordingCursor()
        ledger.record(cur, cfg, tables, [dt.date(2024, 1, 1)], dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc))
        for i, stmt in enumerate(cur.statements):
            out[f"ledger.record[{i}]"] = _text(stmt)
    return out


def render_quarantine(cfg) -> dict[str, str]:
    """The contracts path's statements (dw.warehouse.quarantine): every column refusing its
    values, then every nullable column NULLing them (discard_value)."""
    from dw.contracts import Change
    from dw.warehouse import quarantine
    from dw.warehouse.sql import stage_not_null

    def refused(mode):
        out = [Change("warehouse", cfg.table, c.name, "data_type", c.type, 1, mode) for c in cfg.columns
               if c.type != "text" and (mode == "discard_row" or not stage_not_null(cfg, c.name))]
        return out + [Change("warehouse", cfg.table, c.name, "data_type", "NULL", 1, "discard_row")
                      for c in cfg.columns if mode == "discard_row" and stage_not_null(cfg, c.name)]

    return {
        "quarantine.create_raw": _text(quarantine.create_raw(cfg)),
        "quarantine.copy_raw": _text(quarantine.copy_raw(cfg)),
        "quarantine.counts": _text(quarantine.counts(cfg)[0]),
        "quarantine.create_quarantined[every column refused]": _text(quarantine.create_quarantined(cfg, refused("discard_row"))),
        "quarantine.fill_stage[every column refused]": _text(quarantine.fill_stage(cfg, refused("discard_row"))),
        "quarantine.fill_stage[nullable columns discard_value]": _text(quarantine.fill_stage(cfg, refused("discard_value"))),
    }


def _dump(statements: dict[str, str]) -> str:
    return "".join(f"{MARK}{name}\n{text}\n\n" for name, text in statements.items())


def _parse(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    name = None
    lines: list[str] = []
    for line in text.split("\n"):
        if line.startswith(MARK):
            if name is not None:
                out[name] = "\n".join(lines).rstrip("\n")
            name, lines = line[len(MARK):], []
        else:
            lines.append(line)
    if name is not None:
        out[name] = "\n".join(lines).rstrip("\n")
    return out


def _check(label: str, statements: dict[str, str], path: Path) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_dump(statements))
        return
    rel = path.relative_to(REPO)
    if not path.exists():
        pytest.fail(f"{label}: no snapshot file {rel}; run with DW_UPDATE_SNAPSHOTS=1 to write it")
    golden = _parse(path.read_text())
    for name, text in statements.items():
        if name not in golden:
            pytest.fail(f"{label}: statement {name} is not in the snapshot file {rel} (DW_UPDATE_SNAPSHOTS=1 adds it)")
        if text != golden[name]:
            diff = "\n".join(difflib.unified_diff(golden[name].split("\n"), text.split("\n"), f"{rel} ({name})",
                                                  f"generated ({name})", lineterm=""))
            pytest.fail(f"{label}: statement {name} differs from the snapshot file {rel} "
                        f"(DW_UPDATE_SNAPSHOTS=1 rewrites it if the change is intended):\n{diff}")
    extra = sorted(set(golden) - set(statements))
    if extra:
        pytest.fail(f"{label}: the snapshot file {rel} holds statements no longer generated: {extra}")


def test_session_statements():
    _check("session statements", render_session(), SNAPSHOTS / "session.sql")


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONFIG_DIR / "warehouse").glob("*.yaml") if p.name != "types.yaml"))
def test_table_statements(name):
    _check(f"table {name}", render_table(name), SNAPSHOTS / f"{name}.sql")


def test_no_stale_snapshot_files():
    tables = {p.stem for p in (CONFIG_DIR / "warehouse").glob("*.yaml") if p.name != "types.yaml"} | {"session"}
    stale = sorted(p.name for p in SNAPSHOTS.glob("*.sql") if p.stem not in tables)
    assert not stale, f"snapshot files of tables that no longer exist in include/config/warehouse/: {stale}"


def test_partition_months_and_names():
    """Monthly partitions: a date's month, the next month's first day (year end included), and a
    name that stays within PostgreSQL's 63 characters."""
    from dw.warehouse import ddl

    cfg = _tables()["job_ran_fact"]
    assert ddl.month_of(dt.date(2024, 2, 29)) == dt.date(2024, 2, 1)
    assert ddl.next_month(dt.date(2024, 12, 1)) == dt.date(2025, 1, 1)
    assert ddl.next_month(dt.date(2024, 1, 1)) == dt.date(2024, 2, 1)
    assert ddl.partition_name(cfg, dt.date(2024, 1, 1)) == "job_ran_fact_p2024_01"
    long = cfg.model_copy(update={"table": "f" * 63})
    assert len(ddl.partition_name(long, dt.date(2024, 1, 1))) == 63
