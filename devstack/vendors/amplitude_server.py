"""Amplitude stand-in: the Export API, ``GET /api/2/export?start=YYYYMMDDTHH&end=YYYYMMDDTHH``.

Follows Amplitude's Export API: HTTP basic auth (API key : secret key); ``start`` and
``end`` are UTC hours, both inclusive, of the events' ``server_upload_time``; the answer
is a zip archive holding one gzipped JSON-lines file per hour with data
(``<project>/<project>_<YYYY-MM-DD>_<H>#0.json.gz``); 404 when the range holds no data;
400 for a malformed or inverted range or one longer than 365 days. Data is exportable
about 2 hours after the server received it: an hour not yet complete as of the clock's
``now`` is served partially, with only the events uploaded more than 2 hours before
``now`` — exactly why a client must never export it.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import re
import zipfile

from devstack import generate as g
from devstack.vendors.base import HttpError, Response, Vendor, basic_auth

AVAILABILITY_LAG = dt.timedelta(hours=2)
_HOUR_RE = re.compile(r"^(\d{8})T(\d{2})$")


class AmplitudeVendor(Vendor):
    name = "amplitude"
    default_rate_limit = 20

    def __init__(self, **kw):
        super().__init__(**kw)
        self._by_hour = self.cached(self._by_hour_uncached, 6)

    def authorized(self, headers) -> str | None:
        cred = basic_auth(headers)
        ok = cred == (self.credentials.get("api_key"), self.credentials.get("secret_key"))
        return "key" if ok else None

    def error(self, status: int, message: str, **extra) -> Response:
        if status == 401:
            message = "Invalid API key or secret key"
        return Response(status, message.encode(), "text/plain; charset=utf-8")

    def _by_hour_uncached(self, seed: int, scale: float, day: dt.date) -> dict[int, list[dict]]:
        """Events uploaded on ``day`` by hour: they come from sessions of that day and the day before."""
        out: dict[int, list[dict]] = {}
        for d in (day - dt.timedelta(days=1), day):
            for e in g.amplitude_day(seed, scale, d):
                up = e["server_upload_time"]
                if up[:10] == day.isoformat():
                    out.setdefault(int(up[11:13]), []).append(e)
        for events in out.values():
            events.sort(key=lambda e: (e["server_upload_time"], e["uuid"]))
        return out

    def prepare(self, day: dt.date) -> None:
        self._by_hour(self.seed, self.scale, day)

    def route(self, method: str, path: str, query) -> Response:
        if method != "GET" or path != "/api/2/export":
            raise HttpError(404, f"Not found: {method} {path}")
        p = dict(query)
        start, end = _hour(p.get("start"), "start"), _hour(p.get("end"), "end")
        if end < start:
            raise HttpError(400, "end must not be before start")
        if end - start > dt.timedelta(days=365):
            raise HttpError(400, "The time range may not exceed 365 days")
        cutoff = self.now() - AVAILABILITY_LAG
        buf = io.BytesIO()
        files = 0
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
            h = start
            while h <= end:
                events = self._by_hour(self.seed, self.scale, h.date()).get(h.hour, [])
                cut = g.amplitude_time(cutoff)
                events = [e for e in events if e["server_upload_time"] < cut]
                if events:
                    lines = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events).encode()
                    name = f"{g.AMPLITUDE_PROJECT_ID}/{g.AMPLITUDE_PROJECT_ID}_{h.date().isoformat()}_{h.hour}#0.json.gz"
                    zf.writestr(name, gzip.compress(lines, compresslevel=6, mtime=0))
                    files += 1
                h += dt.timedelta(hours=1)
        if not files:
            raise HttpError(404, "Raw data files were not found.")
        return Response(200, buf.getvalue(), "application/zip",
                        {"Content-Disposition": f'attachment; filename="{g.AMPLITUDE_PROJECT_ID}.zip"'})


def _hour(v: str | None, name: str) -> dt.datetime:
    m = _HOUR_RE.match(v or "")
    if not m:
        raise HttpError(400, f"Invalid {name}: expected YYYYMMDDTHH, got {v!r}")
    try:
        d = dt.datetime.strptime(m.group(1), "%Y%m%d")
    except ValueError:
        raise HttpError(400, f"Invalid {name} date: {v!r}") from None
    hour = int(m.group(2))
    if hour > 23:
        raise HttpError(400, f"Invalid {name} hour: {v!r}")
    return d.replace(hour=hour, tzinfo=g.UTC)
