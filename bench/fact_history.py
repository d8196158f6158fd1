"""Benchmark 6: restating 10 dates of job_ran_fact when the fact already holds 1,000 dates,
against the same load into a fact that holds only those 10 dates (issue 12).

Data (x BENCH_SCALE): an extract of 10 dates (2024-01-01 .. 2024-01-10) x 100,000 rows, the
dimensions of ``bench.fact_load``. Two warehouses with the same dimensions: in *alone* the fact
holds only the 10 dates (a fresh load of the extract); in *history* it also holds 990 more
dates around them (2021-05-07 .. 2024-01-31, 100,000 rows each: the restated dates sit in the
middle of their monthly partition). On both, interleaved, twice: an unchanged re-run, a re-run
with 10% of the rows changed, and one that changes them back (the best of two counts).

Figures: each re-run with history ÷ the same re-run alone (goal ≤ 1.3×). The 10%-changed re-run
with history is then run once more under ``EXPLAIN (ANALYZE, BUFFERS)``, statement by statement
(``bench.explain_fact``; rolled back) after the runs above, into ``BENCH_EXPLAIN_DIR`` (default ``bench/results``)
``explain-history-changed.txt``; the fact ``seq_scans_of_fact`` counts the plan lines that
sequentially scan the fact or one of its partitions (goal 0).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from bench import warehouse_data as wd
from bench.common import REPO, SCALE, Report, fresh_bucket, fresh_database, log, scaled

NAME = "fact_history"
RESTATED_DATES = 10
HISTORY_DATES = 1000 if SCALE > 0.01 else 100  # the smoke run (0.01) keeps it short
LAST_DATE = "2024-01-31"


def write_history(uri: str, cfg, per_date: int) -> int:
    """Fill the fact with ``per_date`` rows on each of the ``HISTORY_DATES`` dates up to
    ``LAST_DATE`` that the restated extract does not hold. Returns the rows written."""
    import datetime as dt

    last = dt.date.fromisoformat(LAST_DATE)
    first_restated = dt.date.fromisoformat(wd.FIRST_DATE)
    restated = {first_restated + dt.timedelta(days=i) for i in range(RESTATED_DATES)}
    dates = [last - dt.timedelta(days=i) for i in range(HISTORY_DATES)]
    return fill_dates(uri, cfg, sorted(d for d in dates if d not in restated), per_date)


def fill_dates(uri: str, cfg, dates, per_date: int) -> int:
    """``per_date`` synthetic job_ran_fact rows on each of ``dates`` (keys in key order, like
    loads write them), through the partitions ``ensure_partitions`` makes (``uri``: the owner's
    or a superuser's). Returns the rows written."""
    import psycopg

    from dw.warehouse.ddl import ensure_partitions

    history = sorted(dates)
    with psycopg.connect(uri) as conn, conn.cursor() as cur:
        ensure_partitions(cur, cfg, history)
        cur.execute("SET max_parallel_workers_per_gather = 0")
        cur.execute("SELECT setseed(0.24)")
        cur.execute(f"""
            INSERT INTO dw.job_ran_fact
            SELECT d, md5('org' || (g %% 20000))::uuid, md5('project' || g)::uuid, md5('user' || (g * 7 + extract(doy FROM d)::int))::uuid,
              md5('resource' || (g %% 30))::uuid, md5('sub' || (g %% 10000))::uuid,
              (CASE WHEN g %% 3 = 0 THEN 'public' ELSE 'private' END)::dw.project_visibility_type,
              'success'::dw.job_outcome_type, g %% 5 = 0, 1 + g %% 5, g %% 5000, g %% 500, round((g %% 600)::numeric, 3),
              timestamptz '2024-01-16'
            FROM unnest(%s::date[]) AS d, generate_series(0, {per_date - 1}) AS g
            ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9""", (history,))
        n = cur.rowcount
        conn.commit()
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("ANALYZE dw.job_ran_fact")
    return n


def seq_scans_of_fact(plan_text: str) -> list[str]:
    return [ln.strip() for ln in plan_text.splitlines() if re.search(r"Seq Scan on job_ran_fact(_p\w+)?\b", ln)]


def run(st) -> Report:
    import contextlib

    import psycopg

    from bench.explain_fact import explain_load
    from dw.config import warehouse_tables
    from dw.warehouse.migrate import migrate

    rep = Report(NAME)
    tables = warehouse_tables()
    cfg = tables["job_ran_fact"]
    per_date = scaled(100_000, 100)
    rows = per_date * RESTATED_DATES
    sizes = wd.fact_dimension_sizes()
    with contextlib.ExitStack() as es:
        s3 = es.enter_context(fresh_bucket(st))
        alone, hist = es.enter_context(fresh_database(st)), es.enter_context(fresh_database(st))
        for uri in (alone, hist):
            migrate(uri, dates=wd.FACT_MONTHS)
            wd.populate_dimensions(uri, s3, tables, sizes)
        with psycopg.connect(alone) as conn:
            x = wd.put_fact_extracts(conn, s3, cfg, rows, sizes, dates=RESTATED_DATES)
            fresh_uri, fresh_key, _ = x["fresh"]
            changed_uri, changed_key, _ = x["changed"]
        rep.fact("restated_rows", rows)
        t0 = time.perf_counter()
        n = write_history(hist, cfg, per_date)
        log(f"history: {n} rows on {HISTORY_DATES - RESTATED_DATES} more dates in {time.perf_counter() - t0:.1f}s")
        rep.fact("history_rows", n + rows)
        rep.fact("history_dates", HISTORY_DATES)
        for uri in (alone, hist):
            wd.load(uri, cfg, fresh_uri, s3, tables)  # the 10 dates

        # the same re-runs on both facts, interleaved (the machine is shared), best of two rounds
        best: dict[tuple[str, str], float] = {}
        stats: dict[tuple[str, str], object] = {}
        writes = None
        for _ in range(2):
            for scenario, extract in (("unchanged", fresh_uri), ("changed", changed_uri), ("back", fresh_uri)):
                for state, uri in (("alone", alone), ("history", hist)):
                    c0 = wd.tuple_counts(uri, "job_ran_fact")
                    secs, st_ = wd.load(uri, cfg, extract, s3, tables)
                    if scenario == "unchanged" and state == "history":
                        writes = wd.writes_between(c0, wd.tuple_counts(uri, "job_ran_fact"))
                    best[scenario, state] = min(secs, best.get((scenario, state), secs))
                    stats[scenario, state] = st_
        if stats["changed", "history"].updated != stats["changed", "alone"].updated:
            raise AssertionError("the two facts did not run the same load")
        rep.fact("history_unchanged_writes", writes)
        rep.add("unchanged re-run, 1,000 dates held", best["unchanged", "history"], "same, 10 dates held",
                best["unchanged", "alone"], goal=1.3, note=stats["unchanged", "history"].summary())
        rep.add("10% changed re-run, 1,000 dates held", best["changed", "history"], "same, 10 dates held",
                best["changed", "alone"], goal=1.3, note=stats["changed", "history"].summary())

        out_dir = Path(os.environ.get("BENCH_EXPLAIN_DIR") or REPO / "bench" / "results")
        out_dir.mkdir(parents=True, exist_ok=True)
        report = "\n".join(explain_load(hist, s3, cfg, tables, changed_key, commit=False))
        (out_dir / "explain-history-changed.txt").write_text(report)
        rep.fact("seq_scans_of_fact", seq_scans_of_fact(report))
    return rep
