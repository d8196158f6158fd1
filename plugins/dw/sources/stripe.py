"""Stripe list endpoints → one entity's day (``dw.sources.http.land_partition``).

Cursor paging as Stripe documents it: ``limit`` (≤ 100), then ``starting_after=<last id of
the previous page>`` while ``has_more``; objects come newest first. The cursor names a
position, so a page cannot be skipped; a page served twice (a retried request, a stale
cache) only repeats objects, which the sink drops by id — and a cursor that stops moving
fails the task instead of looping.

- ``window`` entities (invoices, charges): ``created[gte]`` = the interval's start,
  ``created[lt]`` = its end; every object returned is checked to be inside.
- ``snapshot`` entities (customers, subscriptions): ``created[lt]`` = the interval's end;
  mutable objects are re-read whole every day (Stripe's list API has no "updated since").
"""

from __future__ import annotations

import datetime as dt

from dw.sources.http import PartitionSink, VendorClient, VendorFatalError, check_in_window, json_kind, parse_time

MAX_STALLS = 3
MAX_PAGE_SIZE = 100  # Stripe's limit
DEFERS_UNTIL_AVAILABLE = False  # a day's objects are listed as soon as the day ends
RAW_MEMBERS = False  # the raw file holds one JSON line per object

RUNBOOK_READS = {  # what a task reads, by entity mode (the runbooks)
    "window": "objects created in the data interval (`created[gte]`/`created[lt]`)",
    "snapshot": "every object created before the interval's end, as it stands now (snapshot)",
}


def check_entity(entity) -> None:
    """Stripe's config rules for an entity (none beyond the shared ones)."""


def auth(conn):
    """Bearer auth with the connection's password (the secret key)."""
    return BearerAuth(conn.password)


class BearerAuth:
    """``requests`` auth: ``Authorization: Bearer <token>``; its repr never shows the token."""

    def __init__(self, token: str):
        self.token = token

    def __call__(self, r):
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r

    def __repr__(self) -> str:
        return "Bearer(***)"


def window_params(mode: str, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    lo, hi = int(start.timestamp()), int(end.timestamp())
    return {"created[gte]": lo, "created[lt]": hi} if mode == "window" else {"created[lt]": hi}


def fetch(client: VendorClient, entity, sink: PartitionSink, start: dt.datetime, end: dt.datetime, *,
          now: dt.datetime | None = None) -> int:
    """Read every page of ``entity`` for the window into ``sink``; returns the pages read
    (``now`` is not needed: Stripe lists every past window)."""
    base = {"limit": client.source.page_size, **entity.params, **window_params(entity.mode, start, end)}
    after: str | None = None
    pages = stalls = 0
    while True:
        params = dict(base, **({"starting_after": after} if after else {}))
        what = f"page {pages + 1}" + (f" (after {after})" if after else "")
        body = client.get_json(entity.endpoint, params, what=what)
        pages += 1
        if not (isinstance(body, dict) and isinstance(body.get("data"), list) and isinstance(body.get("has_more"), bool)):
            raise VendorFatalError(f"{sink.label}: {what}: not a Stripe list object (a JSON {json_kind(body)}; "
                                   "its values are not shown)")
        data = body["data"]
        for obj in data:
            created = parse_time(obj.get("created")) if isinstance(obj, dict) else None
            if entity.mode == "window":
                check_in_window(sink, obj, created, start, end)
            elif created is None or created >= end:
                raise VendorFatalError(f"{sink.label}: object {sink.object_id(obj)}: created is missing or not "
                                       f"before the snapshot's bound {end.isoformat()}")
        new = sink.add(data)
        if not data:
            if body["has_more"]:
                raise VendorFatalError(f"{sink.label}: {what}: an empty page that says has_more")
            return pages
        last = sink.object_id(data[-1])
        if new == 0 and last == after:
            stalls += 1
            if stalls > MAX_STALLS:
                raise VendorFatalError(f"{sink.label}: {what}: the cursor does not advance "
                                       f"(the page after {after} keeps coming back)")
        else:
            stalls = 0
        after = last
        if not body["has_more"]:
            return pages
