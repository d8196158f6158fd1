"""`make demo`: the whole daily pipeline for a date on the embedded local stack.

1. brings the stack up (PostgreSQL, moto S3, nx-27017, the vendor stand-ins) and loads its connections;
2. seeds MongoDB with the generator, day by day up to DATE (idempotent);
3. runs every ingestion DAG and then warehouse, for each date, with `dag.test()` in one
   `devstack.run_day` process (`--parallel N`: ingestion in N processes at once; `--cli`: one
   `airflow dags test` process per DAG);
4. prints what each table loaded (COPY / DELETE / INSERT / UPDATE, from the dw.load_audit ledger),
   the day's upstream changes and quarantined rows (dw.schema_changes, dw.load_quarantine),
   and the table sizes; ``--timings`` adds every task's duration (from Airflow's metadata DB).

The run for date D is the DAG run with logical date D+1 (its data interval is day D).

    python -m devstack.demo --date 2024-01-15 [--days 1] [--scale 1.0] [--seed 42]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from dw.paths import REPO_ROOT

from devstack.process import DEFAULT_STATE, binary, python_path
from devstack.stack import Stack


def airflow_env(state: Path, stack: Stack) -> dict[str, str]:
    env = dict(os.environ)
    env.update(stack.environ())
    env.update(
        {
            "AIRFLOW_HOME": str(state / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PYTHONPATH": python_path(),
            "DW_REPO_ROOT": str(REPO_ROOT),
        }
    )
    return env


def ensure_airflow_db(env: dict[str, str], state: Path) -> None:
    marker = state / "airflow" / ".db-migrated"
    if marker.exists():
        return
    (state / "airflow").mkdir(parents=True, exist_ok=True)
    r = subprocess.run([binary("airflow"), "db", "migrate"], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-4000:] + r.stderr[-4000:])
        raise SystemExit("airflow db migrate failed")
    marker.write_text("ok\n")


def dags_test(dag_id: str, day: dt.date, env: dict[str, str], logs: Path) -> float:
    logical = (day + dt.timedelta(days=1)).isoformat()
    log = logs / f"{dag_id}-{day.isoformat()}.log"
    t0 = time.monotonic()
    with open(log, "w") as f:
        r = subprocess.run([binary("airflow"), "dags", "test", dag_id, logical], env=env, stdout=f, stderr=subprocess.STDOUT)
    secs = time.monotonic() - t0
    text = log.read_text(errors="replace")
    if r.returncode == 0 and not task_times(Path(env["AIRFLOW_HOME"]).parent, dag_id, day):
        from dw.lake import no_tasks_error

        raise SystemExit(f"{no_tasks_error(dag_id, day.isoformat())} (log: {log})")
    failed = r.returncode != 0 or re.search(r"DagRun Finished: .*state=failed", text)
    if failed:
        tail = "\n".join(text.splitlines()[-60:])
        raise SystemExit(f"{dag_id} for {day} failed (log: {log}):\n{tail}")
    return secs


# Heaviest first (the order the ingestion DAGs are dealt to the parallel runner processes).
INGEST_WEIGHT = {"ingest_amplitude": 4, "ingest_mongo": 3, "ingest_stripe": 2, "ingest_chargify": 2}


def run_day(day: dt.date, env: dict[str, str], logs: Path, parallel: int) -> tuple[dict[str, float], dict[str, Path]]:
    """The day's ingestion DAGs in ``parallel`` concurrent ``devstack.run_day`` processes (each
    runs its share with ``dag.test()``, paying Airflow's start-up once), then the warehouse DAG;
    with ``parallel`` 1, all of them in one process.
    Returns ({dag id: seconds}, {dag id: log file})."""
    ingest = sorted((d for d in pipeline_dags() if d != "warehouse"), key=lambda d: -INGEST_WEIGHT.get(d, 1))
    n = max(1, min(parallel, len(ingest)))
    if n == 1:  # the whole day in one process: Airflow starts once
        return _run_groups([ingest + ["warehouse"]], day, env, logs)
    secs, where = _run_groups([ingest[i::n] for i in range(n)], day, env, logs)
    s2, w2 = _run_groups([["warehouse"]], day, env, logs)
    return {**secs, **s2}, {**where, **w2}


def _run_groups(groups: list[list[str]], day: dt.date, env: dict[str, str], logs: Path):
    procs = []
    for group in groups:
        log = logs / f"{'+'.join(group)}-{day.isoformat()}.log"
        f = open(log, "w")
        p = subprocess.Popen([sys.executable, "-m", "devstack.run_day", "--date", day.isoformat(), *group],
                             env=env, stdout=f, stderr=subprocess.STDOUT)
        procs.append((group, log, f, p))
    secs: dict[str, float] = {}
    where: dict[str, Path] = {}
    failed = []
    for group, log, f, p in procs:
        rc = p.wait()
        f.close()
        text = log.read_text(errors="replace")
        for dag_id in group:
            m = re.search(rf"^{re.escape(dag_id)} ok in ([0-9.]+)s$", text, re.M)
            where[dag_id] = log
            if m:
                secs[dag_id] = float(m.group(1))
        if rc != 0 or len([d for d in group if d in secs]) != len(group):
            failed.append((group, log, "\n".join(text.splitlines()[-60:])))
    if failed:
        raise SystemExit("\n\n".join(f"{'+'.join(g)} for {day} failed (log: {log}):\n{tail}" for g, log, tail in failed))
    return secs, where


def task_times(state: Path, dag_id: str, day: dt.date) -> list[tuple[str, float, str]]:
    """(task id, seconds, state) of the latest run of ``dag_id`` for ``day``, from Airflow's metadata DB."""
    import sqlite3

    db = state / "airflow" / "airflow.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as con:
        run = con.execute(
            "select run_id from dag_run where dag_id = ? and date(data_interval_start) = ? order by id desc limit 1",
            (dag_id, day.isoformat()),
        ).fetchone()
        if not run:
            return []
        rows = con.execute(
            "select task_id, (julianday(end_date) - julianday(start_date)) * 86400.0, state from task_instance "
            "where dag_id = ? and run_id = ? order by start_date",
            (dag_id, run[0]),
        ).fetchall()
    return [(t, s or 0.0, st) for t, s, st in rows]


def ledger_mark(uri: str) -> int:
    """The newest dw.load_audit id (0 before the first migrate)."""
    import psycopg

    with psycopg.connect(uri) as con:
        if con.execute("select to_regclass('dw.load_audit')").fetchone()[0] is None:
            return 0
        return con.execute("select coalesce(max(id), 0) from dw.load_audit").fetchone()[0]


def ledger_since(uri: str, mark: int) -> list[tuple]:
    import psycopg

    with psycopg.connect(uri) as con:
        return con.execute(
            """select table_name, coalesce(rows_copied::text, '-'), coalesce(rows_deleted::text, '-'),
                      coalesce(rows_inserted::text, '-'), coalesce(rows_updated::text, '-'),
                      coalesce(rows_unknown::text, '-'), array_to_string(dates_restated, ','), outcome
               from dw.load_audit where id > %s order by id""",
            (mark,),
        ).fetchall()


def changes_of(uri: str, day: dt.date) -> list[str]:
    """The day's upstream changes (dw.schema_changes) and quarantined rows (dw.load_quarantine), as lines."""
    import psycopg

    with psycopg.connect(uri) as con:
        if con.execute("select to_regclass('dw.load_quarantine')").fetchone()[0] is None:
            return []
        lines = [f"  change  {src}.{ent}.{col}: {ch} {det!r} in {n} row(s) → {action}"
                 for src, ent, col, ch, det, n, action in con.execute(
                     "select source, entity, column_name, change, detail, row_count, action from dw.schema_changes "
                     "where dt = %s order by 1, 2, 3, 5", (day,))]
        lines += [f"  quarantine dw.{t}: {n} row(s) in dw.load_quarantine" for t, n in con.execute(
            "select table_name, count(*) from dw.load_quarantine where dt = %s group by 1 order by 1", (day,))]
        return lines


def table_sizes(uri: str) -> list[tuple[str, int]]:
    import psycopg
    from psycopg import sql

    with psycopg.connect(uri) as con:
        names = [r[0] for r in con.execute(
            "select c.relname from pg_class c where c.relnamespace = 'dw'::regnamespace "
            "and c.relkind in ('r', 'p', 'v') and not c.relispartition order by 1"  # a fact, not its partitions
        )]
        return [
            (n, con.execute(sql.SQL("select count(*) from {}").format(sql.Identifier("dw", n))).fetchone()[0])
            for n in names
        ]


def pipeline_dags() -> list[str]:
    """The ingestion DAGs (every dags/ingest_*.py), then the warehouse."""
    ingest = sorted(p.stem for p in (REPO_ROOT / "dags").glob("ingest_*.py"))
    return ingest + ["warehouse"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m devstack.demo")
    ap.add_argument("--date", type=dt.date.fromisoformat, default=dt.date(2024, 1, 15))
    ap.add_argument("--days", type=int, default=1, help="run this many consecutive dates ending at --date")
    ap.add_argument("--scale", type=float, default=float(os.environ.get("DW_SCALE", "1.0")))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--state", type=Path, default=DEFAULT_STATE)
    ap.add_argument("--timings", action="store_true", help="print every task's duration")
    ap.add_argument("--parallel", type=int, default=1,
                    help="ingestion DAGs in this many processes at once (1: the whole day in one process)")
    ap.add_argument("--cli", action="store_true", help="one `airflow dags test` process per DAG, one after the other")
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
    from devstack import generate

    days = [a.date - dt.timedelta(days=i) for i in range(a.days - 1, -1, -1)]
    from dw.lake import epoch_error

    if epoch_error(days[0].isoformat()):
        raise SystemExit(f"make demo: {epoch_error(days[0].isoformat())}")
    client = pymongo.MongoClient(stack.info["mongo_uri"])
    db = client[mongo_source().database]
    t0 = time.monotonic()
    generate.seed_base(db, seed=a.seed, scale=a.scale)
    for day in days:
        generate.seed_day(db, day, seed=a.seed, scale=a.scale, drift=True)
    print(f"seeded MongoDB up to {days[-1]} (scale {a.scale}) in {time.monotonic() - t0:.1f}s")
    from devstack import vendors

    pg_uri = stack.info["pg_uri"]
    for day in days:
        print(f"\n== {day}  (data interval {day}T00:00Z → {day + dt.timedelta(days=1)}T00:00Z)")
        # the vendor stand-ins serve the same seed and scale, as they stand when day D's run
        # starts: 03:00 on D+1 (Amplitude's export is complete 2 hours after an hour ends)
        clock = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(3), dt.timezone.utc)
        vendors.configure_all(stack.vendor_urls(), seed=a.seed, scale=a.scale, now=clock)
        # the stand-ins generate the day's data before the runs, as a vendor has it before anyone asks
        t0 = time.monotonic()
        vendors.prepare_all(stack.vendor_urls(), day)
        print(f"vendor stand-ins prepared {day} in {time.monotonic() - t0:.1f}s")
        t_day = time.monotonic()
        mark = ledger_mark(pg_uri)
        if a.cli:
            secs = {d: dags_test(d, day, env, logs) for d in pipeline_dags()}
            where = {d: logs / f"{d}-{day}.log" for d in pipeline_dags()}
        else:
            secs, where = run_day(day, env, logs, a.parallel)
        for dag_id in pipeline_dags():
            print(f"{dag_id:<17} ok in {secs[dag_id]:5.1f}s   log: {where[dag_id]}")
            if a.timings:
                for task, tsecs, tstate in task_times(state, dag_id, day):
                    print(f"    {task:<44} {tsecs:6.2f}s  {tstate}")
            if dag_id == "warehouse":
                for table, c, d, i, u, unk, dates, outcome in ledger_since(pg_uri, mark):
                    print(f"  dw.load {table:<18} COPY {c:>7} / DELETE {d:>6} / INSERT {i:>7} / UPDATE {u:>6}"
                          f"  (unknown {unk:>5})  {outcome}{'  dates ' + dates if dates else ''}")
                for line in changes_of(pg_uri, day):
                    print(line)
        print(f"day {day} in {time.monotonic() - t_day:.1f}s")
    print("\nwarehouse tables (rows):")
    for name, n in table_sizes(pg_uri):
        print(f"  dw.{name:<28} {n:>9}")
    print(f"\ndone in {time.monotonic() - t_all:.1f}s — `make psql` opens the warehouse")
    return 0


if __name__ == "__main__":
    sys.exit(main())
