"""Benchmark 3: MongoDB ``jobs`` documents → Parquet, from the stack's nx-27017 server.

Two collections of job documents (the fields of include/config/sources/mongo.yaml, clean types):
100,000 and 1,000,000 documents (x BENCH_SCALE). Every extraction runs in a fresh process
(``bench.mongo_child``), so each peak RSS is that run's alone.

Figures:
- memory: the project's extractor's peak RSS at 1,000,000 against 100,000 (goal ≤ 1.3×);
- the provider's ``MongoToS3Operator`` on the 100,000 collection: time and peak RSS against the
  project's extractor on the same collection;
- throughput: ``pymongoarrow.find_arrow_all`` + ``pyarrow.parquet.write_table`` time against the
  project's, on the 1,000,000 collection (goal ≥ 0.8×, i.e. ours takes at most 1/0.8 of its time).
  pymongoarrow cannot be installed next to the project's pins (every release requires
  pyarrow < 25.1; the project pins 26.0.1), so it runs in its own venv built from
  ``bench/requirements-pymongoarrow.txt`` (``BENCH_PYMONGOARROW``: ``build`` (default) builds it
  if missing, ``auto`` uses it only if it exists, ``skip`` never);
- the read-only floor (``find_raw_batches`` + ``bson.decode_all``): what the server and driver
  cost before any conversion.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from bench.common import REPO, Report, log, scaled

NAME = "mongo_extract"
PMA_REQUIREMENTS = REPO / "bench" / "requirements-pymongoarrow.txt"


def pma_python() -> str | None:
    """The pymongoarrow venv's interpreter (built on first use), or None if it is not wanted."""
    want = os.environ.get("BENCH_PYMONGOARROW", "build")
    home = Path(os.environ.get("BENCH_PYMONGOARROW_VENV") or Path.home() / ".cache" / "dw-etl" / "bench-pymongoarrow")
    py = home / "bin" / "python"
    stamp = home / ".installed"
    reqs = PMA_REQUIREMENTS.read_text()
    if stamp.exists() and _pins(stamp.read_text()) == _pins(reqs):
        return str(py)
    if want != "build":
        return None
    log(f"building the pymongoarrow venv in {home} (once)")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(home)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
                    str(PMA_REQUIREMENTS)], check=True)
    stamp.write_text(reqs)
    return str(py)


def _pins(text: str) -> list[str]:
    """The requirement lines of a requirements file (comments and blank lines left out)."""
    return [ln.split("#", 1)[0].strip() for ln in text.splitlines() if ln.split("#", 1)[0].strip()]


def make_docs(n: int, seed: int = 7):
    """``n`` job documents (deterministic), in batches."""
    import random

    from bson import ObjectId

    r = random.Random(seed)
    pool = lambda kind, k: [str(uuid.UUID(int=r.getrandbits(128), version=4)) for _ in range(k)]  # noqa: E731
    orgs, projects, users = pool("org", 2000), pool("project", 10000), pool("user", 20000)
    classes = ["small", "medium", "large", "xlarge", None]
    outcomes = ["success", "success", "success", "failed", "canceled"]
    t0 = dt.datetime(2024, 1, 15)
    batch = []
    for i in range(n):
        started = t0 + dt.timedelta(seconds=r.randrange(86_400), milliseconds=r.randrange(1000))
        minutes = r.randrange(1, 600_000) / 1000
        credits = int(minutes * 10) + 1
        dlc = r.random() < 0.2
        batch.append({
            "_id": ObjectId(int(started.timestamp()).to_bytes(4, "big") + i.to_bytes(8, "big")),
            "organization_analytics_id": orgs[r.randrange(len(orgs))],
            "project_analytics_id": projects[r.randrange(len(projects))],
            "user_analytics_id": users[r.randrange(len(users))],
            "subscription_id": str(6_100_000 + r.randrange(2000)),
            "started_at": started, "stopped_at": started + dt.timedelta(minutes=minutes),
            "outcome": outcomes[i % 5], "resource_class": classes[i % 5], "executor": "docker",
            "operating_system": "linux", "dlc": dlc, "credits_used": credits,
            "dlc_credits_used": credits // 5 if dlc else 0, "minutes_used": minutes,
            "updated_at": started + dt.timedelta(minutes=minutes),
        })
        if len(batch) == 10_000:
            yield batch
            batch = []
    if batch:
        yield batch


def seed(db, name: str, n: int) -> None:
    """Collection ``name`` with ``n`` documents (the first ones are the same in every collection)."""
    import time

    t0 = time.perf_counter()
    db.drop_collection(name)
    for docs in make_docs(n):
        db[name].insert_many(docs, ordered=False)
    log(f"{name}: {n} documents inserted in {time.perf_counter() - t0:.1f}s")


def child(mode: str, st, db: str, coll: str, out: str, python: str | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "plugins"), str(REPO), env.get("PYTHONPATH")]))
    if mode == "mongo_to_s3":
        conn = json.loads(env["AIRFLOW_CONN_MONGO_APP"])
        conn["schema"] = db
        env["AIRFLOW_CONN_MONGO_APP"] = json.dumps(conn)
    r = subprocess.run([python or sys.executable, "-m", "bench.mongo_child", mode, st.info["mongo_uri"], db, coll, out],
                       env=env, capture_output=True, text=True, cwd=str(REPO), timeout=3600)
    if r.returncode != 0:
        raise RuntimeError(f"mongo_child {mode} {coll} failed:\n{r.stderr[-3000:]}")
    res = json.loads(r.stdout.strip().splitlines()[-1])
    log(f"{mode:<12} {coll:<11} rows {res['rows']:>8}  {res['seconds']:7.2f}s  peak RSS "
        f"{res['peak_rss_kb'] / 1024:7.1f} MiB (after imports {res['rss_after_imports_kb'] / 1024:.1f} MiB)")
    return res


def run(st) -> Report:
    import pymongo

    from bench.common import airflow_home, fresh_bucket

    rep = Report(NAME)
    small, large = scaled(100_000, 1000), scaled(1_000_000, 2000)
    rep.fact("documents", {"small": small, "large": large})
    client = pymongo.MongoClient(st.info["mongo_uri"])
    dbname = f"bench_{uuid.uuid4().hex[:8]}"
    db = client[dbname]
    pma = pma_python()
    airflow_home()
    tmp = tempfile.mkdtemp(prefix="dw-bench-mongo-")
    try:
        seed(db, "jobs_small", small)
        seed(db, "jobs_large", large)
        out = lambda name: os.path.join(tmp, name + ".parquet")  # noqa: E731

        dw_small = child("dw", st, dbname, "jobs_small", out("dw_small"))
        dw_large = child("dw", st, dbname, "jobs_large", out("dw_large"))
        rep.add("peak RSS, 1M docs vs 100k", dw_large["peak_rss_kb"] / 1024, "peak RSS at 100k",
                dw_small["peak_rss_kb"] / 1024, unit="MiB", goal=1.3)
        rep.add("RSS growth above imports, 1M vs 100k",
                (dw_large["peak_rss_kb"] - dw_large["rss_after_imports_kb"]) / 1024, "growth at 100k",
                max(dw_small["peak_rss_kb"] - dw_small["rss_after_imports_kb"], 1) / 1024, unit="MiB")

        with fresh_bucket(st) as s3:
            m2s = child("mongo_to_s3", st, dbname, "jobs_small", f"{s3.bucket}/mongo_to_s3/jobs.json")
        rep.add("MongoToS3Operator time, 100k", m2s["seconds"], "our extractor", dw_small["seconds"])
        rep.add("MongoToS3Operator peak RSS, 100k", m2s["peak_rss_kb"] / 1024, "our extractor",
                dw_small["peak_rss_kb"] / 1024, unit="MiB")

        read = child("read", st, dbname, "jobs_large", out("read"))
        rep.add("read-only floor, 1M (find_raw_batches+decode)", read["seconds"], "our extractor",
                dw_large["seconds"])
        rep.fact("our_docs_per_second_1M", round(dw_large["rows"] / dw_large["seconds"]))
        if pma:
            ref = child("pymongoarrow", st, dbname, "jobs_large", out("pma"), python=pma)
            rep.add("throughput vs pymongoarrow, 1M", ref["seconds"], "our extractor", dw_large["seconds"],
                    unit="s", goal=0.8, goal_min=True,
                    note="ratio = pymongoarrow time / our time = our throughput / its throughput")
        else:
            rep.fact("pymongoarrow", "skipped (BENCH_PYMONGOARROW=auto and no venv; `make bench` builds it)")
    finally:
        client.drop_database(dbname)
        client.close()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return rep
