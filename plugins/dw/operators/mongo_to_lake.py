"""MongoToLakeOperator: one MongoDB collection, one run date -> one raw lake partition.

    MongoToLakeOperator(task_id="jobs", collection=<MongoCollection>, conn_id="mongo_app",
                        database="app", batch_size=5000, pii_key_conn_id="dw_pii_key",
                        bucket="...", raw_prefix="raw", outlets=[Asset(...)])

(``dw.dag_factory.mongo_task`` builds it from sources/mongo.yaml.) It lands
``s3://<bucket>/<raw_prefix>/mongo/<collection>/dt=<ds>/part-00000.parquet`` for the run's
date ``ds`` (``dw.lake.run_date``): an ``incremental`` collection takes the documents
whose cursor field is in the data interval [start, end), a ``snapshot`` collection the
whole collection. The engine is ``dw.sources.mongo`` (see its docstring and
docs/decisions/0003-mongo-type-mapping.md).

From the context it reads only ``data_interval_start`` and ``data_interval_end``
(aware datetimes). It returns (XCom) ``{"uri": ..., "rows": ..., "bytes": ..., "quarantined": ...,
"changes": ...}``.

The collection's contract (``contract:`` in sources/mongo.yaml, ``dw.lake_contract``) governs
documents that do not fit: by default a value that does not convert sends its document to
``quarantine/mongo/<collection>/dt=<ds>/part-00000.parquet`` and a new field lands as an extra
column; every change is written to ``changes/mongo/<collection>/dt=<ds>/manifest.json`` (the
warehouse DAG records it in dw.schema_changes) and the task succeeds with a warning
(``dw.notify.changes_seen``) naming the count and the quarantine. Where the contract says
``freeze`` the task fails with AirflowFailException (no retries: fix the document or the
config, then clear the task). Infrastructure errors (connections, S3) raise as they are and
are retried. A failure leaves the partition's previous object, if any, untouched.

Parse-time cost: dw.lake only; pyarrow, pymongo and boto3 are imported in ``execute``.
"""

from __future__ import annotations

import time
from typing import Any

from airflow.sdk import BaseOperator

from dw.hooks.connections import MONGO_CONN_ID
from dw.lake import RawPartition, run_date


class MongoToLakeOperator(BaseOperator):
    template_fields = ("database", "bucket", "raw_prefix")
    ui_color = "#4faa41"

    def __init__(self, *, collection, database: str, bucket: str, raw_prefix: str, batch_size: int,
                 pii_key_conn_id: str | None = None, conn_id: str = MONGO_CONN_ID, **kwargs: Any) -> None:
        """``collection``: the collection's config (``dw.config.MongoCollection``)."""
        super().__init__(**kwargs)
        self.collection = collection
        self.database = database
        self.bucket = bucket
        self.raw_prefix = raw_prefix
        self.batch_size = batch_size
        self.pii_key_conn_id = pii_key_conn_id
        self.conn_id = conn_id

    def execute(self, context) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from dw.hooks.connections import mongo_client, pii_key
        from dw.hooks.lake import s3_client
        from dw.sources.mongo import MongoExtractError, land_partition, window_query

        coll = self.collection
        start = context.get("data_interval_start")
        end = context.get("data_interval_end")
        if start is None or end is None or not start < end:
            raise AirflowFailException(
                f"mongo.{coll.name}: the run's data interval [{start}, {end}) is missing or empty; "
                "ingest_mongo needs a one-day interval (dw.dag_factory.daily(), docs/decisions/0001-run-date.md)"
            )
        ds = run_date(context)
        part = RawPartition("mongo", coll.name, ds, self.bucket, self.raw_prefix)
        query = window_query(coll, start, end)
        key = pii_key(self.pii_key_conn_id) if any(f.pii for f in coll.fields.values()) else None
        label = f"mongo.{coll.name} dt={ds}"

        t0 = time.monotonic()
        client = mongo_client(self.conn_id)
        try:
            stats = land_partition(
                client[self.database][coll.name],
                coll,
                query=query,
                batch_size=self.batch_size,
                pii_key=key,
                s3_client=s3_client(),
                bucket=part.bucket,
                key=part.key,
                label=label,
                part=part,
                recorded_by=f"ingest_mongo.{coll.name}",  # the DAG factory's <dag>.<task>
            )
        except MongoExtractError as e:
            raise AirflowFailException(f"{e} (nothing was written; {part.uri} is unchanged)") from None
        finally:
            client.close()
        seconds = time.monotonic() - t0

        window = f"[{start.isoformat()}, {end.isoformat()})" if coll.mode == "incremental" else "whole collection"
        self.log.info(
            "mongo.%s ds=%s mode=%s window=%s rows=%d bytes=%d seconds=%.2f (convert %.2f) -> %s",
            coll.name, ds, coll.mode, window, stats.rows, stats.bytes, seconds, stats.convert_seconds, part.uri,
        )
        from dw.lake_contract import report

        return {"uri": part.uri, "rows": stats.rows, "bytes": stats.bytes, **report(context, stats.day, part)}
