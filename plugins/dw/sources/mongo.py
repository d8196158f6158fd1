"""The MongoDB source: a collection -> one Parquet file -> one lake partition object.

The engine behind ``MongoToLakeOperator``, usable without Airflow (tests, benchmarks):

    stats = extract_to_parquet(db["jobs"], mongo_source().collections["jobs"],
                               query=window_query(cfg, start, end), batch_size=10_000,
                               pii_key=b"...", path="/tmp/jobs.parquet")

- The cursor is read as raw BSON batches (``find_raw_batches``) of ``batch_size``
  documents, each decoded with ``bson.decode_all``, converted to a pyarrow RecordBatch of
  the configured schema (``dw.convert``, strict and lossless) and appended to a
  ``ParquetWriter``. Memory is bounded by the batch size (plus one buffered row group),
  never by the size of the collection.
- Whole documents are read: fields the config does not declare are new fields. The
  collection's contract (``dw.lake_contract``, ``contract:`` in sources/mongo.yaml) decides what
  a value that does not convert and a new field do: by default the document goes to the day's
  quarantine and a new field lands as an extra column; with ``freeze`` the whole extraction
  fails (``MongoExtractError``) naming the collection, the date, the document ``_id`` and the
  field. ``Stats.day`` holds what was set aside and seen.
- ``land_partition`` writes to a local temp file and uploads it with one
  ``upload_file`` (a single PUT or a single multipart upload, visible only when
  complete), so a failure leaves the previous partition object as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator

import bson
import pyarrow as pa
import pyarrow.parquet as pq
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions, DatetimeConversion

from dw import convert
from dw.convert import BatchConverter, ConversionError, mongo_specs
from dw.lake_contract import DayContract

if TYPE_CHECKING:
    from dw.config import MongoCollection

log = logging.getLogger(__name__)

UTC = dt.timezone.utc

# Decoding: naive-UTC datetimes (pyarrow reads them as UTC), subtype-4 binaries as
# uuid.UUID, out-of-range dates as DatetimeMS (rejected per value, with the document
# named) instead of an InvalidBSON for the whole batch.
CODEC_OPTIONS = CodecOptions(
    tz_aware=False,
    uuid_representation=UuidRepresentation.STANDARD,
    datetime_conversion=DatetimeConversion.DATETIME_AUTO,
)
DEFAULT_ROW_GROUP_ROWS = 65_536

# A document does not fit the configured schema. The message names the collection, the date,
# the document ``_id`` and the field, never the value of a PII field.
MongoExtractError = ConversionError


@dataclass(frozen=True)
class Stats:
    rows: int
    bytes: int
    batches: int
    seconds: float  # whole extraction: read + convert + write
    convert_seconds: float  # documents -> Arrow, the part this module controls
    path: str
    day: DayContract | None = None  # the contract's record of the day (quarantine, changes)


# --------------------------------------------------------------------------- schema and query


def arrow_schema(coll: MongoCollection) -> pa.Schema:
    """The lake schema of a collection: configured fields in order, lake column names,
    required fields non-nullable."""
    return convert.arrow_schema(mongo_specs(coll), {"dw.source": "mongo", "dw.collection": coll.name})


def projection(coll: MongoCollection) -> dict[str, int] | None:
    """None: whole documents, so that fields the config does not declare are seen (new fields)."""
    return None


def day_contract(coll: MongoCollection, conv: BatchConverter, label: str) -> DayContract:
    """The collection's contract for one day's read, over the converter ``conv``."""
    return DayContract(source="mongo", entity=coll.name, conv=conv, known=set(coll.fields) | {"_id"},
                       new_fields=coll.contract_mode("new_fields"),
                       pii={f.name: f.coerce for f in conv.fields if f.pii}, label=label,
                       ddl_file=f"include/sql/athena/ddl/raw_mongo_{coll.name}.sql")


def _utc(value: dt.datetime) -> dt.datetime:
    """A plain ``datetime`` in UTC (pendulum and other subclasses flattened)."""
    if value.tzinfo is None:
        raise ValueError(f"window bound {value!r} has no time zone")
    v = value.astimezone(UTC)
    return dt.datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, tzinfo=UTC)


def window_query(coll: MongoCollection, start: dt.datetime, end: dt.datetime) -> dict:
    """The find filter of a run: ``{cursor: {$gte: start, $lt: end}}`` for an
    incremental collection, ``{}`` (the whole collection) for a snapshot."""
    if coll.mode == "snapshot":
        return {}
    start, end = _utc(start), _utc(end)
    if not start < end:
        raise ValueError(f"empty or inverted window [{start}, {end})")
    return {coll.cursor_field: {"$gte": start, "$lt": end}}


def iter_batches(collection, query: dict, *, batch_size: int, fields: dict[str, int] | None = None) -> Iterator[list[dict]]:
    """Documents of ``query`` in lists of at most ``batch_size``, read as raw BSON
    batches from the server and decoded in one call each."""
    cursor = collection.find_raw_batches(query, fields, batch_size=batch_size)
    try:
        buf: list[dict] = []
        for raw in cursor:
            buf.extend(bson.decode_all(raw, CODEC_OPTIONS))
            while len(buf) >= batch_size:
                yield buf[:batch_size]
                buf = buf[batch_size:]
        if buf:
            yield buf
    finally:
        cursor.close()


# --------------------------------------------------------------------------- writing


def write_parquet(
    batches: Iterable[list[dict]],
    coll: MongoCollection,
    *,
    path: str,
    pii_key: bytes | None = None,
    label: str | None = None,
    compression: str = "zstd",
    row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
) -> Stats:
    """Convert document batches and write them to one Parquet file at ``path``. The file
    always has the schema, even with 0 rows. Row groups hold ``row_group_rows`` rows
    (or one source batch, if larger)."""
    t0 = time.perf_counter()
    label = label or f"mongo.{coll.name}"
    conv = BatchConverter(mongo_specs(coll), pii_key=pii_key, label=label,
                          metadata={"dw.source": "mongo", "dw.collection": coll.name},
                          modes={n: coll.contract_mode("data_type", n) for n in coll.fields})
    day = day_contract(coll, conv, label)
    rows = nbatches = 0
    convert_s = 0.0
    buf: list[pa.RecordBatch] = []
    buffered = 0
    with pq.ParquetWriter(path, conv.schema, compression=compression) as writer:
        for docs in batches:
            if not docs:
                continue
            c0 = time.perf_counter()
            rb = day.apply(docs)
            convert_s += time.perf_counter() - c0
            rows += rb.num_rows
            nbatches += 1
            if not rb.num_rows:  # every document of the batch set aside
                continue
            buf.append(rb)
            buffered += rb.num_rows
            if buffered >= row_group_rows:
                writer.write_table(pa.Table.from_batches(buf, conv.schema), row_group_size=max(buffered, 1))
                buf, buffered = [], 0
        if buf:
            writer.write_table(pa.Table.from_batches(buf, conv.schema), row_group_size=buffered)
    day.add_new_columns(path, set(conv.schema.names))
    size = os.path.getsize(path)
    return Stats(rows=rows, bytes=size, batches=nbatches, seconds=time.perf_counter() - t0,
                 convert_seconds=convert_s, path=path, day=day)


def extract_to_parquet(
    collection,
    coll: MongoCollection,
    *,
    query: dict,
    batch_size: int,
    pii_key: bytes | None,
    path: str,
    label: str | None = None,
    compression: str = "zstd",
    row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
) -> Stats:
    """Stream ``collection.find(query)`` (configured fields only) into a Parquet file.

    ``collection`` is a pymongo Collection; ``coll`` its config
    (``mongo_source().collections[name]``); ``query`` usually ``window_query(...)``.
    Raises MongoExtractError on a document that does not fit the schema (``path`` is
    then left partially written: the caller discards it)."""
    t0 = time.perf_counter()
    with contextlib.closing(iter_batches(collection, query, batch_size=batch_size, fields=projection(coll))) as batches:
        stats = write_parquet(batches, coll, path=path, pii_key=pii_key, label=label, compression=compression,
                              row_group_rows=row_group_rows)
    return Stats(rows=stats.rows, bytes=stats.bytes, batches=stats.batches, seconds=time.perf_counter() - t0,
                 convert_seconds=stats.convert_seconds, path=path, day=stats.day)


def land_partition(
    collection,
    coll: MongoCollection,
    *,
    query: dict,
    batch_size: int,
    pii_key: bytes | None,
    s3_client,
    bucket: str,
    key: str,
    label: str | None = None,
    tmp_dir: str | None = None,
    part=None,
    recorded_by: str = "",
) -> Stats:
    """Extract to a local temp file, then upload it to ``s3://bucket/key`` in one
    ``upload_file`` (one PUT, or one multipart upload that S3 makes visible only when
    it completes): the object is replaced whole or not at all, tagged with its landing id
    (``dw.lake.landing_id``). With ``part`` (the ``dw.lake.RawPartition``), the day's
    quarantine and then its manifest (carrying the same id) are replaced after it
    (``dw.lake_contract.upload_day``). The temp file is removed in every case."""
    fd, path = tempfile.mkstemp(prefix=f"dw-mongo-{coll.name}-", suffix=".parquet", dir=tmp_dir)
    os.close(fd)
    try:
        stats = extract_to_parquet(collection, coll, query=query, batch_size=batch_size, pii_key=pii_key,
                                   path=path, label=label)
        from dw.lake import upload_args
        from dw.lake import LANDING_META, landing_id

        landing = landing_id(path)
        s3_client.upload_file(path, bucket, key, ExtraArgs={**upload_args("application/vnd.apache.parquet"),
                                                            "Metadata": {LANDING_META: landing}})
        if part is not None:
            from dw.lake_contract import upload_day

            upload_day(s3_client, bucket=bucket, quarantine_key=part.quarantine_key, manifest_key=part.manifest_key,
                       day=stats.day, source="mongo", entity=coll.name, ds=part.ds, recorded_by=recorded_by,
                       partition_uri=f"s3://{bucket}/{key}", landing=landing, tmp_dir=tmp_dir)
        return stats
    finally:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
