"""Stripe stand-in: ``GET /v1/{customers,subscriptions,invoices,charges}``.

Follows Stripe's list API: objects newest first (``created`` desc, then id), ``limit``
1–100 (default 10), cursor paging with ``starting_after`` / ``ending_before`` and
``has_more``, ``created`` filters (``created[gte|gt|lte|lt]`` or ``created=<ts>``),
``status`` on subscriptions (default: all but canceled; ``status=all``), unknown
parameters rejected. Errors are ``{"error": {"type", "code", "message", "param"}}``; a
missing or wrong key is 401. The key goes in ``Authorization: Bearer <key>`` or as the
basic-auth user name, as Stripe accepts.

Data (``devstack.generate``): one customer and one subscription per organization existing
at the clock's ``now`` (their state as of ``now``); the invoices and charges created on
each day up to ``now``.
"""

from __future__ import annotations

import datetime as dt
import functools

from devstack import generate as g
from devstack.vendors.base import HttpError, Response, Vendor, basic_auth, json_response

ENTITIES = ("customers", "subscriptions", "invoices", "charges")
SUB_STATUSES = {"active", "past_due", "unpaid", "canceled", "incomplete", "incomplete_expired", "trialing", "paused", "all", "ended"}
_OBJECT = {"customers": "customer", "subscriptions": "subscription", "invoices": "invoice", "charges": "charge"}


class StripeVendor(Vendor):
    name = "stripe"
    default_rate_limit = 100  # Stripe's live-mode limit: 100 read requests per second

    def __init__(self, **kw):
        super().__init__(**kw)
        self._day = self.cached(self._day_uncached, 64)
        self._sorted = self.cached(self._sorted_uncached, 16)

    def authorized(self, headers) -> str | None:
        h = headers.get("Authorization") or ""
        key = h[7:].strip() if h.lower().startswith("bearer ") else (basic_auth(headers) or ("", ""))[0]
        return "key" if key and key == self.credentials.get("key") else None

    def error(self, status: int, message: str, **extra) -> Response:
        kind = {401: "invalid_request_error", 429: "rate_limit_error"}.get(status)
        if kind is None:
            kind = "api_error" if status >= 500 else "invalid_request_error"
        code = extra.pop("code", {401: "api_key_invalid" if status == 401 else None, 429: "rate_limit"}.get(status))
        if status == 401:
            message = "Invalid API Key provided (or none). Use Authorization: Bearer <secret key>."
        err = {"type": kind, "message": message, **({"code": code} if code else {}), **extra}
        resp = json_response({"error": err}, status)
        resp.headers["Request-Id"] = "req_standin"
        if status == 429 or status >= 500:
            resp.headers["Stripe-Should-Retry"] = "true"
        return resp

    # ------------------------------------------------------------------ data

    def _day_uncached(self, seed: int, scale: float, day: dt.date):
        return g.stripe_day(seed, scale, day)

    def _sorted_uncached(self, seed: int, scale: float, entity: str, now: dt.datetime, lo, hi) -> list[dict]:
        objs = self.objects(seed, scale, entity, now, lo, hi)
        objs.sort(key=lambda o: (o["created"], o["id"]), reverse=True)
        return objs

    def objects(self, seed: int, scale: float, entity: str, now: dt.datetime, lo: int | None, hi: int | None) -> list[dict]:
        """Objects of ``entity`` existing at ``now`` with lo <= created < hi (epoch seconds)."""
        now_ts = int(now.timestamp())
        if entity in ("customers", "subscriptions"):
            out = []
            for o in _orgs(seed, scale, now.date()):
                if o.created_at > now:
                    continue
                out.append(g.stripe_customer(seed, o) if entity == "customers" else g.stripe_subscription(seed, scale, o, now))
        else:
            first = g.vendor_first_day(now.date())
            if lo is not None:
                first = max(first, dt.datetime.fromtimestamp(lo, g.UTC).date())
            last = now.date()
            if hi is not None:
                last = min(last, dt.datetime.fromtimestamp(hi - 1, g.UTC).date())
            out = []
            d = first
            while d <= last:
                invoices, charges = self._day(seed, scale, d)
                out += invoices if entity == "invoices" else charges
                d += dt.timedelta(days=1)
        return [x for x in out if x["created"] <= now_ts and (lo is None or x["created"] >= lo)
                and (hi is None or x["created"] < hi)]

    # ------------------------------------------------------------------ API

    def route(self, method: str, path: str, query) -> Response:
        parts = path.strip("/").split("/")
        if method != "GET" or len(parts) != 2 or parts[0] != "v1" or parts[1] not in ENTITIES:
            raise HttpError(404, f"Unrecognized request URL ({method}: {path}).", code="resource_missing")
        entity = parts[1]
        params = dict(query)
        allowed = {"limit", "starting_after", "ending_before", "created", "created[gte]", "created[gt]",
                   "created[lte]", "created[lt]", "expand[]", "customer"}
        if entity == "subscriptions":
            allowed.add("status")
        for k in params:
            if k not in allowed:
                raise HttpError(400, f"Received unknown parameter: {k}", param=k, code="parameter_unknown")
        limit = _int(params.get("limit", "10"), "limit")
        if not 1 <= limit <= 100:
            raise HttpError(400, "This value must be between 1 and 100 (it currently is %d)." % limit, param="limit",
                            code="parameter_invalid_integer")
        lo, hi = None, None
        if "created" in params:
            lo = _int(params["created"], "created")
            hi = lo + 1
        for op, name in (("gte", "created[gte]"), ("gt", "created[gt]"), ("lte", "created[lte]"), ("lt", "created[lt]")):
            if name in params:
                v = _int(params[name], name)
                if op == "gte":
                    lo = v if lo is None else max(lo, v)
                elif op == "gt":
                    lo = v + 1 if lo is None else max(lo, v + 1)
                elif op == "lte":
                    hi = v + 1 if hi is None else min(hi, v + 1)
                else:
                    hi = v if hi is None else min(hi, v)
        now = self.now()
        objs = self._sorted(self.seed, self.scale, entity, now, lo, hi)
        if "customer" in params:
            objs = [o for o in objs if (o["id"] if entity == "customers" else o.get("customer")) == params["customer"]]
        if entity == "subscriptions":
            status = params.get("status")
            if status and status not in SUB_STATUSES:
                raise HttpError(400, f"Invalid status: must be one of {', '.join(sorted(SUB_STATUSES))}", param="status")
            if status in (None, ""):
                objs = [o for o in objs if o["status"] != "canceled"]
            elif status == "ended":
                objs = [o for o in objs if o["status"] == "canceled"]
            elif status != "all":
                objs = [o for o in objs if o["status"] == status]
        if params.get("starting_after") and params.get("ending_before"):
            raise HttpError(400, "You may only specify one of these parameters: starting_after, ending_before.")
        ids = [o["id"] for o in objs]
        if params.get("starting_after"):
            cur = params["starting_after"]
            if cur not in ids:
                raise HttpError(400, f"No such {_OBJECT[entity]}: '{cur}'", param="starting_after", code="resource_missing")
            start = ids.index(cur) + 1
            page = objs[start:start + limit]
            more = start + limit < len(objs)
        elif params.get("ending_before"):
            cur = params["ending_before"]
            if cur not in ids:
                raise HttpError(400, f"No such {_OBJECT[entity]}: '{cur}'", param="ending_before", code="resource_missing")
            end = ids.index(cur)
            page = objs[max(0, end - limit):end]
            more = end - limit > 0
        else:
            page, more = objs[:limit], len(objs) > limit
        key = (entity, tuple(sorted((k, v) for k, v in params.items() if k not in ("starting_after", "ending_before"))))
        with self.lock:
            if self.take_fault({"repeat_page"}, path) and key in self.page_memory:
                page, more = self.page_memory[key]
            self.page_memory[key] = (page, more)
        return json_response({"object": "list", "url": path, "has_more": more, "data": page})


@functools.lru_cache(maxsize=8)
def _orgs(seed: int, scale: float, through: dt.date) -> list:
    return g.vendor_orgs(seed, scale, through)


def _int(v: str, name: str) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        raise HttpError(400, f"Invalid integer: {v}", param=name, code="parameter_invalid_integer") from None
