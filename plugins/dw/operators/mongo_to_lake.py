"""MongoToLakeOperator: one MongoDB collection, one run date -> one raw lake partition.

    MongoToLakeOperator(task_id="jobs", collection="jobs", outlets=[Asset(...)])

lands ``s3://<lake>/raw/mongo/<collection>/dt=<ds>/part-00000.parquet`` for the run's
date ``ds`` (``dw.lake.run_date``): an ``incremental`` collection takes the documents
whose cursor field is in the data interval [start, end), a ``snapshot`` collection the
whole collection. The engine is ``dw.ingest.mongo`` (see its docstring and
docs/decisions/0003-mongo-type-mapping.md).

From the context it reads only ``data_interval_start`` and ``data_interval_end``
(aware datetimes). It returns (XCom) ``{"uri": ..., "rows": ..., "bytes": ...}``.

A document that does not convert fails the task with AirflowFailException (no
retries: the data will not fix itself in five minutes; fix the document or the config,
then clear the task). Infrastructure errors (connections, S3) raise as they are and
are retried. Either way the partition's previous object, if any, is left untouched.

Parse-time cost: only dw.config / dw.lake (YAML + pydantic); pyarrow, pymongo and
boto3 are imported in ``execute``.
"""

from __future__ import annotations

import time
from typing import Any

from airflow.sdk import BaseOperator

from dw.config import mongo_source
from dw.lake import RawPartition, run_date


class MongoToLakeOperator(BaseOperator):
    template_fields = ()
    ui_color = "#4faa41"

    def __init__(self, *, collection: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        source = mongo_source()
        if collection not in source.collections:
            raise ValueError(
                f"MongoToLakeOperator: collection {collection!r} is not in sources/mongo.yaml "
                f"(known: {sorted(source.collections)})"
            )
        self.collection = collection

    def execute(self, context) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from dw.hooks.connections import mongo_client, pii_key, s3_client
        from dw.ingest.mongo import MongoExtractError, land_partition, window_query

        start = context.get("data_interval_start")
        end = context.get("data_interval_end")
        if start is None or end is None or not start < end:
            raise AirflowFailException(
                f"mongo.{self.collection}: the run's data interval [{start}, {end}) is missing or empty; "
                "ingest_mongo needs a one-day interval (dw.dag_factory.daily(), docs/decisions/0001-run-date.md)"
            )
        source = mongo_source()
        coll = source.collections[self.collection]
        ds = run_date(context)
        part = RawPartition("mongo", coll.name, ds)
        query = window_query(coll, start, end)
        key = pii_key(source.pii_key_conn_id) if any(f.pii for f in coll.fields.values()) else None
        label = f"mongo.{coll.name} dt={ds}"

        t0 = time.monotonic()
        client = mongo_client(source.conn_id)
        try:
            stats = land_partition(
                client[source.database][coll.name],
                coll,
                query=query,
                batch_size=source.batch_size,
                pii_key=key,
                s3_client=s3_client(),
                bucket=part.bucket,
                key=part.key,
                label=label,
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
        return {"uri": part.uri, "rows": stats.rows, "bytes": stats.bytes}
