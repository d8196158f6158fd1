"""Chargify (Maxio Advanced Billing) stand-in: ``GET /subscriptions.json``, ``GET /customers.json``.

Follows Chargify's list API: page-numbered paging (``page`` from 1, ``per_page`` default
20, at most 200; a page shorter than ``per_page`` is the last), ``date_field``
(``updated_at`` or ``created_at``) with ``start_date`` / ``end_date`` (YYYY-MM-DD, whole days
in the site's time zone, both inclusive) or ``start_datetime`` / ``end_datetime`` (ISO
8601; without an offset the site's time zone; both inclusive), ``direction`` asc|desc,
``sort`` for subscriptions. Bodies are arrays of ``{"subscription": {...}}`` /
``{"customer": {...}}``; timestamps are in the site's time zone (UTC-05:00). Errors are
``{"errors": [...]}`` (422 for bad parameters); a wrong API key is 401 ``HTTP Basic:
Access denied.``. Auth: HTTP basic, the API key as user name, ``x`` as password.

Data (``devstack.generate``): every organization's subscription and customer as they
stand at the clock's ``now``. Subscription ``id`` = the organization's ``subscription_id``,
``customer.reference`` = its ``analytics_id``; plan changes move ``updated_at``.
"""

from __future__ import annotations

import datetime as dt
from devstack import generate as g
from devstack.vendors.base import HttpError, Response, Vendor, basic_auth, json_response

MAX_PER_PAGE = 200
SUB_SORTS = {"signup_date", "period_start", "period_end", "next_assessment", "updated_at", "created_at"}


class ChargifyVendor(Vendor):
    name = "chargify"
    default_rate_limit = 50

    def __init__(self, **kw):
        super().__init__(**kw)
        self._all = self.cached(self._all_uncached, 8)

    def authorized(self, headers) -> str | None:
        cred = basic_auth(headers)
        return "key" if cred and cred[0] == self.credentials.get("key") else None

    def error(self, status: int, message: str, **extra) -> Response:
        if status == 401:
            return Response(401, b"HTTP Basic: Access denied.\n", "text/plain; charset=utf-8",
                            {"WWW-Authenticate": 'Basic realm="Application"'})
        return json_response({"errors": [message]}, status)

    def _all_uncached(self, seed: int, scale: float, entity: str, now: dt.datetime) -> list[dict]:
        out = []
        for o in g.vendor_orgs(seed, scale, now.date()):
            obj = (g.chargify_subscription if entity == "subscriptions" else g.chargify_customer)(seed, scale, o, now)
            if obj is not None:
                out.append(obj)
        return out

    def prepare(self, day: dt.date) -> None:
        for entity in ("subscriptions", "customers"):
            self._all(self.seed, self.scale, entity, self.now())

    def route(self, method: str, path: str, query) -> Response:
        entity = {"/subscriptions.json": "subscriptions", "/customers.json": "customers"}.get(path)
        if method != "GET" or entity is None:
            raise HttpError(404, f"Not found: {method} {path}")
        p = dict(query)
        page = _int(p.get("page", "1"), "page")
        per_page = _int(p.get("per_page", "20"), "per_page")
        if page < 1:
            raise HttpError(422, "page must be greater than or equal to 1")
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise HttpError(422, f"per_page must be between 1 and {MAX_PER_PAGE}")
        date_field = p.get("date_field", "updated_at" if entity == "subscriptions" else "created_at")
        if date_field not in ("updated_at", "created_at"):
            raise HttpError(422, f"date_field must be updated_at or created_at, not {date_field!r}")
        lo, hi = _window(p)
        direction = p.get("direction", "asc")
        if direction not in ("asc", "desc"):
            raise HttpError(422, "direction must be asc or desc")
        sort = p.get("sort")
        if sort is not None and (entity != "subscriptions" or sort not in SUB_SORTS):
            raise HttpError(422, f"sort must be one of {sorted(SUB_SORTS)}")
        objs = self._all(self.seed, self.scale, entity, self.now())
        if lo is not None or hi is not None:
            objs = [o for o in objs if _in(dt.datetime.fromisoformat(o[date_field]), lo, hi)]
        if entity == "subscriptions" and p.get("state"):
            states = set(p["state"].split(","))
            objs = [o for o in objs if o["state"] in states]
        key_field = {"updated_at": "updated_at", "created_at": "created_at", "signup_date": "created_at"}.get(sort or "", None)
        if key_field:
            objs = sorted(objs, key=lambda o: (dt.datetime.fromisoformat(o[key_field]), o["id"]), reverse=direction == "desc")
        else:
            objs = sorted(objs, key=lambda o: o["id"], reverse=direction == "desc")
        served = page
        with self.lock:
            if self.take_fault({"repeat_page"}, path):
                served = max(1, page - 1)
            elif self.take_fault({"skip_page"}, path):
                served = page + 1
        root = "subscription" if entity == "subscriptions" else "customer"
        chunk = objs[(served - 1) * per_page: served * per_page]
        return json_response([{root: o} for o in chunk])


def _int(v, name: str) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        raise HttpError(422, f"{name} must be an integer, not {v!r}") from None


def _parse_time(v: str, name: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(v.strip().replace(" ", "T"))
    except ValueError:
        raise HttpError(422, f"{name} is not a valid date/time: {v!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=g.CHARGIFY_TZ)


def _window(p: dict) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Inclusive bounds from start/end_date (site-local whole days) or start/end_datetime."""
    bounds = []
    for side, day_time in (("start", dt.time(0, 0, 0)), ("end", dt.time(23, 59, 59))):
        bound = None
        if p.get(f"{side}_datetime"):
            bound = _parse_time(p[f"{side}_datetime"], f"{side}_datetime")
        elif p.get(f"{side}_date"):
            try:
                d = dt.date.fromisoformat(p[f"{side}_date"])
            except ValueError:
                raise HttpError(422, f"{side}_date must be YYYY-MM-DD, not {p[side + '_date']!r}") from None
            bound = dt.datetime.combine(d, day_time, tzinfo=g.CHARGIFY_TZ)
        bounds.append(bound)
    return bounds[0], bounds[1]


def _in(t: dt.datetime, lo, hi) -> bool:
    return (lo is None or t >= lo) and (hi is None or t <= hi)
