"""Fact load statements, run by ``dw.warehouse.load`` on the stage: resolve the surrogate keys
and aggregate to the grain (``resolved``), list the restated dates, then insert into dates the
fact holds nothing of or merge the restated dates (docs/decisions/0005, 0017)."""

from __future__ import annotations

from psycopg import sql

from dw.config import WAREHOUSE_SCHEMA, TableConfig
from dw.warehouse.ledger import OPEN_ROWS, open_row
from dw.warehouse.sql import (
    LOADED_AT,
    RESOLVED,
    STAGE,
    ConfigError,
    column_of,
    fact_key,
    ids,
    key_absent,
    lookup_alias,
    not_applicable,
    null_safe_eq,
    row,
    stage_not_null,
    table_ident,
    type_sql,
    unknown,
)


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
        conds.append(null_safe_eq(sql.Identifier(alias, dim_col), sql.Identifier("s", ext_col), nullable, same_type))
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


def fact_resolve(cfg: TableConfig, tables: dict[str, TableConfig], skip: bool = False) -> sql.Composed:
    """``resolved``: the stage with surrogate keys, aggregated to the grain; with ``skip``, the
    stage rows of the dates in parameter ``skipped`` (date[], ``dw.warehouse.digest``) are left out. A key that matches no
    dimension row resolves to the Not applicable member when it is absent (``sql.key_absent``:
    the extract has no key for that dimension), else to the Unknown member
    (docs/decisions/0044). Duplicate grain rows in one extract, and several natural keys
    resolving to the same member, add up instead of colliding. Each grain also
    counts its extract rows that did not resolve although they could (``dw_open_rows``, for the
    unknown-member ledger, ``dw.warehouse.ledger.record``).

    The keys are resolved in a subquery that is not flattened (``OFFSET 0``), so the sort that
    groups its rows carries only the grain, the measures and that flag, not every column the
    joins read."""
    keys = {lk.key: i for i, lk in enumerate(cfg.lookups)}
    inner, outer = [], []
    for g in cfg.grain:
        if g in keys:
            lk = cfg.lookups[keys[g]]
            inner.append(sql.SQL("coalesce({}.id, CASE WHEN {} THEN {} ELSE {} END) AS {}").format(
                sql.Identifier(lookup_alias(keys[g])), key_absent(tables[lk.dimension], lk), not_applicable(), unknown(),
                sql.Identifier(g)))
        else:
            inner.append(sql.SQL("{} AS {}").format(sql.Identifier("s", g), sql.Identifier(g)))
        outer.append(sql.Identifier("r", g))
    for m in cfg.measures:
        inner.append(sql.Identifier("s", m.name))
        outer.append(sql.SQL("CAST(sum({}) AS {}) AS {}").format(sql.Identifier("r", m.name), type_sql(m.type), sql.Identifier(m.name)))
    inner.append(sql.SQL("CASE WHEN {} THEN 1 ELSE 0 END AS {}").format(open_row(cfg, tables), OPEN_ROWS))
    outer.append(sql.SQL("sum(r.{n})::bigint AS {n}").format(n=OPEN_ROWS))
    joins = [_lookup_join(cfg, tables, i) for i in range(len(cfg.lookups))]
    if skip:
        joins.append(sql.SQL("WHERE {} <> ALL({}::date[])").format(sql.Identifier("s", cfg.date_column), sql.Placeholder("skipped")))
    group_by = sql.SQL(", ").join(sql.Literal(i + 1) for i in range(len(cfg.grain)))
    return sql.SQL(
        "CREATE TEMP TABLE {} ON COMMIT DROP AS\nSELECT {}\nFROM (SELECT {}\n  FROM {} AS s\n  {}\n  OFFSET 0) AS r\nGROUP BY {}"
    ).format(
        RESOLVED, sql.SQL(",\n  ").join(outer), sql.SQL(",\n    ").join(inner), STAGE, sql.SQL("\n  ").join(joins), group_by
    )


def fact_dates(cfg: TableConfig) -> sql.Composed:
    """The dates ``resolved`` holds, each with its number of rows pointing at an Unknown member
    (Not applicable is not counted)."""
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
    ).format(t=table_ident(cfg), cols=ids(cols), rcols=ids(cols, "r"), at=LOADED_AT, r=RESOLVED,
             rkey=ids(fact_key(cfg), "r"))


def fact_merge(cfg: TableConfig) -> sql.Composed:
    """Bring the restated dates (parameter ``dates``: date[]) of the fact to ``resolved`` in one
    statement; returns (deleted, inserted, updated). One full join of ``resolved`` with the dates'
    rows finds every difference: rows whose grain is gone (vanished grains, rows that pointed at
    an unknown member that now resolves) are deleted, rows whose measures changed are updated,
    new grains are inserted in primary-key order; unchanged rows are not written
    (docs/decisions/0017-fact-load-speed.md). The differences are materialized first, and the
    DELETE and UPDATE find their rows by ``(tableoid, ctid)`` (a ``ctid`` alone is not unique
    across partitions), within the restated dates' partitions: all CTEs see the same snapshot and
    loads of a table serialize on their advisory lock (0005, 0030)."""
    key = fact_key(cfg)
    measures = [m.name for m in cfg.measures]
    cols = list(cfg.grain) + measures
    t, at, dates = table_ident(cfg), LOADED_AT, sql.Placeholder("dates")
    same = sql.SQL(" AND ").join(sql.SQL("r.{c} = f.{c}").format(c=sql.Identifier(c)) for c in key)
    gone = sql.SQL("r.{} IS NULL").format(sql.Identifier(cfg.date_column))
    differs = [sql.SQL("f.dw_ctid IS NULL"), gone]
    match = sql.SQL("f.{d} = ANY({dates}) AND f.tableoid = d.dw_tableoid AND f.ctid = d.dw_ctid").format(
        d=sql.Identifier(cfg.date_column), dates=dates)
    if measures:
        differs.append(sql.SQL("{} IS DISTINCT FROM {}").format(row(measures, "f"), row(measures, "r")))
        sets = sql.SQL(", ").join(sql.SQL("{c} = d.{c}").format(c=sql.Identifier(c)) for c in measures)
        update = sql.SQL(
            "u AS (UPDATE {t} AS f SET {sets}, dw_updated_at = {at} FROM d\n"
            "  WHERE {match} AND NOT d.dw_gone RETURNING 1),\n"
        ).format(t=t, sets=sets, at=at, match=match)
        updated = sql.SQL("(SELECT count(*) FROM u)")
    else:
        update, updated = sql.SQL(""), sql.SQL("0::bigint")
    return sql.SQL(
        "WITH d AS MATERIALIZED (\n"
        "  SELECT f.dw_tableoid, f.dw_ctid, {gone} AS dw_gone, {rcols}\n"
        "  FROM {r} AS r FULL JOIN (SELECT tableoid AS dw_tableoid, ctid AS dw_ctid, {fcols} FROM {t} WHERE {d} = ANY({dates})) AS f\n"
        "    ON {same}\n"
        "  WHERE {differs}),\n"
        "x AS (DELETE FROM {t} AS f USING d WHERE {match} AND d.dw_gone RETURNING 1),\n"
        "{update}"
        "i AS (INSERT INTO {t} ({cols}, dw_updated_at)\n"
        "  SELECT {dcols}, {at} FROM d WHERE d.dw_ctid IS NULL ORDER BY {dkey} RETURNING 1)\n"
        "SELECT (SELECT count(*) FROM x), (SELECT count(*) FROM i), {updated}"
    ).format(
        gone=gone, rcols=ids(cols, "r"), r=RESOLVED, fcols=ids(cols), t=t, d=sql.Identifier(cfg.date_column),
        dates=dates, same=same, differs=sql.SQL(" OR ").join(differs), update=update, cols=ids(cols),
        dcols=ids(cols, "d"), at=at, dkey=ids(key, "d"), updated=updated, match=match,
    )
