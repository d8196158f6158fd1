"""Extract vs warehouse totals per fact date, ``dw.load_totals`` (revision 0004).

``record`` runs in the fact load's transaction, after the merge: for each date the load
restated it stores the extract's rows and measure sums (from the load's ``stage``, i.e. what
the lake's extract held) and the fact's rows and measure sums for that date after the merge
(an index range of the fact's primary key, which starts with the date). The Warehouse view
(``dw.ui``) compares the two sides from this table: no lake scan and no fact scan per page view.
A re-run that changes nothing writes nothing.
"""

from __future__ import annotations

import datetime as dt

from psycopg import sql

from dw.config import WAREHOUSE_SCHEMA, TableConfig
from dw.warehouse.sql import STAGE

TOTALS = sql.Identifier(WAREHOUSE_SCHEMA, "load_totals")


def _sums(cfg: TableConfig, alias: str) -> sql.Composable:
    """``jsonb_build_object('m', sum(m)::text, ...)`` over ``cfg``'s measures (text keeps numerics exact)."""
    if not cfg.measures:
        return sql.SQL("'{}'::jsonb")
    parts = []
    for m in cfg.measures:
        parts += [sql.Literal(m.name), sql.SQL("sum({})::text").format(sql.Identifier(alias, m.name))]
    return sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(parts))


def totals_sql(cfg: TableConfig) -> sql.Composed:
    """Upsert of ``dw.load_totals`` for ``%(dates)s`` of ``cfg`` (parameters table, dates, loaded_at)."""
    d = sql.Identifier(cfg.date_column)
    return sql.SQL(
        "WITH dates AS (SELECT unnest(%(dates)s::date[]) AS date),\n"
        "ext AS (SELECT s.{d} AS date, count(*) AS n, {ext_sums} AS sums FROM {stage} AS s\n"
        "  WHERE s.{d} = ANY(%(dates)s::date[]) GROUP BY s.{d}),\n"
        "fact AS (SELECT f.{d} AS date, count(*) AS n, {dw_sums} AS sums FROM {fact} AS f\n"
        "  WHERE f.{d} = ANY(%(dates)s::date[]) GROUP BY f.{d})\n"
        "INSERT INTO {totals} AS t (table_name, date, extract_rows, extract_sums, dw_rows, dw_sums, dw_updated_at)\n"
        "SELECT %(table)s, dates.date, coalesce(ext.n, 0), coalesce(ext.sums, '{{}}'), coalesce(fact.n, 0),\n"
        "  coalesce(fact.sums, '{{}}'), %(loaded_at)s\n"
        "FROM dates LEFT JOIN ext USING (date) LEFT JOIN fact USING (date)\n"
        "ON CONFLICT (table_name, date) DO UPDATE SET extract_rows = excluded.extract_rows,\n"
        "  extract_sums = excluded.extract_sums, dw_rows = excluded.dw_rows, dw_sums = excluded.dw_sums,\n"
        "  dw_updated_at = excluded.dw_updated_at\n"
        "WHERE (t.extract_rows, t.extract_sums, t.dw_rows, t.dw_sums)\n"
        "  IS DISTINCT FROM (excluded.extract_rows, excluded.extract_sums, excluded.dw_rows, excluded.dw_sums)"
    ).format(d=d, stage=STAGE, fact=sql.Identifier(WAREHOUSE_SCHEMA, cfg.table), totals=TOTALS,
             ext_sums=_sums(cfg, "s"), dw_sums=_sums(cfg, "f"))


def record(cur, cfg: TableConfig, dates: list, loaded_at: dt.datetime) -> None:
    """Write ``cfg``'s totals for the restated ``dates`` (inside the fact load's transaction)."""
    if cfg.kind != "fact" or not dates:
        return
    cur.execute(totals_sql(cfg), {"table": cfg.table, "dates": list(dates), "loaded_at": loaded_at})
