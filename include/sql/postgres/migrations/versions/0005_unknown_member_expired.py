"""unknown_member_expired: the ledger dates that expired unresolved, with their counts

Revision ID: 0005
Revises: 0004
Create Date: 2024-01-05

The SQL of this step lives next to this file, in 0005_unknown_member_expired/ (written by the fact loads,
dw.warehouse.ledger.expire).
"""

from __future__ import annotations

from pathlib import Path

from dw.warehouse.migrate import run_sql_files

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SQL_DIR = Path(__file__).with_suffix("")
UPGRADE = ["unknown_member_expired.sql"]
DOWNGRADE = ["unknown_member_expired.downgrade.sql"]


def upgrade() -> None:
    run_sql_files(SQL_DIR, UPGRADE)


def downgrade() -> None:
    run_sql_files(SQL_DIR, DOWNGRADE)
