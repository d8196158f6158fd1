"""Amplitude Export API → the day's events (``dw.sources.http.land_partition``).

For each hour H of day D: ``GET /api/2/export?start=<D>T<H>&end=<D>T<H>`` (hours by
``server_upload_time``, both bounds inclusive). The answer, a zip of gzipped JSON-lines
files, is streamed to disk in 1 MiB chunks — never held in memory — and checked (length,
then every member's CRC) before any of it is used; a short or corrupt download is retried
like a 5xx. Bounded: a download over ``MAX_DOWNLOAD_BYTES``, a zip of more than
``MAX_MEMBERS`` members or inflating (zip, then gzip) past ``MAX_INFLATED_BYTES``, or a line
longer than ``MAX_LINE_BYTES`` fails the task without retries. Each member is then copied byte for byte to the raw file (a multi-member gzip)
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
# Bounds on one hour's export (a hostile or broken answer must not fill the disk or the memory):
MAX_DOWNLOAD_BYTES = 2 << 30  # the zip as served
MAX_MEMBERS = 1_000  # files in the zip
MAX_INFLATED_BYTES = 16 << 30  # JSON lines once both the zip and each member's gzip are inflated
MAX_LINE_BYTES = 1 << 20  # one event

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
        desc = client.describe(entity.endpoint, params)
        too_big = f"{client.label}: {what}: {desc}: the export is larger than {MAX_DOWNLOAD_BYTES} bytes; not retried"
        if expected is not None and expected.isdigit() and int(expected) > MAX_DOWNLOAD_BYTES:
            raise VendorFatalError(too_big)
        n = 0
        with open(path, "wb") as f:
            for chunk in resp.iter_content(1 << 20):
                n += len(chunk)
                if n > MAX_DOWNLOAD_BYTES:
                    raise VendorFatalError(too_big)
                f.write(chunk)
        if expected is not None and n != int(expected):
            raise Transient(f"{client.label}: {what}: {desc}: body cut short ({n} of {expected} bytes)")
        try:
            with zipfile.ZipFile(path) as zf:
                _check_members(zf, f"{client.label}: {what}: {desc}")
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


def _check_members(zf: zipfile.ZipFile, where: str) -> None:
    """The zip's directory within bounds (before anything is inflated): member count and the
    sizes the members declare (zipfile refuses a member inflating past its declared size)."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise VendorFatalError(f"{where}: {len(infos)} members in the export, more than {MAX_MEMBERS}; not retried")
    declared = sum(i.file_size for i in infos)
    if declared > MAX_INFLATED_BYTES:
        raise VendorFatalError(f"{where}: the export's members inflate to {declared} bytes, more than "
                               f"{MAX_INFLATED_BYTES}; not retried")


def _lines(stream, where: str):
    """The lines of an inflated member, each at most ``MAX_LINE_BYTES``, at most
    ``MAX_INFLATED_BYTES`` in all (what gzip inflates is not declared anywhere)."""
    total = 0
    i = 0
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        i += 1
        if len(line) > MAX_LINE_BYTES:
            raise VendorFatalError(f"{where} line {i} is longer than {MAX_LINE_BYTES} bytes")
        total += len(line)
        if total > MAX_INFLATED_BYTES:
            raise VendorFatalError(f"{where} inflates to more than {MAX_INFLATED_BYTES} bytes")
        yield i, line


def _unpack(sink: PartitionSink, path: str, hour: dt.datetime, what: str) -> None:
    with zipfile.ZipFile(path) as zf:
        _check_members(zf, f"{sink.label}: {what}")
        for name in sorted(zf.namelist()):
            if not name.endswith(".json.gz"):
                raise VendorFatalError(f"{sink.label}: {what}: unexpected member {name!r} in the export")
            with zf.open(name) as raw:
                sink.write_raw(raw)
            batch: list[dict] = []
            with zf.open(name) as raw, gzip.open(raw) as lines:
                for i, line in _lines(lines, f"{sink.label}: {what}: {name}"):
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
