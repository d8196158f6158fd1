"""The DDL ``dw.warehouse.migrate`` runs for a config-declared table: ``CREATE TABLE`` with its
constraints and indexes, the probe table it compares an existing table's columns with, and the
dimension's unknown member (docs/decisions/0006-tables-from-config.md)."""

from __future__ import annotations

from psycopg import sql

from dw.config import TableConfig
from dw.warehouse.sql import ConfigError, column_defs, fact_key, ids, table_columns, table_ident, type_sql, unknown

# dw_created_at / dw_updated_at of the unknown members (fixed: a warehouse is a function of the lake).
UNKNOWN_AUDIT_TS = "2000-01-01 00:00:00+00"


def _constraint(cfg: TableConfig, suffix: str) -> sql.Identifier:
    return sql.Identifier(f"{cfg.table}_{suffix}"[:63])


def create_table(cfg: TableConfig) -> list[sql.Composed]:
    """``CREATE TABLE IF NOT EXISTS`` (and its extra indexes) for a config-declared table."""
    cols = table_columns(cfg)
    t = table_ident(cfg)
    if cfg.kind == "fact":
        return [
            sql.SQL("CREATE TABLE IF NOT EXISTS {} (\n  {},\n  CONSTRAINT {} PRIMARY KEY ({})\n)").format(
                t, column_defs(cols), _constraint(cfg, "pkey"), ids(fact_key(cfg))
            )
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
