"""The DDL ``dw.warehouse.migrate`` runs for a config-declared table: ``CREATE TABLE`` with its
constraints and indexes, the probe table it compares an existing table's columns with, and the
dimension's unknown member (docs/decisions/0006-tables-from-config.md).

Facts are partitioned by month of their date column (``PARTITION BY RANGE``, no default
partition). ``ensure_partitions`` makes the monthly partitions a load's dates need, inside the
load's transaction (docs/decisions/0030-partitioned-facts.md): a new partition is created as a
plain table and attached, which takes SHARE UPDATE EXCLUSIVE on the parent (readers and other
tables' loads go on), not the ACCESS EXCLUSIVE of ``CREATE TABLE ... PARTITION OF``.
"""

from __future__ import annotations

import datetime as dt

from psycopg import sql

from dw.config import WAREHOUSE_SCHEMA, TableConfig
from dw.warehouse.sql import ANALYST_ROLE, LOADER_ROLE, ConfigError, column_defs, fact_key, ids, table_columns, table_ident, type_sql, unknown

# dw_created_at / dw_updated_at of the unknown members (fixed: a warehouse is a function of the lake).
UNKNOWN_AUDIT_TS = "2000-01-01 00:00:00+00"


def _constraint(cfg: TableConfig, suffix: str) -> sql.Identifier:
    return sql.Identifier(f"{cfg.table}_{suffix}"[:63])


def create_table(cfg: TableConfig) -> list[sql.Composed]:
    """``CREATE TABLE IF NOT EXISTS`` (and its extra indexes) for a config-declared table."""
    cols = table_columns(cfg)
    t = table_ident(cfg)
    if cfg.kind == "fact":
        before = sql.Identifier(WAREHOUSE_SCHEMA, before_partition_name(cfg))
        return [
            sql.SQL("CREATE TABLE IF NOT EXISTS {} (\n  {},\n  CONSTRAINT {} PRIMARY KEY ({})\n) PARTITION BY RANGE ({})").format(
                t, column_defs(cols), _constraint(cfg, "pkey"), ids(fact_key(cfg)), sql.Identifier(cfg.date_column)
            ),
            # dates before the calendar (dw.date_dim starts 2000-01-01); created with the parent so
            # that a load's first monthly partition never updates the parent's catalog row
            sql.SQL("CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM (MINVALUE) TO ({})").format(
                before, t, sql.Literal(FIRST_MONTH)),
            sql.SQL("REVOKE ALL ON {} FROM PUBLIC, {}").format(before, sql.Identifier(ANALYST_ROLE)),
        ]
    nk = ids(cfg.natural_key)
    if cfg.scd == 2:
        return [
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (\n  {},\n  CONSTRAINT {} PRIMARY KEY (id),\n"
                "  CONSTRAINT {} UNIQUE NULLS NOT DISTINCT ({}, valid_from),\n"
                "  CONSTRAINT {} CHECK (valid_from < valid_to)\n)"
            ).format(
                t, column_defs(cols), _constraint(cfg, "pkey"), _constraint(cfg, "version_key"), nk,
                _constraint(cfg, "valid_range"),
            ),
            sql.SQL("CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} ({}) NULLS NOT DISTINCT WHERE is_current").format(
                _constraint(cfg, "current_key"), t, nk
            ),
        ]
    return [
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (\n  {},\n  CONSTRAINT {} PRIMARY KEY (id),\n"
            "  CONSTRAINT {} UNIQUE NULLS NOT DISTINCT ({})\n)"
        ).format(t, column_defs(cols), _constraint(cfg, "pkey"), _constraint(cfg, "natural_key"), nk)
    ]


def expected_columns_table(cfg: TableConfig, name: str) -> sql.Composed:
    """A temp table with exactly the columns ``cfg`` declares (to compare with the real one)."""
    return sql.SQL("CREATE TEMP TABLE {} (\n  {}\n) ON COMMIT DROP").format(
        sql.Identifier(name), column_defs(table_columns(cfg))
    )


def unknown_member_insert(cfg: TableConfig) -> sql.Composed | None:
    """Insert the dimension's unknown member (id 0) unless it is there. Facts have none."""
    if cfg.kind != "dimension":
        return None
    names: list[str] = ["id"]
    values: list[sql.Composable] = [unknown()]
    for c in table_columns(cfg):
        if c.name in ("id", "valid_from", "valid_to", "is_current", "dw_created_at", "dw_updated_at"):
            continue
        v = cfg.unknown_member.get(c.name)
        if v is None:
            if c.not_null:
                raise ConfigError(f"table {cfg.table}: unknown_member needs a value for the NOT NULL column {c.name!r}")
            continue
        names.append(c.name)
        values.append(sql.SQL("CAST({} AS {})").format(sql.Literal(v), type_sql(c.type)))
    if cfg.scd == 2:
        names += ["valid_from", "valid_to", "is_current"]
        values += [sql.SQL("'-infinity'::timestamptz"), sql.SQL("'infinity'::timestamptz"), sql.SQL("true")]
    names += ["dw_created_at", "dw_updated_at"]
    ts = sql.SQL("{}::timestamptz").format(sql.Literal(UNKNOWN_AUDIT_TS))
    values += [ts, ts]
    # NOT EXISTS first: a plain read, so a migrate never waits on a load that holds the row.
    return sql.SQL(
        "INSERT INTO {t} ({cols}) SELECT {vals} WHERE NOT EXISTS (SELECT 1 FROM {t} WHERE id = {unk}) "
        "ON CONFLICT DO NOTHING"
    ).format(t=table_ident(cfg), cols=ids(names), vals=sql.SQL(", ").join(values), unk=unknown())


# --------------------------------------------------------------------------- fact partitions


# The first monthly partition: earlier dates go to the partition made with the table.
FIRST_MONTH = dt.date(2000, 1, 1)


def month_of(d: dt.date) -> dt.date:
    """The first day of ``d``'s partition (``FIRST_MONTH``'s predecessor stands for all earlier dates)."""
    return d.replace(day=1) if d >= FIRST_MONTH else dt.date(1999, 12, 1)


def next_month(m: dt.date) -> dt.date:
    return (m.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def partition_name(cfg: TableConfig, month: dt.date) -> str:
    """``<table>_pYYYY_MM``: the partition of ``cfg`` holding the dates of ``month``
    (``<table>_p_before`` for the dates before ``FIRST_MONTH``)."""
    if month < FIRST_MONTH:
        return before_partition_name(cfg)
    suffix = f"_p{month:%Y_%m}"
    return cfg.table[: 63 - len(suffix)] + suffix


def before_partition_name(cfg: TableConfig) -> str:
    return cfg.table[:54] + "_p_before"


def create_partition(cfg: TableConfig, month: dt.date) -> list[sql.Composed]:
    """The statements that make ``month``'s partition of the fact ``cfg`` (it must not exist):
    a plain table like the parent, then ``ATTACH PARTITION`` (SHARE UPDATE EXCLUSIVE on the
    parent, ACCESS EXCLUSIVE on the new, empty table only). The analyst reads the parent, never
    a partition directly."""
    part = sql.Identifier(WAREHOUSE_SCHEMA, partition_name(cfg, month))
    t = table_ident(cfg)
    return [
        sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)").format(part, t),
        sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
            t, part, sql.Literal(month), sql.Literal(next_month(month))),
        sql.SQL("REVOKE ALL ON {} FROM PUBLIC, {}").format(part, sql.Identifier(ANALYST_ROLE)),
    ]


def ensure_partitions(cur, cfg: TableConfig, dates) -> list[str] | None:
    """Create the missing monthly partitions of the fact ``cfg`` for ``dates`` (idempotent; run
    inside the load's transaction, after its advisory lock, so two loads of a table never race).
    Returns the names of the partitions created; None for a table that is not partitioned (not
    migrated yet by Alembic 0007), which is left alone."""
    if cfg.kind != "fact" or not dates:
        return []
    parent = cur.execute(
        "SELECT c.oid, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s", (WAREHOUSE_SCHEMA, cfg.table)).fetchone()
    if not parent or parent[1] != "p":
        return None
    have = {r[0] for r in cur.execute(
        "SELECT c.relname FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s", (parent[0],)).fetchall()}
    created = []
    for month in sorted({month_of(d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))) for d in dates}):
        part = partition_name(cfg, month)
        if part in have or month < FIRST_MONTH:
            continue
        for stmt in create_partition(cfg, month):
            cur.execute(stmt)
        # owned like every warehouse table (ANALYZE of a partition needs its owner)
        cur.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(
            sql.Identifier(WAREHOUSE_SCHEMA, part), sql.Identifier(LOADER_ROLE)))
        created.append(part)
    return created


def analyze_partitions(cfg: TableConfig, dates) -> list[sql.Composed]:
    """``ANALYZE`` of the partitions that hold ``dates`` (the fact load runs it when it wrote
    rows: autovacuum would get there later, and never analyzes the parent)."""
    months = sorted({month_of(d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))) for d in dates})
    return [sql.SQL("ANALYZE {}").format(sql.Identifier(WAREHOUSE_SCHEMA, partition_name(cfg, m))) for m in months]
