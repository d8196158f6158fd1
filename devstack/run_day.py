"""Run DAGs for one day in this process with ``dag.test()``: the demo's runner.

    python -m devstack.run_day --date 2024-01-15 ingest_mongo ingest_stripe ...

Each DAG is built from the DAG files' own factory (the same code the dag-processor parses) and
run for the day (logical date D+1, data interval D, docs/decisions/0001-run-date.md), one after
the other; a run that does not end in ``success``, or has no task instance (a day before the
lake's history_start), stops the runner with exit status 1. One
process pays Airflow's start-up once for all of them. The environment (AIRFLOW_HOME,
AIRFLOW_CONN_*, PYTHONPATH, ...) must be set before the start: ``devstack.demo`` passes it.

Prints one line per DAG: ``<dag_id> ok in <seconds>s``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time


def build(dag_id: str):
    from dw import dag_factory

    if dag_id == "ingest_mongo":
        return dag_factory.build_ingest_mongo_dag()
    if dag_id == "warehouse":
        return dag_factory.build_warehouse_dag()
    if dag_id.startswith("ingest_"):
        return dag_factory.build_ingest_vendor_dag(dag_id[len("ingest_"):])
    raise ValueError(f"unknown DAG {dag_id!r}")


def sync_dags() -> None:
    """Write the DAG files' DAGs into the metadata DB, one runner at a time (a file lock in
    AIRFLOW_HOME): ``dag.test()`` syncs them too, and runners started together on a fresh
    metadata DB would otherwise all insert the same DAG rows."""
    import fcntl
    import os

    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.utils.session import create_session

    with open(os.path.join(os.environ["AIRFLOW_HOME"], ".dw-sync.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manager = DagBundlesManager()
        with create_session() as session:
            manager.sync_bundles_to_db(session=session)
        for bundle in manager.get_all_dag_bundles():
            if not bundle.is_initialized:
                bundle.initialize()
            bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
            sync_bag_to_db(bag, bundle.name, bundle.version)


def run(dag_id: str, day: dt.date) -> float:
    """Run ``dag_id`` for ``day``; returns the seconds it took. Raises if the run failed."""
    import pendulum

    t0 = time.monotonic()
    dag = build(dag_id)
    logical = pendulum.datetime(day.year, day.month, day.day, tz="UTC").add(days=1)
    dr = dag.test(logical_date=logical)
    state = str(getattr(dr.state, "value", dr.state))
    if not dr.get_task_instances():
        from dw.lake import no_tasks_error

        raise RuntimeError(no_tasks_error(dag_id, day.isoformat()))
    if state != "success":
        failed = [ti.task_id for ti in dr.get_task_instances() if str(getattr(ti.state, "value", ti.state)) == "failed"]
        raise RuntimeError(f"{dag_id} for {day}: DagRun Finished: state={state}; failed tasks {failed}")
    return time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m devstack.run_day")
    ap.add_argument("--date", type=dt.date.fromisoformat, required=True)
    ap.add_argument("dag_ids", nargs="+")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    sync_dags()
    for dag_id in a.dag_ids:
        try:
            secs = run(dag_id, a.date)
        except Exception as e:  # noqa: BLE001 - the demo reads the message from the log
            print(f"{dag_id} FAILED: {e}", flush=True)
            return 1
        print(f"{dag_id} ok in {secs:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
