"""Benchmark 1: the job_ran_fact load of 1,000,000 extract rows against a raw COPY.

Data (x BENCH_SCALE): 1,000,000 extract rows over 10 dates; dimensions of 20,000
organizations, 100,000 projects, 200,000 users, 30 resources, 10,000 subscriptions; each lookup
key unknown to its dimension with probability 2%.

Baseline: a raw psycopg COPY of the same extract object (streamed from moto S3 in the same
1 MiB chunks) into an index-free UNLOGGED table; the fastest of two runs.

Figures: fresh load, unchanged re-run (0 writes: n_tup_ins/n_tup_upd/n_tup_del of
pg_stat_user_tables), re-run with 10% of the rows changed (one date of ten), then with 10% of every
date's rows changed; and the provider's
``PostgresHook.insert_rows(..., replace=True)`` on a subset of the same (already resolved)
rows, per row, against the fresh load per row.
"""

from __future__ import annotations

import json
import os
import time

from bench import warehouse_data as wd
from bench.common import Report, airflow_home, fresh_bucket, fresh_database, log, scaled

NAME = "fact_load"


def run(st) -> Report:
    import psycopg

    from dw.config import warehouse_tables
    from dw.warehouse.migrate import migrate

    rep = Report(NAME)
    tables = warehouse_tables()
    cfg = tables["job_ran_fact"]
    rows = scaled(1_000_000, 1000)
    sizes = wd.fact_dimension_sizes()
    with fresh_database(st) as uri, fresh_bucket(st) as s3:
        migrate(uri, dates=wd.FACT_MONTHS)
        wd.populate_dimensions(uri, s3, tables, sizes)
        with psycopg.connect(uri) as conn:
            t0 = time.perf_counter()
            x = wd.put_fact_extracts(conn, s3, cfg, rows, sizes, dates=10, spread=True)
            fresh_uri, fresh_key, size = x["fresh"]
            changed_uri, changed_key, _ = x["changed"]
            log(f"{rows} fact extract rows ({size / 1e6:.1f} MB CSV) generated in {time.perf_counter() - t0:.1f}s")
        rep.fact("rows", rows)
        rep.fact("extract_bytes", size)
        rep.fact("dimension_rows", sizes)

        base = wd.best_baseline(uri, cfg, s3, fresh_key)

        c0 = wd.tuple_counts(uri, "job_ran_fact")
        secs, stats = wd.load(uri, cfg, fresh_uri, s3, tables)
        c1 = wd.tuple_counts(uri, "job_ran_fact")
        rep.add("fresh load", secs, "raw COPY", base, goal=3.0, note=stats.summary())
        rep.fact("fresh_writes", wd.writes_between(c0, c1))

        secs, stats = wd.load(uri, cfg, fresh_uri, s3, tables)
        c2 = wd.tuple_counts(uri, "job_ran_fact")
        writes = wd.writes_between(c1, c2)
        rep.add("unchanged re-run", secs, "raw COPY", base, goal=1.5, note=stats.summary())
        rep.fact("unchanged_writes", writes)
        if any(writes.values()) or stats.inserted or stats.updated or stats.deleted:
            raise AssertionError(f"the unchanged re-run wrote rows: {writes}, {stats.summary()}")

        base_changed = wd.best_baseline(uri, cfg, s3, changed_key)
        secs, stats = wd.load(uri, cfg, changed_uri, s3, tables)
        c3 = wd.tuple_counts(uri, "job_ran_fact")
        rep.add("10% changed re-run", secs, "raw COPY", base_changed, goal=2.0, note=stats.summary())
        rep.fact("changed_writes", wd.writes_between(c2, c3))

        # 10% of every date's rows changed: no date is unchanged, every one is resolved (0032)
        spread_uri, spread_key, _ = x["spread"]
        base_spread = wd.best_baseline(uri, cfg, s3, spread_key)
        secs, stats = wd.load(uri, cfg, spread_uri, s3, tables)
        c4 = wd.tuple_counts(uri, "job_ran_fact")
        rep.add("10% of every date changed", secs, "raw COPY", base_spread, goal=2.0, note=stats.summary())
        rep.fact("spread_writes", wd.writes_between(c3, c4))

        fresh_secs = rep.figures[0].value
        peer_rows = min(rows, scaled(20_000, 200))
        peer_secs = peer_insert_rows(st, uri, cfg, peer_rows)
        ours = fresh_secs / rows * 1e6
        peer = peer_secs / peer_rows * 1e6
        rep.add(f"insert_rows(replace=True) per row", peer, "our fresh load per row", ours, unit="µs", goal=30.0,
                goal_min=True, note=f"{peer_rows} rows in {peer_secs:.2f}s")
    return rep


def peer_insert_rows(st, uri: str, cfg, n: int) -> float:
    """``PostgresHook.insert_rows(table, rows, target_fields, replace=True, replace_index=grain)``
    (provider defaults otherwise: one INSERT ... ON CONFLICT DO UPDATE per row, commit every
    1000) of ``n`` rows already resolved to surrogate keys (the rows of the fresh load), into an
    empty copy of dw.job_ran_fact with its primary key. The peer does less than the load: no
    stage, no key lookups, no aggregation, no delete. Seconds."""
    import psycopg

    from dw.warehouse.sql import fact_key

    airflow_home()
    conn = json.loads(st.connections()["postgres_dw"])
    conn["schema"] = uri.rsplit("/", 1)[1]
    os.environ["AIRFLOW_CONN_BENCH_PEER_PG"] = json.dumps(conn)
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    key = fact_key(cfg)
    cols = list(cfg.grain) + [m.name for m in cfg.measures] + ["dw_updated_at"]
    with psycopg.connect(uri, autocommit=True) as c:
        c.execute("CREATE TABLE public.peer_job_ran_fact (LIKE dw.job_ran_fact INCLUDING ALL)")
        rows = c.execute(
            f"SELECT {', '.join(cols)} FROM dw.job_ran_fact LIMIT %s", (n,)  # as stored: the load's order
        ).fetchall()
    hook = PostgresHook(postgres_conn_id="bench_peer_pg")
    t0 = time.perf_counter()
    hook.insert_rows("public.peer_job_ran_fact", rows, target_fields=cols, replace=True, replace_index=key)
    secs = time.perf_counter() - t0
    with psycopg.connect(uri) as c:
        got = c.execute("SELECT count(*) FROM public.peer_job_ran_fact").fetchone()[0]
    if got != len(rows):
        raise AssertionError(f"insert_rows wrote {got} rows, not {len(rows)}")
    return secs
