"""Benchmark: one day's extract against a lake with +0, +90 and +365 synthetic past days.

Each lake (one fresh bucket per history length) holds three generated days (D-2 .. D: every job
document version as ingest_mongo lands it — the day's jobs, the next day's finished
over-midnight jobs and corrections — the projects snapshot of each day, and a Chargify
subscriptions partition per day: a twentieth of the organizations' subscriptions changed that
day) and its synthetic past days before D-2: copies of D-2's partitions with re-minted ObjectIds
and timestamps shifted to their day, touched by no document of D. Each extract of ``EXTRACTS`` runs
for D on the DuckDB engine on every lake, interleaved (``run``), and its best time and the bytes
DuckDB fetched from S3 (its HTTP log) are compared with the +0 lake's: goal <= 1.2x for +365
(docs/decisions/0020).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time

from bench.common import SCALE, Report, fresh_bucket, log

D = dt.date(2024, 3, 20)
EXTRACTS = ["job_ran_fact", "resource_dim", "project_dim", "subscription_dim"]
PAST = [0, 90, 365]


def _versions(scale: float) -> dict[str, dict[str, list[dict]]]:
    """{collection: {dt: documents}} for D-2 .. D, as ingest_mongo lands them."""
    from devstack import generate
    from devstack.generate import mongo as gm

    seed = generate.SEED
    days = [D - dt.timedelta(days=i) for i in (2, 1, 0)]
    jobs: dict[str, list[dict]] = {}
    prev: list[tuple[dict, dt.datetime | None]] = []
    for day in days:
        ds = day.isoformat()
        today = list(gm.day_jobs(seed, scale, day))
        out = [doc for doc, _ in today]
        for doc, stops in prev:  # yesterday's over-midnight jobs finish today
            if stops is not None:
                d = dict(doc, outcome="success", stopped_at=stops.replace(tzinfo=None), updated_at=stops.replace(tzinfo=None),
                         credits_used=1, dlc_credits_used=0, minutes_used=1.0)
                out.append(d)
        for doc, _ in prev[::200]:  # corrections of yesterday's jobs
            out.append(dict(doc, credits_used=7, updated_at=generate.day_start(day).replace(tzinfo=None)))
        seen: dict = {}
        for d in out:
            seen[d["_id"]] = d
        jobs[ds] = list(seen.values())
        prev = today
    _, projects, _ = generate.population(seed, scale, D)
    snap = [gm.project_doc(seed, p, p.created_at) for p in projects]
    orgs = sorted({p.org.analytics_id for p in projects})
    subs = {}
    for k, day in enumerate(days):
        at = generate.day_start(day).replace(tzinfo=None) + dt.timedelta(hours=6)
        subs[day.isoformat()] = [
            {"id": 6_000_000 + i, "state": "active", "product_handle": ("pro", "free")[(i + k) % 2],
             "product_price_in_cents": 1500, "customer_id": 7_000_000 + i, "organization_analytics_id": org,
             "created_at": dt.datetime(2020, 1, 1), "updated_at": at + dt.timedelta(seconds=i), "activated_at": None,
             "canceled_at": None, "current_period_ends_at": None}
            for i, org in enumerate(orgs) if (i + k) % 20 == 0]
    return {"jobs": jobs, "projects": {day.isoformat(): snap for day in days}, "subscriptions": subs}


def _write_subscriptions(s3, bucket: str, ds: str, rows: list[dict]) -> None:
    """A raw_chargify_subscriptions partition (columns and types of its DDL)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dw.lake import RawPartition

    ts = pa.timestamp("ms", tz="UTC")
    schema = pa.schema([("id", pa.int64()), ("state", pa.string()), ("product_handle", pa.string()),
                        ("product_price_in_cents", pa.int64()), ("customer_id", pa.int64()),
                        ("organization_analytics_id", pa.string()), ("created_at", ts), ("updated_at", ts),
                        ("activated_at", ts), ("canceled_at", ts), ("current_period_ends_at", ts)])
    fd, path = tempfile.mkstemp(suffix=".parquet")
    os.close(fd)
    try:
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, compression="zstd")
        s3.upload_file(path, bucket, RawPartition("chargify", "subscriptions", ds, bucket).key)
    finally:
        os.unlink(path)


def _write(s3, bucket: str, collection: str, ds: str, docs: list[dict]) -> None:
    from dw.config import mongo_source
    from dw.lake import RawPartition
    from dw.sources.mongo import write_parquet

    fd, path = tempfile.mkstemp(suffix=".parquet")
    os.close(fd)
    try:
        write_parquet([docs], mongo_source().collections[collection], path=path, pii_key=b"k" * 32)
        s3.upload_file(path, bucket, RawPartition("mongo", collection, ds, bucket).key)
    finally:
        os.unlink(path)


def _shifted_file(src: str, days: int, dst: str) -> None:
    """D-2's jobs partition (Parquet at ``src``) moved ``days`` days back into ``dst``: every
    ObjectId re-minted on its new day (its first 4 bytes minus ``days`` days), every timestamp
    shifted."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(src)
    delta = days * 86_400
    ids = [f"{int(i[:8], 16) - delta:08x}{i[8:]}" for i in t.column("id").to_pylist()]
    t = t.set_column(t.schema.get_field_index("id"), t.schema.field("id"), pa.array(ids, pa.string()))
    for name in ("started_at", "stopped_at", "updated_at"):
        i = t.schema.get_field_index(name)
        t = t.set_column(i, t.schema.field(name), pc.subtract(t.column(name), pa.scalar(dt.timedelta(days=days))).cast(t.schema.field(name).type))
    pq.write_table(t, dst, compression="zstd")


def _measure(bucket: str, table: str) -> tuple[float, int, int]:
    """(seconds, bytes fetched from S3, rows) of the extract of ``table`` for D on DuckDB."""
    from dw.hooks.duckdb import DuckDBLake
    from dw.lake_sql import render_extract

    sql = render_extract(table, D.isoformat(), database="bench")
    with DuckDBLake.connect(bucket=bucket) as lake:
        lake.con.execute("CALL enable_logging('HTTP')")
        fd, path = tempfile.mkstemp(suffix=".csv")
        os.close(fd)
        try:
            t0 = time.perf_counter()
            rows = lake.extract_to_csv(sql, path)
            secs = time.perf_counter() - t0
        finally:
            os.unlink(path)
        got = lake.con.execute(
            "SELECT coalesce(sum(TRY_CAST(response.headers['Content-Length'] AS BIGINT)), 0) "
            "FROM duckdb_logs_parsed('HTTP') WHERE request.type = 'GET'").fetchone()[0]
    return secs, int(got), rows


ROUNDS = 7  # interleaved rounds; each figure is the best of them


def _build(s3, lake_docs: dict, past: int) -> None:
    """The three generated days D-2 .. D in ``s3.bucket``, and ``past`` synthetic days before them."""
    from dw.lake import RawPartition

    for coll, parts in lake_docs.items():
        for ds, docs in parts.items():
            if coll == "subscriptions":
                _write_subscriptions(s3, s3.bucket, ds, docs)
            else:
                _write(s3, s3.bucket, coll, ds, docs)
    oldest = D - dt.timedelta(days=2)
    src = tempfile.mkstemp(suffix=".parquet")[1]
    dst = tempfile.mkstemp(suffix=".parquet")[1]
    try:
        s3.download_file(s3.bucket, RawPartition("mongo", "jobs", oldest.isoformat(), s3.bucket).key, src)
        proj_key = RawPartition("mongo", "projects", oldest.isoformat(), s3.bucket).key
        subs_key = RawPartition("chargify", "subscriptions", oldest.isoformat(), s3.bucket).key
        for added in range(1, past + 1):
            ds = (oldest - dt.timedelta(days=added)).isoformat()
            _shifted_file(src, added, dst)
            s3.upload_file(dst, s3.bucket, RawPartition("mongo", "jobs", ds, s3.bucket).key)
            s3.copy_object(Bucket=s3.bucket, Key=RawPartition("mongo", "projects", ds, s3.bucket).key,
                           CopySource={"Bucket": s3.bucket, "Key": proj_key})
            s3.copy_object(Bucket=s3.bucket, Key=RawPartition("chargify", "subscriptions", ds, s3.bucket).key,
                           CopySource={"Bucket": s3.bucket, "Key": subs_key})
    finally:
        os.unlink(src)
        os.unlink(dst)


def run(st) -> Report:
    """One lake (bucket) per history length, built first; then ``ROUNDS`` rounds in which each
    extract runs on every lake back to back, the lakes' order rotating from round to round, so a
    change of the shared machine's load during the run weighs on every lake alike."""
    import contextlib

    from dw.config import lake_config

    rep = Report("extract_history")
    scale = SCALE
    log(f"generating D-2 .. D at scale {scale}")
    lake_docs = _versions(scale)
    rep.fact("jobs_rows_per_day", len(lake_docs["jobs"][(D - dt.timedelta(days=2)).isoformat()]))
    with contextlib.ExitStack() as stack:
        lakes = {past: stack.enter_context(fresh_bucket(st)) for past in PAST}
        for past, s3 in lakes.items():
            log(f"lake +{past} days: {s3.bucket}")
            _build(s3, lake_docs, past)
        runs: dict[tuple[str, int], list[tuple[float, int, int]]] = {}
        try:
            for r in range(ROUNDS):
                order = PAST[r % len(PAST):] + PAST[: r % len(PAST)]
                for table in EXTRACTS:
                    for past in order:
                        os.environ["DW_LAKE_BUCKET"] = lakes[past].bucket
                        lake_config.cache_clear()
                        runs.setdefault((table, past), []).append(_measure(lakes[past].bucket, table))
        finally:
            os.environ.pop("DW_LAKE_BUCKET", None)
            lake_config.cache_clear()
    for table in EXTRACTS:
        base_secs = min(x[0] for x in runs[(table, 0)])
        base_bytes, base_rows = runs[(table, 0)][0][1], runs[(table, 0)][0][2]
        rep.fact(f"{table} rows", base_rows)
        for past in PAST[1:]:
            got = runs[(table, past)]
            assert all(x[2] == base_rows for x in got), (table, past, [x[2] for x in got], base_rows)
            goal = 1.2 if past == 365 else None
            rep.add(f"{table} time, +{past} days", min(x[0] for x in got), "+0 days", base_secs, goal=goal)
            rep.add(f"{table} bytes read, +{past} days", got[0][1] / 1e6, "+0 days", base_bytes / 1e6,
                    unit="MB", goal=goal)
    return rep
