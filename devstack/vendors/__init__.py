"""Local stand-ins for the vendor APIs (Stripe, Amplitude, Chargify): real HTTP servers.

Each follows its vendor's documented paging, filters, auth, error bodies and rate limits,
serves data from ``devstack.generate`` (consistent with the MongoDB data), and accepts
faults at run time (see ``devstack.vendors.base``). ``devstack.stack`` starts one process
per vendor:

    python -m devstack.vendors <stripe|amplitude|chargify> --port N [--seed 42 --scale 1.0]

Credentials come from the environment (DW_STANDIN_KEY, DW_STANDIN_SECRET), never argv.
The helpers below drive a running stand-in's ``/_admin`` endpoints (stdlib only).
"""

from __future__ import annotations

import json
import urllib.request

VENDORS = ("stripe", "amplitude", "chargify")


def vendor_class(name: str):
    if name == "stripe":
        from devstack.vendors.stripe_server import StripeVendor

        return StripeVendor
    if name == "amplitude":
        from devstack.vendors.amplitude_server import AmplitudeVendor

        return AmplitudeVendor
    if name == "chargify":
        from devstack.vendors.chargify_server import ChargifyVendor

        return ChargifyVendor
    raise ValueError(f"unknown vendor {name!r} (known: {VENDORS})")


def admin(base_url: str, path: str, payload: dict | list | None = None, timeout: float = 120.0):
    """POST ``payload`` to (or GET, without one) ``<base_url>/_admin/<path>``; the decoded JSON answer."""
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(f"{base_url.rstrip('/')}/_admin/{path}", data=data, method="GET" if data is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def reset(base_url: str) -> None:
    admin(base_url, "reset", {})


def set_clock(base_url: str, now) -> None:
    """Set the stand-in's clock (a datetime or ISO string; None = the wall clock)."""
    admin(base_url, "clock", {"now": now if now is None or isinstance(now, str) else now.isoformat()})


def configure(base_url: str, **settings) -> None:
    """seed, scale, rate_limit, rate_window."""
    admin(base_url, "config", settings)


def inject(base_url: str, *faults: dict) -> None:
    admin(base_url, "faults", {"faults": list(faults)})


def request_log(base_url: str) -> list[dict]:
    return admin(base_url, "log")


def prepare_all(urls: dict[str, str], day) -> None:
    """Have every stand-in generate the data it serves for ``day`` now, at its seed, scale and
    clock (kept in memory: the runs that follow are not kept waiting for a stand-in's generator)."""
    for url in urls.values():
        admin(url, "prepare", {"day": day.isoformat()}, timeout=600)


def configure_all(urls: dict[str, str], *, seed: int | None = None, scale: float | None = None, now=None) -> None:
    """Point every stand-in (``{vendor: base_url}``, e.g. ``Stack.vendor_urls()``) at one
    seed, scale and clock, as ``make demo`` and the tests do before a run."""
    for url in urls.values():
        configure(url, seed=seed, scale=scale)
        set_clock(url, now)
