"""Chargify list endpoints → one entity's day (``dw.sources.http.land_partition``).

Page-numbered paging as Chargify documents it: ``page`` from 1, ``per_page`` ≤ 200, the
last page is the first one shorter than ``per_page``; the window is
``date_field=updated_at`` with ``start_datetime`` / ``end_datetime`` (both inclusive; sent
with an explicit UTC offset, so the site's time zone does not move the day):
``[D 00:00:00, D 23:59:59]`` — Chargify's timestamps have whole seconds.

Page numbers are not a snapshot: between two requests the server may shift its list (or,
as the stand-in can be told to, serve a page twice or skip one), which silently loses or
repeats objects. So when a read took more than one page it is repeated until a complete
read returns exactly the ids already collected (at most ``max_passes`` reads); objects are
kept once, by id. A read of a single short page is one request and cannot be inconsistent.
"""

from __future__ import annotations

import datetime as dt

from dw.sources.http import PartitionSink, VendorClient, VendorFatalError, check_in_window, json_kind, parse_time

MAX_PAGES = 100_000
MAX_PAGE_SIZE = 200  # Chargify's per_page limit
DEFERS_UNTIL_AVAILABLE = False
RAW_MEMBERS = False

RUNBOOK_READS = {  # what a task reads, by entity mode (the runbooks)
    "window": "objects whose `updated_at` is in the data interval (`date_field=updated_at`, "
              "`start_datetime`/`end_datetime`), read until two page-numbered reads agree",
}


def check_entity(entity) -> None:
    if not entity.root or not entity.date_field or entity.mode != "window":
        raise ValueError(f"chargify.{entity.name}: needs root and date_field, mode window")


def auth(conn):
    """Basic auth: the API key as user, ``x`` as password."""
    from requests.auth import HTTPBasicAuth

    return HTTPBasicAuth(conn.password, "x")


def window_params(entity, start: dt.datetime, end: dt.datetime) -> dict[str, str]:
    last = end - dt.timedelta(seconds=1)
    fmt = "%Y-%m-%dT%H:%M:%S+00:00"
    return {"date_field": entity.date_field, "start_datetime": start.astimezone(dt.timezone.utc).strftime(fmt),
            "end_datetime": last.astimezone(dt.timezone.utc).strftime(fmt)}


def _read(client: VendorClient, entity, sink: PartitionSink, start, end, n: int) -> tuple[set, int]:
    """One complete read (all pages); returns the ids it saw and the pages it took."""
    per_page = client.source.page_size
    base = {**entity.params, **window_params(entity, start, end), "per_page": per_page}
    seen: set = set()
    page = 1
    while page <= MAX_PAGES:
        what = f"read {n}, page {page}"
        body = client.get_json(entity.endpoint, dict(base, page=page), what=what)
        if not isinstance(body, list):
            raise VendorFatalError(f"{sink.label}: {what}: expected a JSON array, got a JSON {json_kind(body)}")
        objs = []
        for i, item in enumerate(body, 1):
            if not (isinstance(item, dict) and isinstance(item.get(entity.root), dict)):
                raise VendorFatalError(f"{sink.label}: {what}: item {i} is not {{{entity.root!r}: {{...}}}} "
                                       f"(a JSON {json_kind(item)}; its values are not shown)")
            obj = item[entity.root]
            check_in_window(sink, obj, parse_time(obj.get(entity.time_field)), start, end)
            objs.append(obj)
        sink.add(objs)
        seen.update(sink.object_id(o) for o in objs)
        if len(body) < per_page:
            return seen, page
        page += 1
    raise VendorFatalError(f"{sink.label}: more than {MAX_PAGES} pages of {per_page}")


def fetch(client: VendorClient, entity, sink: PartitionSink, start: dt.datetime, end: dt.datetime, *,
          now: dt.datetime | None = None) -> int:
    """Read ``entity``'s window into ``sink`` until two reads agree; returns the pages read
    (``now`` is not needed: Chargify serves every past window)."""
    collected: set = set()
    pages = 0
    for n in range(1, client.source.max_passes + 1):
        before = set(collected)
        seen, took = _read(client, entity, sink, start, end, n)
        pages += took
        collected |= seen
        if (n == 1 and took == 1) or (n > 1 and seen == before):
            return pages
    raise VendorFatalError(
        f"{sink.label}: {client.source.max_passes} reads of the window disagree (the last saw {len(seen)} "
        f"objects, {len(collected)} in all): the vendor's paging is not stable; nothing was written")
