"""What every warehouse statement shares: session settings, identifiers, column types, the
shape of a table (``table_columns``), the stage, surrogate keys and null-safe equality.

Every statement is composed with ``psycopg.sql``: identifiers with ``Identifier``, values
with ``Literal`` or ``Placeholder``; the only raw SQL fragments are the warehouse modules' own
text and column types from the closed set ``dw.config`` validates.

Shapes (``table_columns``):

- dimension, SCD1: ``id uuid`` (PK), natural key, attributes, version column,
  ``dw_created_at``, ``dw_updated_at``; ``UNIQUE NULLS NOT DISTINCT (natural key)``.
- dimension, SCD2: the same plus ``valid_from``, ``valid_to`` ('infinity' while current),
  ``is_current``; unique (natural key, valid_from) and one current row per natural key.
- fact: the grain (lookup keys ``uuid``, degenerate columns with their config types, all
  NOT NULL), the measures, ``dw_updated_at``; ``PRIMARY KEY`` (date column first, then the
  rest of the grain), which is also the date-leading index the loads read restated dates by;
  partitioned by month of the date (``dw.warehouse.ddl``, docs/decisions/0030). No physical
  foreign keys (docs/decisions/0005-warehouse-loads.md).

Surrogate keys are ``md5('<table>|' || key values as text joined by '|')::uuid`` (a NULL key
value is written ``\\N``; SCD2 appends ``|valid_from``). They depend on the session's
TimeZone/DateStyle for date and time values, so every transaction that computes them runs
``session_settings()`` first. Every dimension also holds two fixed members, Unknown
(``unknown()``) and Not applicable (``not_applicable()``), which the fact resolve falls back to
(``key_absent``; docs/decisions/0044).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from psycopg import sql

from dw.config import BASE_TYPES, NOT_APPLICABLE_ID, UNKNOWN_ID, WAREHOUSE_SCHEMA, Lookup, TableConfig

_ENUM_RE = re.compile(r"^dw\.([a-z_][a-z0-9_]{0,62})$")
_NUMERIC_RE = re.compile(r"^numeric\((\d{1,2}),(\d{1,2})\)$")

NULL_KEY_TEXT = "\\N"

# The roles (docs/decisions/0041-least-privilege-warehouse-and-lake.md): the owner owns schema dw
# and everything in it (migrate), the loader writes rows, the analyst reads.
OWNER_ROLE = "dw_owner"
LOADER_ROLE = "dw_loader"
ANALYST_ROLE = "dw_analyst"

STAGE = sql.Identifier("stage")
RESOLVED = sql.Identifier("resolved")
LOADED_AT = sql.Placeholder("loaded_at")


class ConfigError(ValueError):
    """The config asks for something the generator cannot build safely."""


def unknown() -> sql.Composed:
    """The id of a dimension's Unknown member: a key it does not know (yet)."""
    return sql.SQL("{}::uuid").format(sql.Literal(UNKNOWN_ID))


def not_applicable() -> sql.Composed:
    """The id of a dimension's Not applicable member: the fact has no key for it (0044)."""
    return sql.SQL("{}::uuid").format(sql.Literal(NOT_APPLICABLE_ID))


def members() -> sql.Composed:
    """``(unknown, not applicable)``: the ids of the fixed members no load touches."""
    return sql.SQL("({}, {})").format(unknown(), not_applicable())


def session_settings() -> list[sql.Composed]:
    """Run at the start of every warehouse transaction: keys and ``::text`` renderings of
    dates and timestamps must not depend on the login's settings, and names resolve in
    ``pg_catalog`` and the session's temp tables only (nothing planted in another schema can
    shadow a function the statements call)."""
    return [
        sql.SQL("SET LOCAL search_path = pg_catalog, pg_temp"),
        sql.SQL("SET LOCAL timezone = {}").format(sql.Literal("UTC")),
        sql.SQL("SET LOCAL datestyle = {}").format(sql.Literal("ISO, YMD")),
    ]


def type_sql(t: str) -> sql.Composable:
    """A config column type as SQL (``dw.config`` has validated it already; checked again)."""
    if m := _ENUM_RE.match(t):
        return sql.Identifier(WAREHOUSE_SCHEMA, m.group(1))
    if m := _NUMERIC_RE.match(t):
        return sql.SQL("numeric({}, {})").format(sql.Literal(int(m.group(1))), sql.Literal(int(m.group(2))))
    if t in BASE_TYPES:
        return sql.SQL(t)  # closed set of plain type names
    raise ConfigError(f"unsupported column type {t!r}")


def table_ident(cfg: TableConfig) -> sql.Identifier:
    return sql.Identifier(WAREHOUSE_SCHEMA, cfg.table)


def ids(names, alias: str | None = None) -> sql.Composed:
    """``a, b, c`` (or ``alias.a, alias.b, ...``) as identifiers."""
    if alias:
        return sql.SQL(", ").join(sql.Identifier(alias, n) for n in names)
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def row(names, alias: str) -> sql.Composed:
    """``ROW(alias.a, alias.b, ...)``."""
    return sql.SQL("ROW({})").format(ids(names, alias))


# --------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class WColumn:
    """A column of a warehouse table."""

    name: str
    type: str  # a config type string, or "uuid"/"timestamptz"/"boolean" for the generated ones
    not_null: bool


def dimension_not_null(cfg: TableConfig, name: str) -> bool:
    """Whether the dimension column ``name`` is NOT NULL in the warehouse table."""
    col = cfg.column(name)
    if name in cfg.natural_key:
        return not col.nullable
    # NOT NULL only where both fixed members have a value too (they have no source version).
    return (not col.nullable and cfg.unknown_member.get(name) is not None
            and cfg.not_applicable_member.get(name) is not None)


def table_columns(cfg: TableConfig) -> list[WColumn]:
    if cfg.kind == "dimension":
        cols = [WColumn("id", "uuid", True)]
        cols += [WColumn(k, cfg.column(k).type, dimension_not_null(cfg, k)) for k in cfg.natural_key]
        cols += [WColumn(c.name, c.type, dimension_not_null(cfg, c.name)) for c in cfg.attributes]
        if cfg.version_column:
            cols.append(WColumn(cfg.version_column, cfg.column(cfg.version_column).type,
                                dimension_not_null(cfg, cfg.version_column)))
        if cfg.scd == 2:
            cols += [
                WColumn("valid_from", "timestamptz", True),
                WColumn("valid_to", "timestamptz", True),
                WColumn("is_current", "boolean", True),
            ]
        cols += [WColumn("dw_created_at", "timestamptz", True), WColumn("dw_updated_at", "timestamptz", True)]
        return cols
    keys = {lk.key for lk in cfg.lookups}
    cols = [WColumn(g, "uuid" if g in keys else cfg.column(g).type, True) for g in cfg.grain]
    cols += [WColumn(m.name, m.type, False) for m in cfg.measures]
    cols.append(WColumn("dw_updated_at", "timestamptz", True))
    return cols


def column_of(cfg: TableConfig, name: str) -> WColumn:
    for c in table_columns(cfg):
        if c.name == name:
            return c
    raise KeyError(f"dw.{cfg.table} has no column {name!r}")


def fact_key(cfg: TableConfig) -> list[str]:
    """The fact's primary key: the date column first, then the rest of the grain."""
    return [cfg.date_column] + [g for g in cfg.grain if g != cfg.date_column]


def column_defs(cols: list[WColumn]) -> sql.Composed:
    """The column definitions of a ``CREATE TABLE``, one per line."""
    return sql.SQL(",\n  ").join(
        sql.SQL("{} {}{}").format(sql.Identifier(c.name), type_sql(c.type), sql.SQL(" NOT NULL") if c.not_null else sql.SQL(""))
        for c in cols
    )


def lookup_alias(i: int) -> str:
    """The alias the fact load's resolve joins the dimension of ``cfg.lookups[i]`` under."""
    return f"l{i}"


def required_key_columns(dim: TableConfig, lk: Lookup) -> list[str]:
    """The extract columns of lookup ``lk`` whose dimension column is NOT NULL: the key is
    complete when all are set, absent when all are NULL (a NULL in a nullable key column, like
    resource_dim's resource_class, is a value of the key). docs/decisions/0044."""
    return [ext_col for dim_col, ext_col in lk.match.items() if column_of(dim, dim_col).not_null]


def key_absent(dim: TableConfig, lk: Lookup, alias: str = "s") -> sql.Composable:
    """A boolean over the extract row ``alias``: it has no key for lookup ``lk`` (every NOT NULL
    key column is NULL) and resolves to the Not applicable member. False for a dimension whose
    key columns are all nullable: an all-NULL key is a value there."""
    cols = required_key_columns(dim, lk)
    if not cols:
        return sql.SQL("false")
    return sql.SQL("({})").format(sql.SQL(" AND ").join(sql.SQL("{} IS NULL").format(sql.Identifier(alias, c)) for c in cols))


# --------------------------------------------------------------------------- stage


def stage_not_null(cfg: TableConfig, name: str) -> bool:
    col = cfg.column(name)
    return not col.nullable or (cfg.scd == 2 and name == cfg.version_column)


def create_stage(cfg: TableConfig) -> sql.Composed:
    cols = [WColumn(c.name, c.type, stage_not_null(cfg, c.name)) for c in cfg.columns]
    return sql.SQL("CREATE TEMP TABLE {} (\n  {}\n) ON COMMIT DROP").format(STAGE, column_defs(cols))


def copy_stage(cfg: TableConfig) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, HEADER true)").format(STAGE, ids(cfg.column_names))


def analyze(name: sql.Identifier) -> sql.Composed:
    return sql.SQL("ANALYZE {}").format(name)


# --------------------------------------------------------------------------- keys


def surrogate_key(cfg: TableConfig, alias: str, valid_from: sql.Composable | None = None) -> sql.Composed:
    """``md5('<table>|' || k1 || '|' || k2 ...)::uuid`` over ``alias``'s natural key columns."""
    parts: list[sql.Composable] = []
    for k in cfg.natural_key:
        v = sql.SQL("{}::text").format(sql.Identifier(alias, k))
        if not stage_not_null(cfg, k):
            v = sql.SQL("coalesce({}, {})").format(v, sql.Literal(NULL_KEY_TEXT))
        parts.append(v)
    if valid_from is not None:
        parts.append(sql.SQL("({})::text").format(valid_from))
    sep = sql.SQL(" || ") + sql.Literal("|") + sql.SQL(" || ")
    joined = parts[0]
    for p in parts[1:]:
        joined = joined + sep + p
    return sql.SQL("md5({} || {})::uuid").format(sql.Literal(cfg.table + "|"), joined)


def null_safe_eq(left: sql.Composable, right: sql.Composable, nullable: bool, same_type: bool) -> sql.Composed:
    """``left = right`` with NULL equal to NULL where a NULL can occur, written as two plain
    equalities so the planner can still hash-join on them (IS NOT DISTINCT FROM cannot)."""
    if same_type and not nullable:
        return sql.SQL("{} = {}").format(left, right)
    lt = sql.SQL("{}::text").format(left)
    rt = sql.SQL("{}::text").format(right)
    if not nullable:
        return sql.SQL("{} = {}").format(lt, rt)
    empty = sql.Literal("")
    return sql.SQL("coalesce({lt}, {e}) = coalesce({rt}, {e}) AND ({l} IS NULL) = ({r} IS NULL)").format(
        lt=lt, rt=rt, e=empty, l=left, r=right
    )
