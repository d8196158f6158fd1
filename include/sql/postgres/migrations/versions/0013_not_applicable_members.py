"""not_applicable_members: the config tables as migrations, and a Not applicable member per dimension

Revision ID: 0013
Revises: 0012
Create Date: 2024-01-13

The SQL of this step lives next to this file, in 0013_not_applicable_members/, one file per type
and table and step (docs/decisions/0044-not-applicable-members.md, 0045-migrations-from-config.md).

1. ``<table>.sql``: the eight config tables as of 0010, written by the generator of
   ``make migration`` (``CREATE TABLE``, comment, owner, grants). Until 0013 migrate made them
   from the YAML; a table that exists already (every live warehouse) is left alone, so this
   takes no lock on it.
2. ``<type>.sql``: ``not_applicable`` for the enum types of a dimension key
   (``ADD VALUE IF NOT EXISTS``), then a commit: a value is usable once committed.
3. ``<dimension>.not_applicable.sql``: each dimension's Not applicable member
   (id ``00000000-0000-0000-0000-000000000001``), unless it is there.

Downgrade deletes the Not applicable members only: the tables existed before 0013 in every
warehouse migrate made, and PostgreSQL cannot drop an enum value.
"""

from __future__ import annotations

from pathlib import Path

from dw.warehouse.migrate import run_sql_files

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SQL_DIR = Path(__file__).with_suffix("")
TABLES = ["activity_fact", "invoice_fact", "job_ran_fact", "organization_dim", "project_dim", "resource_dim",
          "subscription_dim", "user_dim"]
TYPES = ["project_visibility_type.sql", "operating_system_type.sql", "executor_type.sql"]
DIMENSIONS = ["organization_dim", "project_dim", "resource_dim", "subscription_dim", "user_dim"]


def _missing(tables: list[str]) -> list[str]:
    from alembic import op

    raw = op.get_bind().connection.dbapi_connection
    return [t for t in tables if raw.execute("SELECT to_regclass(%s) IS NULL", (f"dw.{t}",)).fetchone()[0]]


def upgrade() -> None:
    run_sql_files(SQL_DIR, [f"{t}.sql" for t in _missing(TABLES)])
    run_sql_files(SQL_DIR, TYPES, commit_after=(TYPES[-1],))
    run_sql_files(SQL_DIR, [f"{d}.not_applicable.sql" for d in DIMENSIONS])


def downgrade() -> None:
    run_sql_files(SQL_DIR, [f"{d}.not_applicable.downgrade.sql" for d in DIMENSIONS])
