"""``python -m bench.explain_fact``: the job_ran_fact load of benchmark 1, statement by statement,
each under ``EXPLAIN (ANALYZE, BUFFERS)`` — the profile behind BENCHMARKS.md's fact-load figures.

Same data as ``bench.fact_load`` (x BENCH_SCALE), same statements as
the fact load of ``dw.warehouse.load`` (from ``dw.warehouse.sql``, ``fact_sql`` and ``ledger``), run
three times: a fresh load (committed), an unchanged re-run and a re-run with 10% of the rows
changed (both rolled back). Prints each step's time and plan and writes them to
``bench/results/explain-fact-<scenario>.txt`` (``BENCH_EXPLAIN_DIR``). Not part of
``python -m bench``: a diagnosis, not a figure.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench import warehouse_data as wd
from bench.common import REPO, fresh_bucket, fresh_database, scaled, stack


def _step(cur, out: list[str], label: str, stmt, params=None, explain: bool = True):
    from psycopg import sql

    t0 = time.perf_counter()
    if explain:
        plan = "\n".join(r[0] for r in cur.execute(sql.SQL("EXPLAIN (ANALYZE, BUFFERS) ") + stmt, params).fetchall())
    else:
        cur.execute(stmt, params)
        plan = ""
    out.append(f"##### {label}: {time.perf_counter() - t0:.2f} s\n{plan}\n")
    print(f"  {label:<28} {time.perf_counter() - t0:6.2f} s", flush=True)


def stage_extract(cur, out: list[str], s3, cfg, key: str) -> int:
    """The load's first steps in the open transaction of ``cur``: session settings, ``work_mem``,
    the stage COPY'd from ``key`` and analyzed (timed into ``out``). Returns the rows copied."""
    from dw.warehouse.load import CHUNK_BYTES, LOAD_WORK_MEM, check_header
    from dw.warehouse.sql import STAGE, analyze, copy_stage, create_stage, session_settings

    for stmt in session_settings():
        cur.execute(stmt)
    cur.execute("SELECT set_config('work_mem', %s, true)", (LOAD_WORK_MEM,))
    t0 = time.perf_counter()
    chunks = s3.get_object(Bucket=s3.bucket, Key=key)["Body"].iter_chunks(chunk_size=CHUNK_BYTES)
    head = check_header(chunks, cfg, key)
    cur.execute(create_stage(cfg))
    with cur.copy(copy_stage(cfg)) as copy:
        copy.write(head)
        for chunk in chunks:
            copy.write(chunk)
    copied = cur.rowcount
    out.append(f"##### COPY into the stage: {time.perf_counter() - t0:.2f} s ({copied} rows)\n")
    print(f"  {'COPY':<28} {time.perf_counter() - t0:6.2f} s", flush=True)
    _step(cur, out, "ANALYZE stage", analyze(STAGE), explain=False)
    return copied


def explain_load(uri: str, s3, cfg, tables, key: str, commit: bool) -> list[str]:
    """One load of ``key`` in one transaction, every statement explained; returns the report."""
    import psycopg

    from dw.warehouse import ddl, fact_sql, ledger, totals
    from dw.warehouse.load import FACT_BY_KEY, JOINS_BY_COST, dimensions_by_key
    from dw.warehouse.sql import RESOLVED, analyze

    out: list[str] = []
    params = {"loaded_at": wd.LOADED_AT}
    with psycopg.connect(uri) as conn:
        t_all = time.perf_counter()
        with conn.transaction() as tx, conn.cursor() as cur:
            copied = stage_extract(cur, out, s3, cfg, key)
            by_key = dimensions_by_key(cur, copied, [lk.dimension for lk in cfg.lookups])
            out.append(f"##### lookups by key (hash and merge joins off): {by_key}\n")
            _step(cur, out, "resolve (CREATE resolved)", fact_sql.fact_resolve(cfg, tables))
            if by_key:
                cur.execute(JOINS_BY_COST)
            _step(cur, out, "ANALYZE resolved", analyze(RESOLVED), explain=False)
            _step(cur, out, "dates + unknown count", fact_sql.fact_dates(cfg))
            dates = [r[0] for r in cur.execute(fact_sql.fact_dates(cfg)).fetchall()]
            p = {**params, "dates": dates}
            assert not ddl.missing_partitions(cur, cfg, dates)  # made by migrate, like the load checks
            cur.execute(FACT_BY_KEY)
            held = cur.execute(fact_sql.fact_holds_dates(cfg), p).fetchone()[0]
            if held:
                _step(cur, out, "merge (fact_merge)", fact_sql.fact_merge(cfg), p)
            else:
                _step(cur, out, "insert (fact_insert)", fact_sql.fact_insert(cfg), p)
            for stmt in ddl.analyze_partitions(cfg, dates):
                _step(cur, out, "ANALYZE partition", stmt, explain=False)
            t0 = time.perf_counter()
            ledger.record(cur, cfg, tables, dates, wd.LOADED_AT)
            out.append(f"##### ledger.record: {time.perf_counter() - t0:.2f} s\n")
            _step(cur, out, "totals (dw.load_totals)", totals.totals_sql(cfg),
                  {"table": cfg.table, "dates": dates, "loaded_at": wd.LOADED_AT})
            if not commit:
                raise psycopg.Rollback(tx)
        out.append(f"##### whole load: {time.perf_counter() - t_all:.2f} s ({'committed' if commit else 'rolled back'})\n")
    return out


def main() -> int:
    import psycopg

    from dw.config import warehouse_tables
    from dw.warehouse.migrate import migrate

    out_dir = Path(os.environ.get("BENCH_EXPLAIN_DIR") or REPO / "bench" / "results")
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = warehouse_tables()
    cfg = tables["job_ran_fact"]
    rows = scaled(1_000_000, 1000)
    sizes = wd.fact_dimension_sizes()
    with stack() as st, fresh_database(st) as uri, fresh_bucket(st) as s3:
        migrate(uri, dates=wd.FACT_MONTHS)
        wd.populate_dimensions(uri, s3, tables, sizes)
        with psycopg.connect(uri) as conn:
            x = wd.put_fact_extracts(conn, s3, cfg, rows, sizes, dates=10)
            _, fresh_key, _ = x["fresh"]
            _, changed_key, _ = x["changed"]
        for scenario, key, commit in (("fresh", fresh_key, True), ("unchanged", fresh_key, False),
                                      ("changed", changed_key, False)):
            print(f"== {scenario}", flush=True)
            report = explain_load(uri, s3, cfg, tables, key, commit)
            (out_dir / f"explain-fact-{scenario}.txt").write_text("\n".join(report))
    print(f"plans: {out_dir}/explain-fact-*.txt")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
