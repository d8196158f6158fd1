"""load_audit: one row per warehouse table load (the load ledger)

Revision ID: 0002
Revises: 0001
Create Date: 2024-01-02

The SQL of this step lives next to this file, in 0002_load_audit/.
"""

from __future__ import annotations

from pathlib import Path

from dw.warehouse.migrate import run_sql_files

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQL_DIR = Path(__file__).with_suffix("")
UPGRADE = ["load_audit.sql"]
DOWNGRADE = ["load_audit.downgrade.sql"]


def upgrade() -> None:
    run_sql_files(SQL_DIR, UPGRADE)


def downgrade() -> None:
    run_sql_files(SQL_DIR, DOWNGRADE)
