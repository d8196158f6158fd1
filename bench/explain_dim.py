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
    from bench.dim_load import extracts
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
            (u_uri, u_key, _), (s1_uri, _, _), (_, s2_key, _) = extracts(conn, s3, tables, n)
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
