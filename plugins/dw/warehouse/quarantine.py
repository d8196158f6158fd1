"""A load's contracts (docs/decisions/0043-enum-growth-and-load-quarantine.md): what it does with
extract rows the typed stage refuses.

A load first COPYs its extract straight into the typed stage (``dw.warehouse.load``). Only when
that COPY hits a data error does it take this path, in the same transaction:

1. the extract again, COPY'd into ``stage_raw`` (every column ``text``, plus ``line``);
2. ``findings``: per column, the rows whose value does not convert to its type
   (``pg_input_is_valid``), is NULL in a NOT NULL column, or is a label its enumerated type does
   not have; each a ``dw.contracts.Change`` with the mode the column's contract gives
   (``TableConfig.contract_mode``). ``freeze`` fails the load naming table, date, column and
   count (the caller, before anything is written);
3. ``enum_values: evolve``: each new label is added to its type by ``dw.add_enum_value`` on a
   second connection that commits (with the change's row in ``dw.schema_changes``) before the
   load casts: a label added in a transaction is unusable until that transaction commits;
4. ``quarantine``: every row with a value still refused under ``discard_row`` (or
   ``discard_value`` in a NOT NULL column) goes to ``quarantined``, with the first such column
   and the reason; ``fill_stage`` casts the rest into the stage (``discard_value``: NULL for the
   refused value).

The caller then replaces its table's ``dw.load_quarantine`` rows of its dates with
``quarantined`` (``replace_quarantine``, on every load, so a clear after a fix empties them).
Reasons and details name a type or a label, never a record's value; a value that is not a plain
label (``PLAIN_LABEL``) is never added to a type nor named.
"""

from __future__ import annotations

import re

from psycopg import sql

from dw.config import WAREHOUSE_SCHEMA, TableConfig
from dw.contracts import Change
from dw.warehouse.sql import LOADER_ROLE, STAGE, ids, stage_not_null, type_sql

RAW = sql.Identifier("stage_raw")
QUARANTINED = sql.Identifier("quarantined")
COUNT_QUARANTINED = sql.SQL("SELECT count(*) FROM {}").format(QUARANTINED)
LOAD_QUARANTINE = sql.Identifier(WAREHOUSE_SCHEMA, "load_quarantine")
SOURCE = "warehouse"
# what dw.add_enum_value accepts (the same pattern)
PLAIN_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,62}$")
NULL_REASON = "NULL in a NOT NULL column"


def is_enum(type_name: str) -> bool:
    return type_name.startswith("dw.")


def _type_literal(type_name: str) -> sql.Literal:
    """The column's type as text for ``pg_input_is_valid`` (checked by ``type_sql`` first)."""
    type_sql(type_name)
    return sql.Literal(type_name)


def create_raw(cfg: TableConfig) -> sql.Composed:
    """The untyped stage: ``line`` (the extract's line, the header being line 1) and every column as text."""
    cols = sql.SQL(",\n  ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in cfg.column_names)
    return sql.SQL("CREATE TEMP TABLE {} (\n  line bigint GENERATED ALWAYS AS IDENTITY (START WITH 2),\n  {}\n)"
                   " ON COMMIT DROP").format(RAW, cols)


def copy_raw(cfg: TableConfig) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, HEADER true)").format(RAW, ids(cfg.column_names))


def _invalid(col: str, type_name: str, alias: str | None = None) -> sql.Composed:
    ref = sql.Identifier(alias, col) if alias else sql.Identifier(col)
    return sql.SQL("{c} IS NOT NULL AND NOT pg_catalog.pg_input_is_valid({c}, {t})").format(
        c=ref, t=_type_literal(type_name))


def counts(cfg: TableConfig) -> tuple[sql.Composed, list[tuple[str, str]]]:
    """One pass over ``stage_raw``: per checked column, its NULLs in a NOT NULL column and its
    values that do not convert. Returns the statement and the (column, what) of each count."""
    exprs, labels = [], []
    for c in cfg.columns:
        if stage_not_null(cfg, c.name):
            exprs.append(sql.SQL("count(*) FILTER (WHERE {} IS NULL)").format(sql.Identifier(c.name)))
            labels.append((c.name, "null"))
        if c.type != "text":
            exprs.append(sql.SQL("count(*) FILTER (WHERE {})").format(_invalid(c.name, c.type)))
            labels.append((c.name, "invalid"))
    return sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(exprs), RAW), labels


def enum_labels(col: str, type_name: str) -> sql.Composed:
    """The values of enumerated ``col`` its type does not hold, with their counts."""
    return sql.SQL("SELECT {c}, count(*) FROM {raw} WHERE {inv} GROUP BY 1 ORDER BY 1").format(
        c=sql.Identifier(col), raw=RAW, inv=_invalid(col, type_name))


def _effective(mode: str, not_null: bool) -> str:
    """``discard_value`` cannot NULL a NOT NULL column: its rows are quarantined."""
    return "discard_row" if mode == "discard_value" and not_null else mode


def findings(cur, cfg: TableConfig) -> list[Change]:
    """The changes ``stage_raw`` shows, each with the mode that applies (read-only)."""
    stmt, labels = counts(cfg)
    got = dict(zip(labels, cur.execute(stmt).fetchone()))
    out: list[Change] = []
    for c in cfg.columns:
        nn = stage_not_null(cfg, c.name)
        dt_mode = _effective(cfg.contract_mode("data_type", c.name), nn)
        if got.get((c.name, "null")):
            out.append(Change(SOURCE, cfg.table, c.name, "data_type", "NULL", got[(c.name, "null")], dt_mode))
        if not got.get((c.name, "invalid")):
            continue
        if not is_enum(c.type):
            out.append(Change(SOURCE, cfg.table, c.name, "data_type", c.type, got[(c.name, "invalid")], dt_mode))
            continue
        enum_mode = _effective(cfg.contract_mode("enum_values", c.name), nn)
        unnamed = 0
        for value, n in cur.execute(enum_labels(c.name, c.type)).fetchall():
            if PLAIN_LABEL.match(value):
                out.append(Change(SOURCE, cfg.table, c.name, "enum_values", value, n, enum_mode))
            else:
                unnamed += n
        if unnamed:  # not a label: never added, never named; as a value that does not convert
            mode = dt_mode if enum_mode == "evolve" else enum_mode
            out.append(Change(SOURCE, cfg.table, c.name, "data_type", c.type, unnamed, mode))
    return out


def frozen_message(frozen: list[Change]) -> str:
    return "; ".join(
        f"column {c.column_name}: {c.row_count} row(s) "
        + ("NULL in a NOT NULL column" if c.detail == "NULL" and c.kind == "data_type"
           else "with a new value of its enumerated type" if c.kind == "enum_values"
           else f"not converting to {c.detail}")
        + f" (contract {c.kind}: freeze)"
        for c in frozen)


def _nulled(cfg: TableConfig, changes: list[Change]) -> set[str]:
    """Columns whose refused values become NULL (``discard_value`` on a nullable column)."""
    return {c.column_name for c in changes if c.mode == "discard_value" and c.detail != "NULL"}


def create_quarantined(cfg: TableConfig, changes: list[Change]) -> sql.Composed:
    """``quarantined`` (line, dt, column_name, reason, record): every row of ``stage_raw`` refused
    under ``discard_row``, with its first such column in extract order. ``dt``: ``%(run_date)s``,
    or a fact row's own date where it converts."""
    rejecting = {(c.column_name, c.detail == "NULL" and c.kind == "data_type") for c in changes
                 if c.mode == "discard_row"}
    checks = []
    for i, col in enumerate(cfg.columns):
        ref = sql.Identifier("r", col.name)
        if (col.name, True) in rejecting:
            checks.append(sql.SQL("({i}, {n}, CASE WHEN {c} IS NULL THEN {why} END)").format(
                i=sql.Literal(i), n=sql.Literal(col.name), c=ref, why=sql.Literal(NULL_REASON)))
        if (col.name, False) in rejecting:
            why = f"not a value of {col.type}" if is_enum(col.type) else f"not a valid {col.type}"
            checks.append(sql.SQL("({i}, {n}, CASE WHEN {inv} THEN {why} END)").format(
                i=sql.Literal(i), n=sql.Literal(col.name), inv=_invalid(col.name, col.type, "r"),
                why=sql.Literal(why)))
    if cfg.kind == "fact":
        d = sql.Identifier("r", cfg.date_column)
        day = sql.SQL("CASE WHEN pg_catalog.pg_input_is_valid({d}, 'date') THEN {d}::date "
                      "ELSE %(run_date)s::date END").format(d=d)
    else:
        day = sql.SQL("%(run_date)s::date")
    if not checks:
        return sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT NULL::bigint AS line, NULL::date AS dt, "
                       "NULL::text AS column_name, NULL::text AS reason, NULL::jsonb AS record LIMIT 0").format(QUARANTINED)
    return sql.SQL(
        "CREATE TEMP TABLE {q} ON COMMIT DROP AS\n"
        "SELECT r.line, {day} AS dt, f.col AS column_name, f.reason, pg_catalog.to_jsonb(r) - 'line' AS record\n"
        "  FROM {raw} r\n"
        "  CROSS JOIN LATERAL (SELECT v.col, v.reason FROM (VALUES {checks}) v(i, col, reason)\n"
        "                       WHERE v.reason IS NOT NULL ORDER BY v.i LIMIT 1) f"
    ).format(q=QUARANTINED, day=day, raw=RAW, checks=sql.SQL(",\n    ").join(checks))


def fill_stage(cfg: TableConfig, changes: list[Change]) -> sql.Composed:
    """Cast the rows of ``stage_raw`` that are not quarantined into the typed stage."""
    nulled = _nulled(cfg, changes)
    exprs = []
    for c in cfg.columns:
        ref, t = sql.Identifier("r", c.name), type_sql(c.type)
        if c.name in nulled:
            exprs.append(sql.SQL("CASE WHEN pg_catalog.pg_input_is_valid({c}, {tl}) THEN {c}::{t} END").format(
                c=ref, tl=_type_literal(c.type), t=t))
        else:
            exprs.append(sql.SQL("{}::{}").format(ref, t))
    return sql.SQL(
        "INSERT INTO {stage} ({cols})\nSELECT {exprs}\n  FROM {raw} r\n"
        " WHERE NOT EXISTS (SELECT FROM {q} q WHERE q.line = r.line)"
    ).format(stage=STAGE, cols=ids(cfg.column_names), exprs=sql.SQL(", ").join(exprs), raw=RAW, q=QUARANTINED)


def replace_quarantine(quarantined: bool) -> list[sql.Composed]:
    """Delete the table's ``dw.load_quarantine`` rows of ``%(dates)s`` and the run's date, then
    (``quarantined``: the slow path ran) insert ``quarantined``'s rows. Parameters: table,
    run_date, dates (the fact dates the load restated), file, loaded_at."""
    also = sql.SQL(" || ARRAY(SELECT DISTINCT dt FROM {})").format(QUARANTINED) if quarantined else sql.SQL("")
    stmts = [sql.SQL(
        "DELETE FROM {lq} WHERE table_name = %(table)s AND dt = ANY(%(dates)s::date[] || %(run_date)s::date{also})"
    ).format(lq=LOAD_QUARANTINE, also=also)]
    if quarantined:
        stmts.append(sql.SQL(
            "INSERT INTO {lq} (table_name, dt, file, line, column_name, reason, record, quarantined_at)\n"
            "SELECT %(table)s, dt, %(file)s, line, column_name, reason, record, %(loaded_at)s FROM {q}"
        ).format(lq=LOAD_QUARANTINE, q=QUARANTINED))
    return stmts


def quarantine_changes(changes: list[Change]) -> list[Change]:
    """The changes the load's own transaction records (all but the labels its types grew by)."""
    return [c for c in changes if not (c.kind == "enum_values" and c.mode == "evolve")]


def grow_enums(conn, cfg: TableConfig, run_date: str, recorded_by: str, added: list[Change]) -> None:
    """On ``conn`` (a second connection, autocommit): in one transaction add each label of
    ``added`` to its column's type (``dw.add_enum_value``) and record the changes in
    ``dw.schema_changes`` with those ``recorded_by`` recorded for the day already; commit."""
    from dw.contracts import record_changes

    types = {c.name: c.type for c in cfg.columns}
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(LOADER_ROLE)))
        cur.execute("SELECT pg_catalog.set_config('lock_timeout', '5min', true)")
        for ch in added:
            cur.execute("SELECT dw.add_enum_value(%s, %s)", (types[ch.column_name].removeprefix("dw."), ch.detail))
        seen = {(c.column_name, c.detail) for c in added}
        earlier = [Change(SOURCE, cfg.table, col, "enum_values", detail, n, "evolve")
                   for col, detail, n in cur.execute(
                       "SELECT column_name, detail, row_count FROM dw.schema_changes WHERE dt = %s AND source = %s "
                       "AND entity = %s AND recorded_by = %s", (run_date, SOURCE, cfg.table, recorded_by))
                   if (col, detail) not in seen]
        record_changes(cur, run_date, SOURCE, cfg.table, recorded_by, earlier + list(added))
