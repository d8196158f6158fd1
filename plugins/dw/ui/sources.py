"""The raw lake's calendar: per raw table, each ``dt`` partition of a window is present, empty,
short of its source's ``min_rows``, or missing.

Presence comes from one ListObjectsV2 per raw table (``StartAfter`` the window's first day, so
a year of history costs no more than a month). Row counts come from each partition's Parquet
footer, the same count ``lake_ready`` checks (``dw.lake.parquet_rows``: a ranged GET of the tail),
concurrently, cached in this process by key and ETag (a replaced partition has a new ETag). A
page view after the first therefore costs only the listings. This reads the lake as it is,
including partitions written before the view existed, and needs no change to the ingestion.
"""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

MAX_WORKERS = 10  # botocore.s default connection pool
_CACHE: dict[tuple[str, str], int] = {}
_CACHE_LOCK = threading.Lock()


def raw_tables() -> list[dict]:
    """Every raw lake table from the source configs: source, entity, name, ``min_rows``, ingesting DAG."""
    from dw.config import mongo_source, vendor_source
    from dw.sources import SOURCES, RawTable

    out = []
    for source in SOURCES:
        items = mongo_source().collections if source == "mongo" else vendor_source(source).entities
        for entity, item in items.items():
            out.append({"table": RawTable(source, entity).name, "source": source, "entity": entity,
                        "min_rows": item.min_rows, "dag_id": f"ingest_{source}"})
    return out


def classify(rows: int | None, present: bool, min_rows: int) -> str:
    """``missing`` (no object), ``unknown`` (present, count unreadable), ``empty`` (0 rows),
    ``short`` (fewer than ``min_rows``) or ``present``."""
    if not present:
        return "missing"
    if rows is None:
        return "unknown"
    if rows == 0:
        return "empty"
    if rows < min_rows:
        return "short"
    return "present"


def parquet_rows(s3, bucket: str, key: str, etag: str) -> int | None:
    """The row count of a Parquet object (cached by key and ETag); None if unreadable."""
    with _CACHE_LOCK:
        if (key, etag) in _CACHE:
            return _CACHE[(key, etag)]
    from dw.lake import parquet_rows as footer_rows

    try:
        rows = footer_rows(s3, bucket, key)
    except Exception:  # noqa: BLE001 - an unreadable partition shows as "unknown"
        return None
    with _CACHE_LOCK:
        _CACHE[(key, etag)] = rows
    return rows


def _listing(s3, bucket: str, prefix: str, days: list[dt.date]) -> dict[dt.date, dict]:
    """The partition objects of ``days`` under ``prefix`` (``.../dt=YYYY-MM-DD/part-00000.parquet``)."""
    from dw.lake import PART_NAME

    wanted = {d.isoformat(): d for d in days}
    found: dict[dt.date, dict] = {}
    kwargs = {"Bucket": bucket, "Prefix": prefix, "StartAfter": f"{prefix}dt={(days[0] - dt.timedelta(days=1)).isoformat()}/~"}
    while True:
        page = s3.list_objects_v2(**kwargs)
        rest = ""
        for obj in page.get("Contents", []):
            rest = obj["Key"][len(prefix):]
            if rest.startswith("dt=") and rest.endswith("/" + PART_NAME):
                d = wanted.get(rest[3:13])
                if d is not None:
                    found[d] = obj
        if not page.get("IsTruncated") or rest[3:13] > days[-1].isoformat():
            return found
        kwargs["ContinuationToken"] = page["NextContinuationToken"]


def calendar(s3, bucket: str, days: list[dt.date], tables: list[dict] | None = None) -> list[dict]:
    """Per raw table: the status of each day's partition (see ``classify``) and its row count."""
    from dw.config import lake_config
    from dw.sources import RawTable

    tables = raw_tables() if tables is None else tables
    raw = lake_config().raw_prefix
    with ThreadPoolExecutor(max_workers=MAX_WORKERS) as pool:
        listings = list(pool.map(lambda t: _listing(s3, bucket, RawTable(t["source"], t["entity"]).prefix(raw), days),
                                 tables))
        jobs = {(t["table"], d): pool.submit(parquet_rows, s3, bucket, o["Key"], o.get("ETag", ""))
                for t, found in zip(tables, listings) for d, o in found.items()}
        counts = {k: f.result() for k, f in jobs.items()}
    out = []
    for t, found in zip(tables, listings):
        cells = []
        for d in days:
            rows = counts.get((t["table"], d))
            cells.append({"date": d.isoformat(), "rows": rows, "status": classify(rows, d in found, t["min_rows"])})
        out.append({**t, "days": cells})
    return out
