"""The machinery every vendor stand-in shares: a threaded HTTP server, its clock, a rate
limit, fault injection and the ``/_admin`` endpoints that control them at run time.

A vendor (``stripe_server``, ``amplitude_server``, ``chargify_server``) subclasses
``Vendor`` and implements ``authorized``, ``error`` and ``route``; ``serve`` runs it.

Admin endpoints (no auth: the stand-ins listen on 127.0.0.1 only):

    GET  /_admin/health                 {"vendor", "seed", "scale", "now", "rate_limit", ...}
    POST /_admin/config                 {"seed", "scale", "rate_limit", "rate_window"} (any subset)
    POST /_admin/clock                  {"now": "2024-01-16T03:00:00+00:00"} or {"now": null} (wall clock)
    POST /_admin/faults                 {"faults": [fault, ...]}: appended to the active faults
    POST /_admin/reset                  forget faults, the request log and the rate-limit windows
    POST /_admin/prepare                {"day": "2024-01-15"}: generate that day's data now (kept)
    GET  /_admin/log                    every non-admin request: method, path, query, status, fault

A fault fires on the requests whose path starts with ``path`` (default: every API path),
after letting ``after`` of them through, ``count`` times (default 1):

    {"kind": "status", "status": 500}            a vendor-shaped error with that status
    {"kind": "rate_limit", "retry_after": 1}     429 + Retry-After (count: the burst length)
    {"kind": "timeout", "seconds": 5}            answer only after sleeping (longer than the client waits)
    {"kind": "truncate"}                         full Content-Length, half the body, connection closed
    {"kind": "malformed"}                        a complete answer (200, right Content-Length) whose body
                                                  is the first half of the real one: broken JSON, a cut zip
                                                  (fires on 200 answers only)
    {"kind": "drop"}                             close the connection without an answer
    {"kind": "repeat_page"} / {"kind": "skip_page"}   the vendor's paging serves the previous /
                                                  the next page instead of the one asked for

Besides injected 429s, each stand-in enforces its rate limit: more than ``rate_limit``
requests within ``rate_window`` seconds from one credential get 429 with ``Retry-After``.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

UTC = dt.timezone.utc
FAULT_KINDS = {"status", "rate_limit", "timeout", "truncate", "drop", "malformed", "repeat_page", "skip_page"}
MAX_SLEEP = 60.0


class HttpError(Exception):
    """Raised by a route: answered with the vendor's error body for ``status``."""

    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(obj, status: int = 200) -> Response:
    return Response(status, json.dumps(obj, separators=(",", ":")).encode())


@dataclass
class Fault:
    kind: str
    path: str = "/"
    after: int = 0
    count: int = 1
    status: int = 500
    seconds: float = 5.0
    retry_after: float = 1.0
    seen: int = 0
    fired: int = 0

    @classmethod
    def parse(cls, d: dict) -> Fault:
        if d.get("kind") not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {sorted(FAULT_KINDS)}, not {d.get('kind')!r}")
        unknown = set(d) - {"kind", "path", "after", "count", "status", "seconds", "retry_after"}
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}")
        f = cls(**d)
        f.seconds = min(float(f.seconds), MAX_SLEEP)
        return f


class Vendor:
    """State and behaviour of one vendor stand-in. Subclasses implement the API."""

    name = "vendor"
    default_rate_limit = 100
    default_rate_window = 1.0

    def __init__(self, *, seed: int, scale: float, credentials: dict[str, str]):
        self.seed = seed
        self.scale = scale
        self.credentials = credentials
        self.rate_limit = self.default_rate_limit
        self.rate_window = self.default_rate_window
        self.clock: dt.datetime | None = None
        self.faults: list[Fault] = []
        self.log: list[dict] = []
        self.windows: dict[str, deque] = {}
        self.lock = threading.RLock()
        self.page_memory: dict = {}  # vendor paging state for repeat_page
        self._caches: list = []

    # -- to implement -----------------------------------------------------------

    def authorized(self, headers) -> str | None:
        """The caller's credential id if the request is authenticated, else None."""
        raise NotImplementedError

    def error(self, status: int, message: str, **extra) -> Response:
        """A vendor-shaped error response."""
        raise NotImplementedError

    def route(self, method: str, path: str, query: list[tuple[str, str]]) -> Response:
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------

    def now(self) -> dt.datetime:
        with self.lock:
            # the wall clock, to the minute (so a minute's requests see one state and share caches)
            return self.clock or dt.datetime.now(UTC).replace(second=0, microsecond=0)

    def configure(self, seed=None, scale=None, rate_limit=None, rate_window=None) -> None:
        with self.lock:
            if seed is not None:
                self.seed = int(seed)
            if scale is not None:
                if float(scale) <= 0:
                    raise ValueError("scale must be positive")
                self.scale = float(scale)
            if rate_limit is not None:
                self.rate_limit = int(rate_limit)
            if rate_window is not None:
                self.rate_window = float(rate_window)
            self.page_memory.clear()
            for c in self._caches:
                c.cache_clear()

    def cached(self, fn, maxsize: int):
        """``fn`` memoized (its arguments must include what it depends on: seed, scale, now);
        the cache is dropped when the stand-in is reconfigured (``prepare`` fills it again)."""
        c = functools.lru_cache(maxsize=maxsize)(fn)
        self._caches.append(c)
        return c

    def prepare(self, day: dt.date) -> None:
        """Generate (and keep) what the API serves for day ``day`` at the current seed, scale and
        clock, as the real vendor has its data before anyone asks (``POST /_admin/prepare``)."""

    def take_fault(self, kinds: set[str], path: str) -> Fault | None:
        """The first active fault of one of ``kinds`` that fires on this request, if any."""
        with self.lock:
            for f in self.faults:
                if f.kind not in kinds or not path.startswith(f.path) or f.fired >= f.count:
                    continue
                f.seen += 1
                if f.seen > f.after:
                    f.fired += 1
                    return f
        return None

    def rate_limited(self, who: str) -> float | None:
        """Seconds to wait if ``who`` is over the limit (the request is then not counted)."""
        with self.lock:
            now = time.monotonic()
            win = self.windows.setdefault(who, deque())
            while win and win[0] <= now - self.rate_window:
                win.popleft()
            if len(win) >= self.rate_limit:
                return max(0.0, win[0] + self.rate_window - now)
            win.append(now)
        return None

    def admin(self, method: str, path: str, body: dict) -> Response:
        if path == "/_admin/prepare" and method == "POST":  # seconds of work: not under the lock
            self.prepare(dt.date.fromisoformat(body["day"]))
            return json_response({"ok": True})
        with self.lock:
            if path == "/_admin/health":
                return json_response({"vendor": self.name, "seed": self.seed, "scale": self.scale,
                                      "now": self.now().isoformat(), "clock": self.clock and self.clock.isoformat(),
                                      "rate_limit": self.rate_limit, "rate_window": self.rate_window,
                                      "faults": [vars(f) for f in self.faults]})
            if path == "/_admin/log":
                return json_response(self.log)
            if method != "POST":
                raise HttpError(405, f"{method} {path}: use POST")
            if path == "/_admin/config":
                self.configure(**{k: body.get(k) for k in ("seed", "scale", "rate_limit", "rate_window")})
            elif path == "/_admin/clock":
                now = body.get("now")
                if now is None:
                    self.clock = None
                else:
                    t = dt.datetime.fromisoformat(now)
                    self.clock = (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC)
            elif path == "/_admin/faults":
                items = body.get("faults", body) if isinstance(body, dict) else body
                self.faults.extend(Fault.parse(f) for f in items)
            elif path == "/_admin/reset":
                self.faults.clear()
                self.log.clear()
                self.windows.clear()
                self.page_memory.clear()
            else:
                raise HttpError(404, f"no admin endpoint {path}")
            return json_response({"ok": True})


def basic_auth(headers) -> tuple[str, str] | None:
    h = headers.get("Authorization") or ""
    if not h.lower().startswith("basic "):
        return None
    try:
        user, _, pw = base64.b64decode(h[6:].strip()).decode().partition(":")
    except Exception:  # noqa: BLE001 - malformed header = not authenticated
        return None
    return user, pw


def make_handler(vendor: Vendor):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"dw-standin-{vendor.name}/1"

        def log_message(self, fmt, *args):  # quiet: the request log is at /_admin/log
            pass

        def _send(self, resp: Response, *, truncate: bool = False) -> None:
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(resp.body)))
            for k, v in resp.headers.items():
                self.send_header(k, v)
            if truncate:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            body = resp.body[: len(resp.body) // 2] if truncate else resp.body
            self.wfile.write(body)
            self.wfile.flush()

        def _handle(self, method: str) -> None:
            u = urlsplit(self.path)
            path, query = u.path, parse_qsl(u.query, keep_blank_values=True)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                if path.startswith("/_admin/"):
                    try:
                        body = json.loads(raw or b"{}")
                        resp = vendor.admin(method, path, body)
                    except (ValueError, TypeError) as e:
                        resp = json_response({"error": str(e)}, 400)
                    self._send(resp)
                    return
                self._api(method, path, query)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _api(self, method: str, path: str, query) -> None:
            entry = {"method": method, "path": path, "query": dict(query), "status": None, "fault": None,
                     "at": time.time()}
            with vendor.lock:
                vendor.log.append(entry)
            truncate = False
            fault = vendor.take_fault({"status", "rate_limit", "timeout", "truncate", "drop", "malformed"}, path)
            if fault is not None:
                entry["fault"] = fault.kind
            if fault and fault.kind == "drop":
                entry["status"] = 0
                self.close_connection = True
                return
            if fault and fault.kind == "timeout":
                time.sleep(fault.seconds)
            if fault and fault.kind == "status":
                resp = vendor.error(fault.status, f"injected fault: HTTP {fault.status}")
            elif fault and fault.kind == "rate_limit":
                resp = vendor.error(429, "Too many requests hit the API too quickly.")
                resp.headers["Retry-After"] = _seconds(fault.retry_after)
            else:
                truncate = bool(fault and fault.kind == "truncate")
                who = vendor.authorized(self.headers)
                if who is None:
                    resp = vendor.error(401, "authentication failed")
                else:
                    wait = vendor.rate_limited(who)
                    if wait is not None:
                        resp = vendor.error(429, "Too many requests hit the API too quickly.")
                        resp.headers["Retry-After"] = _seconds(wait)
                        entry["fault"] = "rate_limit (enforced)"
                    else:
                        try:
                            resp = vendor.route(method, path, query)
                        except HttpError as e:
                            resp = vendor.error(e.status, e.message, **e.extra)
                        except Exception as e:  # noqa: BLE001 - a stand-in bug is a 500, visibly
                            resp = vendor.error(500, f"stand-in error: {type(e).__name__}: {e}")
            if fault and fault.kind == "malformed":
                if resp.status == 200:
                    resp = Response(resp.status, resp.body[: len(resp.body) // 2], resp.content_type, dict(resp.headers))
                else:  # only a 200 answer can be malformed: the fault waits for one
                    with vendor.lock:
                        fault.fired -= 1
                    entry["fault"] = None
            entry["status"] = resp.status
            self._send(resp, truncate=truncate)

        def do_GET(self):  # noqa: N802
            self._handle("GET")

        def do_POST(self):  # noqa: N802
            self._handle("POST")

        def do_DELETE(self):  # noqa: N802
            self._handle("DELETE")

    return Handler


def _seconds(s: float) -> str:
    return str(max(1, int(s + 0.999)))


def serve(vendor: Vendor, host: str, port: int) -> ThreadingHTTPServer:
    """A started server (its thread is a daemon); ``server.shutdown()`` stops it."""
    srv = ThreadingHTTPServer((host, port), make_handler(vendor))
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, name=f"{vendor.name}-standin", daemon=True).start()
    return srv
