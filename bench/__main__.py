"""``python -m bench [name ...]``: run the benchmarks (all by default), print every figure as a
ratio against its baseline, and write them as JSON to ``BENCH_OUT`` (default
``bench/results/latest.json``). Exit status 1 if a benchmark fails to produce its figures (a goal
that is missed is reported, not an error: the figures are the output)."""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from bench.common import REPO, SCALE, Report, machine, stack, write_results

BENCHMARKS = ["fact_load", "fact_history", "dim_load", "dim_history", "dbt_compare", "mongo_extract", "dag_parse", "demo_day",
              "extract_history", "backfill_history"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("names", nargs="*", metavar="name",
                    help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    a = ap.parse_args(argv)
    names = a.names or BENCHMARKS
    out = Path(os.environ.get("BENCH_OUT") or REPO / "bench" / "results" / "latest.json")
    print(f"dw-etl benchmarks, BENCH_SCALE={SCALE}, {os.cpu_count()} cores, Python {platform.python_version()}",
          flush=True)
    reports: list[Report] = []
    failed: list[str] = []
    t_all = time.perf_counter()
    with stack() as st:
        for name in names:
            mod = importlib.import_module(f"bench.{name}")
            print(f"\n== {name}", flush=True)
            t0 = time.perf_counter()
            load_before = os.getloadavg()
            try:
                rep = mod.run(st)
                # the machine is shared: its load average around each benchmark goes with the figures
                rep.fact("load_average", {"before": [round(x, 2) for x in load_before],
                                          "after": [round(x, 2) for x in os.getloadavg()]})
                reports.append(rep)
            except Exception:  # noqa: BLE001 - report and go on with the others
                traceback.print_exc()
                failed.append(name)
            print(f"   ({name}: {time.perf_counter() - t0:.1f}s)", flush=True)
            write_results(reports, out, machine(st))
    print(f"\nfigures: {out}  ({time.perf_counter() - t_all:.0f}s)")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
