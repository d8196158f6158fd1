"""VendorToLakeOperator: one vendor entity, one run date -> its raw lake partition.

    VendorToLakeOperator(task_id="invoices", source_config=<VendorSource>, entity="invoices",
                         bucket="...", raw_prefix="raw", outlets=[...])

(``dw.dag_factory.vendor_task`` builds it from include/config/sources/<vendor>.yaml, with
optional overrides of the source's settings.) It lands, for the run's date D (``dw.lake.run_date``), ``raw/<vendor>/<entity>/dt=D/part-00000.parquet``
and its raw JSON ``raw/<vendor>/<entity>_json/dt=D/part-00000.jsonl.gz`` from the vendor's API,
with the connection of ``include/config/sources/<vendor>.yaml`` (read through the http
provider's ``HttpHook``: host, port, schema; the secret is the connection's password). Auth,
paging and windows are the vendor's module (``dw.sources.stripe``, ``.chargify``,
``.amplitude``); the landing is ``dw.sources.http`` (docs/decisions/0010-vendor-landing.md).

- A vendor whose module sets ``DEFERS_UNTIL_AVAILABLE`` (Amplitude) makes a day exportable
  only ``available_after_hours`` after it ends; before that the task **defers** (a
  ``DateTimeTrigger``, no worker slot held) and resumes then; it never lands part of a day.
- 429 / 5xx / timeouts / truncated bodies are retried inside the task (backoff, Retry-After);
  if they persist the task fails and Airflow retries it later (the run starts over; the
  partition is replaced only once a whole day has been read).
- 401 / other 4xx: ``AirflowFailException`` (no retries). Messages name vendor, entity, date
  and the request or object at fault, never a credential.
- Objects that do not fit the configured fields, and new top-level fields, go as the entity's
  contract says (``contract:`` in the vendor's YAML, ``dw.lake_contract``): by default the
  object goes to ``quarantine/<vendor>/<entity>/dt=D/part-00000.parquet`` and a new field lands
  as an extra column; the changes are written to ``changes/<vendor>/<entity>/dt=D/manifest.json``
  and the task succeeds with a warning (``dw.notify.changes_seen``). ``freeze`` fails the task
  (``AirflowFailException``).

Returns (XCom) ``{"uri", "json_uri", "rows", "requests", "retries", "pages", "quarantined", "changes"}``.
Parse-time cost: ``dw.lake`` only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import BaseOperator

from dw.lake import RawPartition, run_date


class VendorToLakeOperator(BaseOperator):
    template_fields = ("bucket", "raw_prefix")
    ui_color = "#7fb2e5"

    def __init__(self, *, source_config, entity: str, bucket: str, raw_prefix: str, **kwargs: Any) -> None:
        """``source_config``: the vendor's config (``dw.config.VendorSource``); ``entity``: one of
        its entities."""
        super().__init__(**kwargs)
        if entity not in source_config.entities:
            raise ValueError(f"VendorToLakeOperator: {source_config.source} has no entity {entity!r} "
                             f"(known: {sorted(source_config.entities)})")
        self.source_config = source_config
        self.source = source_config.source
        self.entity = entity
        self.bucket = bucket
        self.raw_prefix = raw_prefix

    def execute(self, context, event: Any = None) -> dict:
        from airflow.sdk.exceptions import AirflowException, AirflowFailException

        from dw.hooks.connections import pii_key
        from dw.hooks.lake import s3_client
        from dw.sources import source_module
        from dw.sources.http import (NotYetAvailable, VendorFatalError, VendorRetryError, available_at,
                                     land_partition, vendor_client)

        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        label = f"{self.source}.{self.entity}"
        if start is None or end is None or not start < end:
            raise AirflowFailException(f"{label}: the run's data interval [{start}, {end}) is missing or empty")
        start, end = _utc(start), _utc(end)
        src = self.source_config
        ent = src.entities[self.entity]
        ds = run_date(context)
        part = RawPartition(self.source, self.entity, ds, self.bucket, self.raw_prefix)
        label = f"{label} dt={ds}"
        if src.history_start and ent.mode == "window":
            why = None
            if (context.get("params") or {}).get("full_history"):
                why = "the run's full_history param"
            elif _first_partition(part, s3_client()):
                why = "no earlier partition in the lake: this is the entity's first day"
            if why:
                start = dt.datetime.combine(src.history_start, dt.time(), dt.timezone.utc)
                self.log.info("%s: full history (%s): reading from %s", label, why, start.isoformat())

        vendor = source_module(self.source)
        if vendor.DEFERS_UNTIL_AVAILABLE:
            ready = available_at(src, end)
            now = dt.datetime.now(dt.timezone.utc)  # a control decision only: the data comes from the interval
            if now < ready:
                from airflow.providers.standard.triggers.temporal import DateTimeTrigger

                self.log.info("%s: the export is complete only from %s; deferring", label, ready.isoformat())
                self.defer(trigger=DateTimeTrigger(moment=ready), method_name="execute")

        client = vendor_client(src, label=label)

        def fetch(sink):
            return vendor.fetch(client, ent, sink, start, end, now=dt.datetime.now(dt.timezone.utc))

        key = pii_key(src.pii_key_conn_id) if any(f.pii for f in ent.fields.values()) else None
        try:
            stats = land_partition(fetch, self.source, ent, ds=ds, pii_key=key, s3_client=s3_client(),
                                   bucket=part.bucket, key=part.key, client=client,
                                   raw_members=vendor.RAW_MEMBERS, part=part,
                                   recorded_by=f"ingest_{self.source}.{self.entity}")  # the DAG factory's <dag>.<task>
        except (VendorFatalError, NotYetAvailable) as e:
            raise AirflowFailException(f"{e} (nothing was written; {part.uri} is unchanged)") from None
        except VendorRetryError as e:
            raise AirflowException(f"{e} (nothing was written; {part.uri} is unchanged; the task will retry)") from None
        finally:
            client.session.close()
        self.log.info(
            "%s rows=%d duplicates_dropped=%d pages=%d requests=%d retries=%d parquet=%dB json=%dB seconds=%.2f -> %s",
            label, stats.rows, stats.duplicates, stats.pages, stats.requests, stats.retries, stats.parquet_bytes,
            stats.json_bytes, stats.seconds, stats.uri,
        )
        from dw.lake_contract import report

        return {"uri": stats.uri, "json_uri": stats.json_uri, "rows": stats.rows, "pages": stats.pages,
                "requests": stats.requests, "retries": stats.retries, **report(context, stats.day, part, "object")}


def _first_partition(part: RawPartition, s3) -> bool:
    """Whether the lake holds no partition of ``part``'s entity before its date. Then the window
    starts at the source's ``history_start``: the first day of an entity lands everything updated
    up to its end, so the dimensions it feeds know every object, not only the day's changes. A
    re-run of that day is still its first day, so it lands the same (docs/decisions/0010)."""
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=part.bucket, Prefix=part.table_prefix, Delimiter="/")
    earlier = f"{part.table_prefix}dt={part.ds}/"
    return not any(p["Prefix"] < earlier for page in pages for p in page.get("CommonPrefixes", []))


def _utc(t: dt.datetime) -> dt.datetime:
    t = t.astimezone(dt.timezone.utc)
    return dt.datetime(t.year, t.month, t.day, t.hour, t.minute, t.second, t.microsecond, tzinfo=dt.timezone.utc)
