"""Benchmark 4: DAG parsing, each file of dags/ against a trivial one-task DAG file.

Every parse runs in a fresh process, like the dag-processor's: the process imports Airflow's
``DagBag`` first (the processor has it already), then the time of ``DagBag(dag_folder=<file>)``
is the file's parse time — its own imports (dw.*, the operators it uses), reading the config
and building the DAG. The baseline is a file with one ``EmptyOperator``, parsed the same way in
the same run. Each file is parsed ``RUNS`` times; the median counts. Goal: every file ≤ 3×.

The same child also lists the heavy modules loaded after the parse (pyarrow, duckdb, pandas,
boto3, pymongo, psycopg, stripe, ...): it must be empty (also a test: tests/test_dags.py).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from bench.common import REPO, SCALE, Report, airflow_home, log

NAME = "dag_parse"
RUNS = 5 if SCALE >= 0.5 else 1
HEAVY = ["pyarrow", "duckdb", "pandas", "boto3", "botocore", "pymongo", "psycopg", "psycopg2", "stripe", "sqlglot"]
TRIVIAL = textwrap.dedent(
    """
    import pendulum
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    with DAG(dag_id="trivial", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
        EmptyOperator(task_id="only")
    """
)


WARM = ["dw.dag_factory", "dw.operators.mongo_to_lake", "dw.operators.vendor_to_lake", "dw.operators.lake_query",
        "dw.operators.lake_sensor", "dw.operators.warehouse", "airflow.providers.common.sql.operators.sql"]


def _child(path: str, warm: bool) -> None:
    import importlib
    import time

    from airflow.dag_processing.dagbag import DagBag

    if warm:  # the modules imported once per parsing process, before the file (what pre-importing would save)
        for m in WARM:
            importlib.import_module(m)

    t0 = time.perf_counter()
    bag = DagBag(dag_folder=path)
    secs = time.perf_counter() - t0
    print(json.dumps({"seconds": secs, "dags": sorted(bag.dag_ids), "errors": {k: str(v) for k, v in bag.import_errors.items()},
                      "heavy": sorted(m for m in HEAVY if m in sys.modules)}))


def parse(path: Path, warm: bool = False) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "plugins"), str(REPO), env.get("PYTHONPATH")]))
    env["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
    r = subprocess.run([sys.executable, "-m", "bench.dag_parse", "--child", str(path)] + (["--warm"] if warm else []), env=env, capture_output=True,
                       text=True, cwd=str(REPO), timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"parsing {path} failed:\n{r.stderr[-3000:]}")
    res = json.loads(r.stdout.strip().splitlines()[-1])
    if res["errors"] or not res["dags"]:
        raise RuntimeError(f"parsing {path}: no DAG or import errors {res['errors']}")
    return res


def run(st=None) -> Report:
    airflow_home()
    rep = Report(NAME)
    tmp = Path(tempfile.mkdtemp(prefix="dw-bench-dags-"))
    trivial = tmp / "trivial.py"
    trivial.write_text(TRIVIAL)
    files = [trivial] + sorted((REPO / "dags").glob("*.py"))
    times: dict[str, list[float]] = {f.name: [] for f in files}
    warm: dict[str, list[float]] = {f.name: [] for f in files}
    heavy: dict[str, list[str]] = {}
    for _ in range(RUNS):  # interleaved, so a burst of load on the machine hits every file alike
        for f in files:
            res = parse(f)
            times[f.name].append(res["seconds"])
            heavy[f.name] = res["heavy"]
            warm[f.name].append(parse(f, warm=True)["seconds"])
    base = statistics.median(times["trivial.py"])
    for f in files[1:]:
        med = statistics.median(times[f.name])
        log(f"{f.name}: " + ", ".join(f"{t:.3f}" for t in times[f.name]))
        rep.add(f"parse dags/{f.name}", med, "trivial one-task DAG file", base, goal=3.0,
                note=f"median of {RUNS}")
    base = statistics.median(warm["trivial.py"])
    for f in files[1:]:
        rep.add(f"parse dags/{f.name}, dw.* pre-imported", statistics.median(warm[f.name]), "trivial, same", base)
    rep.fact("heavy_modules_after_parse", {k: v for k, v in heavy.items() if k != "trivial.py"})
    bad = {k: v for k, v in heavy.items() if v and k != "trivial.py"}
    if bad:
        raise AssertionError(f"DAG parsing imported heavy modules: {bad}")
    return rep


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], "--warm" in sys.argv[3:])
    else:
        print(json.dumps(run().as_dict(), indent=2))
