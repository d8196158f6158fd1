"""`make bench` at BENCH_SCALE=0.01: every benchmark still runs and produces its figures.

A smoke test, not a timed one: nothing here depends on how long anything took (the goals are
what BENCHMARKS.md reports at full scale). The benchmarks reuse this session's stack
(BENCH_STACK_STATE); the pymongoarrow and dbt baselines run only if their venvs were built
already (BENCH_PYMONGOARROW=auto, BENCH_DBT=auto: building them needs the package index and a
minute or two).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.bench

EXPECTED = {
    "fact_load": {"fresh load", "unchanged re-run", "10% changed re-run", "insert_rows(replace=True) per row"},
    "fact_history": {"unchanged re-run, 1,000 dates held", "10% changed re-run, 1,000 dates held"},
    "dbt_compare": {"ours fresh vs dbt's best fresh", "dbt's best unchanged re-run vs ours",
                    "dbt's best 10% changed re-run vs ours"},
    "dim_load": {"SCD1 user_dim fresh", "SCD2 subscription_dim 5% changed"},
    "dim_history": {f"{t} {what}, large history" for t in ("user_dim", "subscription_dim", "job_ran_fact")
                    for what in ("the day's load", "unchanged re-run")},
    "mongo_extract": {"peak RSS, 1M docs vs 100k", "MongoToS3Operator time, 100k", "MongoToS3Operator peak RSS, 100k"},
    "dag_parse": {f"parse dags/{p.name}" for p in (REPO / "dags").glob("*.py")},
    "demo_day": {"day: ingestion + warehouse (wall)", "whole demo command (seeding included)"},
    "extract_history": {f"{t} {what}, +{n} days" for t in ("job_ran_fact", "resource_dim", "project_dim", "subscription_dim")
                        for what in ("time", "bytes read") for n in (90, 365)},
}


def test_every_benchmark_produces_its_figures(stack, tmp_path):
    # the demo day (mostly Airflow's start-up) and dbt run beside the others, to keep this test short;
    # nothing here is timed (`make bench` runs them one after the other)
    env = dict(os.environ, BENCH_SCALE="0.01", BENCH_STACK_STATE=str(stack.state), BENCH_PYMONGOARROW="auto",
               BENCH_DBT="auto",
               PYTHONPATH=os.pathsep.join([str(REPO / "plugins"), str(REPO)]))
    side = ["demo_day", "dbt_compare"]  # dbt's start-up, like Airflow's, is most of their time
    groups = [[n for n in EXPECTED if n not in side], side]
    procs = [subprocess.Popen([sys.executable, "-m", "bench", *names], cwd=REPO, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=dict(env, BENCH_OUT=str(tmp_path / f"bench-{i}.json")))
             for i, names in enumerate(groups)]
    outputs = [p.communicate(timeout=900)[0] for p in procs]
    for p, output in zip(procs, outputs):
        assert p.returncode == 0, output[-6000:]
    r = subprocess.CompletedProcess([], 0, stdout="".join(outputs))
    data = [json.loads((tmp_path / f"bench-{i}.json").read_text()) for i in range(len(groups))]
    assert all(d["scale"] == 0.01 for d in data)
    reports = {rep["bench"]: rep for d in data for rep in d["reports"]}
    assert set(reports) == set(EXPECTED)
    expected = dict(EXPECTED)
    if not reports["dbt_compare"]["figures"]:
        assert "skipped" in reports["dbt_compare"]["facts"]["dbt"]  # no dbt venv (BENCH_DBT=auto)
        expected["dbt_compare"] = set()
    for bench, names in expected.items():
        figures = reports[bench]["figures"]
        got = {f["name"] for f in figures}
        assert names <= got, (bench, names - got)
        for f in figures:
            assert f["value"] > 0 and f["baseline_value"] > 0 and f["ratio"] > 0, f
            assert f["name"] in r.stdout  # printed too
    facts = reports["fact_load"]["facts"]
    # the property, not a speed: an unchanged re-run writes nothing
    assert facts["unchanged_writes"] == {"n_tup_ins": 0, "n_tup_upd": 0, "n_tup_del": 0}
    assert facts["fresh_writes"]["n_tup_ins"] > 0
    assert reports["fact_history"]["facts"]["history_unchanged_writes"] == {"n_tup_ins": 0, "n_tup_upd": 0, "n_tup_del": 0}
    assert reports["dim_load"]["facts"]["scd1_unchanged_writes"] == {"n_tup_ins": 0, "n_tup_upd": 0, "n_tup_del": 0}
    assert all(v == [] for v in reports["dag_parse"]["facts"]["heavy_modules_after_parse"].values())
    assert reports["dim_load"]["facts"]["scd2_changed_writes"]["n_tup_ins"] > 0  # versions opened, not rewritten
    dh = reports["dim_history"]["facts"]
    assert all(w == {"n_tup_ins": 0, "n_tup_upd": 0, "n_tup_del": 0} for w in dh["rerun_writes"].values())
    assert dh["whole_scans_of_large_dimensions"] == {"scd1": [], "scd2": [], "fact": []}
