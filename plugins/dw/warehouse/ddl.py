"""The DDL ``dw.warehouse.migrate`` runs for a config-declared table: ``CREATE TABLE`` with its
constraints and indexes, the probe table it compares an existing table's columns with, and the
dimension's fixed members, Unknown and Not applicable (docs/decisions/0006-tables-from-config.md,
0044-not-applicable-members.md).

Facts are partitioned by month of their date column (``PARTITION BY RANGE``, no default
partition; docs/decisions/0030-partitioned-facts.md). The migrate task, as the owner, makes the
monthly partitions its run's loads can write (``ensure_partitions``): a new
partition is created as a plain table owned by ``dw_owner`` and attached, which takes SHARE
UPDATE EXCLUSIVE on the parent (readers and running loads go on), not the ACCESS EXCLUSIVE of
``CREATE TABLE ... PARTITION OF``. A load only checks that its dates' partitions exist
(``missing_partitions``) and analyzes the ones it changed through ``dw.analyze_partition``
(Alembic 0009), since the loader owns nothing.

An SCD2 dimension also has ``dw.<table>_observations`` (``create_observations``): the
observations of every day loaded, from which its load rebuilds a key's versions
(docs/decisions/0021).
"""

from __future__ import annotations

import datetime as dt

from psycopg import sql

from dw.config import WAREHOUSE_SCHEMA, TableConfig
from dw.warehouse.sql import (
    ANALYST_ROLE,
    LOADER_ROLE,
    OWNER_ROLE,
    ConfigError,
    column_defs,
    fact_key,
    ids,
    members,
    not_applicable,
    table_columns,
    table_ident,
    type_sql,
    unknown,
)

# dw_created_at / dw_updated_at of the fixed members (fixed: a warehouse is a function of the lake).
UNKNOWN_AUDIT_TS = "2000-01-01 00:00:00+00"


def _constraint(cfg: TableConfig, suffix: str) -> sql.Identifier:
    return sql.Identifier(f"{cfg.table}_{suffix}"[:63])


def table_comment(cfg: TableConfig) -> sql.Composed:
    """The table's comment: its description and the YAML it comes from."""
    return sql.SQL("COMMENT ON TABLE {} IS {}").format(
        table_ident(cfg), sql.Literal(f"{cfg.description.strip()} (include/config/warehouse/{cfg.table}.yaml)"))


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
            sql.SQL("REVOKE ALL ON {} FROM PUBLIC, {}, {}").format(
                before, sql.Identifier(ANALYST_ROLE), sql.Identifier(LOADER_ROLE)),
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(before, sql.Identifier(LOADER_ROLE)),
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


def observations_ident(cfg: TableConfig) -> sql.Identifier:
    """``dw.<table>_observations``: an SCD2 dimension's observations, per day loaded (0021)."""
    return sql.Identifier(WAREHOUSE_SCHEMA, f"{cfg.table}_observations")


def create_observations(cfg: TableConfig) -> list[sql.Composed]:
    """An SCD2 dimension's observations table (``dt``: the day whose load recorded them, NULL for
    those seeded from the versions the dimension held when the table was made), and the seed:
    each version's first and latest observation, from which the rebuild gives the same versions
    (docs/decisions/0021)."""
    from dw.warehouse.sql import WColumn, stage_not_null

    t, dim = observations_ident(cfg), table_ident(cfg)
    cols = [WColumn(c.name, c.type, stage_not_null(cfg, c.name)) for c in cfg.columns]
    nk = ids(cfg.natural_key)
    names = cfg.column_names
    first = [sql.SQL("v.valid_from") if n == cfg.version_column else sql.Identifier("v", n) for n in names]
    return [
        sql.SQL("CREATE TABLE {} (\n  dt date,\n  {}\n)").format(t, column_defs(cols)),
        sql.SQL("CREATE INDEX {} ON {} ({})").format(_constraint(cfg, "observations_key"), t, nk),
        sql.SQL("CREATE INDEX {} ON {} (dt)").format(_constraint(cfg, "observations_dt"), t),
        sql.SQL("INSERT INTO {t} ({cols}) SELECT {latest} FROM {dim} AS v WHERE v.id NOT IN {members}\n"
                "UNION SELECT {first} FROM {dim} AS v WHERE v.id NOT IN {members} AND v.valid_from > '-infinity'").format(
            t=t, cols=ids(names), latest=ids(names, "v"), dim=dim, members=members(),
            first=sql.SQL(", ").join(first)),
    ]


def expected_columns_table(cfg: TableConfig, name: str) -> sql.Composed:
    """A temp table with exactly the columns ``cfg`` declares (to compare with the real one)."""
    return sql.SQL("CREATE TEMP TABLE {} (\n  {}\n) ON COMMIT DROP").format(
        sql.Identifier(name), column_defs(table_columns(cfg))
    )


def member_inserts(cfg: TableConfig) -> list[sql.Composed]:
    """Insert the dimension's two fixed members unless they are there: Unknown (id 0, from
    ``unknown_member``) and Not applicable (id 1, from ``not_applicable_member``;
    docs/decisions/0044). Facts have none."""
    if cfg.kind != "dimension":
        return []
    return [_member_insert(cfg, "unknown_member", cfg.unknown_member, unknown()),
            _member_insert(cfg, "not_applicable_member", cfg.not_applicable_member, not_applicable())]


def _member_insert(cfg: TableConfig, field: str, member: dict, member_id: sql.Composed) -> sql.Composed:
    names: list[str] = ["id"]
    values: list[sql.Composable] = [member_id]
    for c in table_columns(cfg):
        if c.name in ("id", "valid_from", "valid_to", "is_current", "dw_created_at", "dw_updated_at"):
            continue
        v = member.get(c.name)
        if v is None:
            if c.not_null:
                raise ConfigError(f"table {cfg.table}: {field} needs a value for the NOT NULL column {c.name!r}")
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
        "INSERT INTO {t} ({cols}) SELECT {vals} WHERE NOT EXISTS (SELECT 1 FROM {t} WHERE id = {mid}) "
        "ON CONFLICT DO NOTHING"
    ).format(t=table_ident(cfg), cols=ids(names), vals=sql.SQL(", ").join(values), mid=member_id)


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
    a plain table like the parent, owned by ``dw_owner``, then ``ATTACH PARTITION`` (SHARE UPDATE
    EXCLUSIVE on the parent, ACCESS EXCLUSIVE on the new, empty table only). The loader writes its
    rows; the analyst reads the parent, never a partition directly."""
    part = sql.Identifier(WAREHOUSE_SCHEMA, partition_name(cfg, month))
    t = table_ident(cfg)
    loader = sql.Identifier(LOADER_ROLE)
    return [
        sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)").format(part, t),
        sql.SQL("ALTER TABLE {} OWNER TO {}").format(part, sql.Identifier(OWNER_ROLE)),
        sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
            t, part, sql.Literal(month), sql.Literal(next_month(month))),
        sql.SQL("REVOKE ALL ON {} FROM PUBLIC, {}, {}").format(part, sql.Identifier(ANALYST_ROLE), loader),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(part, loader),
    ]


def _months(dates) -> list[dt.date]:
    return sorted({month_of(d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))) for d in dates})


def _partitions(cur, cfg: TableConfig) -> set[str] | None:
    """The partitions of the fact ``cfg``; None if it is not a partitioned table."""
    parent = cur.execute(
        "SELECT c.oid, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s", (WAREHOUSE_SCHEMA, cfg.table)).fetchone()
    if not parent or parent[1] != "p":
        return None
    return {r[0] for r in cur.execute(
        "SELECT c.relname FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s", (parent[0],)).fetchall()}


def ensure_partitions(cur, cfg: TableConfig, dates) -> list[str] | None:
    """Create the missing monthly partitions of the fact ``cfg`` for the months of ``dates``
    (idempotent; run by migrate, as the owner, under its advisory lock). Returns the names of the
    partitions created; None for a table that is not partitioned, which is left alone."""
    if cfg.kind != "fact":
        return []
    have = _partitions(cur, cfg)
    if have is None:
        return None
    created = []
    for month in _months(dates):
        part = partition_name(cfg, month)
        if part in have or month < FIRST_MONTH:
            continue
        for stmt in create_partition(cfg, month):
            cur.execute(stmt)
        created.append(part)
    return created


def missing_partitions(cur, cfg: TableConfig, dates) -> dict[str, str] | None:
    """``{date: partition}`` of the ``dates`` whose monthly partition of the fact ``cfg`` does not
    exist (the load's check: it makes none); None for a table that is not partitioned."""
    have = _partitions(cur, cfg)
    if have is None:
        return None
    out = {}
    for d in sorted(dates):
        part = partition_name(cfg, month_of(d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))))
        if part not in have:
            out[str(d)] = part
    return out


def analyze_partitions(cfg: TableConfig, dates) -> list[sql.Composed]:
    """``dw.analyze_partition`` of the partitions that hold ``dates`` (the fact load runs it when
    it wrote rows: autovacuum would get there later, and never analyzes the parent). The function
    (Alembic 0009, SECURITY DEFINER, owner ``dw_owner``) analyzes a partition of a partitioned
    table of dw and nothing else: the loader owns nothing."""
    return [sql.SQL("SELECT {}({})").format(sql.Identifier(WAREHOUSE_SCHEMA, "analyze_partition"),
                                            sql.Literal(partition_name(cfg, m))) for m in _months(dates)]
