"""late_updates: per fact and day, the documents updated beyond the look-back that its extract saw

Revision ID: 0015
Revises: 0013
Create Date: 2024-01-15

The SQL of this step lives next to this file, in 0015_late_updates/.
"""

from __future__ import annotations

from pathlib import Path

from dw.warehouse.migrate import run_sql_files

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

SQL_DIR = Path(__file__).with_suffix("")


def upgrade() -> None:
    run_sql_files(SQL_DIR, ["late_updates.sql"])


def downgrade() -> None:
    run_sql_files(SQL_DIR, ["late_updates.downgrade.sql"])
