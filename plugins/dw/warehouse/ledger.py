"""The unknown-member ledger, ``dw.unknown_member_dates`` (docs/decisions/0014-unknown-member-ledger.md).

A fact row points at a dimension's Unknown member when the dimension row of its natural key is
not in the warehouse yet (a user whose document reaches MongoDB a day after their first job).
A row without a key points at the Not applicable member, which never heals and is never
recorded (docs/decisions/0044-not-applicable-members.md).
Such a date heals only when it is restated after the dimension row arrived. The ledger holds,
per fact table, the dates whose last load left rows of that kind, so the next runs restate them:

- ``record`` runs in the fact load's transaction, after the upsert: for the dates the load
  restated, the ledger rows are replaced by what the load left — one row per date that holds
  extract rows whose natural key *could* still arrive (every key column the dimension declares
  NOT NULL is set, and the dimension is loaded by the DAG) but did not resolve. An absent key
  (Not applicable), a partial one (some NOT NULL key column NULL: Unknown, but no row can ever
  match), or a lookup into a dimension no task loads never heals and is not recorded.
- ``open_dates`` is read by the fact's extract task before it renders its SQL
  (``unknown_member_dates``): the extract restates those dates too, from the latest versions
  in the lake, and the load re-resolves them against the dimensions as they are now.

- ``expire`` runs in the same transaction: the table's ledger dates older than ``HEAL_DAYS``
  before the run's day leave the ledger for ``dw.unknown_member_expired`` (with their counts and
  the day that expired them, readable by analysts), so the ledger stays bounded and nothing is
  restated forever: a dimension row that arrives that late needs a backfill of the date.

``record_late_updates`` keeps ``dw.late_updates`` (Alembic 0015): per fact and day, the documents
its extract saw updated beyond the look-back, not restated (docs/decisions/0020, 0021).
"""

from __future__ import annotations

import datetime as dt

from psycopg import sql

from dw.config import WAREHOUSE_SCHEMA, TableConfig
from dw.warehouse.sql import RESOLVED, lookup_alias, required_key_columns

LEDGER = sql.Identifier(WAREHOUSE_SCHEMA, "unknown_member_dates")
LEDGER_NAME = f"{WAREHOUSE_SCHEMA}.unknown_member_dates"
EXPIRED = sql.Identifier(WAREHOUSE_SCHEMA, "unknown_member_expired")
HEAL_DAYS = 7


OPEN_ROWS = sql.Identifier("dw_open_rows")


def open_row(cfg: TableConfig, tables: dict[str, TableConfig]) -> sql.Composable:
    """A boolean for each extract row of the fact load's resolve (``fact_sql.fact_resolve``: stage
    alias ``s``, the lookup of ``cfg.lookups[i]`` joined as ``sql.lookup_alias(i)``): the row
    did not resolve although it could — for some lookup into a loaded dimension, no row matched
    and the key is complete (``sql.required_key_columns`` all set): it points at the Unknown
    member and may heal. The resolve counts them per grain (``OPEN_ROWS``) and ``record``
    adds them up per date."""
    conds = []
    for i, lk in enumerate(cfg.lookups):
        dim = tables[lk.dimension]
        if not dim.loaded:
            continue
        parts = [sql.SQL("{}.id IS NULL").format(sql.Identifier(lookup_alias(i)))]
        parts += [sql.SQL("{} IS NOT NULL").format(sql.Identifier("s", c)) for c in required_key_columns(dim, lk)]
        conds.append(sql.SQL("(") + sql.SQL(" AND ").join(parts) + sql.SQL(")"))
    if not conds:
        return sql.SQL("false")
    return sql.SQL("({})").format(sql.SQL(" OR ").join(conds))


def record(cur, cfg: TableConfig, tables: dict[str, TableConfig], dates: list, loaded_at: dt.datetime) -> int:
    """Bring the ledger rows of ``cfg``'s restated ``dates`` to what the load left (inside the
    load's transaction, its ``resolved`` table still there, with ``OPEN_ROWS`` per grain): dates
    no longer open are deleted, open ones inserted or, if their count changed, updated (a re-run
    that changes nothing writes nothing). Returns how many of the dates are open."""
    if cfg.kind != "fact" or not dates:
        return 0
    d = sql.Identifier(cfg.date_column)
    still_open = sql.SQL(
        "SELECT {d} AS date, sum({n})::bigint AS n FROM {resolved}\n"
        "WHERE {d} = ANY(%(dates)s) GROUP BY {d} HAVING sum({n}) > 0"
    ).format(d=d, n=OPEN_ROWS, resolved=RESOLVED)
    cur.execute(
        sql.SQL(
            "WITH open AS ({still_open}),\n"
            "closed AS (DELETE FROM {ledger} AS l WHERE l.table_name = %(table)s AND l.date = ANY(%(dates)s)\n"
            "  AND NOT EXISTS (SELECT 1 FROM open AS o WHERE o.date = l.date))\n"
            "INSERT INTO {ledger} AS l (table_name, date, source_rows, dw_updated_at)\n"
            "SELECT %(table)s, o.date, o.n, %(loaded_at)s FROM open AS o\n"
            "ON CONFLICT (table_name, date) DO UPDATE SET source_rows = excluded.source_rows,\n"
            "  dw_updated_at = excluded.dw_updated_at WHERE l.source_rows <> excluded.source_rows"
        ).format(still_open=still_open, ledger=LEDGER),
        {"table": cfg.table, "dates": dates, "loaded_at": loaded_at},
    )
    return cur.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE table_name = %s AND date = ANY(%s)").format(LEDGER), (cfg.table, dates)
    ).fetchone()[0]


def expire(cur, cfg: TableConfig, loaded_at: dt.datetime, heal_days: int = HEAL_DAYS) -> int:
    """Move ``cfg``'s ledger dates older than ``heal_days`` before the run's day (``loaded_at`` is
    its data interval's end, D+1) to ``dw.unknown_member_expired``, in the load's transaction;
    returns how many expired. A date that expires again (restated by a backfill, still open)
    has its row brought up to date."""
    if cfg.kind != "fact":
        return 0
    run_day = (loaded_at - dt.timedelta(days=1)).date()
    row = cur.execute(
        sql.SQL(
            "WITH gone AS (DELETE FROM {ledger} WHERE table_name = %(table)s AND date < %(before)s\n"
            "  RETURNING table_name, date, source_rows),\n"
            "moved AS (INSERT INTO {expired} AS e (table_name, date, source_rows, expired_on, dw_updated_at)\n"
            "  SELECT table_name, date, source_rows, %(day)s, %(loaded_at)s FROM gone\n"
            "  ON CONFLICT (table_name, date) DO UPDATE SET source_rows = excluded.source_rows,\n"
            "    expired_on = excluded.expired_on, dw_updated_at = excluded.dw_updated_at\n"
            "  RETURNING 1)\n"
            "SELECT count(*) FROM moved"
        ).format(ledger=LEDGER, expired=EXPIRED),
        {"table": cfg.table, "before": run_day - dt.timedelta(days=heal_days), "day": run_day, "loaded_at": loaded_at},
    ).fetchone()
    return row[0]


def open_dates(conn, table: str, run_date: str, heal_days: int = HEAL_DAYS) -> list[str]:
    """The ledger's dates of ``dw.<table>`` from ``heal_days`` before ``run_date`` to
    ``heal_days`` after it (later dates too: a backfill may run an older day after a newer one;
    a bounded set, so the extract's partition window stays bounded), as YYYY-MM-DD. A warehouse
    that has no ledger yet (not migrated) has none."""
    since = dt.date.fromisoformat(run_date) - dt.timedelta(days=heal_days)
    until = dt.date.fromisoformat(run_date) + dt.timedelta(days=heal_days)
    with conn.cursor() as cur:
        if cur.execute("SELECT to_regclass(%s) IS NULL", (LEDGER_NAME,)).fetchone()[0]:
            return []
        rows = cur.execute(
            sql.SQL("SELECT date FROM {} WHERE table_name = %s AND date BETWEEN %s AND %s ORDER BY date").format(LEDGER),
            (table, since, until),
        ).fetchall()
    return [r[0].isoformat() for r in rows]


# --------------------------------------------------------------------------- late updates

LATE_UPDATES = sql.Identifier(WAREHOUSE_SCHEMA, "late_updates")


def record_late_updates(conn, table: str, day: str, documents: int, oldest_created: str | None,
                        look_back_days: int, recorded_by: str) -> bool:
    """Replace ``dw.late_updates``' row of (``table``, ``day``) with what the fact's extract of
    ``day`` saw beyond its look-back (Alembic 0015): ``documents`` updated more than
    ``look_back_days`` after their creation, the oldest created on ``oldest_created``; none: no
    row. One transaction, so every attempt of the day's extract leaves the same row. Returns
    False (nothing recorded) on a warehouse not migrated to 0015 yet."""
    with conn.transaction(), conn.cursor() as cur:
        if cur.execute("SELECT to_regclass('dw.late_updates') IS NULL").fetchone()[0]:
            return False
        cur.execute(sql.SQL("DELETE FROM {} WHERE table_name = %s AND dt = %s::date").format(LATE_UPDATES), (table, day))
        if documents:
            cur.execute(
                sql.SQL("INSERT INTO {} (dt, table_name, documents, oldest_created, look_back_days, recorded_by) "
                        "VALUES (%s::date, %s, %s, %s::date, %s, %s)").format(LATE_UPDATES),
                (day, table, documents, oldest_created, look_back_days, recorded_by))
    return True
