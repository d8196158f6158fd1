"""schema_changes: the ledger of upstream changes the platform saw and what it did with each

Revision ID: 0010
Revises: 0009
Create Date: 2024-01-10

The SQL of this step lives next to this file, in 0010_schema_changes/.
"""

from __future__ import annotations

from pathlib import Path

from dw.warehouse.migrate import run_sql_files

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SQL_DIR = Path(__file__).with_suffix("")


def upgrade() -> None:
    run_sql_files(SQL_DIR, ["schema_changes.sql"])


def downgrade() -> None:
    run_sql_files(SQL_DIR, ["schema_changes.downgrade.sql"])
