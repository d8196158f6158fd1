"""unknown_member_dates: the ledger of fact dates that hold unknown members which may still resolve

Revision ID: 0003
Revises: 0002
Create Date: 2024-01-03

The SQL of this step lives next to this file, in 0003_unknown_member_dates/
(docs/decisions/0014-unknown-member-ledger.md).
"""

from __future__ import annotations

from pathlib import Path

from dw.warehouse.migrate import run_sql_files

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SQL_DIR = Path(__file__).with_suffix("")
UPGRADE = ["unknown_member_dates.sql"]
DOWNGRADE = ["unknown_member_dates.downgrade.sql"]


def upgrade() -> None:
    run_sql_files(SQL_DIR, UPGRADE)


def downgrade() -> None:
    run_sql_files(SQL_DIR, DOWNGRADE)
