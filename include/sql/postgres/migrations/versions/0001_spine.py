"""spine: roles, schema dw, enum types, dw.date_dim, privileges

Revision ID: 0001
Revises:
Create Date: 2024-01-01

The SQL of this step lives next to this file, in 0001_spine/, one file per table and step.
The config-declared tables (include/config/warehouse/*.yaml) are not created here: migrate
creates each one that does not exist yet from its config (docs/decisions/0006).
"""

from __future__ import annotations

from pathlib import Path

from dw.warehouse.migrate import run_sql_files

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SQL_DIR = Path(__file__).with_suffix("")
UPGRADE = ["roles.sql", "schema.sql", "types.sql", "date_dim.sql", "privileges.sql"]
DOWNGRADE = ["date_dim.downgrade.sql", "types.downgrade.sql"]


def upgrade() -> None:
    run_sql_files(SQL_DIR, UPGRADE)


def downgrade() -> None:
    run_sql_files(SQL_DIR, DOWNGRADE)
