"""fact_digests: per fact and date, the digest of the last load's extract slice and resolution

Revision ID: 0016
Revises: 0015
Create Date: 2024-01-16

The SQL of this step lives next to this file, in 0016_fact_digests/ (docs/decisions/0032).
"""

from __future__ import annotations

from pathlib import Path

from dw.warehouse.migrate import run_sql_files

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

SQL_DIR = Path(__file__).with_suffix("")


def upgrade() -> None:
    run_sql_files(SQL_DIR, ["fact_digests.sql", "load_audit.sql"])


def downgrade() -> None:
    run_sql_files(SQL_DIR, ["load_audit.downgrade.sql", "fact_digests.downgrade.sql"])
