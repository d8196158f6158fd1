"""Amplitude Export API → the day's events (``dw.sources.http.land_partition``).

For each hour H of day D: ``GET /api/2/export?start=<D>T<H>&end=<D>T<H>`` (hours by
``server_upload_time``, both bounds inclusive). The answer, a zip of gzipped JSON-lines
files, is streamed to disk in 1 MiB chunks — never held in memory — and checked (length,
then every member's CRC) before any of it is used; a short or corrupt download is retried
like a 5xx. Each member is then copied byte for byte to the raw file (a multi-member gzip)
and parsed line by line into the Parquet batches. A 404 ("Raw data files were not found")
is an empty hour.

Amplitude makes an hour exportable about 2 hours after it ends (``available_after_hours``).
``fetch`` refuses a day whose last hour is not yet exportable (``NotYetAvailable``, before
any request), so a partial day is never landed; the operator defers until it is.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import zipfile

from dw.sources.http import (NotYetAvailable, PartitionSink, Transient, VendorClient, VendorFatalError, available_at,
                              check_in_window, parse_time)

HOUR = dt.timedelta(hours=1)
BATCH = 5_000
MAX_PAGE_SIZE = 1  # the export has no pages: one request per hour
DEFERS_UNTIL_AVAILABLE = True  # the task defers until the day is exportable (available_at)
RAW_MEMBERS = True  # the raw file holds the served gzip members byte for byte

RUNBOOK_READS = {  # what a task reads, by entity mode (the runbooks)
    "window": "the events uploaded in each hour of the day (Export API, one zip per hour, streamed to disk); "
              "deferred until the whole day is exportable",
}


def check_entity(entity) -> None:
    if entity.mode != "window":
        raise ValueError("amplitude: the Export API is a window by upload time (mode: window)")


def auth(conn):
    """Basic auth: the API key (login) and secret key (password)."""
    from requests.auth import HTTPBasicAuth

    return HTTPBasicAuth(conn.login or "", conn.password)


def _download(client: VendorClient, entity, params: dict, path: str, what: str) -> str | None:
    def read(resp):
        if resp.status_code == 404:
            return None
        expected = resp.headers.get("Content-Length")
        n = 0
        with open(path, "wb") as f:
            for chunk in resp.iter_content(1 << 20):
                f.write(chunk)
                n += len(chunk)
        desc = client.describe(entity.endpoint, params)
        if expected is not None and n != int(expected):
            raise Transient(f"{client.label}: {what}: {desc}: body cut short ({n} of {expected} bytes)")
        try:
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()
        except zipfile.BadZipFile as e:
            raise Transient(f"{client.label}: {what}: {desc}: not a readable zip ({e})") from None
        if bad is not None:
            raise Transient(f"{client.label}: {what}: {desc}: member {bad} fails its CRC check")
        return path

    return client.request(entity.endpoint, params, what=what, read=read, ok_statuses=(200, 404))


def fetch(client: VendorClient, entity, sink: PartitionSink, start: dt.datetime, end: dt.datetime, *,
          now: dt.datetime) -> int:
    """Export every hour of [start, end) into ``sink``; returns the hours that had data."""
    ready = available_at(client.source, end)
    if now < ready:
        raise NotYetAvailable(f"{sink.label}: the export of [{start.isoformat()}, {end.isoformat()}) is complete "
                              f"only from {ready.isoformat()} (now {now.isoformat()}); nothing was requested", ready)
    hours_with_data = 0
    h = start
    while h < end:
        stamp = h.strftime("%Y%m%dT%H")
        what = f"hour {h.strftime('%H')}:00"
        path = os.path.join(sink.dir, f"export-{stamp}.zip")
        got = _download(client, entity, {"start": stamp, "end": stamp}, path, what)
        if got is not None:
            hours_with_data += 1
            _unpack(sink, got, h, what)
            os.unlink(got)
        h += HOUR
    return hours_with_data


def _unpack(sink: PartitionSink, path: str, hour: dt.datetime, what: str) -> None:
    with zipfile.ZipFile(path) as zf:
        for name in sorted(zf.namelist()):
            if not name.endswith(".json.gz"):
                raise VendorFatalError(f"{sink.label}: {what}: unexpected member {name!r} in the export")
            with zf.open(name) as raw:
                sink.write_raw(raw)
            batch: list[dict] = []
            with zf.open(name) as raw, gzip.open(raw) as lines:
                for i, line in enumerate(lines, 1):
                    try:
                        event = json.loads(line)
                    except ValueError:
                        raise VendorFatalError(f"{sink.label}: {what}: {name} line {i} is not JSON") from None
                    check_in_window(sink, event, parse_time(event.get(sink.entity.time_field)), hour, hour + HOUR)
                    batch.append(event)
                    if len(batch) >= BATCH:
                        sink.add(batch)
                        batch = []
            sink.add(batch)
