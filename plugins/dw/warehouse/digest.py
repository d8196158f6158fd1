"""Unchanged dates of a fact load, skipped without resolving (docs/decisions/0032-skip-unchanged-dates.md).

A fact date's rows are a function of its extract slice, the resolve statement and the
dimensions it looks up. ``date_digests`` sums that up per date of the load's stage: an
order-free hash of the slice (count, sums and xor of each stage row's 64-bit hash), the
rendered resolve statement (the config, the Unknown / Not applicable rules) and the dimensions'
write watermark (per looked-up dimension, the ``dw.load_audit`` id of its last successful load
that wrote rows; loads of one table serialize on its lock and write their audit row last, so
that id grows in commit order). The watermark is read before the resolve: a dimension load that
commits in between moves it past what was stored, so the next load resolves again.

``record`` stores the digests of the dates a load resolved (``dw.fact_digests``, Alembic 0016,
in the load's transaction). ``unchanged_dates`` lists the dates whose stored digest equals this
load's and whose fact rows are still there when the last load left some (``dw.load_totals``): the load leaves those dates as they are, which is what resolving and merging them would
have written. A date with open unknown members (``dw.unknown_member_dates``) is no exception:
its keys resolve differently only once a dimension row arrives, a write the watermark sees; its
ledger row stays as the last load left it. A fact row changed by
hand is not seen: ``full`` restatement (the warehouse DAG's ``full_restatement`` param) resolves
every date (include/runbooks/load.md).
"""

from __future__ import annotations

import hashlib

from psycopg import sql

from dw.config import WAREHOUSE_SCHEMA, TableConfig
from dw.warehouse.sql import STAGE, table_ident
from dw.warehouse.totals import TOTALS

AUDIT = sql.Identifier(WAREHOUSE_SCHEMA, "load_audit")
DIGESTS = sql.Identifier(WAREHOUSE_SCHEMA, "fact_digests")


def slice_sql(cfg: TableConfig) -> sql.Composed:
    """Per date of the stage: rows, the sums of the high and low halves of each row's 64-bit
    hash (``hash_record_extended``: each column's own hash, no text output; an enumerated value
    hashes by its label's OID, so a type made anew changes the digest) and their xor."""
    d = sql.Identifier(cfg.date_column)
    return sql.SQL(
        "SELECT {d}, count(*), sum((h >> 32)::int4), sum(((h & 4294967295) - 2147483648)::int4), bit_xor(h)\n"
        "FROM (SELECT s.{d}, hash_record_extended(s.*, 0) AS h FROM {stage} AS s OFFSET 0) AS s\n"
        "WHERE {d} IS NOT NULL GROUP BY {d}"
    ).format(d=d, stage=STAGE)


def watermark_sql() -> sql.Composed:
    """Per table of ``%(tables)s``: the id of its last successful load that wrote rows (index
    ``load_audit_table_writes``, Alembic 0016)."""
    return sql.SQL(
        "SELECT t.name, (SELECT max(a.id) FROM {audit} AS a WHERE a.table_name = t.name AND a.outcome = 'success'\n"
        "  AND coalesce(a.rows_inserted, 0) + coalesce(a.rows_updated, 0) + coalesce(a.rows_deleted, 0) > 0)\n"
        "FROM unnest(%(tables)s::text[]) AS t(name) ORDER BY t.name"
    ).format(audit=AUDIT)


def unchanged_sql(cfg: TableConfig) -> sql.Composed:
    """The dates of ``%(dates)s`` whose stored digest is the one in ``%(digests)s`` (same order)
    and that hold fact rows when their last load left some."""
    d = sql.Identifier(cfg.date_column)
    return sql.SQL(
        "SELECT c.date FROM unnest(%(dates)s::date[], %(digests)s::text[]) AS c(date, digest)\n"
        "JOIN {digests} AS g ON g.table_name = %(table)s AND g.date = c.date AND g.digest = c.digest\n"
        "JOIN {totals} AS t ON t.table_name = %(table)s AND t.date = c.date\n"
        "WHERE t.dw_rows = 0 OR EXISTS (SELECT 1 FROM {fact} AS f WHERE f.{d} = c.date)\n"
        "ORDER BY c.date"
    ).format(digests=DIGESTS, totals=TOTALS, fact=table_ident(cfg), d=d)


def date_digests(cur, cfg: TableConfig, recipe: str) -> dict:
    """{date: md5 hex} for each date of the stage, over its slice, ``recipe`` (the rendered
    resolve statement) and the looked-up dimensions' write watermark (read now: call before
    the resolve)."""
    dims = sorted({lk.dimension for lk in cfg.lookups})
    marks = cur.execute(watermark_sql(), {"tables": dims}).fetchall() if dims else []
    head = f"{recipe}\x1f{marks!r}"
    return {
        d: hashlib.md5(f"{head}\x1f{n}\x1f{hi}\x1f{lo}\x1f{x}".encode()).hexdigest()
        for d, n, hi, lo, x in cur.execute(slice_sql(cfg)).fetchall()
    }


def unchanged_dates(cur, cfg: TableConfig, digests: dict) -> list:
    """The dates of ``digests`` the load may leave as they are (see the module docstring)."""
    if not digests:
        return []
    dates = sorted(digests)
    rows = cur.execute(unchanged_sql(cfg), {"table": cfg.table, "dates": dates,
                                            "digests": [digests[d] for d in dates]}).fetchall()
    return [r[0] for r in rows]


def record_sql() -> sql.Composed:
    """Upsert of ``dw.fact_digests`` for ``%(dates)s`` with ``%(digests)s`` (same order) of ``%(table)s``."""
    return sql.SQL(
        "INSERT INTO {digests} AS g (table_name, date, digest)\n"
        "SELECT %(table)s, c.date, c.digest FROM unnest(%(dates)s::date[], %(digests)s::text[]) AS c(date, digest)\n"
        "ON CONFLICT (table_name, date) DO UPDATE SET digest = excluded.digest WHERE g.digest <> excluded.digest"
    ).format(digests=DIGESTS)


def record(cur, cfg: TableConfig, dates: list, digests: dict) -> None:
    """Store the digests of the ``dates`` the load resolved (inside its transaction)."""
    dates = [d for d in dates if d in digests]
    if dates:
        cur.execute(record_sql(), {"table": cfg.table, "dates": dates, "digests": [digests[d] for d in dates]})
