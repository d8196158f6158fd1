"""`make demo`: the whole daily pipeline for a date on the embedded local stack.

1. brings the stack up (PostgreSQL, moto S3, nx-27017) and loads its connections;
2. seeds MongoDB with the generator, day by day up to DATE (idempotent);
3. runs `airflow dags test` for ingest_mongo and then warehouse, for DATE;
4. prints what each table loaded (COPY / DELETE / INSERT / UPDATE) and the table sizes.

The run for date D is the DAG run with logical date D+1 (its data interval is day D).

    python -m dw.local.demo --date 2024-01-15 [--days 1] [--scale 1.0] [--seed 42]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from dw.local.stack import DEFAULT_STATE, Stack
from dw.paths import REPO_ROOT

LOAD_LINE = re.compile(r"dw\.load (\{.*\})")


def airflow_env(state: Path, stack: Stack) -> dict[str, str]:
    env = dict(os.environ)
    env.update(stack.environ())
    env.update(
        {
            "AIRFLOW_HOME": str(state / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT / "plugins"), env.get("PYTHONPATH")])),
            "DW_REPO_ROOT": str(REPO_ROOT),
        }
    )
    return env


def airflow_bin() -> str:
    here = Path(sys.executable).parent / "airflow"
    return str(here) if here.exists() else "airflow"


def ensure_airflow_db(env: dict[str, str], state: Path) -> None:
    marker = state / "airflow" / ".db-migrated"
    if marker.exists():
        return
    (state / "airflow").mkdir(parents=True, exist_ok=True)
    r = subprocess.run([airflow_bin(), "db", "migrate"], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-4000:] + r.stderr[-4000:])
        raise SystemExit("airflow db migrate failed")
    marker.write_text("ok\n")


def dags_test(dag_id: str, day: dt.date, env: dict[str, str], logs: Path) -> tuple[float, list[dict]]:
    logical = (day + dt.timedelta(days=1)).isoformat()
    log = logs / f"{dag_id}-{day.isoformat()}.log"
    t0 = time.monotonic()
    with open(log, "w") as f:
        r = subprocess.run([airflow_bin(), "dags", "test", dag_id, logical], env=env, stdout=f, stderr=subprocess.STDOUT)
    secs = time.monotonic() - t0
    text = log.read_text(errors="replace")
    loads = [json.loads(m.group(1)) for m in LOAD_LINE.finditer(text)]
    failed = r.returncode != 0 or re.search(r"DagRun Finished: .*state=failed", text)
    if failed:
        tail = "\n".join(text.splitlines()[-60:])
        raise SystemExit(f"{dag_id} for {day} failed (log: {log}):\n{tail}")
    return secs, loads


def table_sizes(uri: str) -> list[tuple[str, int]]:
    import psycopg

    with psycopg.connect(uri) as con:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'dw' order by 1"
        )]
        from psycopg import sql

        return [
            (n, con.execute(sql.SQL("select count(*) from {}").format(sql.Identifier("dw", n))).fetchone()[0])
            for n in names
        ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dw.local.demo")
    ap.add_argument("--date", type=dt.date.fromisoformat, default=dt.date(2024, 1, 15))
    ap.add_argument("--days", type=int, default=1, help="run this many consecutive dates ending at --date")
    ap.add_argument("--scale", type=float, default=float(os.environ.get("DW_SCALE", "1.0")))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--state", type=Path, default=DEFAULT_STATE)
    a = ap.parse_args(argv)
    state = a.state.resolve()

    t_all = time.monotonic()
    stack = Stack(state)
    stack.up()
    env = airflow_env(state, stack)
    os.environ.update(stack.environ())
    ensure_airflow_db(env, state)
    logs = state / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    import pymongo

    from dw.config import mongo_source
    from dw.local import generate

    days = [a.date - dt.timedelta(days=i) for i in range(a.days - 1, -1, -1)]
    client = pymongo.MongoClient(stack.info["mongo_uri"])
    db = client[mongo_source().database]
    t0 = time.monotonic()
    generate.seed_base(db, seed=a.seed, scale=a.scale)
    for day in days:
        generate.seed_day(db, day, seed=a.seed, scale=a.scale)
    print(f"seeded MongoDB up to {days[-1]} (scale {a.scale}) in {time.monotonic() - t0:.1f}s")

    for day in days:
        print(f"\n== {day}  (data interval {day}T00:00Z → {day + dt.timedelta(days=1)}T00:00Z)")
        for dag_id in ("ingest_mongo", "warehouse"):
            secs, loads = dags_test(dag_id, day, env, logs)
            print(f"{dag_id:<14} ok in {secs:5.1f}s   log: {logs / f'{dag_id}-{day}.log'}")
            for s in loads:
                print(
                    f"  {s['table']:<18} COPY {s['copied']:>7}  DELETE {s['deleted']:>7}  "
                    f"INSERT {s['inserted']:>7}  UPDATE {s['updated']:>7}  unknown {s.get('unknown', 0):>6}"
                )
    print("\nwarehouse tables (rows):")
    for name, n in table_sizes(stack.info["pg_uri"]):
        print(f"  dw.{name:<20} {n:>9}")
    print(f"\ndone in {time.monotonic() - t_all:.1f}s — `make psql` opens the warehouse")
    return 0


if __name__ == "__main__":
    sys.exit(main())
