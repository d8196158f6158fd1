"""``python -m bench.explain_dim``: the dimension loads of benchmark 2 (``bench.dim_load``),
statement by statement, each under ``EXPLAIN (ANALYZE, BUFFERS)`` — the profile behind
BENCHMARKS.md's SCD1/SCD2 figures.

Same data as ``bench.dim_load`` (x BENCH_SCALE): SCD1 ``user_dim`` fresh (explained, then loaded
for real) and its unchanged re-run; SCD2 ``subscription_dim`` first load (loaded), then its
5%-changed load (explained, rolled back). Writes ``explain-dim-<scenario>.txt`` to
``BENCH_EXPLAIN_DIR`` (default ``bench/results``). A diagnosis, not a figure.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench import warehouse_data as wd
from bench.common import REPO, fresh_bucket, fresh_database, scaled, stack


def main() -> int:
    import psycopg

    from bench.dim_history import explain_dimension
    from dw.config import warehouse_tables
    from dw.warehouse.migrate import migrate

    out_dir = Path(os.environ.get("BENCH_EXPLAIN_DIR") or REPO / "bench" / "results")
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = warehouse_tables()
    scd1, scd2 = tables["user_dim"], tables["subscription_dim"]
    n = scaled(200_000, 200)
    with stack() as st, fresh_database(st) as uri, fresh_bucket(st) as s3:
        migrate(uri)
        with psycopg.connect(uri) as conn:
            u_uri, u_key, _ = wd.put_extract(conn, s3, scd1, wd.dimension_select("user_dim", n), "scd1")
            s1_uri, _, _ = wd.put_extract(conn, s3, scd2, wd.dimension_select("subscription_dim", n), "scd2-first")
            cols, _ = wd.dimension_select("subscription_dim", n, version="g.v", changed="g.v = 1")
            observations = (f"FROM (SELECT i, 0 FROM generate_series(0, {n - 1}) AS i UNION ALL "
                            f"SELECT i, 1 FROM generate_series(0, {n - 1}) AS i WHERE i % 20 = 0) AS g(i, v)")
            _, s2_key, _ = wd.put_extract(conn, s3, scd2, (cols, observations), "scd2-changed")
        runs = [("scd1-fresh", scd1, u_key, lambda: wd.load(uri, scd1, u_uri, s3, tables)),
                ("scd1-unchanged", scd1, u_key, lambda: wd.load(uri, scd2, s1_uri, s3, tables)),
                ("scd2-changed", scd2, s2_key, None)]
        for scenario, cfg, key, after in runs:
            print(f"== {scenario}", flush=True)
            (out_dir / f"explain-dim-{scenario}.txt").write_text("\n".join(explain_dimension(uri, s3, cfg, key)))
            if after:
                after()
    print(f"plans: {out_dir}/explain-dim-*.txt")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
