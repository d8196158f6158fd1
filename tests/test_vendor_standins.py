"""The vendor stand-ins over real HTTP: auth, paging, window filters, error bodies, rate
limits, fault injection, and data consistent with the MongoDB generator."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import socket
import time
import zipfile
from urllib.parse import urlsplit

import pytest
import requests

from devstack import generate as g
from devstack import vendors
from tests.helpers import chargify, chargify_all, stripe, stripe_all

SEED, SCALE = 42, 0.02
D = dt.date(2024, 1, 15)
UTC = dt.timezone.utc
D0 = int(dt.datetime(2024, 1, 15, tzinfo=UTC).timestamp())


def amplitude(v, start, end, secret=None):
    a = v["amplitude"]
    return requests.get(a["url"] + "/api/2/export", params={"start": start, "end": end},
                        auth=(a["key"], secret or a["secret"]), timeout=30)


# --------------------------------------------------------------------------- Stripe


def test_stripe_auth_and_error_bodies(vendor_standins):
    v = vendor_standins
    for r in (stripe(v, "/v1/customers", key="sk_test_wrong"),
              requests.get(v["stripe"]["url"] + "/v1/customers", timeout=10)):
        assert r.status_code == 401
        err = r.json()["error"]
        assert err["type"] and err["message"] and "sk_test_wrong" not in r.text
    assert requests.get(v["stripe"]["url"] + "/v1/customers", auth=(v["stripe"]["key"], ""), timeout=10).status_code == 200
    r = stripe(v, "/v1/customers", limit=101)
    assert r.status_code == 400 and r.json()["error"]["param"] == "limit"
    r = stripe(v, "/v1/customers", updated_since=1)
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = stripe(v, "/v1/customers", starting_after="cus_nope")
    assert r.status_code == 400 and r.json()["error"]["code"] == "resource_missing"


def test_stripe_cursor_paging_and_created_window(vendor_standins):
    v = vendor_standins
    customers = stripe_all(v, "/v1/customers")
    now = dt.datetime.fromisoformat(vendor_standins_clock(v))
    orgs = [o for o in g.vendor_orgs(SEED, SCALE, now.date()) if o.created_at <= now]
    assert len(customers) == len({c["id"] for c in customers}) == len(orgs)
    created = [c["created"] for c in customers]
    assert created == sorted(created, reverse=True)  # newest first
    by_aid = {c["metadata"]["analytics_id"]: c for c in customers}
    assert set(by_aid) == {o.analytics_id for o in orgs}  # joins the MongoDB organizations
    invoices = stripe_all(v, "/v1/invoices", **{"created[gte]": D0, "created[lt]": D0 + 86_400})
    expected, charges = g.stripe_day(SEED, SCALE, D)
    assert sorted(i["id"] for i in invoices) == sorted(i["id"] for i in expected) and invoices
    assert all(D0 <= i["created"] < D0 + 86_400 for i in invoices)
    assert {c["id"] for c in stripe_all(v, "/v1/charges", **{"created[gte]": D0, "created[lt]": D0 + 86_400})} == {
        c["id"] for c in charges}
    subs_default = stripe_all(v, "/v1/subscriptions")
    subs_all = stripe_all(v, "/v1/subscriptions", status="all")
    assert len(subs_all) == len(orgs)
    assert all(s["status"] != "canceled" for s in subs_default)
    assert {s["metadata"]["billing_subscription_id"] for s in subs_all} == {o.subscription_id for o in orgs}


def vendor_standins_clock(v) -> str:
    """The clock the ``vendor_standins`` fixture set (read from a stand-in: ``from conftest import``
    finds tests/airflow/conftest.py when the whole suite runs)."""
    return vendors.admin(v["stripe"]["url"], "health")["clock"]


def test_stripe_rate_limit_enforced_with_retry_after(vendor_standins):
    v = vendor_standins
    vendors.configure(v["stripe"]["url"], rate_limit=3, rate_window=2.0)
    codes = [stripe(v, "/v1/customers", limit=1) for _ in range(5)]
    assert [r.status_code for r in codes[:3]] == [200, 200, 200]
    limited = codes[3]
    assert limited.status_code == 429 and limited.json()["error"]["type"] == "rate_limit_error"
    assert 1 <= int(limited.headers["Retry-After"]) <= 2
    time.sleep(int(limited.headers["Retry-After"]) + 0.1)
    assert stripe(v, "/v1/customers", limit=1).status_code == 200


def test_stripe_injected_faults(vendor_standins):
    v = vendor_standins
    url = v["stripe"]["url"]
    vendors.inject(url, {"kind": "status", "status": 500, "path": "/v1/invoices", "after": 1},
                   {"kind": "rate_limit", "path": "/v1/charges", "count": 3, "retry_after": 2})
    assert stripe(v, "/v1/invoices").status_code == 200
    r = stripe(v, "/v1/invoices")
    assert r.status_code == 500 and r.json()["error"]["type"] == "api_error"
    assert stripe(v, "/v1/invoices").status_code == 200
    burst = [stripe(v, "/v1/charges") for _ in range(4)]
    assert [r.status_code for r in burst] == [429, 429, 429, 200]
    assert burst[0].headers["Retry-After"] == "2"
    # a page repeated: the next page asked for is the previous one again
    first = stripe(v, "/v1/customers", limit=5).json()
    vendors.inject(url, {"kind": "repeat_page", "path": "/v1/customers"})
    again = stripe(v, "/v1/customers", limit=5, starting_after=first["data"][-1]["id"]).json()
    assert [c["id"] for c in again["data"]] == [c["id"] for c in first["data"]]
    log = vendors.request_log(url)
    assert [e["status"] for e in log if e["path"] == "/v1/invoices"] == [200, 500, 200]


def test_timeout_truncate_and_drop_faults(vendor_standins):
    v = vendor_standins
    url = v["stripe"]["url"]
    vendors.inject(url, {"kind": "timeout", "seconds": 2})
    t0 = time.monotonic()
    with pytest.raises(requests.Timeout):
        stripe_timeout = requests.get(url + "/v1/customers", headers={"Authorization": f"Bearer {v['stripe']['key']}"},
                                      timeout=0.5)
        del stripe_timeout
    assert time.monotonic() - t0 < 1.5
    # truncated: the Content-Length promises more than the body holds, then the connection closes
    vendors.inject(url, {"kind": "truncate"})
    u = urlsplit(url)
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(f"GET /v1/customers?limit=50 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {v['stripe']['key']}\r\n\r\n".encode())
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    length = int([ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length")][0].split(b":")[1])
    assert 0 < len(body) < length
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    vendors.inject(url, {"kind": "drop"})
    with pytest.raises(requests.ConnectionError):
        stripe(v, "/v1/customers")


# --------------------------------------------------------------------------- Chargify


def test_chargify_auth_paging_and_errors(vendor_standins):
    v = vendor_standins
    r = chargify(v, "/subscriptions.json", key="wrong")
    assert r.status_code == 401 and r.text.startswith("HTTP Basic: Access denied")
    r = chargify(v, "/subscriptions.json", per_page=201)
    assert r.status_code == 422 and r.json()["errors"]
    subs = chargify_all(v, "/subscriptions.json", per_page=9)
    ids = [s["subscription"]["id"] for s in subs]
    assert len(ids) == len(set(ids))
    now = dt.datetime.fromisoformat(vendor_standins_clock(v))
    orgs = {int(o.subscription_id): o for o in g.vendor_orgs(SEED, SCALE, now.date()) if o.created_at <= now}
    assert set(ids) == set(orgs)
    for s in subs:  # the job documents' subscription_id and the organization's analytics_id
        sub = s["subscription"]
        assert sub["customer"]["reference"] == orgs[sub["id"]].analytics_id
    customers = chargify_all(v, "/customers.json", per_page=11)
    assert {c["customer"]["reference"] for c in customers} == {o.analytics_id for o in orgs.values()}


def test_chargify_window_is_inclusive_and_follows_the_clock(vendor_standins):
    v = vendor_standins
    # the whole UTC day D: start_datetime inclusive, end_datetime inclusive (so the last second)
    window = {"date_field": "updated_at", "start_datetime": "2024-01-15T00:00:00+00:00",
              "end_datetime": "2024-01-15T23:59:59+00:00"}
    got = {s["subscription"]["id"]: s["subscription"] for s in chargify_all(v, "/subscriptions.json", **window)}
    now = dt.datetime.fromisoformat(vendor_standins_clock(v))
    expected = set()
    for o in g.vendor_orgs(SEED, SCALE, now.date()):
        hist = g.plan_history(SEED, SCALE, o, now)
        if hist and hist[-1].at.astimezone(UTC).date() == D:
            expected.add(int(o.subscription_id))
    assert set(got) == expected
    for s in got.values():
        assert s["updated_at"].endswith("-05:00")  # site time zone
    # a subscription's plan changes between two dates: as the clock moves, updated_at and the handle move
    o, t1, t2 = next((o, h[i].at, h[i + 1].at) for o in g.base_orgs(SEED, SCALE)
                     for h in [g.plan_history(SEED, SCALE, o, dt.datetime(2024, 3, 1, tzinfo=UTC))]
                     for i in range(len(h) - 1) if h[i].handle != h[i + 1].handle and h[i].at.year == 2024)
    seen = []
    for clock in (t1, t2):
        vendors.set_clock(v["chargify"]["url"], clock)
        day = clock.date().isoformat()
        subs = chargify_all(v, "/subscriptions.json", date_field="updated_at",
                            start_datetime=f"{day}T00:00:00Z", end_datetime=f"{day}T23:59:59Z")
        sub = next(s["subscription"] for s in subs if s["subscription"]["id"] == int(o.subscription_id))
        seen.append((sub["product"]["handle"], dt.datetime.fromisoformat(sub["updated_at"])))
    assert seen[0][0] != seen[1][0] and seen[0][1] == t1 and seen[1][1] == t2


def test_chargify_page_repeated_or_skipped(vendor_standins):
    v = vendor_standins
    url = v["chargify"]["url"]
    pages = [chargify(v, "/customers.json", page=p, per_page=5).json() for p in (1, 2, 3)]
    vendors.inject(url, {"kind": "repeat_page", "path": "/customers.json", "after": 1})
    assert chargify(v, "/customers.json", page=1, per_page=5).json() == pages[0]
    assert chargify(v, "/customers.json", page=2, per_page=5).json() == pages[0]  # repeated
    vendors.inject(url, {"kind": "skip_page", "path": "/customers.json"})
    assert chargify(v, "/customers.json", page=2, per_page=5).json() == pages[2]  # skipped ahead
    assert chargify(v, "/customers.json", page=2, per_page=5).json() == pages[1]


# --------------------------------------------------------------------------- Amplitude


def _events(zip_bytes: bytes) -> dict[str, list[dict]]:
    out = {}
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        for name in zf.namelist():
            out[name] = [json.loads(ln) for ln in gzip.decompress(zf.read(name)).splitlines()]
    return out


def test_amplitude_export_zip_of_gzipped_json_lines(vendor_standins):
    v = vendor_standins
    assert amplitude(v, "20240115T05", "20240115T05", secret="wrong").status_code == 401
    r = amplitude(v, "20240115T05", "20240115T06")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    files = _events(r.content)
    assert sorted(files) == [f"{g.AMPLITUDE_PROJECT_ID}/{g.AMPLITUDE_PROJECT_ID}_2024-01-15_{h}#0.json.gz" for h in (5, 6)]
    events = [e for evs in files.values() for e in evs]
    assert all(e["server_upload_time"].startswith(("2024-01-15 05", "2024-01-15 06")) for e in events)
    # consistent with the MongoDB population: users, organizations and projects
    orgs, projects, users = g.population(SEED, SCALE, D)
    user_ids = {u.analytics_id for u in users}
    org_ids = {o.analytics_id for o in orgs}
    project_ids = {p.analytics_id for p in projects}
    assert all(e["user_id"] is None or e["user_id"].lower() in user_ids for e in events)
    assert all(e["event_properties"]["organization_analytics_id"] in org_ids for e in events)
    assert all(e["event_properties"].get("project_analytics_id", next(iter(project_ids))) in project_ids for e in events)
    assert {"event_type", "session_id", "event_time", "uuid", "groups"} <= set(events[0])


def test_amplitude_errors_empty_hours_and_availability(vendor_standins):
    v = vendor_standins
    assert amplitude(v, "2024-01-15", "20240115T05").status_code == 400
    assert amplitude(v, "20240115T06", "20240115T05").status_code == 400
    # the clock is 2024-01-16 03:00: the hour 2024-01-15 23:00 ended at 00:00 and is exportable
    # since 02:00; the hour 2024-01-16 02:00 has nothing exportable yet (404); at 03:30 the hour
    # 01:00 is partial (only what was uploaded before 01:30)
    full = _events(amplitude(v, "20240115T23", "20240115T23").content)
    r = amplitude(v, "20240116T02", "20240116T02")
    assert r.status_code == 404 and "not found" in r.text
    vendors.set_clock(v["amplitude"]["url"], "2024-01-16T03:30:00+00:00")
    partial = _events(amplitude(v, "20240116T01", "20240116T01").content)
    assert all(e["server_upload_time"] < "2024-01-16 01:30" for evs in partial.values() for e in evs)
    vendors.set_clock(v["amplitude"]["url"], "2024-01-16T05:00:00+00:00")
    complete = _events(amplitude(v, "20240116T01", "20240116T01").content)
    assert sum(map(len, complete.values())) > sum(map(len, partial.values())) > 0
    assert sum(map(len, full.values())) > 0


def test_prepare_generates_ahead_and_serves_the_same(vendor_standins):
    """``POST /_admin/prepare`` (the demo, before a day's runs) generates the day's data ahead of
    the requests; what the stand-ins then serve is byte for byte what they serve without it."""
    v = vendor_standins
    urls = {name: s["url"] for name, s in v.items()}
    # the zip's members carry the time they were written: compare what they hold
    cold = (_events(amplitude(v, "20240115T00", "20240115T23").content), chargify(v, "/subscriptions.json", per_page=200).content)
    vendors.configure_all(urls, seed=SEED, scale=SCALE, now=dt.datetime(2024, 1, 16, 3, tzinfo=UTC))
    vendors.prepare_all(urls, D)
    warm = (_events(amplitude(v, "20240115T00", "20240115T23").content), chargify(v, "/subscriptions.json", per_page=200).content)
    assert warm == cold and sum(len(e) for e in warm[0].values()) > 100
