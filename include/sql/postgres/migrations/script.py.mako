"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

The SQL of this step lives next to this file, in ${up_revision}_<slug>/, one file per table
and step; list them below in the order they run.
"""

from __future__ import annotations

from pathlib import Path

from dw.warehouse.migrate import run_sql_files

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}

SQL_DIR = Path(__file__).with_suffix("")
UPGRADE: list[str] = []
DOWNGRADE: list[str] = []


def upgrade() -> None:
    run_sql_files(SQL_DIR, UPGRADE)


def downgrade() -> None:
    run_sql_files(SQL_DIR, DOWNGRADE)
