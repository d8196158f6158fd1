"""Vendor API → lake: what the HTTP sources (Stripe, Amplitude, Chargify) share.

- ``vendor_client``: a ``VendorClient`` on the source's HTTP connection with the vendor's auth.
- ``VendorClient``: GET requests with the retry rules every vendor documents: 429 and 5xx,
  timeouts, dropped connections and truncated bodies are retried with exponential backoff
  (jittered), honouring ``Retry-After``; 401, 403 and any other 4xx fail at once
  (``VendorFatalError``: retrying cannot help), and so does a redirect (never followed). Errors
  name the vendor, the entity, the date and the request (path, parameters, page), never a
  credential nor a value of an object (ids only): credentials travel only in the session's
  auth, never in a URL, and only over HTTPS (``check_base_url``; plain HTTP to loopback only).
- ``PartitionSink``: the objects of one entity and day, written as they arrive to two local
  files — raw JSON lines (gzip) and Parquet of the configured fields (converted strictly by
  ``dw.convert``, PII fields replaced by their keyed hash; an object that does not fit, or a new
  top-level field, goes as the entity's contract says: ``dw.lake_contract``) — each object
  once (de-duplicated by its id), then uploaded as two objects, each in one PUT (and after them
  the day's quarantine and manifest of changes, ``quarantine/`` and ``changes/<vendor>/<entity>/dt=D/``):
  ``raw/<vendor>/<entity>_json/dt=D/part-00000.jsonl.gz`` first, then
  ``raw/<vendor>/<entity>/dt=D/part-00000.parquet`` (docs/decisions/0010-vendor-landing.md),
  both carrying the same ``dw-landing`` id: a reader takes the day as landed only when the
  two ids agree (``pair_landed``; decision 0040), so a landing cut between the uploads is not
  landed until its retry. Nothing is uploaded unless the whole day was read.

The per-vendor auth, paging and windows live in ``dw.sources.stripe``, ``dw.sources.chargify``
and ``dw.sources.amplitude``; ``land_partition`` runs one of them into a sink and uploads.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlencode

from dw.lake import LANDING_META, is_missing, landing_id

log = logging.getLogger(__name__)
UTC = dt.timezone.utc
_SHOW = 300


class VendorError(Exception):
    """Base: the message names vendor, entity, date and what failed."""


class VendorFatalError(VendorError):
    """Retrying will not help (bad credentials, a rejected request, data that does not fit)."""


class VendorRetryError(VendorError):
    """The request kept failing with retryable errors until ``max_attempts``: a later task retry may succeed."""


class NotYetAvailable(VendorError):
    """The window is not complete at the vendor yet (Amplitude: ~2 h after each hour)."""

    def __init__(self, message: str, available_at: dt.datetime):
        super().__init__(message)
        self.available_at = available_at


class Transient(Exception):
    """A retryable failure of one request (the client retries it with backoff)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class RequestStats:
    requests: int = 0
    retries: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


def _retry_after(headers) -> float | None:
    v = headers.get("Retry-After")
    if not v:
        return None
    try:
        return max(0.0, float(v))
    except ValueError:
        try:
            from email.utils import parsedate_to_datetime

            return max(0.0, (parsedate_to_datetime(v) - dt.datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def json_kind(v: Any) -> str:
    """The JSON type of a parsed value (``object``, ``array``, ...): what errors say instead of the value."""
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number",
            type(None): "null"}.get(type(v), type(v).__name__)


def vendor_message(resp) -> str:
    """The vendor's own error text (Stripe error.message, Chargify errors[], plain text), shortened."""
    text = ""
    try:
        body = resp.json()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            e = body["error"]
            text = " ".join(str(e[k]) for k in ("type", "code", "message") if e.get(k))
        elif isinstance(body, dict) and body.get("errors"):
            text = "; ".join(map(str, body["errors"]))
        else:  # not an error object: it may hold records, so only its shape is named
            text = f"(a JSON {json_kind(body)} body)"
    except ValueError:
        text = resp.text or ""
    text = " ".join(text.split())
    return text if len(text) <= _SHOW else text[: _SHOW - 1] + "…"


class VendorClient:
    """GETs against one vendor's base URL through an authenticated ``requests.Session``."""

    def __init__(self, session, base_url: str, source, *, label: str,
                 sleep: Callable[[float], None] = time.sleep):
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.source = source
        self.label = label
        self.sleep = sleep
        self.stats = RequestStats()
        session.headers.update(source.headers)

    def describe(self, path: str, params: dict | None) -> str:
        return f"GET {path}" + (f"?{urlencode(params)}" if params else "")

    def _wait(self, attempt: int, err: Transient) -> float:
        s = self.source
        if err.retry_after is not None:
            return min(err.retry_after, s.max_backoff_seconds)
        base = min(s.backoff_seconds * 2 ** (attempt - 1), s.max_backoff_seconds)
        return base * (0.5 + random.random() / 2)

    def request(self, path: str, params: dict | None, *, what: str, read: Callable[[Any], Any],
                ok_statuses: tuple[int, ...] = (200,)):
        """GET with retries. For a status in ``ok_statuses`` the response goes to ``read``, which
        consumes the body (raising ``Transient`` for a truncated or corrupt one); its result is
        returned. Other statuses: 429/5xx are retried, the rest fail (``VendorFatalError``)."""
        import requests

        desc = self.describe(path, params)
        s = self.source
        last: Transient | None = None
        for attempt in range(1, s.max_attempts + 1):
            self.stats.requests += 1
            try:
                with self.session.get(self.base_url + path, params=params, timeout=s.timeout_seconds, stream=True,
                                      allow_redirects=False) as resp:
                    status = resp.status_code
                    self.stats.statuses[status] = self.stats.statuses.get(status, 0) + 1
                    if status in ok_statuses:
                        return read(resp)
                    msg = f"{self.label}: {what}: {desc}: HTTP {status}: {vendor_message(resp)}"
                    if status == 429 or status >= 500:
                        raise Transient(msg, _retry_after(resp.headers))
                    if 300 <= status < 400:  # a redirect would carry the credentials elsewhere
                        raise VendorFatalError(f"{self.label}: {what}: {desc}: HTTP {status}: redirect refused "
                                               "(check the connection's URL); not retried")
                    hint = " (check the connection's credentials)" if status in (401, 403) else ""
                    raise VendorFatalError(msg + hint + "; not retried")
            except Transient as e:
                last = e
            except requests.Timeout:
                last = Transient(f"{self.label}: {what}: {desc}: no answer within {s.timeout_seconds:g}s")
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as e:
                last = Transient(f"{self.label}: {what}: {desc}: connection failed: {type(e).__name__}")
            if attempt < s.max_attempts:
                wait = self._wait(attempt, last)
                self.stats.retries += 1
                log.warning("%s (attempt %d/%d; retrying in %.1fs)", last, attempt, s.max_attempts, wait)
                self.sleep(wait)
        raise VendorRetryError(f"{last} — gave up after {s.max_attempts} attempts")

    def get_json(self, path: str, params: dict | None, *, what: str):
        """A JSON body; a body that does not parse (truncated) is retried like a 5xx."""

        def read(resp):
            raw = resp.content  # raises ChunkedEncodingError/ConnectionError on a short body
            try:
                return json.loads(raw)
            except ValueError:
                raise Transient(f"{self.label}: {what}: {self.describe(path, params)}: "
                                 f"truncated or malformed JSON body ({len(raw)} bytes)") from None

        return self.request(path, params, what=what, read=read)


LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}


def check_base_url(url: str, conn_id: str) -> None:
    """A vendor's API keys travel only over HTTPS: a base URL with another scheme fails
    (``VendorFatalError``) unless its host is loopback (a local stand-in)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url or "")
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and (host in LOOPBACK_HOSTS or host.startswith("127.")):
        return
    raise VendorFatalError(
        f"connection {conn_id}: the vendor's URL must be https:// (set the connection's schema to https), "
        f"got scheme {parts.scheme or 'none'!r} for host {host or 'none'!r}; credentials are never sent in clear")


def vendor_client(source, *, label: str) -> VendorClient:
    """A ``VendorClient`` for ``source``'s connection (a ``dw.config.VendorSource``): the http
    provider's HttpHook session and base URL, with the vendor's auth (``dw.sources.<vendor>.auth``)."""
    from airflow.providers.http.hooks.http import HttpHook

    from dw.sources import source_module

    hook = HttpHook(method="GET", http_conn_id=source.conn_id)
    session = hook.get_conn()
    check_base_url(hook.base_url, source.conn_id)
    session.max_redirects = 0  # requests are sent with allow_redirects=False; this is the backstop
    conn = hook.get_connection(source.conn_id)
    if not conn.password:
        raise ValueError(f"connection {source.conn_id} has no password: it holds the {source.source} secret")
    session.auth = source_module(source.source).auth(conn)
    return VendorClient(session, hook.base_url, source, label=label)


def available_at(source, end: dt.datetime) -> dt.datetime:
    """When the window ending at ``end`` is complete at the vendor (``available_after_hours``)."""
    return end + dt.timedelta(hours=source.available_after_hours)


# --------------------------------------------------------------------------- objects → files


def resolve(obj: Any, path: str) -> Any:
    """The value at a dotted path (``a.b.0.c``); None where any step is missing."""
    cur = obj
    for step in path.split("."):
        if isinstance(cur, dict):
            cur = cur.get(step)
        elif isinstance(cur, list) and step.isdigit():
            i = int(step)
            cur = cur[i] if i < len(cur) else None
        else:
            return None
        if cur is None:
            return None
    return cur


def _epoch(v):
    if type(v) is int:
        return dt.datetime.fromtimestamp(v, UTC)
    return v  # anything else is rejected by the timestamp converter, with the object named


class PartitionSink:
    """One entity's day on local disk: raw JSON lines (gzip) + Parquet, each object once."""

    def __init__(self, vendor: str, entity, *, ds: str, pii_key: bytes | None,
                 tmp_dir: str | None = None, batch_rows: int = 5_000, raw_members: bool = False):
        import pyarrow.parquet as pq

        from dw.convert import BatchConverter, vendor_specs

        self.vendor, self.entity, self.ds = vendor, entity, ds
        self.label = f"{vendor}.{entity.name} dt={ds}"
        self.dir = tempfile.mkdtemp(prefix=f"dw-{vendor}-{entity.name}-", dir=tmp_dir)
        self.json_path = os.path.join(self.dir, "part-00000.jsonl.gz")
        self.parquet_path = os.path.join(self.dir, "part-00000.parquet")
        # raw_members: the vendor serves gzip members (Amplitude), written byte for byte;
        # otherwise one JSON line per object, compressed here.
        self.raw_members = raw_members
        self._json = open(self.json_path, "wb") if raw_members else gzip.open(self.json_path, "wb", compresslevel=6)
        from dw.lake_contract import DayContract

        self._conv = BatchConverter(vendor_specs(entity), pii_key=pii_key, label=self.label, noun="object",
                                    metadata={"dw.source": vendor, "dw.entity": entity.name},
                                    modes={n: entity.contract_mode("data_type", n) for n in entity.fields})
        self.schema = self._conv.schema
        self.day = DayContract(
            source=vendor, entity=entity.name, conv=self._conv, known=entity.known_keys,
            new_fields=entity.contract_mode("new_fields"),
            pii={entity.fields[f.name].path or f.name: f.coerce for f in self._conv.fields if f.pii},
            label=self.label, noun="object", id_of=lambda o: resolve(o, entity.id_field),
            ddl_file=f"include/sql/athena/ddl/raw_{vendor}_{entity.name}.sql")
        self._writer = pq.ParquetWriter(self.parquet_path, self.schema, compression="zstd")
        self._paths = [(name, f.path or name, f.type == "epoch_seconds") for name, f in entity.fields.items()]
        self._batch: list[dict] = []
        self._objects: list[dict] = []
        self._batch_rows = batch_rows
        self.ids: set = set()
        self.rows = 0
        self.duplicates = 0

    def object_id(self, obj: dict):
        oid = resolve(obj, self.entity.id_field)
        if oid is None or isinstance(oid, (dict, list)):
            got = "none" if oid is None else f"a JSON {json_kind(oid)}"
            raise VendorFatalError(f"{self.label}: an object without a usable {self.entity.id_field!r} "
                                   f"(got {got}; the object's values are not shown: they may be personal data)")
        return oid

    def _row(self, obj: dict, oid) -> dict:
        row = {"_id": str(oid)}
        for name, path, epoch in self._paths:
            v = resolve(obj, path)
            row[name] = _epoch(v) if epoch else v
        return row

    def write_raw(self, fileobj) -> None:
        """Append a served gzip member byte for byte (a ``raw_members`` sink; its objects go
        through ``add`` as they are parsed)."""
        import shutil

        if not self.raw_members:
            raise ValueError("write_raw is for a sink of raw gzip members")
        shutil.copyfileobj(fileobj, self._json, 1 << 20)

    def add(self, objects: list[dict]) -> int:
        """Add objects (those already added, by id, are skipped); returns how many were new.
        A ``raw_members`` sink writes no JSON lines (``write_raw`` has the served bytes) and
        refuses a duplicate, which its raw file would hold twice."""
        new = 0
        lines = []
        for obj in objects:
            if not isinstance(obj, dict):
                raise VendorFatalError(f"{self.label}: expected a JSON object, got a JSON {json_kind(obj)}")
            oid = self.object_id(obj)
            if oid in self.ids:
                self.duplicates += 1
                if self.raw_members:
                    raise VendorFatalError(f"{self.label}: object {oid} served twice within the export")
                continue
            self.ids.add(oid)
            new += 1
            if not self.raw_members:
                lines.append(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))
            self._batch.append(self._row(obj, oid))
            self._objects.append(obj)
        if lines:
            self._json.write(("\n".join(lines) + "\n").encode())
        if len(self._batch) >= self._batch_rows:
            self._flush()
        return new

    def _flush(self) -> None:
        import pyarrow as pa

        from dw.convert import ConversionError

        if not self._batch:
            return
        try:
            rb = self.day.apply(self._objects, self._batch)
        except ConversionError as e:  # a contract that says freeze
            raise VendorFatalError(str(e)) from None
        self._writer.write_table(pa.Table.from_batches([rb], self.schema).replace_schema_metadata(self.schema.metadata))
        self.rows += rb.num_rows
        self._batch, self._objects = [], []

    def close(self) -> None:
        self._flush()
        self._writer.close()
        self._json.close()
        self.day.add_new_columns(self.parquet_path, set(self.schema.names))

    def discard(self) -> None:
        import shutil

        for f in (self._json, self._writer):
            try:
                f.close()
            except Exception:  # noqa: BLE001 - closing a half-written file on the way out
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass(frozen=True)
class LandStats:
    rows: int
    duplicates: int
    requests: int
    retries: int
    pages: int
    parquet_bytes: int
    json_bytes: int
    seconds: float
    uri: str
    json_uri: str
    day: Any = None  # the sink's dw.lake_contract.DayContract: quarantine and changes


def json_key(parquet_key: str) -> str:
    """The raw-JSON sibling of a raw partition key: raw/<v>/<e>/dt=D/part-00000.parquet →
    raw/<v>/<e>_json/dt=D/part-00000.jsonl.gz (its own Athena/DuckDB location)."""
    head, _, tail = parquet_key.rpartition("/dt=")
    return f"{head}_json/dt={tail.replace('.parquet', '.jsonl.gz')}"


def pair_landed(s3_client, bucket: str, key: str) -> tuple[bool, str]:
    """Whether the vendor day whose Parquet is ``key`` has landed *as a pair*: both objects
    exist and carry the same ``dw-landing`` id (or, landed before the id existed, neither has
    one). A landing cut between its two uploads leaves a new raw JSON beside the old Parquet:
    their ids differ, and readers treat the day as not landed until a retry lands both
    (docs/decisions/0040-the-vendor-object-pair.md). Returns (landed, why not)."""
    from botocore.exceptions import ClientError

    ids = []
    for k in (json_key(key), key):
        try:
            ids.append(s3_client.head_object(Bucket=bucket, Key=k).get("Metadata", {}).get(LANDING_META))
        except ClientError as e:
            if is_missing(e):
                return False, f"s3://{bucket}/{k} is missing"
            raise
    if ids[0] != ids[1]:
        return False, (f"the raw JSON and the Parquet of s3://{bucket}/{key} are from different landings "
                       f"({ids[0] or 'none'} / {ids[1] or 'none'}): a landing was cut between its two uploads")
    return True, ""


def land_partition(fetch: Callable[[PartitionSink], int], vendor: str, entity, *, ds: str,
                   pii_key: bytes | None, s3_client, bucket: str, key: str, tmp_dir: str | None = None,
                   client: VendorClient | None = None, raw_members: bool = False, part=None,
                   recorded_by: str = "") -> LandStats:
    """Run ``fetch(sink)`` (the vendor's paging; returns the pages it read), then upload the raw
    JSON and the Parquet object, both tagged with the landing's id (``pair_landed``), then (with
    ``part``, the ``dw.lake.RawPartition``) the day's quarantine and manifest. Nothing is
    uploaded if ``fetch`` raises."""
    t0 = time.monotonic()
    sink = PartitionSink(vendor, entity, ds=ds, pii_key=pii_key, tmp_dir=tmp_dir, raw_members=raw_members)
    try:
        pages = fetch(sink)
        sink.close()
        jkey = json_key(key)
        from dw.lake import upload_args

        landing = landing_id(sink.json_path, sink.parquet_path)
        meta = {"Metadata": {LANDING_META: landing}}
        s3_client.upload_file(sink.json_path, bucket, jkey, ExtraArgs={**upload_args("application/gzip"), **meta})
        s3_client.upload_file(sink.parquet_path, bucket, key,
                              ExtraArgs={**upload_args("application/vnd.apache.parquet"), **meta})
        if part is not None:
            from dw.lake_contract import upload_day

            upload_day(s3_client, bucket=bucket, quarantine_key=part.quarantine_key, manifest_key=part.manifest_key,
                       day=sink.day, source=vendor, entity=entity.name, ds=ds, recorded_by=recorded_by,
                       partition_uri=f"s3://{bucket}/{key}", landing=landing, tmp_dir=tmp_dir)
        st = client.stats if client else RequestStats()
        return LandStats(rows=sink.rows, duplicates=sink.duplicates, requests=st.requests, retries=st.retries,
                         pages=pages, parquet_bytes=os.path.getsize(sink.parquet_path),
                         json_bytes=os.path.getsize(sink.json_path), seconds=time.monotonic() - t0,
                         uri=f"s3://{bucket}/{key}", json_uri=f"s3://{bucket}/{jkey}", day=sink.day)
    finally:
        sink.discard()


def check_in_window(sink: PartitionSink, obj: dict, value: dt.datetime | None, start: dt.datetime,
                    end: dt.datetime) -> None:
    """An object the vendor returned for a window must be in it (else the filter was ignored)."""
    if value is None or not start <= value < end:
        what = "is missing or unreadable" if value is None else "is outside"
        raise VendorFatalError(
            f"{sink.label}: object {sink.object_id(obj)}: {sink.entity.time_field} {what} the "
            f"requested window [{start.isoformat()}, {end.isoformat()})")


def parse_time(v) -> dt.datetime | None:
    """An object's time: unix seconds, or ISO-8601 text (no offset = UTC); None if unreadable."""
    if type(v) is int:
        return dt.datetime.fromtimestamp(v, UTC)
    if isinstance(v, str):
        try:
            t = dt.datetime.fromisoformat(v.strip())
        except ValueError:
            return None
        return t if t.tzinfo else t.replace(tzinfo=UTC)
    return None
