"""load_quarantine: extract rows a load could not take, and the loads' growth of enumerated types

Revision ID: 0012
Revises: 0010
Create Date: 2024-01-12

The SQL of this step lives next to this file, in 0012_load_quarantine/
(docs/decisions/0043-enum-growth-and-load-quarantine.md). ``dw.load_quarantine``: one row per
extract row a load set aside (table, date, file, line, column, reason, the row as jsonb); the
analyst reads every column but the row. ``dw.add_enum_value(type, value)``: SECURITY DEFINER,
owned by dw_owner, pinned search_path, adds one label to an enumerated type of schema dw and
nothing else; EXECUTE granted to dw_loader only.
"""

from __future__ import annotations

from pathlib import Path

from dw.warehouse.migrate import run_sql_files

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

SQL_DIR = Path(__file__).with_suffix("")


def upgrade() -> None:
    run_sql_files(SQL_DIR, ["load_quarantine.sql", "add_enum_value.sql"])


def downgrade() -> None:
    run_sql_files(SQL_DIR, ["add_enum_value.downgrade.sql", "load_quarantine.downgrade.sql"])
