"""The Warehouse view's reads of the warehouse, and the shaping of their answers.

Every read runs in one read-only transaction as ``dw_analyst`` (``analyst``), so the view sees
what an analyst may see and nothing else (no ``email_hash``, no write). The queries use the
ledgers' indexes: ``dw.load_audit`` (table_name, date), ``dw.load_totals`` and
``dw.unknown_member_dates`` (table_name, date), ``dw.load_quarantine`` and ``dw.schema_changes``
(dt; first seen: one index probe per change shown); none reads a fact or a dimension, nor a
quarantined row itself (the analyst cannot).
Error texts pass ``redact`` (e-mail addresses, URL passwords, ``password=`` settings) before
they leave.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

WINDOW_DAYS = 30
FAILED_DAYS = 7
HEAL_DAYS = 7  # dw.warehouse.ledger.HEAL_DAYS: open dates older than this are no longer restated
CHANGE_DAYS = 30  # quarantine and schema changes: the days shown, ending today
MAX_ROWS = 200
STATEMENT_TIMEOUT_MS = 5000

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_URL_PASSWORD = re.compile(r"(\w+://[^/\s:@]*:)[^@\s/]*@")
_SETTING = re.compile(r"(?i)\b(password|passwd|pwd|secret|token|api_key|apikey|access_key|secret_key)(\s*[=:]\s*)(\S+)")


def redact(text: str | None) -> str | None:
    """``text`` without e-mail addresses, URL passwords and ``password=...``-like settings."""
    if text is None:
        return None
    text = _URL_PASSWORD.sub(r"\1***@", text)
    text = _EMAIL.sub("<email>", text)
    return _SETTING.sub(r"\1\2***", text)


@contextlib.contextmanager
def analyst(conn):
    """A cursor in a read-only transaction as ``dw_analyst``, with a statement timeout."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SET TRANSACTION READ ONLY")
        cur.execute("SET LOCAL ROLE dw_analyst")
        cur.execute("SELECT pg_catalog.set_config('statement_timeout', %s, true)", (str(STATEMENT_TIMEOUT_MS),))
        yield cur


def window(end: dt.date, days: int = WINDOW_DAYS) -> list[dt.date]:
    """The ``days`` dates ending at ``end``, oldest first."""
    return [end - dt.timedelta(days=i) for i in range(days - 1, -1, -1)]


def default_end(cur, today: dt.date, tables: list[str]) -> dt.date:
    """The last day of the view's window: yesterday (the day the latest scheduled run loads), or
    the latest day loaded into ``tables`` when the warehouse is further behind (its last month
    stays visible)."""
    yesterday = today - dt.timedelta(days=1)
    latest = cur.execute(
        "SELECT max(m.date) FROM unnest(%s::text[]) AS t(name) CROSS JOIN LATERAL (SELECT max(a.date) AS date "
        "FROM dw.load_audit AS a WHERE a.table_name = t.name AND a.outcome = 'success') AS m", (tables,)).fetchone()[0]
    if latest is None or latest >= yesterday:
        return yesterday
    return latest


def freshness(last_date: dt.date | None, today: dt.date) -> dict:
    """Freshness against the daily schedule: the run firing on day T loads T-1, so a table is
    ``fresh`` when it holds yesterday, ``late`` a day behind, ``stale`` further behind (or never loaded)."""
    expected = today - dt.timedelta(days=1)
    if last_date is None:
        return {"expected": expected.isoformat(), "days_behind": None, "status": "stale"}
    behind = max((expected - last_date).days, 0)
    return {"expected": expected.isoformat(), "days_behind": behind,
            "status": "fresh" if behind == 0 else "late" if behind == 1 else "stale"}


def log_url(dag_id: str | None, run_id: str | None, task_id: str | None, try_number: int | None) -> str | None:
    """The Airflow UI page of a task try (its log), relative to the Airflow base URL."""
    if not (dag_id and run_id and task_id):
        return None
    url = f"/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}/tasks/{quote(task_id, safe='')}"
    return url + (f"?try_number={try_number}" if try_number else "")


def _iso(v):
    return v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v


def _dec(v) -> Decimal | None:
    try:
        return None if v is None else Decimal(str(v))
    except InvalidOperation:
        return None


# --------------------------------------------------------------------------- tables

_LAST_LOAD = """
SELECT t.name, a.date, a.dag_id, a.run_id, a.task_id, a.try_number, a.rows_copied, a.rows_deleted,
  a.rows_inserted, a.rows_updated, a.rows_unknown, a.started_at, a.ended_at, a.outcome, a.error,
  (SELECT max(s.date) FROM dw.load_audit AS s WHERE s.table_name = t.name AND s.outcome = 'success') AS last_date
FROM unnest(%(tables)s::text[]) AS t(name)
LEFT JOIN LATERAL (SELECT * FROM dw.load_audit AS a WHERE a.table_name = t.name
                   ORDER BY a.date DESC, a.id DESC LIMIT 1) AS a ON true
"""

# rows per day: a fact's rows of each date (dw.load_totals); a dimension's rows written by the
# last successful load of each day
_FACT_ROWS = """
SELECT table_name, date, dw_rows FROM dw.load_totals
WHERE table_name = ANY(%(tables)s::text[]) AND date BETWEEN %(start)s AND %(end)s
"""
_DIM_ROWS = """
SELECT DISTINCT ON (table_name, date) table_name, date, coalesce(rows_inserted, 0) + coalesce(rows_updated, 0)
FROM dw.load_audit
WHERE table_name = ANY(%(tables)s::text[]) AND date BETWEEN %(start)s AND %(end)s AND outcome = 'success'
ORDER BY table_name, date, id DESC
"""


def tables(cur, configs: dict, end: dt.date, today: dt.date) -> list[dict]:
    """Per warehouse table (config order): last date loaded, freshness, rows per day over the
    window ending ``end``, and its last load (counts, duration, outcome, log link)."""
    names = list(configs)
    days = window(end)
    params = {"tables": names, "start": days[0], "end": days[-1]}
    facts = [n for n in names if configs[n].kind == "fact"]
    dims = [n for n in names if configs[n].kind != "fact"]
    series: dict[str, dict] = {n: {} for n in names}
    for sql_text, subset in ((_FACT_ROWS, facts), (_DIM_ROWS, dims)):
        if subset:
            for name, date, n in cur.execute(sql_text, {**params, "tables": subset}):
                series[name][date] = n
    out = []
    for row in cur.execute(_LAST_LOAD, params).fetchall():
        (name, date, dag_id, run_id, task_id, try_number, copied, deleted, inserted, updated, unknown,
         started, ended, outcome, error, last_date) = row
        cfg = configs[name]
        last = None
        if date is not None:
            last = {"date": date.isoformat(), "copied": copied, "deleted": deleted, "inserted": inserted,
                    "updated": updated, "unknown": unknown, "outcome": outcome, "error": redact(error),
                    "started_at": _iso(started), "ended_at": _iso(ended),
                    "duration_s": round((ended - started).total_seconds(), 2) if started and ended else None,
                    "log_url": log_url(dag_id, run_id, task_id, try_number)}
        out.append({
            "table": name, "kind": cfg.kind, "loaded": cfg.loaded, "source": cfg.source,
            "last_date": _iso(last_date), "freshness": freshness(last_date, today),
            "rows_label": "fact rows of the date" if cfg.kind == "fact" else "rows written by the day's load",
            "rows_per_day": [{"date": d.isoformat(), "rows": series[name].get(d)} for d in days],
            "last_load": last,
        })
    return out


# --------------------------------------------------------------------------- open questions

_OPEN = """
SELECT u.table_name, u.date, u.source_rows, u.dw_updated_at,
  (SELECT max(s.date) FROM dw.load_audit AS s WHERE s.table_name = u.table_name AND s.outcome = 'success') AS last_run
FROM dw.unknown_member_dates AS u ORDER BY u.table_name, u.date
"""
_FAILED = """
SELECT f.id, f.table_name, f.date, f.dag_id, f.run_id, f.task_id, f.try_number, f.started_at, f.error,
  EXISTS (SELECT 1 FROM dw.load_audit AS s WHERE s.table_name = f.table_name AND s.date = f.date
          AND s.outcome = 'success' AND s.id > f.id) AS resolved
FROM dw.load_audit AS f
WHERE f.outcome = 'failed' AND f.started_at >= pg_catalog.now() - pg_catalog.make_interval(days => %(days)s)
ORDER BY f.started_at DESC LIMIT 200
"""


_QUARANTINE = """
SELECT q.dt, q.table_name, q.reason, count(*) AS rows, min(q.quarantined_at) AS since
FROM dw.load_quarantine AS q
WHERE q.dt >= %(since)s
GROUP BY q.dt, q.table_name, q.reason ORDER BY q.dt DESC, q.table_name, q.reason LIMIT %(limit)s
"""
_CHANGES = """
SELECT c.dt, c.source, c.entity, c.column_name, c.change, c.detail, c.row_count, c.action,
  (SELECT f.first_seen FROM dw.schema_changes_first_seen AS f
    WHERE f.source = c.source AND f.entity = c.entity AND f.column_name = c.column_name
      AND f.change = c.change AND f.detail = c.detail) AS first_seen
FROM dw.schema_changes AS c
WHERE c.dt >= %(since)s
ORDER BY c.dt DESC, c.source, c.entity, c.column_name, c.change, c.detail LIMIT %(limit)s
"""


def changes(cur, today: dt.date) -> tuple[list[dict], list[dict]]:
    """The last ``CHANGE_DAYS`` days' rows of ``dw.load_quarantine`` counted per date, table and
    reason, and of ``dw.schema_changes`` with each change's first-seen date."""
    p = {"since": today - dt.timedelta(days=CHANGE_DAYS), "limit": MAX_ROWS}
    quarantined = [{"date": d.isoformat(), "table": t, "reason": redact(reason), "rows": n, "since": _iso(since)}
                   for d, t, reason, n, since in cur.execute(_QUARANTINE, p)]
    seen = [{"date": d.isoformat(), "source": src, "entity": ent, "column": col, "change": ch, "detail": redact(det),
             "rows": n, "action": action, "first_seen": first.isoformat() if first else None,
             "new": first == d}
            for d, src, ent, col, ch, det, n, action, first in cur.execute(_CHANGES, p)]
    return quarantined, seen


def open_questions(cur, today: dt.date) -> dict:
    """Dates with unknown members still open (count, age in days, whether the next runs still
    restate them), the failed loads of the last ``FAILED_DAYS`` days with their error, and the
    quarantine and schema changes of the last ``CHANGE_DAYS`` days (``changes``)."""
    unknown = []
    for table, date, rows, updated, last_run in cur.execute(_OPEN):
        unknown.append({"table": table, "date": date.isoformat(), "rows": rows, "age_days": (today - date).days,
                        "last_changed": _iso(updated),
                        "healing": last_run is None or date >= last_run - dt.timedelta(days=HEAL_DAYS)})
    failed = []
    for (_id, table, date, dag_id, run_id, task_id, try_number, started, error, resolved) in cur.execute(
            _FAILED, {"days": FAILED_DAYS}):
        failed.append({"table": table, "date": date.isoformat(), "started_at": _iso(started),
                       "error": redact(error), "resolved": resolved,
                       "log_url": log_url(dag_id, run_id, task_id, try_number)})
    quarantined, seen = changes(cur, today)
    return {"unknown_members": unknown, "failed_loads": failed, "quarantined": quarantined, "schema_changes": seen}


# --------------------------------------------------------------------------- agreement

_TOTALS = """
SELECT table_name, date, extract_rows, extract_sums, dw_rows, dw_sums, dw_updated_at FROM dw.load_totals
WHERE table_name = ANY(%(tables)s::text[]) AND date BETWEEN %(start)s AND %(end)s
ORDER BY table_name, date
"""


def compare(measures: list[str], extract_sums: dict, dw_sums: dict) -> list[dict]:
    """Per measure: the extract's and the warehouse's sums, and whether they are equal."""
    out = []
    for m in measures:
        e, w = _dec(extract_sums.get(m)), _dec(dw_sums.get(m))
        out.append({"measure": m, "extract": None if e is None else str(e), "warehouse": None if w is None else str(w),
                    "agrees": e == w})
    return out


def agreement(cur, configs: dict, end: dt.date) -> list[dict]:
    """Per fact and date of the window: rows and measure sums of the extract against the
    warehouse, as the last load of that date recorded them (``dw.load_totals``)."""
    facts = [n for n, c in configs.items() if c.kind == "fact"]
    days = window(end)
    out = []
    for table, date, ext_rows, ext_sums, dw_rows, dw_sums, updated in cur.execute(
            _TOTALS, {"tables": facts, "start": days[0], "end": days[-1]}):
        measures = compare([m.name for m in configs[table].measures], ext_sums or {}, dw_sums or {})
        out.append({"table": table, "date": date.isoformat(), "extract_rows": ext_rows, "warehouse_rows": dw_rows,
                    "measures": measures, "agrees": all(m["agrees"] for m in measures),
                    "recorded_at": _iso(updated)})
    return out
