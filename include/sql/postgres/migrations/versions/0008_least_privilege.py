"""least_privilege: an owner role apart from the loader; explicit grants only; CREATE on public revoked

Revision ID: 0008
Revises: 0007
Create Date: 2024-01-08

The SQL of this step lives next to this file, in 0008_least_privilege/, one file per step
(docs/decisions/0041-least-privilege-and-the-vendor-pair.md).
"""

from __future__ import annotations

from pathlib import Path

from dw.warehouse.migrate import run_sql_files

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SQL_DIR = Path(__file__).with_suffix("")
UPGRADE = ["roles.sql", "ownership.sql", "privileges.sql", "public_schema.sql"]
DOWNGRADE = ["privileges.downgrade.sql", "ownership.downgrade.sql"]


def upgrade() -> None:
    run_sql_files(SQL_DIR, UPGRADE)


def downgrade() -> None:
    run_sql_files(SQL_DIR, DOWNGRADE)
