"""One MongoDB → file extraction in a fresh process, for ``bench.mongo_extract``:

    python -m bench.mongo_child MODE MONGO_URI DATABASE COLLECTION OUT

prints one JSON line: rows, seconds (the extraction only), rss_after_imports_kb and peak_rss_kb
(VmHWM: the process's peak resident set, imports included). Modes:

- ``dw``: the project's extractor, ``dw.sources.mongo.extract_to_parquet`` with the ``jobs``
  config of include/config/sources/mongo.yaml (batches of 10,000, strict conversion, zstd);
- ``pymongoarrow``: ``pymongoarrow.api.find_arrow_all`` + ``pyarrow.parquet.write_table``
  (zstd), schema of the same fields (run by the interpreter of the pymongoarrow venv: this
  mode imports nothing of the project);
- ``read``: only reading: ``find_raw_batches`` + ``bson.decode_all``, nothing converted or
  written (the floor the MongoDB server and the driver set);
- ``mongo_to_s3``: the amazon provider's ``MongoToS3Operator`` (find, ``json.dumps`` of every
  document, one ``load_string`` to S3; connections from AIRFLOW_CONN_* in the environment).
"""

from __future__ import annotations

import json
import sys
import time


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _dw(uri: str, db: str, coll: str, out: str) -> int:
    import pymongo

    from dw.config import mongo_source
    from dw.sources.mongo import extract_to_parquet

    cfg = mongo_source().collections["jobs"]
    client = pymongo.MongoClient(uri)
    rss = _status_kb("VmRSS")
    t0 = time.perf_counter()
    stats = extract_to_parquet(client[db][coll], cfg, query={}, batch_size=mongo_source().batch_size,
                               pii_key=None, path=out)
    return stats.rows, time.perf_counter() - t0, rss


def _pymongoarrow(uri: str, db: str, coll: str, out: str):
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pymongo
    from bson import ObjectId
    from pymongoarrow.api import Schema, find_arrow_all

    ts = pa.timestamp("ms")
    schema = Schema({
        "_id": ObjectId, "organization_analytics_id": pa.string(), "project_analytics_id": pa.string(),
        "user_analytics_id": pa.string(), "subscription_id": pa.string(), "started_at": ts, "stopped_at": ts,
        "outcome": pa.string(), "resource_class": pa.string(), "executor": pa.string(),
        "operating_system": pa.string(), "dlc": pa.bool_(), "credits_used": pa.int64(),
        "dlc_credits_used": pa.int64(), "minutes_used": pa.float64(), "updated_at": ts,
    })
    client = pymongo.MongoClient(uri)
    rss = _status_kb("VmRSS")
    t0 = time.perf_counter()
    table = find_arrow_all(client[db][coll], {}, schema=schema)
    pq.write_table(table, out, compression="zstd")
    return table.num_rows, time.perf_counter() - t0, rss


def _read(uri: str, db: str, coll: str, out: str):
    import bson
    import pymongo

    from dw.config import mongo_source
    from dw.sources.mongo import CODEC_OPTIONS, projection

    cfg = mongo_source().collections["jobs"]
    client = pymongo.MongoClient(uri)
    rss = _status_kb("VmRSS")
    t0 = time.perf_counter()
    rows = 0
    for raw in client[db][coll].find_raw_batches({}, projection(cfg), batch_size=mongo_source().batch_size):
        rows += len(bson.decode_all(raw, CODEC_OPTIONS))
    return rows, time.perf_counter() - t0, rss


def _mongo_to_s3(uri: str, db: str, coll: str, out: str):
    from airflow.providers.amazon.aws.transfers.mongo_to_s3 import MongoToS3Operator

    bucket, key = out.split("/", 1)
    op = MongoToS3Operator(task_id="mongo_to_s3", mongo_conn_id="mongo_app", aws_conn_id="aws_lake",
                           mongo_collection=coll, mongo_db=db, mongo_query={}, s3_bucket=bucket, s3_key=key,
                           replace=True)
    rss = _status_kb("VmRSS")
    t0 = time.perf_counter()
    op.execute(context={})
    secs = time.perf_counter() - t0
    import pymongo

    rows = pymongo.MongoClient(uri)[db][coll].estimated_document_count()
    return rows, secs, rss


MODES = {"dw": _dw, "pymongoarrow": _pymongoarrow, "read": _read, "mongo_to_s3": _mongo_to_s3}


def main(argv: list[str]) -> int:
    mode, uri, db, coll, out = argv
    rows, secs, rss = MODES[mode](uri, db, coll, out)
    print(json.dumps({"mode": mode, "rows": rows, "seconds": secs, "rss_after_imports_kb": rss,
                      "peak_rss_kb": _status_kb("VmHWM")}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
