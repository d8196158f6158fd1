"""SQL of the warehouse, generated from ``TableConfig`` (docs/decisions/0006-tables-from-config.md).

Every statement is composed with ``psycopg.sql``: identifiers with ``Identifier``, values
with ``Literal`` or ``Placeholder``; the only raw SQL fragments are this module's own text
and column types from the closed set ``dw.config`` validates.

Shapes (``table_columns``):

- dimension, SCD1: ``id uuid`` (PK), natural key, attributes, version column,
  ``dw_created_at``, ``dw_updated_at``; ``UNIQUE NULLS NOT DISTINCT (natural key)``.
- dimension, SCD2: the same plus ``valid_from``, ``valid_to`` ('infinity' while current),
  ``is_current``; unique (natural key, valid_from) and one current row per natural key.
- fact: the grain (lookup keys ``uuid``, degenerate columns with their config types, all
  NOT NULL), the measures, ``dw_updated_at``; ``PRIMARY KEY`` (date column first, then the
  rest of the grain), which is also the date-leading index the loads' DELETE uses. No
  physical foreign keys (docs/decisions/0005-warehouse-loads.md).

Surrogate keys are ``md5('<table>|' || key values as text joined by '|')::uuid`` (a NULL key
value is written ``\\N``; SCD2 appends ``|valid_from``). They depend on the session's
TimeZone/DateStyle for date and time values, so every transaction that computes them runs
``session_settings()`` first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from psycopg import sql

from dw.config import BASE_TYPES, UNKNOWN_ID, WAREHOUSE_SCHEMA, TableConfig

_ENUM_RE = re.compile(r"^dw\.([a-z_][a-z0-9_]{0,62})$")
_NUMERIC_RE = re.compile(r"^numeric\((\d{1,2}),(\d{1,2})\)$")

# dw_created_at / dw_updated_at of the unknown members (fixed: a warehouse is a function of the lake).
UNKNOWN_AUDIT_TS = "2000-01-01 00:00:00+00"
NULL_KEY_TEXT = "\\N"

STAGE = sql.Identifier("stage")
RESOLVED = sql.Identifier("resolved")
LOADED_AT = sql.Placeholder("loaded_at")


class ConfigError(ValueError):
    """The config asks for something the generator cannot build safely."""


def unknown() -> sql.Composed:
    return sql.SQL("{}::uuid").format(sql.Literal(UNKNOWN_ID))


def session_settings() -> list[sql.Composed]:
    """Run at the start of every warehouse transaction: keys and ``::text`` renderings of
    dates and timestamps must not depend on the login's settings."""
    return [
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


def _ids(names, alias: str | None = None) -> sql.Composed:
    if alias:
        return sql.SQL(", ").join(sql.Identifier(alias, n) for n in names)
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def _row(names, alias: str) -> sql.Composed:
    return sql.SQL("ROW({})").format(_ids(names, alias))


# --------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class WColumn:
    """A column of a warehouse table."""

    name: str
    type: str  # a config type string, or "uuid"/"timestamptz"/"boolean" for the generated ones
    not_null: bool


def _dim_not_null(cfg: TableConfig, name: str) -> bool:
    col = cfg.column(name)
    if name in cfg.natural_key:
        return not col.nullable
    # NOT NULL only where the unknown member has a value too (it has no source version).
    return not col.nullable and cfg.unknown_member.get(name) is not None


def table_columns(cfg: TableConfig) -> list[WColumn]:
    if cfg.kind == "dimension":
        cols = [WColumn("id", "uuid", True)]
        cols += [WColumn(k, cfg.column(k).type, _dim_not_null(cfg, k)) for k in cfg.natural_key]
        cols += [WColumn(c.name, c.type, _dim_not_null(cfg, c.name)) for c in cfg.attributes]
        if cfg.version_column:
            cols.append(WColumn(cfg.version_column, cfg.column(cfg.version_column).type, _dim_not_null(cfg, cfg.version_column)))
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


def conflict_key(cfg: TableConfig) -> list[str]:
    return list(cfg.natural_key) if cfg.kind == "dimension" else fact_key(cfg)


def _column_defs(cols: list[WColumn]) -> sql.Composed:
    return sql.SQL(",\n  ").join(
        sql.SQL("{} {}{}").format(sql.Identifier(c.name), type_sql(c.type), sql.SQL(" NOT NULL") if c.not_null else sql.SQL(""))
        for c in cols
    )


def _constraint(cfg: TableConfig, suffix: str) -> sql.Identifier:
    return sql.Identifier(f"{cfg.table}_{suffix}"[:63])


def create_table(cfg: TableConfig) -> list[sql.Composed]:
    """``CREATE TABLE IF NOT EXISTS`` (and its extra indexes) for a config-declared table."""
    cols = table_columns(cfg)
    t = table_ident(cfg)
    if cfg.kind == "fact":
        return [
            sql.SQL("CREATE TABLE IF NOT EXISTS {} (\n  {},\n  CONSTRAINT {} PRIMARY KEY ({})\n)").format(
                t, _column_defs(cols), _constraint(cfg, "pkey"), _ids(fact_key(cfg))
            )
        ]
    nk = _ids(cfg.natural_key)
    if cfg.scd == 2:
        return [
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (\n  {},\n  CONSTRAINT {} PRIMARY KEY (id),\n"
                "  CONSTRAINT {} UNIQUE NULLS NOT DISTINCT ({}, valid_from),\n"
                "  CONSTRAINT {} CHECK (valid_from < valid_to)\n)"
            ).format(
                t, _column_defs(cols), _constraint(cfg, "pkey"), _constraint(cfg, "version_key"), nk,
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
        ).format(t, _column_defs(cols), _constraint(cfg, "pkey"), _constraint(cfg, "natural_key"), nk)
    ]


def expected_columns_table(cfg: TableConfig, name: str) -> sql.Composed:
    """A temp table with exactly the columns ``cfg`` declares (to compare with the real one)."""
    return sql.SQL("CREATE TEMP TABLE {} (\n  {}\n) ON COMMIT DROP").format(
        sql.Identifier(name), _column_defs(table_columns(cfg))
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
    ).format(t=table_ident(cfg), cols=_ids(names), vals=sql.SQL(", ").join(values), unk=unknown())


# --------------------------------------------------------------------------- stage


def stage_not_null(cfg: TableConfig, name: str) -> bool:
    col = cfg.column(name)
    return not col.nullable or (cfg.scd == 2 and name == cfg.version_column)


def create_stage(cfg: TableConfig) -> sql.Composed:
    cols = [WColumn(c.name, c.type, stage_not_null(cfg, c.name)) for c in cfg.columns]
    return sql.SQL("CREATE TEMP TABLE {} (\n  {}\n) ON COMMIT DROP").format(STAGE, _column_defs(cols))


def copy_stage(cfg: TableConfig) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, HEADER true)").format(STAGE, _ids(cfg.column_names))


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


def _null_safe_eq(left: sql.Composable, right: sql.Composable, nullable: bool, same_type: bool) -> sql.Composed:
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


def natural_key_match(cfg: TableConfig, a: str, b: str) -> sql.Composed:
    """Rows ``a`` and ``b`` of the same dimension shape have the same natural key."""
    return sql.SQL(" AND ").join(
        _null_safe_eq(sql.Identifier(a, k), sql.Identifier(b, k), not stage_not_null(cfg, k) or not _dim_not_null(cfg, k), True)
        for k in cfg.natural_key
    )


# --------------------------------------------------------------------------- dimensions

def _latest_per_key(cfg: TableConfig) -> sql.Composed:
    """The stage deduplicated to one row per natural key: the latest version, ties broken
    by the attribute values (deterministic whatever the extract's row order)."""
    order = [sql.SQL("{} ASC").format(sql.Identifier("s", k)) for k in cfg.natural_key]
    if cfg.version_column:
        order.append(sql.SQL("{} DESC NULLS LAST").format(sql.Identifier("s", cfg.version_column)))
    order += [sql.SQL("{} DESC NULLS LAST").format(sql.Identifier("s", c.name)) for c in cfg.attributes]
    return sql.SQL("SELECT DISTINCT ON ({}) {} FROM {} AS s ORDER BY {}").format(
        _ids(cfg.natural_key, "s"), _ids(cfg.column_names, "s"), STAGE, sql.SQL(", ").join(order)
    )


def dimension_upsert(cfg: TableConfig) -> sql.Composed:
    """SCD1 (and insert-only) dimension load from ``stage``; returns (inserted, updated).

    The latest row per natural key (``src``) updates the row of its key where something changed
    and the source version is not older (never the unknown member), and is inserted, in ``id``
    order, where its key is new. It is the ``INSERT ... ON CONFLICT (natural key) DO UPDATE ...
    WHERE`` it replaces, as an UPDATE and an INSERT ... WHERE NOT EXISTS in one statement: both
    see the same snapshot, so every key takes one path, and loads of a table serialize on their
    advisory lock (0005). No speculative insertion per row (a fresh 200,000-row load: the write
    ~2× faster; docs/decisions/0017-fact-load-speed.md)."""
    attrs = [c.name for c in cfg.attributes]
    ver = cfg.version_column
    payload = list(cfg.natural_key) + attrs + ([ver] if ver else [])
    insert_cols = ["id"] + payload + ["dw_created_at", "dw_updated_at"]
    t = table_ident(cfg)
    changing = attrs + ([ver] if ver else [])
    if cfg.insert_only or not changing:
        update, updated = sql.SQL(""), sql.SQL("0::bigint")
    else:
        sets = [sql.SQL("{c} = s.{c}").format(c=sql.Identifier(c)) for c in changing]
        sets.append(sql.SQL("dw_updated_at = {}").format(LOADED_AT))
        where = [
            natural_key_match(cfg, "d", "s"),
            sql.SQL("d.id <> {}").format(unknown()),  # the unknown member is never touched
            sql.SQL("{} IS DISTINCT FROM {}").format(_row(changing, "d"), _row(changing, "s")),
        ]
        if ver:  # never go back to an older source version (a backfill run out of order)
            where.append(sql.SQL("({d} IS NULL OR {e} >= {d})").format(d=sql.Identifier("d", ver), e=sql.Identifier("s", ver)))
        update = sql.SQL("u AS (UPDATE {t} AS d SET {sets} FROM src AS s WHERE {where} RETURNING 1),\n").format(
            t=t, sets=sql.SQL(", ").join(sets), where=sql.SQL(" AND ").join(where))
        updated = sql.SQL("(SELECT count(*) FROM u)")
    return sql.SQL(
        "WITH src AS ({latest}),\n{update}"
        "i AS (INSERT INTO {t} ({cols})\n"
        "  SELECT * FROM (SELECT {id} AS id, {payload}, {at} AS dw_created_at, {at} AS dw_updated_at FROM src AS s\n"
        "    WHERE NOT EXISTS (SELECT 1 FROM {t} AS d WHERE {match})) AS n ORDER BY n.id RETURNING 1)\n"
        "SELECT (SELECT count(*) FROM i), {updated}"
    ).format(
        latest=_latest_per_key(cfg), update=update, t=t, cols=_ids(insert_cols), id=surrogate_key(cfg, "s"),
        payload=_ids(payload, "s"), at=LOADED_AT, match=natural_key_match(cfg, "d", "s"), updated=updated,
    )


# SCD2: the history of every key in the stage is rebuilt from all its observations, then merged.
SCD2_OBS = sql.Identifier("scd2_obs")
SCD2_VERSIONS = sql.Identifier("scd2_versions")


def scd2_statements(cfg: TableConfig) -> dict[str, sql.Composed]:
    """The SCD2 load, as named statements run in order by ``load`` (docs/decisions/0011):

    The stage holds *every observation in the lake* of the keys it contains (the extract's
    contract), so each key's version history is rebuilt from scratch and the result does not
    depend on the order runs happen in:

    - ``obs``: one observation per key and source version time (the unknown member's key left out)
    - ``versions``: consecutive observations with equal tracked columns form one version; it
      starts at its first observation (the first version at '-infinity', so facts dated before
      the key was first seen resolve to it), ends where the next starts ('infinity' for the
      current one) and carries the attributes of its latest observation. Its id is
      ``md5('<table>|<key>|<valid_from>')``: a rebuilt version keeps its id.
    - ``delete``: versions of these keys that are no longer in the history
    - ``close`` then ``update``: versions whose values changed (non-current first, so the one
      current row per key is never doubled); ``open``: new versions. Each returns its row count.
    """
    t = table_ident(cfg)
    ver = cfg.version_column
    nk = list(cfg.natural_key)
    attrs = [c.name for c in cfg.attributes]
    tracked = list(cfg.tracked or attrs)
    by_key = _ids(nk)
    obs_order = [sql.SQL("{} ASC").format(sql.Identifier(k)) for k in nk] + [sql.SQL("{} ASC").format(sql.Identifier(ver))]
    obs_order += [sql.SQL("{} DESC NULLS LAST").format(sql.Identifier(a)) for a in attrs]
    obs = sql.SQL(
        "CREATE TEMP TABLE {obs} ON COMMIT DROP AS\n"
        "SELECT DISTINCT ON ({key}, {ver}) {cols} FROM {stage} AS s\n"
        "WHERE NOT EXISTS (SELECT 1 FROM {t} AS u WHERE u.id = {unk} AND {match})\n"
        "ORDER BY {order}"
    ).format(
        obs=SCD2_OBS, key=by_key, ver=sql.Identifier(ver), cols=_ids(cfg.column_names, "s"), stage=STAGE, t=t,
        unk=unknown(), match=natural_key_match(cfg, "u", "s"), order=sql.SQL(", ").join(obs_order),
    )
    payload = nk + attrs + [ver]
    versions = sql.SQL(
        "CREATE TEMP TABLE {versions} ON COMMIT DROP AS\n"
        "WITH marked AS (\n"
        "  SELECT o.*, ROW({trk}) IS DISTINCT FROM lag(ROW({trk})) OVER (PARTITION BY {key} ORDER BY {ver}) AS dw_starts\n"
        "  FROM {obs} AS o),\n"
        "numbered AS (\n"
        "  SELECT m.*, sum(CASE WHEN m.dw_starts THEN 1 ELSE 0 END)\n"
        "    OVER (PARTITION BY {key} ORDER BY {ver} ROWS UNBOUNDED PRECEDING) AS dw_version\n"
        "  FROM marked AS m),\n"
        "latest AS (\n"
        "  SELECT DISTINCT ON ({key}, dw_version) n.*, min({ver}) OVER (PARTITION BY {key}, dw_version) AS dw_started\n"
        "  FROM numbered AS n ORDER BY {key}, dw_version, {ver} DESC),\n"
        "bounded AS (\n"
        "  SELECT l.*, CASE WHEN l.dw_version = 1 THEN '-infinity'::timestamptz ELSE l.dw_started END AS valid_from,\n"
        "    coalesce(lead(l.dw_started) OVER (PARTITION BY {key} ORDER BY l.dw_version), 'infinity'::timestamptz) AS valid_to\n"
        "  FROM latest AS l)\n"
        "SELECT {id} AS id, {payload}, b.valid_from, b.valid_to, b.valid_to = 'infinity'::timestamptz AS is_current\n"
        "FROM bounded AS b"
    ).format(
        versions=SCD2_VERSIONS, trk=_ids(tracked), key=by_key, ver=sql.Identifier(ver), obs=SCD2_OBS,
        id=surrogate_key(cfg, "b", sql.SQL("b.valid_from")), payload=_ids(payload, "b"),
    )
    delete = sql.SQL(
        "WITH w AS (DELETE FROM {t} AS d WHERE d.id <> {unk}\n"
        "  AND EXISTS (SELECT 1 FROM {versions} AS v WHERE {match})\n"
        "  AND NOT EXISTS (SELECT 1 FROM {versions} AS v WHERE v.id = d.id) RETURNING 1)\n"
        "SELECT count(*) FROM w"
    ).format(t=t, unk=unknown(), versions=SCD2_VERSIONS, match=natural_key_match(cfg, "v", "d"))
    changing = attrs + [ver, "valid_to", "is_current"]

    def write_changed(current: bool) -> sql.Composed:
        return sql.SQL(
            "WITH w AS (UPDATE {t} AS d SET {sets}, dw_updated_at = {at}\n"
            "  FROM {versions} AS v WHERE d.id = v.id AND v.is_current = {cur} AND {dchg} IS DISTINCT FROM {vchg}\n"
            "  RETURNING 1)\n"
            "SELECT count(*) FROM w"
        ).format(
            t=t, sets=sql.SQL(", ").join(sql.SQL("{c} = v.{c}").format(c=sql.Identifier(c)) for c in changing),
            at=LOADED_AT, versions=SCD2_VERSIONS, cur=sql.Literal(current), dchg=_row(changing, "d"), vchg=_row(changing, "v"),
        )

    open_ = sql.SQL(
        "WITH w AS (INSERT INTO {t} (id, {cols}, valid_from, valid_to, is_current, dw_created_at, dw_updated_at)\n"
        "  SELECT v.id, {vals}, v.valid_from, v.valid_to, v.is_current, {at}, {at}\n"
        "  FROM {versions} AS v WHERE NOT EXISTS (SELECT 1 FROM {t} AS d WHERE d.id = v.id) RETURNING 1)\n"
        "SELECT count(*) FROM w"
    ).format(t=t, cols=_ids(payload), vals=_ids(payload, "v"), at=LOADED_AT, versions=SCD2_VERSIONS)
    return {"obs": obs, "versions": versions, "delete": delete, "close": write_changed(False),
            "update": write_changed(True), "open": open_}


# --------------------------------------------------------------------------- facts


def lookup_alias(i: int) -> str:
    """The alias the fact load's resolve joins the dimension of ``cfg.lookups[i]`` under."""
    return f"l{i}"


def _lookup_join(cfg: TableConfig, tables: dict[str, TableConfig], i: int) -> sql.Composed:
    lk = cfg.lookups[i]
    dim = tables.get(lk.dimension)
    if dim is None or dim.kind != "dimension":
        raise ConfigError(f"table {cfg.table}: lookup {lk.key} names {lk.dimension!r}, not a dimension")
    if set(lk.match) != set(dim.natural_key):
        # Matching on anything but the whole natural key could match several rows and
        # multiply the fact's measures.
        raise ConfigError(
            f"table {cfg.table}: lookup {lk.key} must match the whole natural key of {dim.table} "
            f"({', '.join(dim.natural_key)}), not ({', '.join(lk.match)})"
        )
    alias = lookup_alias(i)
    conds = []
    for dim_col, ext_col in lk.match.items():
        # NULL matches NULL only where both sides can hold one (resource_dim.resource_class)
        nullable = not column_of(dim, dim_col).not_null and not stage_not_null(cfg, ext_col)
        same_type = dim.column(dim_col).type == cfg.column(ext_col).type
        conds.append(_null_safe_eq(sql.Identifier(alias, dim_col), sql.Identifier("s", ext_col), nullable, same_type))
    if dim.scd == 2:
        if lk.as_of:
            # The version in effect on that (UTC) date: consecutive versions share a boundary,
            # so their date ranges [from, to) never overlap and at most one row matches.
            a = sql.Identifier("s", lk.as_of)
            conds.append(
                sql.SQL("({a}.valid_from AT TIME ZONE 'UTC')::date <= {d} AND {d} < ({a}.valid_to AT TIME ZONE 'UTC')::date").format(
                    a=sql.Identifier(alias), d=a
                )
            )
        else:
            conds.append(sql.SQL("{}.is_current").format(sql.Identifier(alias)))
    return sql.SQL("LEFT JOIN {} AS {} ON {}").format(
        sql.Identifier(WAREHOUSE_SCHEMA, dim.table), sql.Identifier(alias), sql.SQL(" AND ").join(conds)
    )


def fact_resolve(cfg: TableConfig, tables: dict[str, TableConfig]) -> sql.Composed:
    """``resolved``: the stage with surrogate keys (unknown member when a dimension row is
    missing), aggregated to the grain — duplicate grain rows in one extract, and several
    natural keys resolving to the unknown member, add up instead of colliding. Each grain also
    counts its extract rows that did not resolve although they could (``dw_open_rows``, for the
    unknown-member ledger, ``dw.warehouse.ledger.record``).

    The keys are resolved in a subquery that is not flattened (``OFFSET 0``), so the sort that
    groups its rows carries only the grain, the measures and that flag, not every column the
    joins read (which made the 1M-row sort spill to disk)."""
    from dw.warehouse import ledger

    keys = {lk.key: i for i, lk in enumerate(cfg.lookups)}
    inner, outer = [], []
    for g in cfg.grain:
        if g in keys:
            inner.append(sql.SQL("coalesce({}.id, {}) AS {}").format(sql.Identifier(lookup_alias(keys[g])), unknown(), sql.Identifier(g)))
        else:
            inner.append(sql.SQL("{} AS {}").format(sql.Identifier("s", g), sql.Identifier(g)))
        outer.append(sql.Identifier("r", g))
    for m in cfg.measures:
        inner.append(sql.Identifier("s", m.name))
        outer.append(sql.SQL("CAST(sum({}) AS {}) AS {}").format(sql.Identifier("r", m.name), type_sql(m.type), sql.Identifier(m.name)))
    inner.append(sql.SQL("CASE WHEN {} THEN 1 ELSE 0 END AS {}").format(ledger.open_row(cfg, tables), ledger.OPEN_ROWS))
    outer.append(sql.SQL("sum(r.{n})::bigint AS {n}").format(n=ledger.OPEN_ROWS))
    joins = [_lookup_join(cfg, tables, i) for i in range(len(cfg.lookups))]
    group_by = sql.SQL(", ").join(sql.Literal(i + 1) for i in range(len(cfg.grain)))
    return sql.SQL(
        "CREATE TEMP TABLE {} ON COMMIT DROP AS\nSELECT {}\nFROM (SELECT {}\n  FROM {} AS s\n  {}\n  OFFSET 0) AS r\nGROUP BY {}"
    ).format(
        RESOLVED, sql.SQL(",\n  ").join(outer), sql.SQL(",\n    ").join(inner), STAGE, sql.SQL("\n  ").join(joins), group_by
    )


def fact_dates(cfg: TableConfig) -> sql.Composed:
    """The dates ``resolved`` holds, each with its number of rows pointing at an unknown member."""
    d = sql.Identifier(cfg.date_column)
    if cfg.lookups:
        cond = sql.SQL(" OR ").join(sql.SQL("{} = {}").format(sql.Identifier(lk.key), unknown()) for lk in cfg.lookups)
        count = sql.SQL("count(*) FILTER (WHERE {})").format(cond)
    else:
        count = sql.SQL("0::bigint")
    return sql.SQL("SELECT {d}, {count} FROM {r} GROUP BY {d} ORDER BY {d}").format(d=d, count=count, r=RESOLVED)


def fact_holds_dates(cfg: TableConfig) -> sql.Composed:
    """Whether the fact holds any row of the dates (parameter ``dates``: date[])."""
    return sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {} = ANY({}))").format(
        table_ident(cfg), sql.Identifier(cfg.date_column), sql.Placeholder("dates"))


def fact_insert(cfg: TableConfig) -> sql.Composed:
    """``resolved`` into dates the fact holds no row of (``fact_holds_dates`` is false), in
    primary-key order; returns (deleted, inserted, updated) as ``fact_merge`` does."""
    cols = list(cfg.grain) + [m.name for m in cfg.measures]
    return sql.SQL(
        "WITH i AS (INSERT INTO {t} ({cols}, dw_updated_at)\n"
        "  SELECT {rcols}, {at} FROM {r} AS r ORDER BY {rkey} RETURNING 1)\n"
        "SELECT 0::bigint, count(*), 0::bigint FROM i"
    ).format(t=table_ident(cfg), cols=_ids(cols), rcols=_ids(cols, "r"), at=LOADED_AT, r=RESOLVED,
             rkey=_ids(fact_key(cfg), "r"))


def fact_merge(cfg: TableConfig) -> sql.Composed:
    """Bring the restated dates (parameter ``dates``: date[]) of the fact to ``resolved`` in one
    statement; returns (deleted, inserted, updated). One full join of ``resolved`` with the dates'
    rows finds every difference: rows whose grain is gone (vanished grains, rows that pointed at
    an unknown member that now resolves) are deleted, rows whose measures changed are updated,
    new grains are inserted in primary-key order; unchanged rows are not written.

    It replaces a DELETE of vanished grains and an UPDATE + INSERT of the rest: three full
    comparisons of the dates' rows with ``resolved`` became one (docs/decisions/0017-fact-load-speed.md,
    figures in BENCHMARKS.md). The differences are materialized first, and the DELETE and UPDATE
    find their rows by ``ctid``: all CTEs see the same snapshot and loads of a table serialize on
    their advisory lock (0005)."""
    key = fact_key(cfg)
    measures = [m.name for m in cfg.measures]
    cols = list(cfg.grain) + measures
    t, at, dates = table_ident(cfg), LOADED_AT, sql.Placeholder("dates")
    same = sql.SQL(" AND ").join(sql.SQL("r.{c} = f.{c}").format(c=sql.Identifier(c)) for c in key)
    gone = sql.SQL("r.{} IS NULL").format(sql.Identifier(cfg.date_column))
    differs = [sql.SQL("f.dw_ctid IS NULL"), gone]
    if measures:
        differs.append(sql.SQL("{} IS DISTINCT FROM {}").format(_row(measures, "f"), _row(measures, "r")))
        sets = sql.SQL(", ").join(sql.SQL("{c} = d.{c}").format(c=sql.Identifier(c)) for c in measures)
        update = sql.SQL(
            "u AS (UPDATE {t} AS f SET {sets}, dw_updated_at = {at} FROM d\n"
            "  WHERE f.ctid = d.dw_ctid AND NOT d.dw_gone RETURNING 1),\n"
        ).format(t=t, sets=sets, at=at)
        updated = sql.SQL("(SELECT count(*) FROM u)")
    else:
        update, updated = sql.SQL(""), sql.SQL("0::bigint")
    return sql.SQL(
        "WITH d AS MATERIALIZED (\n"
        "  SELECT f.dw_ctid, {gone} AS dw_gone, {rcols}\n"
        "  FROM {r} AS r FULL JOIN (SELECT ctid AS dw_ctid, {fcols} FROM {t} WHERE {d} = ANY({dates})) AS f ON {same}\n"
        "  WHERE {differs}),\n"
        "x AS (DELETE FROM {t} AS f USING d WHERE f.ctid = d.dw_ctid AND d.dw_gone RETURNING 1),\n"
        "{update}"
        "i AS (INSERT INTO {t} ({cols}, dw_updated_at)\n"
        "  SELECT {dcols}, {at} FROM d WHERE d.dw_ctid IS NULL ORDER BY {dkey} RETURNING 1)\n"
        "SELECT (SELECT count(*) FROM x), (SELECT count(*) FROM i), {updated}"
    ).format(
        gone=gone, rcols=_ids(cols, "r"), r=RESOLVED, fcols=_ids(cols), t=t, d=sql.Identifier(cfg.date_column),
        dates=dates, same=same, differs=sql.SQL(" OR ").join(differs), update=update, cols=_ids(cols),
        dcols=_ids(cols, "d"), at=at, dkey=_ids(key, "d"), updated=updated,
    )
