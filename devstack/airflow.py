"""`make airflow`: a full Airflow 3 (``devstack.airflow_server``) on the local stack.

``up`` starts the stack and Airflow (or finds them running); with ``--date/--days/--scale`` it
also seeds MongoDB for those days and pins the vendor stand-ins to the same seed, scale and a
clock after the last day, so those dates can be backfilled from the UI at once. ``down`` stops
Airflow (``make down`` stops it with the stack).

    python -m devstack.airflow up [--port 8080] [--date 2024-01-15 --days 1 --scale 1.0]
    python -m devstack.airflow down|status [--state DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

from devstack.airflow_server import USER, AirflowServer
from devstack.process import DEFAULT_STATE
from devstack.stack import Stack


def seed(stack: Stack, last: dt.date, days: int, scale: float, seed_value: int = 42) -> list[dt.date]:
    """MongoDB seeded with ``days`` days ending at ``last``; the vendor stand-ins at the same seed
    and scale, their clock 03:00 the day after ``last``. Idempotent."""
    import pymongo

    from dw.config import mongo_source
    from devstack import generate, vendors

    dates = [last - dt.timedelta(days=i) for i in range(days - 1, -1, -1)]
    with pymongo.MongoClient(stack.info["mongo_uri"]) as client:
        db = client[mongo_source().database]
        generate.seed_base(db, seed=seed_value, scale=scale)
        for day in dates:
            generate.seed_day(db, day, seed=seed_value, scale=scale, drift=True)
    clock = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(3), dt.timezone.utc)
    vendors.configure_all(stack.vendor_urls(), seed=seed_value, scale=scale, now=clock)
    return dates


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m devstack.airflow")
    ap.add_argument("command", choices=["up", "down", "status"])
    ap.add_argument("--state", type=Path, default=DEFAULT_STATE)
    ap.add_argument("--port", type=int, default=int(os.environ.get("DW_AIRFLOW_PORT", "8080")))
    ap.add_argument("--date", type=dt.date.fromisoformat, help="seed MongoDB and the stand-ins through this day")
    ap.add_argument("--days", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0)
    a = ap.parse_args(argv)
    state = a.state.resolve()
    srv = AirflowServer(state, port=a.port)
    if a.command == "down":
        srv.down()
        return 0
    if a.command == "status":
        ok = srv.running()
        print(f"running on {srv.base_url}" if ok else "stopped")
        return 0 if ok else 1

    stack = Stack(state)
    stack.up()
    t0 = time.monotonic()
    dates = seed(stack, a.date, a.days, a.scale) if a.date else []
    from dw.config import airflow_config

    srv.up(stack)
    dags = srv.wait_dags()
    print(f"Airflow on the local stack (LocalExecutor; metadata DB {srv.info['metadata_db']}), ready in {time.monotonic() - t0:.0f}s")
    print(f"  UI and REST API  {srv.base_url}")
    print(f"  login            {USER} / {srv.password()}   ({srv.passwords_file})")
    print(f"  DAGs             {', '.join(dags)} (new DAGs start paused: unpause them in the UI)")
    print(f"  connections      {', '.join(sorted(stack.connections()))} (Admin > Connections)")
    print(f"  pools            {', '.join(f'{p.name} ({p.slots})' for p in airflow_config().pools.values())} (Admin > Pools)")
    print(f"  logs             {srv.home / 'logs'}")
    if dates:
        first, last = dates[0], dates[-1]
        print(f"  data             MongoDB and the vendor stand-ins seeded for {first} .. {last} (scale {a.scale})")
        print(f"  backfill         unpause, then each ingest_* DAG and then warehouse: Trigger > Backfill, dates "
              f"{first} .. {last} (the days to load: a run's logical date is the day it loads)")
    print("  stop             make down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
