"""Benchmark 4: DAG parsing, each file of dags/ against a trivial one-task DAG file, parsed the way
Airflow 3.3's dag-processor parses.

The dag-processor's manager process has Airflow imported (``airflow.dag_processing.manager``),
calls ``gc.freeze()`` before its parsing loop, and for every file: pre-imports the ``airflow.*``
modules the file itself imports (``[dag_processor] parsing_pre_import_modules``, default True:
``airflow.dag_processing.processor._pre_import_airflow_modules``), then forks a child that builds
a ``BundleDagBag`` of the file and serializes its DAGs (``_serialize_dags``). This benchmark does
the same with Airflow's own functions: one fresh parent process per file and round (at
BENCH_SCALE < 0.5, the smoke run: one parent for every file, as the dag-processor has), which
forks a warm-up child (it writes the bytecode of the project's modules, as the first parse of a
deployment does; discarded) and then the measured child.

Figures, each file against the trivial file (median of ``RUNS`` interleaved rounds):
- ``parse dags/<file>``: the child's work, DagBag + serialization (what the dag-processor
  spends per file; goal ≤ 3×);
- ``parse dags/<file>, DagBag only``: the import of the file (``airflow dags report``'s figure);
- the warehouse DAG against a DAG file of as many ``EmptyOperator`` tasks: what Airflow itself
  spends on that many tasks.

The child also lists the heavy modules loaded after the parse (pyarrow, duckdb, pandas, boto3,
pymongo, psycopg, stripe, ...): it must be empty (also a test: tests/test_dags.py).
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


def empty_tasks_dag(n: int) -> str:
    """A DAG file of ``n`` EmptyOperator tasks in a chain (Airflow's own cost for ``n`` tasks)."""
    return TRIVIAL.replace('dag_id="trivial"', f'dag_id="empty_{n}"').replace(
        '    EmptyOperator(task_id="only")',
        f'    prev = None\n    for i in range({n}):\n        t = EmptyOperator(task_id=f"t{{i}}")\n'
        f'        if prev is not None:\n            prev >> t\n        prev = t',
    )


def _child(paths: list[str]) -> None:
    """The dag-processor's parent: for each file, pre-import, then fork (warm-up, measured).
    One file per parent at full scale; the smoke run (BENCH_SCALE < 0.5) parses every file in
    one parent, as the dag-processor does (its pre-imports then add up across the files)."""
    import gc

    import structlog

    import airflow.dag_processing.manager  # noqa: F401 - what the dag-processor has imported
    from airflow.dag_processing import processor

    logger = structlog.get_logger()
    gc.freeze()  # DagFileProcessorManager.before_run
    for path in paths:
        processor._pre_import_airflow_modules(path, logger)
        print("RESULT " + json.dumps({"path": path, **_fork_parse(path, logger)}), flush=True)


def _fork_parse(path: str, logger) -> dict:
    import time

    from airflow.dag_processing import processor
    from airflow.dag_processing.dagbag import BundleDagBag

    result = {}
    for attempt in ("warm-up", "measured"):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the parsing process (processor._parse_file, without the comms)
            os.close(r)
            t0 = time.perf_counter()
            bag = BundleDagBag(dag_folder=path, bundle_path=Path(path).parent, bundle_name="dags-folder",
                               load_op_links=False)
            t1 = time.perf_counter()
            serialized, errors = processor._serialize_dags(bag, logger)
            t2 = time.perf_counter()
            out = {"bag": t1 - t0, "serialize": t2 - t1, "dags": sorted(bag.dag_ids),
                   "tasks": sum(len(d.tasks) for d in bag.dags.values()),
                   "errors": {k: str(v)[:2000] for k, v in {**bag.import_errors, **errors}.items()},
                   "heavy": sorted(m for m in HEAVY if m in sys.modules)}
            os.write(w, json.dumps(out).encode())
            os._exit(0)
        os.close(w)
        data = b""
        while chunk := os.read(r, 1 << 16):
            data += chunk
        os.close(r)
        os.waitpid(pid, 0)
        result = json.loads(data)
    return result


def parse(paths: list[Path], cache: str) -> dict[str, dict]:
    """Parse ``paths`` in one dag-processor-like parent; {file name: result}."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "plugins"), str(REPO), env.get("PYTHONPATH")]))
    env["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
    env["AIRFLOW__DAG_PROCESSOR__PARSING_PRE_IMPORT_MODULES"] = "True"
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a deployment keeps bytecode: here, outside the repo
    env["PYTHONPYCACHEPREFIX"] = cache
    r = subprocess.run([sys.executable, "-m", "bench.dag_parse", "--child", *map(str, paths)], env=env,
                       capture_output=True, text=True, cwd=str(REPO), timeout=600)
    results = [json.loads(ln[len("RESULT "):]) for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
    if r.returncode != 0 or len(results) != len(paths):
        raise RuntimeError(f"parsing {paths} failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    for res in results:
        if res["errors"] or not res["dags"]:
            raise RuntimeError(f"parsing {res['path']}: no DAG or errors {res['errors']}")
    return {Path(res["path"]).name: res for res in results}


def run(st=None) -> Report:
    airflow_home()
    rep = Report(NAME)
    tmp = Path(tempfile.mkdtemp(prefix="dw-bench-dags-"))
    cache = str(tmp / "pycache")
    trivial = tmp / "trivial.py"
    trivial.write_text(TRIVIAL)
    dags = sorted((REPO / "dags").glob("*.py"))
    runs: dict[str, list[dict]] = {f.name: [] for f in [trivial] + dags}
    if SCALE >= 0.5:
        n_wh = parse([REPO / "dags" / "warehouse.py"], cache)["warehouse.py"]["tasks"]
    else:  # the smoke run: one parent for every file
        for name, res in parse([trivial] + dags, cache).items():
            runs[name].append(res)
        n_wh = runs["warehouse.py"][0]["tasks"]
    empty = tmp / f"empty_{n_wh}.py"
    empty.write_text(empty_tasks_dag(n_wh))
    files = [trivial, empty] + dags
    runs[empty.name] = [] if SCALE >= 0.5 else [parse([empty], cache)[empty.name]]
    for _ in range(RUNS if SCALE >= 0.5 else 0):  # interleaved: a burst of load hits every file alike
        for f in files:  # a fresh dag-processor parent per file
            runs[f.name].append(parse([f], cache)[f.name])

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] if key != "total" else r["bag"] + r["serialize"] for r in runs[name])

    for f in dags:
        log(f"{f.name}: DagBag " + ", ".join(f"{r['bag'] * 1e3:.1f}" for r in runs[f.name]) + " ms; serialize "
            + ", ".join(f"{r['serialize'] * 1e3:.1f}" for r in runs[f.name]) + " ms")
    for f in dags:
        rep.add(f"parse dags/{f.name}", med(f.name, "total") * 1e3, "trivial one-task DAG file", med("trivial.py", "total") * 1e3,
                unit="ms", goal=3.0, note=f"DagBag + serialize, median of {RUNS}; {runs[f.name][0]['tasks']} tasks")
    for f in dags:
        rep.add(f"parse dags/{f.name}, DagBag only", med(f.name, "bag") * 1e3, "trivial, DagBag only",
                med("trivial.py", "bag") * 1e3, unit="ms", goal=3.0, note=f"median of {RUNS}")
    rep.add("parse dags/warehouse.py vs as many empty tasks", med("warehouse.py", "total") * 1e3, f"{n_wh} EmptyOperator tasks",
            med(empty.name, "total") * 1e3, unit="ms", note="what the project adds to Airflow's own cost per task")
    heavy = {f.name: runs[f.name][-1]["heavy"] for f in dags}
    rep.fact("tasks", {f.name: runs[f.name][0]["tasks"] for f in files})
    rep.fact("heavy_modules_after_parse", heavy)
    bad = {k: v for k, v in heavy.items() if v}
    if bad:
        raise AssertionError(f"DAG parsing imported heavy modules: {bad}")
    return rep


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2:])
    else:
        print(json.dumps(run().as_dict(), indent=2))
