"""DAG integrity: the DAG files import cleanly, light, and wire the warehouse right."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ["pyarrow", "duckdb", "pandas", "boto3", "botocore", "pymongo", "psycopg", "psycopg2", "stripe", "sqlglot"]


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}, dagbag.import_errors
    assert {"ingest_mongo", "warehouse"} <= set(dagbag.dag_ids)


def test_every_dag_and_task_documented_owned_and_retried(dagbag):
    for dag in dagbag.dags.values():
        assert dag.doc_md and len(dag.doc_md) > 200, f"{dag.dag_id}: doc_md missing"
        assert dag.max_active_runs >= 1
        assert dag.catchup is False
        for t in dag.tasks:
            assert t.owner == "data-platform", f"{dag.dag_id}.{t.task_id}: owner"
            assert t.doc_md, f"{dag.dag_id}.{t.task_id}: doc_md missing"
            if t.task_type in ("SliceTableCheckOperator", "SQLColumnCheckOperator", "LakePartitionSensor"):
                assert t.retries == 0  # a failed check or a timed-out sensor is a finding, not a blip
            else:
                assert t.retries >= 2, f"{dag.dag_id}.{t.task_id}: retries"
        for group in dag.task_group_dict.values():
            assert group.doc_md, f"{dag.dag_id}: task group {group.group_id} has no doc_md"


def test_no_cycles(dagbag):
    for dag in dagbag.dags.values():
        # topological sort raises on a cycle
        assert len(dag.topological_sort()) == len(dag.tasks)


def _upstream_closure(task) -> set[str]:
    seen: set[str] = set()
    stack = list(task.upstream_list)
    while stack:
        t = stack.pop()
        if t.task_id not in seen:
            seen.add(t.task_id)
            stack.extend(t.upstream_list)
    return seen


def test_dimensions_before_the_facts_that_look_them_up(dagbag):
    from dw.config import warehouse_tables

    dag = dagbag.dags["warehouse"]
    tables = warehouse_tables()
    facts = [c for c in tables.values() if c.kind == "fact" and c.loaded]
    assert facts
    for fact in facts:
        load = dag.get_task(f"facts.{fact.table}.load")
        upstream = _upstream_closure(load)
        assert "migrate" in upstream
        for lk in fact.lookups:
            if tables[lk.dimension].loaded:
                assert f"dimensions.{lk.dimension}.load" in upstream, (fact.table, lk.dimension)
        # the fact's extract reads the unknown-member ledger: it starts after this run's
        # dimensions are loaded (docs/decisions/0014-unknown-member-ledger.md)
        extract_up = _upstream_closure(dag.get_task(f"facts.{fact.table}.extract"))
        for lk in fact.lookups:
            if tables[lk.dimension].loaded:
                assert f"dimensions.{lk.dimension}.load" in extract_up, (fact.table, lk.dimension)
    for name, cfg in tables.items():
        if cfg.loaded:
            group = "dimensions" if cfg.kind == "dimension" else "facts"
            extract_up = _upstream_closure(dag.get_task(f"{group}.{name}.extract"))
            direct = dag.get_task(f"{group}.{name}.extract").upstream_task_ids
            sensors = {u for u in direct if u.startswith("lake_ready.")}
            # exactly the sensors of the raw tables it reads: a late source holds up only its tables
            assert sensors == {f"lake_ready.{lt}" for lt in cfg.lake_tables}, (name, sensors)
            assert f"{group}.{name}.extract" in dag.get_task(f"{group}.{name}.load").upstream_task_ids


def test_ingest_mongo_emits_one_asset_per_collection(dagbag):
    from dw.config import mongo_source

    dag = dagbag.dags["ingest_mongo"]
    for name in mongo_source().collections:
        t = dag.get_task(name)
        assert [(o.name, o.uri, o.extra) for o in t.outlets] == [
            (f"raw_mongo_{name}", f"x-dw-lake://raw/mongo/{name}", {"s3_uri": f"s3://dw-lake/raw/mongo/{name}/"})
        ]


def test_schedule_processes_the_previous_day(dagbag):
    """Scheduled and backfill runs: the logical date is the day loaded (a backfill of 2024-01-01 …
    2024-01-31 loads January), fired when the day has ended; a manual run with logical date
    2024-01-16 loads 2024-01-15 (docs/decisions/0001-run-date.md)."""
    import pendulum
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    jan1, jan31 = pendulum.datetime(2024, 1, 1, tz="UTC"), pendulum.datetime(2024, 1, 31, tz="UTC")
    for dag in dagbag.dags.values():
        tt = coerce_to_core_timetable(dag.timetable)
        interval = tt.infer_manual_data_interval(run_after=pendulum.datetime(2024, 1, 16, tz="UTC"))
        assert interval.start == pendulum.datetime(2024, 1, 15, tz="UTC")
        assert interval.end == pendulum.datetime(2024, 1, 16, tz="UTC")
        first = tt.next_dagrun_info(last_automated_data_interval=None,
                                    restriction=TimeRestriction(earliest=jan1, latest=None, catchup=True))
        assert (first.logical_date, first.data_interval.start, first.run_after) == (jan1, jan1, jan1.add(days=1))
        # what a backfill of 2024-01-01 … 2024-01-31 creates: one run per January day, logical date = day
        infos, last = [], None
        while True:
            info = tt.next_dagrun_info(last_automated_data_interval=last,
                                       restriction=TimeRestriction(earliest=jan1, latest=jan31, catchup=True))
            if info is None:
                break
            infos.append(info)
            last = info.data_interval
        assert [i.data_interval.start for i in infos] == [jan1.add(days=n) for n in range(31)]
        assert all(i.logical_date == i.data_interval.start for i in infos)


def test_parsing_imports_no_heavy_library():
    """A property, not a timing: after the DagBag loads, no heavy library is imported."""
    code = textwrap.dedent(
        f"""
        import json, sys
        from airflow.dag_processing.dagbag import DagBag
        before = set(sys.modules)
        bag = DagBag(dag_folder={str(REPO / 'dags')!r})
        assert not bag.import_errors, bag.import_errors
        # the plugins manager (scheduler, workers) must not import plugins/dw as plugins
        from airflow import plugins_manager
        plugins_manager.ensure_plugins_loaded()
        assert not plugins_manager.get_import_errors(), plugins_manager.get_import_errors()
        assert not any(m in sys.modules for m in ("config", "mongo", "stack", "load")), "plugins/dw loaded as plugins"
        heavy = {HEAVY!r}
        print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
        """
    )
    env = dict(os.environ, PYTHONPATH=str(REPO / "plugins"), AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    imported = json.loads(r.stdout.strip().splitlines()[-1])
    assert imported == [], f"DAG parsing imported {imported}"


def test_dag_files_import_the_airflow_modules_their_tasks_use():
    """The dag-processor pre-imports, in its own process, the `airflow.*` modules a DAG file imports
    itself ([dag_processor] parsing_pre_import_modules), so that each parsing process does not
    import them again. Every Airflow module a task's class comes from must be among them (or be
    loaded by them): else each parse pays its import (docs/decisions/0016-dag-parse-time.md)."""
    code = textwrap.dedent(
        f"""
        import json, os, sys
        import structlog
        from airflow.dag_processing import processor
        from airflow.dag_processing.dagbag import DagBag
        out = {{}}
        for path in sorted(os.listdir({str(REPO / 'dags')!r})):
            if not path.endswith(".py"):
                continue
            path = os.path.join({str(REPO / 'dags')!r}, path)
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # one file per process, as the dag-processor forks one per file
                processor._pre_import_airflow_modules(path, structlog.get_logger())
                pre = set(sys.modules)
                bag = DagBag(dag_folder=path)
                missing = sorted({{c.__module__ for d in bag.dags.values() for t in d.tasks for c in type(t).__mro__
                                   if c.__module__.startswith("airflow.") and c.__module__ not in pre}})
                os.write(w, json.dumps(missing if not bag.import_errors else [str(bag.import_errors)]).encode())
                os._exit(0)
            os.close(w)
            with os.fdopen(r) as f:
                out[os.path.basename(path)] = json.loads(f.read())
            os.waitpid(pid, 0)
        print(json.dumps(out))
        """
    )
    env = dict(os.environ, PYTHONPATH=str(REPO / "plugins"), AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
               AIRFLOW__DAG_PROCESSOR__PARSING_PRE_IMPORT_MODULES="True")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    missing = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(missing) == len(list((REPO / "dags").glob("*.py")))
    assert all(v == [] for v in missing.values()), f"task classes from modules the DAG file does not import: {missing}"


def test_every_dag_starts_at_the_lakes_history_start(dagbag):
    """history_start (include/config/lake.yaml) is the epoch: the first scheduled run of every DAG
    processes it, and every task fails a day before it at once (a backfill creates task
    instances whatever the start_date) with a message naming the setting."""
    import datetime as dt

    import pendulum
    from airflow.sdk.exceptions import AirflowFailException

    from dw.config import lake_config
    from dw.lake import check_epoch

    start = lake_config().history_start
    first = pendulum.datetime(start.year, start.month, start.day, tz="UTC")
    before = {"data_interval_start": pendulum.datetime(start.year, start.month, start.day, tz="UTC").subtract(days=1)}
    at = {"data_interval_start": pendulum.datetime(start.year, start.month, start.day, tz="UTC")}
    for dag in dagbag.dags.values():
        assert dag.start_date == first, dag.dag_id
        for t in dag.tasks:
            assert t._pre_execute_hook is check_epoch, f"{dag.dag_id}.{t.task_id}"
    check_epoch(at)  # the epoch itself loads
    with pytest.raises(AirflowFailException, match=rf"before the platform's history_start {start}.*lake.yaml history_start"):
        check_epoch(before)
    assert (start - dt.timedelta(days=1)).isoformat() in str(pytest.raises(AirflowFailException, check_epoch, before).value)


def test_a_run_before_the_epoch_is_never_a_success():
    """A manual run before the DAGs' start_date gets no task instance (Airflow calls it a success):
    the runners (tests.helpers.run_dag, devstack.run_day, the demo) fail it, naming history_start."""
    import datetime as dt

    from dw.config import lake_config
    from tests.helpers import run_dag

    day = lake_config().history_start - dt.timedelta(days=3)
    with pytest.raises(AssertionError, match=r"no task instances.*history_start"):
        run_dag("ingest_chargify", day)
    run_dag("ingest_chargify", day, expect="no task instances")


def test_extracts_and_loads_run_in_their_pools_one_load_per_table(dagbag):
    """Every extract runs in the Athena pool, every load in the warehouse-loads pool with one task
    instance at a time across runs and backfills (max_active_tis_per_dag=1): the pools named in
    include/config/airflow.yaml, which devstack.airflow_server creates (docs/decisions/0021)."""
    from dw.config import airflow_config

    pools = airflow_config().pools
    assert pools["athena"].include_deferred and pools["athena"].slots < 25  # below the default Athena quota
    dag = dagbag.dags["warehouse"]
    extracts = [t for t in dag.tasks if t.task_id.endswith(".extract")]
    loads = [t for t in dag.tasks if t.task_id.endswith(".load")]
    assert len(extracts) == len(loads) == 8
    assert {(t.pool, t.max_active_tis_per_dag) for t in extracts} == {(pools["athena"].name, None)}
    assert {(t.pool, t.max_active_tis_per_dag) for t in loads} == {(pools["warehouse_loads"].name, 1)}
    others = [t for t in dag.tasks if t not in extracts + loads]
    assert {t.pool for t in others} == {"default_pool"}
