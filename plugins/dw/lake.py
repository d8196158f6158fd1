"""The S3 lake layout (a contract: users, Athena tables and outside checks rely on it).

    s3://<bucket>/raw/<source>/<entity>/dt=YYYY-MM-DD/part-00000.parquet
    s3://<bucket>/extracts/<table>/dt=YYYY-MM-DD/<query id>.csv

A raw partition is exactly one object. It is written to local disk first and uploaded
with one PUT (or one multipart upload, which S3 makes visible only when it completes),
so a re-run replaces the date's partition in a single atomic step and a reader never
sees half of it; see docs/decisions/0002-one-object-per-partition.md.

The "date" of a run is the UTC date of its data interval's start (``run_date``).

Every upload is encrypted server-side as ``include/config/lake.yaml`` says (``upload_args``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from dw.config import lake_config
from dw.sources import RawTable

PART_NAME = "part-00000.parquet"
# Beside the raw tables, per raw table and day: the records set aside by the contracts
# (quarantine/<source>/<entity>/dt=D/part-00000.parquet) and the day's manifest of changes
# (changes/<source>/<entity>/dt=D/manifest.json); dw.lake_contract.
QUARANTINE_PREFIX = "quarantine"
CHANGES_PREFIX = "changes"
MANIFEST_NAME = "manifest.json"


def upload_args(content_type: str) -> dict[str, str]:
    """``ExtraArgs`` of every upload to the lake: the content type and server-side encryption
    (``server_side_encryption``; with ``aws:kms``, the key ``DW_LAKE_KMS_KEY_ID`` or
    ``kms_key_id``, else the bucket's default KMS key)."""
    import os

    cfg = lake_config()
    args = {"ContentType": content_type, "ServerSideEncryption": cfg.server_side_encryption}
    key = os.environ.get("DW_LAKE_KMS_KEY_ID") or cfg.kms_key_id
    if cfg.server_side_encryption == "aws:kms" and key:
        args["SSEKMSKeyId"] = key
    return args
DS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # a dt value: YYYY-MM-DD
_DT_KEY = re.compile(r"/dt=(\d{4}-\d{2}-\d{2})/")


def objects_in_bounds(s3, bucket: str, prefix: str, bounds=None):
    """The objects (``list_objects_v2`` entries) under ``prefix``, in key order; with ``bounds``
    (first, last ``dt``), only those of a partition within them, listed from the first on, so
    the listing too is bounded by the window, not by the age of the lake."""
    kw = {"StartAfter": f"{prefix}dt={bounds[0]}"} if bounds else {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, **kw):
        for o in page.get("Contents", []):
            m = _DT_KEY.search(o["Key"])
            if bounds and m and m.group(1) > bounds[1]:
                return
            if not bounds or (m and m.group(1) >= bounds[0]):
                yield o


def check_ds(ds: str) -> str:
    if not DS_RE.match(ds):
        raise ValueError(f"not a YYYY-MM-DD date: {ds!r}")
    dt.date.fromisoformat(ds)
    return ds


def run_date(context) -> str:
    """The date a run processes: the UTC date its data interval starts on.

    Scheduled runs, backfills and manual runs (``airflow dags test <dag> D+1``) all have
    a one-day data interval [D 00:00, D+1 00:00) UTC; see docs/decisions/0001-run-date.md.
    """
    start = context["data_interval_start"]
    return start.astimezone(dt.timezone.utc).date().isoformat()


def epoch_error(ds: str) -> str | None:
    """Why day ``ds`` cannot be loaded, if it is before the platform's epoch (None otherwise)."""
    start = lake_config().history_start
    if dt.date.fromisoformat(ds) < start:
        return (f"date {ds} is before the platform's history_start {start.isoformat()} "
                "(include/config/lake.yaml history_start): nothing before it is loaded")
    return None


def check_epoch(context) -> None:
    """Every task's ``pre_execute`` (``dw.dag_factory.default_args``): fail at once, without
    retries, a run whose day is before ``history_start`` (a backfill creates every task
    instance whatever the DAG's start_date)."""
    msg = epoch_error(run_date(context))
    if msg:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(msg)


def no_tasks_error(dag_id: str, ds: str) -> str:
    """The message of a runner that finds a DAG run for day ``ds`` with no task instance (a
    manual run before the DAG's start_date: Airflow creates none and calls it a success)."""
    return f"{dag_id} for {ds}: the DAG run has no task instances: " + (
        epoch_error(ds) or "its logical date is before the DAG's start_date")


@dataclass(frozen=True)
class RawPartition:
    """A raw table's partition of day ``ds``; ``bucket`` and ``raw_prefix`` default to the lake
    config's."""

    source: str
    entity: str
    ds: str
    bucket_name: str | None = None
    raw_prefix: str | None = None

    def __post_init__(self):
        RawTable(self.source, self.entity)  # validates both
        check_ds(self.ds)

    @property
    def bucket(self) -> str:
        return self.bucket_name or lake_config().bucket

    @property
    def table_prefix(self) -> str:
        return RawTable(self.source, self.entity).prefix(self.raw_prefix or lake_config().raw_prefix)

    @property
    def prefix(self) -> str:
        return f"{self.table_prefix}dt={self.ds}/"

    @property
    def key(self) -> str:
        return f"{self.prefix}{PART_NAME}"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def quarantine_key(self) -> str:
        return f"{QUARANTINE_PREFIX}/{self.source}/{self.entity}/dt={self.ds}/{PART_NAME}"

    @property
    def quarantine_uri(self) -> str:
        return f"s3://{self.bucket}/{self.quarantine_key}"

    @property
    def manifest_key(self) -> str:
        return f"{CHANGES_PREFIX}/{self.source}/{self.entity}/dt={self.ds}/{MANIFEST_NAME}"

    @property
    def manifest_uri(self) -> str:
        return f"s3://{self.bucket}/{self.manifest_key}"


def extract_prefix(table: str, ds: str, root: str | None = None) -> str:
    """``<root>/<table>/dt=<ds>/``; ``root`` defaults to the lake config's ``extracts_prefix``."""
    check_ds(ds)
    return f"{root or lake_config().extracts_prefix}/{table}/dt={ds}/"


def split_s3_uri(uri: str) -> tuple[str, str]:
    m = re.match(r"^s3://([^/]+)/(.+)$", uri)
    if not m:
        raise ValueError(f"not an s3:// object URI: {uri!r}")
    return m.group(1), m.group(2)


FOOTER_READ_BYTES = 64 * 1024  # one GET holds the footer of a typical partition; a longer one takes a second


def parquet_rows(s3, bucket: str, key: str) -> int:
    """The row count in a Parquet object's footer: one suffix-range GET of its last bytes (a
    second one when the footer is longer). ValueError if the object is not Parquet."""
    import struct

    import pyarrow as pa
    import pyarrow.parquet as pq

    def tail(n: int) -> bytes:
        return s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=-{n}")["Body"].read()

    data = tail(FOOTER_READ_BYTES)
    if len(data) < 8 or data[-4:] != b"PAR1":
        raise ValueError(f"s3://{bucket}/{key} is not a Parquet file")
    footer_len = struct.unpack("<I", data[-8:-4])[0]
    if footer_len + 8 > len(data):
        data = tail(footer_len + 8)
    # the leading magic and the footer: all a reader of the metadata looks at
    return pq.ParquetFile(pa.BufferReader(b"PAR1" + data[-(footer_len + 8):])).metadata.num_rows


LANDING_META = "dw-landing"  # S3 user metadata (x-amz-meta-dw-landing) on every object of one landing


def landing_id(*paths: str) -> str:
    """The id of one landing of a partition: a digest of its local files (the Parquet; for a vendor,
    the raw JSON too), written on each of its objects."""
    import hashlib

    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()[:32]


def is_missing(e) -> bool:
    """Whether a botocore ``ClientError`` says the object is not there."""
    return str(e.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound")
