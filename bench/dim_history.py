"""Benchmark 8: a day's keys against dimensions with a large history (issue 12, decision 0031).

Data (x BENCH_SCALE): two warehouses. In *history* ``user_dim`` holds 1,000,000 users and
``subscription_dim`` 1,000,000 versions (500,000 subscriptions, two versions each); in *alone*
each holds only the keys of the day (10,000 users, 10,000 subscriptions, spread evenly over the
history's key range). Both have the fact's other dimensions (``bench.warehouse_data``).

The day, loaded into both, interleaved:

- SCD1 ``user_dim``: the day's 10,000 users at a later source version (10% with a new login)
  plus 1,000 new users; then the same extract again (an unchanged re-run, 0 writes).
- SCD2 ``subscription_dim``: every observation of the day's 10,000 subscriptions plus a new one
  each (10,000 versions closed, 10,000 opened); then the same extract again.
- ``job_ran_fact``: 50,000 rows of one date whose users and subscriptions are the day's keys;
  then an unchanged re-run.

Figures: each load with history ÷ the same load alone (the fact's: goal ≤ 1.3×, as
``bench.fact_history``; a dimension's day touches a page of the history per key: no goal). ``BENCH_BY_KEY=off`` runs
the same with ``dw.warehouse.load.BY_KEY_SHARE`` = 10**12 (never by key): the planner's own choice (hash joins over
the whole dimensions, the loads before decision 0031), for comparison. Each load of the day is
also run once under ``EXPLAIN (ANALYZE, BUFFERS)`` in *history*, statement by statement, rolled
back, into ``BENCH_EXPLAIN_DIR`` (default ``bench/results``) ``explain-dim-history-*.txt``; the
fact ``whole_scans_of_large_dimensions`` lists the plan lines that scan ``user_dim`` or
``subscription_dim`` sequentially or read half their rows in one node (goal: none).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from bench import warehouse_data as wd
from bench.common import REPO, Report, fresh_bucket, fresh_database, log, scaled

NAME = "dim_history"
HISTORY = scaled(1_000_000, 10_000)  # user_dim rows, subscription_dim versions
DAY = scaled(10_000, 100)  # keys of the day
FACT_ROWS = scaled(50_000, 500)
FACT_DATE = "2024-01-10"


def _keys(step: int) -> str:
    return f"(SELECT g * {step} FROM generate_series(0, {DAY - 1}) AS g)"


def extracts(conn, s3, tables) -> dict[str, tuple[str, str, int]]:
    """The history, alone and day extracts of both dimensions, and the day's fact extract."""
    user, sub, fact = tables["user_dim"], tables["subscription_dim"], tables["job_ran_fact"]
    subs = HISTORY // 2
    u_step, s_step = HISTORY // DAY, subs // DAY
    new_users = max(1, DAY // 10)
    x = {}
    cols, _ = wd.dimension_select("user_dim", 1)
    x["user_history"] = wd.put_extract(conn, s3, user, (cols, f"FROM generate_series(0, {HISTORY - 1}) AS i"), "user-history")
    x["user_alone"] = wd.put_extract(conn, s3, user, (cols, f"FROM {_keys(u_step)} AS x(i)"), "user-alone")
    cols, _ = wd.dimension_select("user_dim", 1, version="1", changed=f"i % {u_step * 10} = 0")
    day = f"FROM ({_keys(u_step)} UNION ALL SELECT {HISTORY} + g FROM generate_series(0, {new_users - 1}) AS g) AS x(i)"
    x["user_day"] = wd.put_extract(conn, s3, user, (cols, day), "user-day")

    cols, _ = wd.dimension_select("subscription_dim", 1, version="g.v", changed="g.v = 1")

    def obs(keys: str, versions: int) -> str:
        return f"FROM (SELECT k.i, v FROM {keys} AS k(i), generate_series(0, {versions - 1}) AS v) AS g(i, v)"

    every = f"(SELECT g FROM generate_series(0, {subs - 1}) AS g)"
    x["sub_history"] = wd.put_extract(conn, s3, sub, (cols, obs(every, 2)), "sub-history")
    x["sub_alone"] = wd.put_extract(conn, s3, sub, (cols, obs(_keys(s_step), 2)), "sub-alone")
    x["sub_day"] = wd.put_extract(conn, s3, sub, (cols, obs(_keys(s_step), 3)), "sub-day")

    sizes = wd.fact_dimension_sizes()
    fcols, _ = wd.fact_select()
    fcols = {**fcols,
             "date": f"date '{FACT_DATE}'",
             "user_analytics_id": f"md5('user' || ((s.n % {DAY}) * {u_step}))::uuid",
             "subscription_billing_id": f"(6100000 + (s.n % {DAY}) * {s_step})::text",
             "organization_analytics_id": f"md5('org' || (s.n % {sizes['organization_dim']}))::uuid",
             "project_analytics_id": f"md5('project' || (s.n % {sizes['project_dim']}))::uuid"}
    wd.create_fact_source(conn, FACT_ROWS, orgs=sizes["organization_dim"], projects=sizes["project_dim"],
                          users=DAY, subscriptions=DAY, dates=1, unknown_share=0.0)
    x["fact_day"] = wd.put_extract(conn, s3, fact, (fcols, f"FROM {wd.FACT_SOURCE} AS s ORDER BY s.n"), "fact-day")
    return x


def explain_dimension(uri: str, s3, cfg, key: str) -> list[str]:
    """One dimension load of ``key`` as ``dw.warehouse.load`` runs it, every statement under
    ``EXPLAIN (ANALYZE, BUFFERS)``, rolled back; returns the report."""
    import psycopg

    from bench.explain_fact import _step, stage_extract
    from dw.warehouse import dimension_sql
    from dw.warehouse.load import dimensions_by_key

    out: list[str] = []
    params = {"loaded_at": wd.LOADED_AT}
    with psycopg.connect(uri) as conn:
        with conn.transaction() as tx, conn.cursor() as cur:
            copied = stage_extract(cur, out, s3, cfg, key)
            by_key = dimensions_by_key(cur, copied, [cfg.table])
            out.append(f"##### by key (hash and merge joins off): {by_key}\n")
            if cfg.scd == 2:
                for name, stmt in dimension_sql.scd2_statements(cfg).items():
                    _step(cur, out, f"scd2 {name}", stmt, params)
            else:
                _step(cur, out, "upsert (dimension_upsert)", dimension_sql.dimension_upsert(cfg), params)
            raise psycopg.Rollback(tx)
    return out


def whole_scans(plan_text: str, tables=("user_dim", "subscription_dim"), share: float = 0.5) -> list[str]:
    """Plan lines that read ``share`` of a large dimension's ``HISTORY`` rows or more in one node
    (any scan: sequential, or a whole index), or scan it sequentially at all."""
    found = []
    for ln in plan_text.splitlines():
        m = re.search(r"(Seq Scan|Scan using \S+) on (\w+)\b.*actual time=\S+ rows=(\d+) loops=(\d+)", ln)
        if m and m.group(2) in tables and (m.group(1) == "Seq Scan" or int(m.group(3)) * int(m.group(4)) >= share * HISTORY):
            found.append(ln.strip())
    return found


def run(st) -> Report:
    import contextlib

    import psycopg

    from bench.explain_fact import explain_load
    from dw.config import warehouse_tables
    from dw.warehouse.migrate import migrate

    from dw.warehouse import load as load_mod

    if os.environ.get("BENCH_BY_KEY") == "off":
        load_mod.BY_KEY_SHARE = 10**12
    rep = Report(NAME)
    rep.fact("by_key_share", load_mod.BY_KEY_SHARE)
    tables = warehouse_tables()
    user, sub, fact = tables["user_dim"], tables["subscription_dim"], tables["job_ran_fact"]
    rep.fact("history_rows", HISTORY)
    rep.fact("day_keys", DAY)
    with contextlib.ExitStack() as es:
        s3 = es.enter_context(fresh_bucket(st))
        alone, hist = es.enter_context(fresh_database(st)), es.enter_context(fresh_database(st))
        with psycopg.connect(alone) as conn:
            x = extracts(conn, s3, tables)
        sizes = {k: v for k, v in wd.fact_dimension_sizes().items() if k not in ("user_dim", "subscription_dim")}
        for uri, state in ((alone, "alone"), (hist, "history")):
            migrate(uri, dates=wd.FACT_MONTHS)
            wd.populate_dimensions(uri, s3, tables, sizes)
            for cfg, name in ((user, "user"), (sub, "sub")):
                secs, stats = wd.load(uri, cfg, x[f"{name}_{state}"][0], s3, tables)
                log(f"{state} {cfg.table}: {stats.summary()} in {secs:.1f}s")
        with psycopg.connect(hist, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE dw.user_dim, dw.subscription_dim")
        with psycopg.connect(alone, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE dw.user_dim, dw.subscription_dim")

        out_dir = Path(os.environ.get("BENCH_EXPLAIN_DIR") or REPO / "bench" / "results")
        out_dir.mkdir(parents=True, exist_ok=True)
        scans: dict[str, list[str]] = {}
        for label, cfg, key in (("scd1", user, x["user_day"][1]), ("scd2", sub, x["sub_day"][1])):
            report = "\n".join(explain_dimension(hist, s3, cfg, key))
            (out_dir / f"explain-dim-history-{label}.txt").write_text(report)
            scans[label] = whole_scans(report)
        report = "\n".join(explain_load(hist, s3, fact, tables, x["fact_day"][1], commit=False))
        (out_dir / "explain-dim-history-fact.txt").write_text(report)
        scans["fact"] = whole_scans(report)
        rep.fact("whole_scans_of_large_dimensions", scans)

        times: dict[tuple[str, str], float] = {}
        notes: dict[tuple[str, str], str] = {}
        writes = {}
        for cfg, name in ((user, "user"), (sub, "sub"), (fact, "fact")):
            for run_ in ("day", "re-run", "re-run"):
                for state, uri in (("alone", alone), ("history", hist)):
                    c0 = wd.tuple_counts(uri, cfg.table)
                    secs, stats = wd.load(uri, cfg, x[f"{name}_day"][0], s3, tables)
                    if run_ == "re-run" and state == "history":
                        writes[cfg.table] = wd.writes_between(c0, wd.tuple_counts(uri, cfg.table))
                    k = (cfg.table + " " + run_, state)
                    times[k] = min(secs, times.get(k, secs))
                    notes[k] = stats.summary()
        for table in (user.table, sub.table, fact.table):
            for run_ in ("day", "re-run"):
                k = table + " " + run_
                what = "the day's load" if run_ == "day" else "unchanged re-run"
                # the fact's goal as fact_history's; a dimension's keys are spread over its history, so
                # each touches its own index and heap pages there (no goal: BENCHMARKS.md §8)
                rep.add(f"{table} {what}, large history", times[k, "history"], "same, the day's keys only",
                        times[k, "alone"], goal=1.3 if table == fact.table else None, note=notes[k, "history"])
        rep.fact("rerun_writes", writes)
    return rep
