"""A running Airflow 3 on the session's embedded stack, for the tests that drive it the way its
users do: through the REST API (``/api/v2``, JWT from ``/auth/token``) and the UI, never through
Python imports of the DAGs.

``live_airflow`` starts ``devstack.airflow_server.AirflowServer`` (api-server, scheduler with the
LocalExecutor, dag-processor, triggerer; metadata DB ``airflow`` on the stack's PostgreSQL) on a
free port, with scheduled runs off (``[scheduler] use_job_schedule = False``): the only runs
are the backfills and triggered runs the tests create, so no run for today's wall-clock date
slips into the warehouse. MongoDB and the vendor stand-ins are seeded for ``DATES`` at ``SCALE``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import uuid

import pytest
from live_helpers import DAGS, DATES, SCALE


@pytest.fixture(scope="session")
def live_airflow(stack):
    from devstack.airflow import seed
    from devstack.airflow_server import AirflowServer
    from devstack.process import free_port

    seed(stack, DATES[-1], len(DATES), SCALE)
    srv = AirflowServer(stack.state, port=free_port(), schedules=False)
    try:
        srv.up(stack)
    except Exception:
        srv.down(quiet=True)
        raise
    yield srv
    srv.down(quiet=True)


@pytest.fixture(scope="session")
def api(live_airflow):
    api = live_airflow.api()
    for dag_id in DAGS:
        assert api.patch(f"/dags/{dag_id}", {"is_paused": False})["is_paused"] is False
    return api


# --------------------------------------------------------------------------- reference warehouses


@contextlib.contextmanager
def postgres_dw_at(stack, database: str):
    """Point this process's ``postgres_dw`` and ``postgres_dw_migrate`` (AIRFLOW_CONN_*) at
    ``database`` for a while."""
    names = ("AIRFLOW_CONN_POSTGRES_DW", "AIRFLOW_CONN_POSTGRES_DW_MIGRATE")
    saved = {n: os.environ.get(n) for n in names}
    for n, conn_id in zip(names, ("postgres_dw", "postgres_dw_migrate")):
        os.environ[n] = json.dumps({**json.loads(stack.connections()[conn_id]), "schema": database})
    try:
        yield
    finally:
        for n, v in saved.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


@pytest.fixture(scope="session")
def reference(stack):
    """A second, clean warehouse database that ``dags test`` runs (dag.test(), in this process)
    load from the same lake: ``reference.run(day)``; ``reference.uri``."""
    import psycopg
    from psycopg import sql

    from tests.helpers import run_dag

    name = f"wh_ref_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(stack.info["pg_uri"], autocommit=True) as con:
        con.execute(sql.SQL("create database {}").format(sql.Identifier(name)))

    class Reference:
        uri = stack.info["pg_uri"].rsplit("/", 1)[0] + "/" + name

        @staticmethod
        def run(day: dt.date) -> None:
            with postgres_dw_at(stack, name):
                run_dag("warehouse", day)

    yield Reference
    with psycopg.connect(stack.info["pg_uri"], autocommit=True) as con:
        con.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
