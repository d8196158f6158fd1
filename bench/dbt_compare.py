"""Benchmark 7: the job_ran_fact restatement side by side with a dbt incremental model (issue 12).

Data (x BENCH_SCALE): the 1,000,000-row, 10-date extract and the dimensions of ``bench.fact_load``.

- Ours: ``load_table`` from S3 (COPY, resolve, merge): fresh, unchanged re-run, 10% changed.
- dbt: dbt-postgres in its own venv (``bench/requirements-dbt.txt``, ``BENCH_DBT``: ``build``
  (default) builds ``~/.cache/dw-etl/dbt-venv`` on first use; ``auto`` uses it only if it is
  there; ``BENCH_DBT_VENV`` moves it). The same extract object is COPY'd from S3 into a stage
  table (the raw COPY of the baseline) and analyzed, then ``dbt run`` builds the incremental
  model ``job_ran_fact_dbt``, whose SELECT is our resolve (``fact_sql.fact_resolve``: the same
  lookups and aggregation to the grain), with a unique index on the grain and work_mem as ours.
  For each ``incremental_strategy`` (``delete+insert``, ``merge``; unique_key = the grain): a
  fresh build (first run), an unchanged re-run and a 10% changed re-run. Times are wall times
  of COPY + ANALYZE + the ``dbt run`` process (dbt's start included: that is what a run costs).

Figures: our fresh load ÷ dbt's best fresh (goal ≤ 1.0×); dbt's best unchanged / 10% changed
re-run ÷ ours (goal ≥ 2×); the same three with dbt's time counted as stage + the model's own
execution time (``run_results.json``), i.e. without dbt's process start and project parse. dbt's incremental strategies write every restated row on every run
and never delete a grain that vanished; ours writes only what changed (0 rows unchanged).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import warehouse_data as wd
from bench.common import REPO, Report, fresh_bucket, fresh_database, log, scaled

NAME = "dbt_compare"
DBT_REQUIREMENTS = REPO / "bench" / "requirements-dbt.txt"
STRATEGIES = ("delete+insert", "merge")
STAGE = "dbt_stage"


def dbt_python() -> str | None:
    """The dbt venv's ``bin`` directory (built on first use), or None if it is not wanted."""
    want = os.environ.get("BENCH_DBT", "build")
    home = Path(os.environ.get("BENCH_DBT_VENV") or Path.home() / ".cache" / "dw-etl" / "dbt-venv")
    stamp = home / ".installed"
    reqs = DBT_REQUIREMENTS.read_text()
    pins = lambda t: [ln.split("#", 1)[0].strip() for ln in t.splitlines() if ln.split("#", 1)[0].strip()]  # noqa: E731
    if stamp.exists() and pins(stamp.read_text()) == pins(reqs):
        return str(home / "bin")
    if want != "build":
        return None
    log(f"building the dbt venv in {home} (once)")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(home)], check=True)
    subprocess.run([str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-r", str(DBT_REQUIREMENTS)], check=True)
    stamp.write_text(reqs)
    return str(home / "bin")


def model_sql(cfg, tables, conn) -> str:
    """Our resolve as the dbt model's SELECT, reading the stage table."""
    from dw.warehouse import fact_sql
    from dw.warehouse.sql import fact_key

    text = fact_sql.fact_resolve(cfg, tables).as_string(conn)
    head, select = text.split("\n", 1)
    assert head.startswith("CREATE TEMP TABLE"), head
    select = select.replace('FROM "stage" AS s', f"FROM public.{STAGE} AS s")
    key = ", ".join(f"'{c}'" for c in fact_key(cfg))
    config = (
        "{{ config(materialized='incremental', incremental_strategy=var('strategy'), "
        f"unique_key=[{key}], indexes=[{{'columns': [{key}], 'unique': True}}], "
        "pre_hook=\"SET work_mem = '256MB'\") }}"
    )
    return f"{config}\nSELECT q.*, timestamptz '2024-01-16' AS dw_updated_at FROM (\n{select}\n) AS q\n"


def write_project(root: Path, uri: str, sql_text: str) -> None:
    from urllib.parse import urlparse

    u = urlparse(uri)
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(
        "name: dw_bench\nversion: '1.0'\nconfig-version: 2\nprofile: dw_bench\nmodel-paths: [models]\n"
        "vars: {strategy: merge}\n")
    (root / "profiles.yml").write_text(json.dumps({"dw_bench": {"target": "bench", "outputs": {"bench": {
        "type": "postgres", "host": u.hostname, "port": u.port or 5432, "user": u.username or "postgres",
        "password": u.password or "", "dbname": u.path.lstrip("/"), "schema": "dbt", "threads": 1}}}}))
    (root / "models" / "job_ran_fact_dbt.sql").write_text(sql_text)


def stage(uri: str, cfg, s3, key: str) -> None:
    """The extract COPY'd from S3 into ``public.dbt_stage`` (replaced), then analyzed."""
    import psycopg

    from dw.warehouse.load import CHUNK_BYTES
    from dw.warehouse.sql import create_stage

    with psycopg.connect(uri) as conn:
        with conn.transaction():
            conn.execute(create_stage(cfg))
            conn.execute(f"DROP TABLE IF EXISTS public.{STAGE}")
            conn.execute(f"CREATE TABLE public.{STAGE} (LIKE pg_temp.stage)")
            body = s3.get_object(Bucket=s3.bucket, Key=key)["Body"]
            with conn.cursor() as cur, cur.copy(
                    f"COPY public.{STAGE} ({', '.join(cfg.column_names)}) FROM STDIN (FORMAT csv, HEADER true)") as cp:
                for chunk in body.iter_chunks(chunk_size=CHUNK_BYTES):
                    cp.write(chunk)
        conn.execute(f"ANALYZE public.{STAGE}")
        conn.commit()


def dbt_run(bin_dir: str, root: Path, strategy: str, full_refresh: bool) -> tuple[float, float]:
    """``dbt run``; returns (wall seconds, the model's execution time as dbt reports it)."""
    args = [str(Path(bin_dir) / "dbt"), "run", "--project-dir", str(root), "--profiles-dir", str(root),
            "--vars", json.dumps({"strategy": strategy})]
    if full_refresh:
        args.append("--full-refresh")
    t0 = time.perf_counter()
    p = subprocess.run(args, cwd=root, capture_output=True, text=True, env=dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false"))
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"dbt run failed:\n{p.stdout[-4000:]}\n{p.stderr[-2000:]}")
    results = json.loads((root / "target" / "run_results.json").read_text())
    return wall, sum(r["execution_time"] for r in results["results"])


def run(st) -> Report:
    import psycopg

    from dw.config import warehouse_tables
    from dw.warehouse.migrate import migrate

    rep = Report(NAME)
    bin_dir = dbt_python()
    if bin_dir is None:
        rep.fact("dbt", "skipped (BENCH_DBT=auto and no venv; `make bench` builds it)")
        return rep
    tables = warehouse_tables()
    cfg = tables["job_ran_fact"]
    rows = scaled(1_000_000, 1000)
    sizes = wd.fact_dimension_sizes()
    with fresh_database(st) as uri, fresh_bucket(st) as s3, tempfile.TemporaryDirectory(prefix="dw-bench-dbt-") as tmp:
        migrate(uri, dates=wd.FACT_MONTHS)
        wd.populate_dimensions(uri, s3, tables, sizes)
        with psycopg.connect(uri) as conn:
            x = wd.put_fact_extracts(conn, s3, cfg, rows, sizes, dates=10)
            fresh_uri, fresh_key, _ = x["fresh"]
            changed_uri, changed_key, _ = x["changed"]
            sql_text = model_sql(cfg, tables, conn)
            conn.execute("CREATE SCHEMA IF NOT EXISTS dbt")
            conn.commit()
        root = Path(tmp) / "project"
        write_project(root, uri, sql_text)

        ours = {}
        ours["fresh"], _ = wd.load(uri, cfg, fresh_uri, s3, tables)
        ours["unchanged"], _ = wd.load(uri, cfg, fresh_uri, s3, tables)
        ours["changed"], st_changed = wd.load(uri, cfg, changed_uri, s3, tables)
        rep.fact("ours", {k: round(v, 3) for k, v in ours.items()})

        dbt: dict[str, dict[str, float]] = {}
        for strategy in STRATEGIES:
            times = {}
            for scenario, key, full in (("fresh", fresh_key, True), ("unchanged", fresh_key, False),
                                        ("changed", changed_key, False)):
                t0 = time.perf_counter()
                stage(uri, cfg, s3, key)
                t_stage = time.perf_counter() - t0
                wall, model = dbt_run(bin_dir, root, strategy, full)
                times[scenario] = t_stage + wall
                times[f"{scenario}_stage"] = t_stage
                times[f"{scenario}_model"] = model
                log(f"dbt {strategy} {scenario}: stage {t_stage:.2f}s + dbt run {wall:.2f}s (model {model:.2f}s)")
            dbt[strategy] = times
        rep.fact("dbt", {s: {k: round(v, 3) for k, v in t.items()} for s, t in dbt.items()})
        with psycopg.connect(uri) as conn:
            n_dbt = conn.execute("SELECT count(*) FROM dbt.job_ran_fact_dbt").fetchone()[0]
            n_ours = conn.execute("SELECT count(*) FROM dw.job_ran_fact").fetchone()[0]
        rep.fact("rows", {"ours": n_ours, "dbt": n_dbt})

        best = lambda k: min(dbt[s][k] for s in STRATEGIES)  # noqa: E731
        rep.add("ours fresh vs dbt's best fresh", ours["fresh"], "dbt best fresh", best("fresh"), goal=1.0)
        rep.add("dbt's best unchanged re-run vs ours", best("unchanged"), "our unchanged re-run", ours["unchanged"],
                goal=2.0, goal_min=True)
        rep.add("dbt's best 10% changed re-run vs ours", best("changed"), "our 10% changed re-run", ours["changed"],
                goal=2.0, goal_min=True, note=st_changed.summary())
        # without dbt's process start (its parse and connection, ~5-9 s here): stage + the model's statements
        best_model = lambda k: min(dbt[s][f"{k}_stage"] + dbt[s][f"{k}_model"] for s in STRATEGIES)  # noqa: E731
        rep.add("ours fresh vs dbt's best fresh, model only", ours["fresh"], "dbt best fresh, model only",
                best_model("fresh"))
        rep.add("dbt's best unchanged re-run vs ours, model only", best_model("unchanged"), "our unchanged re-run",
                ours["unchanged"])
        rep.add("dbt's best 10% changed re-run vs ours, model only", best_model("changed"), "our 10% changed re-run",
                ours["changed"])
    return rep
