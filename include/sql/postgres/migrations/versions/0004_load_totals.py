"""load_totals: per fact and date, rows and measure sums of the extract and of the warehouse

Revision ID: 0004
Revises: 0003
Create Date: 2024-01-04

The SQL of this step lives next to this file, in 0004_load_totals/ (read by the Warehouse view,
plugins/dw/ui).
"""

from __future__ import annotations

from pathlib import Path

from dw.warehouse.migrate import run_sql_files

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SQL_DIR = Path(__file__).with_suffix("")
UPGRADE = ["load_totals.sql"]
DOWNGRADE = ["load_totals.downgrade.sql"]


def upgrade() -> None:
    run_sql_files(SQL_DIR, UPGRADE)


def downgrade() -> None:
    run_sql_files(SQL_DIR, DOWNGRADE)
