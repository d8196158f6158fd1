"""fact_partitions: every fact partitioned by month of its date column, in place

Revision ID: 0007
Revises: 0005
Create Date: 2024-01-07

The SQL of this step lives next to this file, in 0007_fact_partitions/
(docs/decisions/0030-partitioned-facts.md). For each config-declared fact that exists as a plain
table, ``partition_fact.sql``'s function renames it, creates the partitioned table with the same
columns, primary key and comments, one partition per month that holds rows, copies the rows in
key order and drops the old table (one transaction: the fact is locked while its rows are
copied). Facts created later are partitioned by ``migrate`` (``dw.warehouse.ddl``).
"""

from __future__ import annotations

from pathlib import Path

from dw.warehouse.migrate import run_sql_files

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

SQL_DIR = Path(__file__).with_suffix("")


def _facts(relkind: str) -> list[str]:
    """The config's facts that exist in dw with ``relkind`` (r: plain, p: partitioned)."""
    from alembic import op

    from dw.config import warehouse_tables

    raw = op.get_bind().connection.dbapi_connection
    names = sorted(name for name, cfg in warehouse_tables().items() if cfg.kind == "fact")
    found = raw.execute(
        "SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relnamespace = 'dw'::regnamespace "
        "AND c.relkind = %s AND c.relname = ANY(%s) ORDER BY 1", (relkind, names)).fetchall()
    return [r[0] for r in found]


def _run(function_file: str, function: str, tables: list[str]) -> None:
    from alembic import op

    if not tables:
        return
    run_sql_files(SQL_DIR, [function_file])
    raw = op.get_bind().connection.dbapi_connection
    for t in tables:
        raw.execute(f"SELECT pg_temp.{function}(%s)", (t,))


def upgrade() -> None:
    _run("partition_fact.sql", "dw_0007_partition_fact", _facts("r"))


def downgrade() -> None:
    _run("partition_fact.downgrade.sql", "dw_0007_unpartition_fact", _facts("p"))
