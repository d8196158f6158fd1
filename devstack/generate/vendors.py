"""What the Stripe, Amplitude and Chargify stand-ins (``devstack.vendors``) serve: pure
functions of (seed, scale, time), built on the population of ``devstack.generate.common``, so
the vendors' data joins the MongoDB data:

- every organization has one Chargify subscription whose ``id`` is the int form of the
  organization's ``subscription_id`` (what its jobs carry) and one Chargify customer whose
  ``reference`` is the organization's ``analytics_id``; the subscription changes plan over
  time (``plan_history``): each change moves ``updated_at``, so an SCD2 dimension has
  versions to track;
- every organization has one Stripe customer (``metadata.analytics_id``) and one Stripe
  subscription (``metadata.billing_subscription_id`` = the Chargify id); invoices and charges
  are created per day (monthly renewals on the organization's anchor day plus one-off
  credit purchases), finalized when created;
- Amplitude events are sessions of the users in the organizations and projects of the
  population, exported by the hour of their ``server_upload_time``.

Mutable objects (Chargify subscriptions and customers, Stripe subscriptions) are served
as they stand at a moment ``now``: the stand-ins take it from their clock.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass

from devstack.generate.common import (
    UTC,
    VCS,
    HISTORY_START,
    vendor_first_day,
    Org,
    Project,
    Sizes,
    base_orgs,
    day_start,
    digest,
    new_orgs,
    population,
    rng,
)

CHARGIFY_CUSTOMER_OFFSET = 30_000_000
CHARGIFY_TZ = dt.timezone(dt.timedelta(hours=-5))  # the Chargify site's time zone (timestamps are served in it)
# product handle -> (name, monthly price in cents, USD)
CHARGIFY_PRODUCTS = {
    "free": ("Free", 0),
    "performance": ("Performance", 1_500),
    "scale": ("Scale", 20_000),
    "server": ("Server", 35_000),
}
CURRENCIES = [("usd", 0.80), ("eur", 0.12), ("gbp", 0.08)]
FX = {"usd": 1.0, "eur": 0.92, "gbp": 0.79}
INVOICE_STATUSES = [("paid", 0.86), ("open", 0.07), ("void", 0.03), ("uncollectible", 0.04)]
AMPLITUDE_PROJECT_ID = 314159
AMPLITUDE_EVENT_TYPES = [
    ("pipeline_viewed", 0.30), ("job_log_viewed", 0.22), ("dashboard_viewed", 0.15), ("insights_viewed", 0.08),
    ("rerun_clicked", 0.08), ("settings_changed", 0.05), ("project_followed", 0.04), ("context_created", 0.03),
    ("plan_page_viewed", 0.05),
]
# event types that are about the organization, never a project
AMPLITUDE_ORG_EVENTS = {"dashboard_viewed", "settings_changed", "context_created", "plan_page_viewed"}
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _pick(r: random.Random, weighted: list[tuple[str, float]]) -> str:
    return r.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def vendor_id(seed: int, prefix: str, *key, n: int = 14) -> str:
    """A Stripe-style object id (``cus_…``, ``in_…``), stable for ``key``."""
    x = int.from_bytes(digest(seed, "vendor-id", prefix, *key)[:16], "big")
    out = []
    for _ in range(n):
        x, d = divmod(x, 62)
        out.append(_B62[d])
    return f"{prefix}_{''.join(out)}"


def vendor_orgs(seed: int, scale: float, through: dt.date) -> list[Org]:
    """Every organization that exists by the end of ``through``: the base population and the
    new organizations of each day from ``vendor_first_day(through)`` through ``through``."""
    orgs = list(base_orgs(seed, scale))
    d = vendor_first_day(through)
    while d <= through:
        orgs += new_orgs(seed, scale, d)
        d += dt.timedelta(days=1)
    return orgs


def org_currency(seed: int, o: Org) -> str:
    return _pick(rng(seed, 0, "currency", o.key), CURRENCIES)


@dataclass(frozen=True)
class PlanVersion:
    at: dt.datetime  # when this version began (the subscription's updated_at from then on)
    handle: str  # Chargify product handle
    state: str  # trialing, active, past_due, canceled


def plan_history(seed: int, scale: float, o: Org, until: dt.datetime) -> list[PlanVersion]:
    """The organization's subscription versions that began at or before ``until``, oldest
    first. A pure function: the versions before ``until`` do not depend on ``until``."""
    r = rng(seed, scale, "plan-history", o.key)
    handles = list(CHARGIFY_PRODUCTS)
    handle = r.choices(handles, [0.55, 0.30, 0.10, 0.05])[0]
    state = "active" if handle == "free" else "trialing"
    # a subscription's history starts at the epoch at the earliest (what Chargify holds: every
    # subscription has an update from the lake's history_start on)
    t = max(o.created_at, dt.datetime.combine(HISTORY_START, dt.time(), UTC))
    out = [PlanVersion(t, handle, state)] if t <= until else []
    if state == "trialing":
        t = t + dt.timedelta(days=14)
        state = "active"
        if t <= until:
            out.append(PlanVersion(t, handle, state))
    while True:
        t = t + dt.timedelta(seconds=3_600 + int(r.expovariate(1 / (25 * 86_400))))
        x = r.random()
        if t > until:
            return out
        if state == "past_due":
            state = "active" if x < 0.9 else "canceled"
        elif x < 0.70:  # a plan change
            handle = r.choice([h for h in handles if h != handle])
        elif x < 0.88:  # an update that changes no tracked attribute (billing details)
            pass
        elif x < 0.99:
            state = "past_due"
        else:
            state = "canceled"
        out.append(PlanVersion(t, handle, state))
        if state == "canceled":
            return out


def _chargify_time(ts: dt.datetime) -> str:
    return ts.astimezone(CHARGIFY_TZ).replace(microsecond=0).isoformat()


def _customer_history(seed: int, scale: float, o: Org, until: dt.datetime) -> list[dt.datetime]:
    r = rng(seed, scale, "customer-history", o.key)
    out, t = [], o.created_at
    while t <= until:
        out.append(t)
        t = t + dt.timedelta(seconds=3_600 + int(r.expovariate(1 / (90 * 86_400))))
    return out


def chargify_customer(seed: int, scale: float, o: Org, now: dt.datetime) -> dict | None:
    """The organization's Chargify customer as it stands at ``now`` (None before it exists)."""
    versions = _customer_history(seed, scale, o, now)
    if not versions:
        return None
    n = len(versions)
    return {
        "id": int(o.subscription_id) + CHARGIFY_CUSTOMER_OFFSET,
        "first_name": "Billing",
        "last_name": f"Contact {n}",
        "email": f"billing{n}@org-{o.key}.example.com",
        "cc_emails": None,
        "organization": f"org-{o.key}",
        "reference": o.analytics_id,
        "created_at": _chargify_time(o.created_at),
        "updated_at": _chargify_time(versions[-1]),
        "locale": None,
        "portal_customer_created_at": None,
    }


def chargify_subscription(seed: int, scale: float, o: Org, now: dt.datetime) -> dict | None:
    """The organization's Chargify subscription as it stands at ``now`` (None before it exists)."""
    versions = plan_history(seed, scale, o, now)
    if not versions:
        return None
    cur = versions[-1]
    name, price = CHARGIFY_PRODUCTS[cur.handle]
    anchor = o.created_at
    months = (now.year - anchor.year) * 12 + now.month - anchor.month + 1
    period_end = _add_months(anchor, max(months, 1))
    trial = versions[0].state == "trialing"
    return {
        "id": int(o.subscription_id),
        "state": cur.state,
        "balance_in_cents": 0,
        "product_price_in_cents": price,
        "product_version_number": 1,
        "current_period_ends_at": _chargify_time(period_end),
        "next_assessment_at": _chargify_time(period_end),
        "trial_started_at": _chargify_time(o.created_at) if trial else None,
        "trial_ended_at": _chargify_time(versions[1].at) if trial and len(versions) > 1 else None,
        "activated_at": _chargify_time(versions[1].at if trial and len(versions) > 1 else o.created_at),
        "expires_at": None,
        "created_at": _chargify_time(o.created_at),
        "updated_at": _chargify_time(cur.at),
        "cancellation_message": "Customer requested cancellation" if cur.state == "canceled" else None,
        "canceled_at": _chargify_time(cur.at) if cur.state == "canceled" else None,
        "payment_collection_method": "automatic",
        "customer": chargify_customer(seed, scale, o, now),
        "product": {
            "id": 7_000 + list(CHARGIFY_PRODUCTS).index(cur.handle),
            "name": name,
            "handle": cur.handle,
            "price_in_cents": price,
            "interval": 1,
            "interval_unit": "month",
            "product_family": {"id": 2_526, "name": "Platform", "handle": "platform"},
        },
    }


def _add_months(ts: dt.datetime, months: int) -> dt.datetime:
    import calendar

    y, m = divmod(ts.month - 1 + months, 12)
    y, m = ts.year + y, m + 1
    return ts.replace(year=y, month=m, day=min(ts.day, calendar.monthrange(y, m)[1]))


def _epoch(ts: dt.datetime) -> int:
    return int(ts.timestamp())


_STRIPE_STATUS = {"trialing": "trialing", "active": "active", "past_due": "past_due", "canceled": "canceled"}


def stripe_customer(seed: int, o: Org) -> dict:
    cur = org_currency(seed, o)
    return {
        "id": vendor_id(seed, "cus", o.key),
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": _epoch(o.created_at),
        "currency": cur,
        "delinquent": False,
        "description": f"org-{o.key}",
        "email": f"billing@org-{o.key}.example.com",
        "invoice_prefix": vendor_id(seed, "ip", o.key, n=8)[3:].upper(),
        "livemode": False,
        "metadata": {"analytics_id": o.analytics_id, "billing_subscription_id": o.subscription_id},
        "name": f"org-{o.key}",
        "preferred_locales": [],
        "tax_exempt": "none",
    }


def stripe_subscription(seed: int, scale: float, o: Org, now: dt.datetime) -> dict | None:
    versions = plan_history(seed, scale, o, now)
    if not versions:
        return None
    cur = versions[-1]
    currency = org_currency(seed, o)
    price = round(CHARGIFY_PRODUCTS[cur.handle][1] * FX[currency])
    months = (now.year - o.created_at.year) * 12 + now.month - o.created_at.month
    start = _add_months(o.created_at, max(months, 0))
    if start > now:
        start = _add_months(o.created_at, max(months - 1, 0))
    sub_id = vendor_id(seed, "sub", o.key)
    return {
        "id": sub_id,
        "object": "subscription",
        "billing_cycle_anchor": _epoch(o.created_at),
        "cancel_at_period_end": False,
        "canceled_at": _epoch(cur.at) if cur.state == "canceled" else None,
        "collection_method": "charge_automatically",
        "created": _epoch(o.created_at),
        "currency": currency,
        "current_period_start": _epoch(start),
        "current_period_end": _epoch(_add_months(start, 1)),
        "customer": vendor_id(seed, "cus", o.key),
        "ended_at": _epoch(cur.at) if cur.state == "canceled" else None,
        "items": {
            "object": "list",
            "data": [{
                "id": vendor_id(seed, "si", o.key),
                "object": "subscription_item",
                "price": {"id": f"price_{cur.handle}_{currency}", "object": "price", "currency": currency,
                          "unit_amount": price, "product": f"prod_{cur.handle}",
                          "recurring": {"interval": "month", "interval_count": 1}},
                "quantity": 1,
                "subscription": sub_id,
            }],
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "livemode": False,
        "metadata": {"billing_subscription_id": o.subscription_id, "plan": cur.handle},
        "start_date": _epoch(o.created_at),
        "status": _STRIPE_STATUS[cur.state],
        "trial_end": _epoch(o.created_at + dt.timedelta(days=14)) if versions[0].state == "trialing" else None,
    }


def _anchor_day(o: Org, day: dt.date) -> bool:
    import calendar

    last = calendar.monthrange(day.year, day.month)[1]
    return day.day == min(o.created_at.day, last)


def stripe_day(seed: int, scale: float, day: dt.date) -> tuple[list[dict], list[dict]]:
    """The Stripe invoices and charges created on ``day`` (UTC), in creation order.

    Monthly renewals of every non-free, non-trialing, non-canceled subscription on its
    anchor day, plus one-off credit purchases. Invoices are finalized when created (their
    status is final); a paid invoice has one succeeded charge, some of them (partly)
    refunded; an uncollectible one a failed charge."""
    start = day_start(day)
    orgs = [o for o in vendor_orgs(seed, scale, day) if o.created_at < start]
    r = rng(seed, scale, "stripe-day", day)
    bills: list[tuple[dt.datetime, Org, int, str, str | None]] = []  # (at, org, usd cents, reason, handle)
    for o in orgs:
        if not _anchor_day(o, day):
            continue
        at = start + dt.timedelta(seconds=o.created_at.hour * 3_600 + o.created_at.minute * 60 + o.created_at.second)
        versions = plan_history(seed, scale, o, at)
        cur = versions[-1]
        if cur.state in ("trialing", "canceled"):
            continue
        bills.append((at, o, CHARGIFY_PRODUCTS[cur.handle][1], "subscription_cycle", cur.handle))
    for _ in range(max(1, round(len(orgs) * 0.05))):
        o = r.choice(orgs)
        at = start + dt.timedelta(seconds=r.randrange(0, 86_400))
        bills.append((at, o, r.choice([2_500, 5_000, 10_000, 25_000]), "manual", None))
    bills.sort(key=lambda b: (b[0], b[1].key))
    invoices, charges = [], []
    for i, (at, o, usd, reason, handle) in enumerate(bills):
        ir = rng(seed, scale, "invoice", day, i)
        currency = org_currency(seed, o)
        amount = round(usd * FX[currency])
        status = "paid" if amount == 0 else _pick(ir, INVOICE_STATUSES)
        paid = amount if status == "paid" else 0
        inv_id = vendor_id(seed, "in", day, i)
        cus = vendor_id(seed, "cus", o.key)
        sub = vendor_id(seed, "sub", o.key) if reason == "subscription_cycle" else None
        charge_id = vendor_id(seed, "ch", day, i) if (status == "paid" and amount) or status == "uncollectible" else None
        invoices.append({
            "id": inv_id,
            "object": "invoice",
            "amount_due": amount,
            "amount_paid": paid,
            "amount_remaining": 0 if status in ("paid", "void") else amount,
            "attempt_count": 1 if charge_id else 0,
            "attempted": charge_id is not None,
            "billing_reason": reason,
            "charge": charge_id,
            "collection_method": "charge_automatically",
            "created": _epoch(at),
            "currency": currency,
            "customer": cus,
            "customer_email": f"billing@org-{o.key}.example.com",
            "description": None if reason == "subscription_cycle" else "Credit purchase",
            "livemode": False,
            "metadata": {"billing_subscription_id": o.subscription_id},
            "number": f"{vendor_id(seed, 'ip', o.key, n=8)[3:].upper()}-{day.strftime('%y%m%d')}{i:04d}",
            "paid": status == "paid",
            "period_end": _epoch(at),
            "period_start": _epoch(_add_months(at, -1)) if sub else _epoch(at),
            "status": status,
            "subscription": sub,
            "subscription_details": {"metadata": {"billing_subscription_id": o.subscription_id, "plan": handle}}
            if sub else None,
            "total": amount,
        })
        if charge_id:
            ok = status == "paid"
            refunded = 0
            if ok and ir.random() < 0.06:
                refunded = amount if ir.random() < 0.5 else max(1, amount // ir.choice([2, 4, 10]))
            charges.append({
                "id": charge_id,
                "object": "charge",
                "amount": amount,
                "amount_captured": amount if ok else 0,
                "amount_refunded": refunded,
                "captured": ok,
                "created": _epoch(at),
                "currency": currency,
                "customer": cus,
                "failure_code": None if ok else "card_declined",
                "failure_message": None if ok else "Your card was declined.",
                "invoice": inv_id,
                "livemode": False,
                "metadata": {},
                "paid": ok,
                "refunded": refunded == amount and refunded > 0,
                "status": "succeeded" if ok else "failed",
            })
    return invoices, charges


def amplitude_time(ts: dt.datetime) -> str:
    t = ts.astimezone(UTC)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}"


def _projects_by_org(projects: list[Project]) -> dict[str, list[Project]]:
    out: dict[str, list[Project]] = {}
    for p in projects:
        out.setdefault(p.org.key, []).append(p)
    return out


def amplitude_day(seed: int, scale: float, day: dt.date) -> list[dict]:
    """The Amplitude events of the sessions that start on ``day`` (UTC), in event order.

    Events carry the user's analytics id (``user_id``; ~1% anonymous, ~0.5% upper-case),
    the organization's (``event_properties.organization_analytics_id`` and
    ``groups.organization``) and the project's where there is one. ``server_upload_time``
    follows ``event_time`` by seconds, sometimes minutes or hours (offline clients), so an
    event can be exported in a later hour, or day, than it happened."""
    import itertools

    s = Sizes.of(scale)
    orgs, projects, users = population(seed, scale, day)
    by_org = _projects_by_org(projects)
    active = [o for o in orgs if o.key in by_org]
    r = rng(seed, scale, "amplitude", day)
    cum = list(itertools.accumulate(1.0 / (1 + (i % 500)) ** 0.8 for i in range(len(active))))
    types = [t for t, _ in AMPLITUDE_EVENT_TYPES]
    type_cum = list(itertools.accumulate(w for _, w in AMPLITUDE_EVENT_TYPES))
    start = day_start(day)
    n_sessions = round(max(30, round(12_000 * scale)) * (0.6 if day.weekday() >= 5 else 1.0))
    events = []
    amp_ids = {}
    for k in range(n_sessions):
        o = r.choices(active, cum_weights=cum)[0]
        u = users[r.randrange(len(users))] if r.random() < 0.9 else users[-1 - r.randrange(min(len(users), 8 * s.new_users_per_day))]
        project = r.choice(by_org[o.key])
        t = start + dt.timedelta(seconds=r.randrange(0, 86_400), microseconds=r.randrange(0, 1000) * 1000)
        session_id = int(t.timestamp() * 1000)
        device = str(uuid.UUID(bytes=digest(seed, "device", u.key)[:16], version=4))
        user_id: str | None = u.analytics_id
        x = r.random()
        if x < 0.01:
            user_id = None
        elif x < 0.015:
            user_id = u.analytics_id.upper()
        for j in range(1 + min(int(r.expovariate(1 / 7)), 60)):
            etype = r.choices(types, cum_weights=type_cum)[0]
            props = {"organization_analytics_id": o.analytics_id}
            if etype not in AMPLITUDE_ORG_EVENTS:
                props["project_analytics_id"] = project.analytics_id
                props["project_name"] = f"repo-{project.key}"
            y = r.random()
            delay = (dt.timedelta(milliseconds=r.randrange(200, 5_000)) if y < 0.95
                     else dt.timedelta(seconds=r.randrange(60, 1_800)) if y < 0.997
                     else dt.timedelta(seconds=r.randrange(3_600, 6 * 3_600)))
            upload = t + delay
            ident = digest(seed, "event", day, k, j)
            event_time, upload_time = amplitude_time(t), amplitude_time(upload)
            events.append({
                "$insert_id": str(uuid.UUID(bytes=ident[16:32], version=4)),
                "amplitude_id": amp_ids.setdefault(u.key, int.from_bytes(digest(seed, "amp-user", u.key)[:6], "big")),
                "app": AMPLITUDE_PROJECT_ID,
                "client_event_time": event_time,
                "client_upload_time": upload_time,
                "country": "United States",
                "device_id": device,
                "event_id": j + 1,
                "event_properties": props,
                "event_time": event_time,
                "event_type": etype,
                "groups": {"organization": o.analytics_id},
                "library": "amplitude-ts/2.11.0",
                "os_name": "Chrome",
                "platform": "Web",
                "server_received_time": upload_time,
                "server_upload_time": upload_time,
                "session_id": session_id,
                "user_id": user_id,
                "user_properties": {"vcs_type": VCS[ident[0] % len(VCS)]},
                "uuid": str(uuid.UUID(bytes=ident[:16], version=4)),
            })
            t = t + dt.timedelta(seconds=1 + int(r.expovariate(1 / 45)), microseconds=r.randrange(0, 1000) * 1000)
    events.sort(key=lambda e: (e["event_time"], e["uuid"]))
    return events
