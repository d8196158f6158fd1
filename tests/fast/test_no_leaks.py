"""Issue 15, server-free: errors name ids, table, date, file, line and column, never a value of a
record; vendor credentials go over HTTPS only, never through a redirect; local secret files are
0600; an Amplitude export is inflated within bounds."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import os
import stat
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from dw.config import vendor_source
from dw.sources import amplitude, chargify, stripe
from dw.sources.http import PartitionSink, VendorClient, VendorFatalError, check_base_url

EMAIL = "jane.leak-7f3a@customer-example.org"
D = "2024-01-15"
START = dt.datetime(2024, 1, 15, tzinfo=dt.timezone.utc)
END = START + dt.timedelta(days=1)


# --------------------------------------------------------------------------- HTTPS and redirects


@pytest.mark.parametrize("url,ok", [
    ("https://acme.chargify.com", True), ("https://api.stripe.com/", True),
    ("http://127.0.0.1:8001", True), ("http://localhost:8001", True), ("http://[::1]:8001", True),
    ("http://api.stripe.com", False), ("http://10.0.0.5:80", False), ("ftp://api.stripe.com", False),
    ("api.stripe.com", False), ("", False),
])
def test_vendor_urls_must_be_https_except_loopback(url, ok):
    if ok:
        check_base_url(url, "stripe_api")
    else:
        with pytest.raises(VendorFatalError, match="stripe_api: the vendor's URL must be https://"):
            check_base_url(url, "stripe_api")


def _serve(handler_get):
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):  # noqa: N802
            handler_get(self)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def _source(**over):
    base = dict(headers={}, max_attempts=2, timeout_seconds=5, backoff_seconds=0.0, max_backoff_seconds=0.0,
                page_size=2, max_passes=3, available_after_hours=0)
    return SimpleNamespace(**{**base, **over})


def test_a_redirect_is_refused_and_never_followed():
    hits: list[str] = []

    def get(h):
        hits.append(h.path)
        if h.path.startswith("/elsewhere"):
            h.send_response(200)
            h.end_headers()
            h.wfile.write(b"[]")
            return
        h.send_response(302)
        h.send_header("Location", f"http://127.0.0.1:{h.server.server_address[1]}/elsewhere")
        h.send_header("Content-Length", "0")
        h.end_headers()

    import requests

    srv = _serve(get)
    try:
        session = requests.Session()
        session.auth = ("k-secret", "x")
        client = VendorClient(session, f"http://127.0.0.1:{srv.server_address[1]}", _source(), label="chargify.customers")
        with pytest.raises(VendorFatalError, match=r"HTTP 302: redirect refused"):
            client.get_json("/customers.json", {"page": 1}, what="page 1")
    finally:
        srv.shutdown()
        srv.server_close()
    assert hits == ["/customers.json?page=1"]  # once, not retried, not followed


# --------------------------------------------------------------------------- no record value in an error


class FakeClient:
    def __init__(self, body, source):
        self.body, self.source = body, source

    def get_json(self, path, params, *, what):
        return self.body


def _sink(vendor: str, entity: str, tmp_path, **kw) -> PartitionSink:
    """A sink whose contract fails on what does not fit (the error message is the subject)."""
    ent = vendor_source(vendor).entities[entity].model_copy(update={"contract": {"data_type": "freeze"}})
    return PartitionSink(vendor, ent, ds=D, pii_key=b"k", tmp_dir=str(tmp_path), **kw)


def _customer(**over):
    c = {"id": 101, "first_name": "Jane", "email": EMAIL, "reference": None, "organization": "Acme",
         "created_at": "2024-01-15T01:00:00+00:00", "updated_at": "2024-01-15T02:00:00+00:00"}
    return {"customer": {**c, **over}}


@pytest.mark.parametrize("vendor,entity,body", ids=lambda v: v if isinstance(v, str) and len(v) < 20 else "", argvalues=[
    ("chargify", "customers", [_customer(id={"email": EMAIL})]),
    ("chargify", "customers", [_customer(id=None)]),
    ("chargify", "customers", [_customer(organization={"contact": EMAIL})]),
    ("chargify", "customers", [_customer(updated_at=EMAIL)]),
    ("chargify", "customers", [{"customer": EMAIL}]),
    ("chargify", "customers", {"customer": {"email": EMAIL}}),
    ("stripe", "customers", {"object": "list", "data": [{"id": "cus_1", "email": EMAIL, "created": EMAIL}],
                             "has_more": False}),
    ("stripe", "customers", {"error": None, "data": EMAIL}),
    ("stripe", "customers", {"object": "list", "data": [EMAIL], "has_more": False}),
    ("stripe", "customers", {"object": "list", "data": [{"id": {"e": EMAIL}, "created": 1705280400}],
                             "has_more": False}),
])
def test_vendor_errors_never_quote_a_record(tmp_path, vendor, entity, body):
    module = {"chargify": chargify, "stripe": stripe}[vendor]
    sink = _sink(vendor, entity, tmp_path)
    try:
        with pytest.raises(VendorFatalError) as e:
            module.fetch(FakeClient(body, _source()), sink.entity, sink, START, END)
            sink.close()
    finally:
        sink.discard()
    assert str(e.value).startswith(f"{vendor}.{entity} dt={D}")
    assert EMAIL not in str(e.value) and "jane" not in str(e.value).lower()


def test_a_vendor_error_body_is_named_by_its_shape_not_its_content():
    from dw.sources.http import vendor_message

    class R:
        text = json.dumps({"customer": {"email": EMAIL}})

        def json(self):
            return json.loads(self.text)

    assert vendor_message(R()) == "(a JSON object body)"


def test_a_load_error_message_keeps_column_names_and_drops_values():
    from dw.config import warehouse_tables
    from dw.warehouse.load import redacted_message

    cfg = warehouse_tables()["organization_dim"]

    def err(msg):
        return SimpleNamespace(diag=SimpleNamespace(message_primary=msg))

    assert redacted_message(err(f'invalid input syntax for type timestamp with time zone: "{EMAIL}"'), cfg) == \
        'invalid input syntax for type timestamp with time zone: "…"'
    assert redacted_message(err(f'value "{EMAIL}" is out of range'), cfg) == 'value "…" is out of range'
    assert redacted_message(err('null value in column "analytics_id" of relation "stage" violates not-null '
                                'constraint'), cfg) == ('null value in column "analytics_id" of relation "stage" '
                                                        'violates not-null constraint')


# --------------------------------------------------------------------------- local secret files


def test_secret_files_are_written_0600(tmp_path):
    from devstack.process import write_private
    from devstack.stack import Stack

    f = tmp_path / "old.env"
    f.write_text("x")
    f.chmod(0o644)
    write_private(f, "SECRET=1\n")
    assert stat.S_IMODE(f.stat().st_mode) == 0o600 and f.read_text() == "SECRET=1\n"

    st = Stack(state=tmp_path, info={"pg_uri": "postgresql://dw:pw@127.0.0.1:5/dw", "mongo_uri": "mongodb://127.0.0.1:6",
                                     "s3_endpoint": "http://127.0.0.1:7", "pii_key": "k" * 64, "vendors": {}})
    env = st.write_env()
    assert stat.S_IMODE(os.stat(env).st_mode) == 0o600


# --------------------------------------------------------------------------- bounded decompression


def _export_zip(path, members: dict[str, bytes]) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        for name, lines in members.items():
            zf.writestr(name, gzip.compress(lines))
    return str(path)


def _event(i: int) -> bytes:
    return json.dumps({"uuid": f"e{i}", "event_type": "x", "server_upload_time": "2024-01-15 03:10:00.000000",
                       "event_time": "2024-01-15 03:10:00.000000", "user_id": "u"}).encode() + b"\n"


HOUR = dt.datetime(2024, 1, 15, 3, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("bound,value,members,match", [
    ("MAX_MEMBERS", 2, {f"{i}.json.gz": _event(i) for i in range(3)}, r"3 members in the export, more than 2"),
    ("MAX_INFLATED_BYTES", 1000, {"a.json.gz": b"".join(_event(i) for i in range(20))}, r"inflate.* more than 1000"),
    ("MAX_LINE_BYTES", 50, {"a.json.gz": _event(1)}, r"a\.json\.gz line 1 is longer than 50 bytes"),
])
def test_an_amplitude_export_is_inflated_within_bounds(tmp_path, monkeypatch, bound, value, members, match):
    path = _export_zip(tmp_path / "x.zip", members)
    sink = _sink("amplitude", "events", tmp_path, raw_members=True)
    try:
        amplitude._unpack(sink, path, HOUR, "hour 03:00")  # within the default bounds
        monkeypatch.setattr(amplitude, bound, value)
        sink2 = _sink("amplitude", "events", tmp_path, raw_members=True)
        try:
            with pytest.raises(VendorFatalError, match=match):
                amplitude._unpack(sink2, path, HOUR, "hour 03:00")
        finally:
            sink2.discard()
    finally:
        sink.discard()


def test_an_amplitude_gzip_bomb_stops_at_the_inflated_bound(tmp_path, monkeypatch):
    """The zip declares only the gzip member's size: what gzip inflates is counted as it is read."""
    monkeypatch.setattr(amplitude, "MAX_INFLATED_BYTES", 10_000)
    monkeypatch.setattr(amplitude, "MAX_LINE_BYTES", 1_000_000)
    path = _export_zip(tmp_path / "bomb.zip", {"a.json.gz": b"".join(_event(i) for i in range(1000))})
    assert zipfile.ZipFile(path).infolist()[0].file_size < 10_000
    sink = _sink("amplitude", "events", tmp_path, raw_members=True)
    try:
        with pytest.raises(VendorFatalError, match="inflates to more than 10000 bytes"):
            amplitude._unpack(sink, path, HOUR, "hour 03:00")
    finally:
        sink.discard()


def test_an_amplitude_download_over_its_bound_is_refused(tmp_path, monkeypatch):
    import requests

    monkeypatch.setattr(amplitude, "MAX_DOWNLOAD_BYTES", 1000)
    body = io.BytesIO()
    with zipfile.ZipFile(body, "w") as zf:
        zf.writestr("a.json.gz", os.urandom(5000))
    data = body.getvalue()

    def get(h):
        h.send_response(200)
        if "nolength" not in h.path:
            h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    srv = _serve(get)
    try:
        entity = vendor_source("amplitude").entities["events"]
        for path in ("/api/2/export", "/api/2/export/nolength"):
            client = VendorClient(requests.Session(), f"http://127.0.0.1:{srv.server_address[1]}", _source(),
                                  label="amplitude.events")
            e = SimpleNamespace(endpoint=path, **{k: getattr(entity, k) for k in ("name",)})
            with pytest.raises(VendorFatalError, match="larger than 1000 bytes"):
                amplitude._download(client, e, {"start": "20240115T03"}, str(tmp_path / "d.zip"), "hour 03:00")
    finally:
        srv.shutdown()
        srv.server_close()
