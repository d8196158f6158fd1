"""analyze_partition: the loads' ANALYZE of a fact partition, run as its owner

Revision ID: 0009
Revises: 0008
Create Date: 2024-01-09

The SQL of this step lives next to this file, in 0009_analyze_partition/
(docs/decisions/0030-partitioned-facts.md). ``dw.analyze_partition(name)``: SECURITY DEFINER,
owned by dw_owner, pinned search_path, ANALYZE of one partition of a partitioned table of dw
and nothing else; EXECUTE granted to dw_loader only (the loader owns no table, and ANALYZE needs
the owner).
"""

from __future__ import annotations

from pathlib import Path

from dw.warehouse.migrate import run_sql_files

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SQL_DIR = Path(__file__).with_suffix("")


def upgrade() -> None:
    run_sql_files(SQL_DIR, ["analyze_partition.sql"])


def downgrade() -> None:
    run_sql_files(SQL_DIR, ["analyze_partition.downgrade.sql"])
