"""``python -m bench.copy_binary``: what binary COPY could buy the fact load's COPY step (issue 12).

The same 1,000,000 job_ran_fact extract rows (x BENCH_SCALE) as ``bench.fact_load``, as two
objects on moto S3: the CSV extract the load reads (the format of the Athena/DuckDB extracts), and
the same rows in PostgreSQL's binary COPY format (written by PostgreSQL itself from the typed
stage: the best case for a client encoder such as pyarrow + pgpq or ADBC, whose encoding time is
not counted). Each is streamed in the load's 1 MiB chunks into an index-free UNLOGGED table with
the stage's columns, alternately, three times each. Prints the best and the spread of each and
their ratio; with ``BENCH_OUT`` writes them as JSON. A prototype, not part of ``python -m bench``.

With ``pgpq`` importable (``pip install --target DIR pgpq==0.12.0``, ``PYTHONPATH=DIR``; not a
project dependency) it also times the whole client path a binary load would take: the rows as a
Parquet object (written by DuckDB from the CSV, as an Athena ``UNLOAD`` or a DuckDB ``COPY ... TO``
would), read from S3 with pyarrow, encoded with pgpq, streamed with ``COPY ... (FORMAT binary)``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time

from bench import warehouse_data as wd
from bench.common import fresh_bucket, fresh_database, log, scaled, stack


def copy_object(uri: str, cfg, s3, key: str, fmt: str) -> float:
    return wd.copy_baseline(uri, cfg, s3, key, "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT binary")


def parquet_object(s3, csv_key: str, cfg) -> str:
    """The CSV extract as Parquet on S3 (DuckDB: the stage's types, uuid as arrow.uuid); its key."""
    import duckdb

    fd, path = tempfile.mkstemp(suffix=".csv")
    os.close(fd)
    s3.download_file(s3.bucket, csv_key, path)
    types = {"uuid": "UUID", "date": "DATE", "boolean": "BOOLEAN", "bigint": "BIGINT"}
    cols = {c.name: types.get(c.type, "DECIMAL(18,3)" if c.type.startswith("numeric") else "VARCHAR") for c in cfg.columns}
    out = path + ".parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_csv('{path}', header=true, columns={cols!r})) TO '{out}' (FORMAT parquet)")
    key = csv_key.rsplit(".", 1)[0] + ".parquet"
    s3.upload_file(out, s3.bucket, key)
    os.unlink(path)
    os.unlink(out)
    return key


def copy_parquet(uri: str, cfg, s3, key: str) -> float:
    """Parquet from S3 → pyarrow → pgpq → COPY (FORMAT binary) into the baseline table. Seconds."""
    import io

    import pgpq
    import psycopg
    import pyarrow as pa
    import pyarrow.parquet as pq

    def plain(col):  # arrow.uuid → its 16 bytes (uuid_recv's format); enums stay text (enum_recv reads the label)
        if isinstance(col.type, pa.ExtensionType):
            return pa.chunked_array([c.storage for c in col.chunks], type=col.type.storage_type)
        return col

    with psycopg.connect(uri) as conn:
        wd.create_baseline_table(conn, cfg)
        cols = ", ".join(cfg.column_names)
        t0 = time.perf_counter()
        body = s3.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
        pf = pq.ParquetFile(io.BytesIO(body))
        encoder = None
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy(f"COPY {wd.BASELINE_TABLE} ({cols}) FROM STDIN (FORMAT binary)") as copy:
                for batch in pf.iter_batches(batch_size=65536):
                    arrays = [plain(pa.chunked_array([a])) for a in batch.columns]
                    b = pa.Table.from_arrays(arrays, names=batch.schema.names).to_batches()[0]
                    if encoder is None:
                        encoder = pgpq.ArrowToPostgresBinaryEncoder(b.schema)
                        copy.write(encoder.write_header())
                    copy.write(encoder.write_batch(b))
                copy.write(encoder.finish())
        secs = time.perf_counter() - t0
        conn.execute(f"DROP TABLE {wd.BASELINE_TABLE}")
        conn.commit()
    return secs


def main() -> int:
    import psycopg

    from dw.config import warehouse_tables
    from dw.warehouse.migrate import migrate

    tables = warehouse_tables()
    cfg = tables["job_ran_fact"]
    rows = scaled(1_000_000, 1000)
    load_before = os.getloadavg()
    with stack() as st, fresh_database(st) as uri, fresh_bucket(st) as s3:
        migrate(uri, dates=wd.FACT_MONTHS)
        with psycopg.connect(uri) as conn:
            x = wd.put_fact_extracts(conn, s3, cfg, rows, wd.fact_dimension_sizes())
            _, csv_key, csv_bytes = x["fresh"]
            # the binary object: the CSV parsed once into the stage's types, written as COPY binary
            wd.create_baseline_table(conn, cfg)
            with conn.cursor() as cur:
                body = s3.get_object(Bucket=s3.bucket, Key=csv_key)["Body"]
                with cur.copy(f"COPY {wd.BASELINE_TABLE} FROM STDIN (FORMAT csv, HEADER true)") as copy:
                    for chunk in body.iter_chunks(chunk_size=1 << 20):
                        copy.write(chunk)
                fd, path = tempfile.mkstemp(suffix=".pgcopy")
                with os.fdopen(fd, "wb") as f:
                    with cur.copy(f"COPY {wd.BASELINE_TABLE} TO STDOUT (FORMAT binary)") as copy:
                        for chunk in copy:
                            f.write(chunk)
            conn.rollback()
            bin_key = "extracts/job_ran_fact/fresh.pgcopy"
            s3.upload_file(path, s3.bucket, bin_key)
            bin_bytes = os.path.getsize(path)
            os.unlink(path)
        times: dict[str, list[float]] = {"csv": [], "binary": []}
        try:
            import pgpq  # noqa: F401
            pq_key = parquet_object(s3, csv_key, cfg)
            times["parquet_pgpq"] = []
        except ImportError:
            pq_key = None
        for _ in range(3):
            for fmt, key in (("csv", csv_key), ("binary", bin_key)):
                times[fmt].append(copy_object(uri, cfg, s3, key, fmt))
            if pq_key:
                times["parquet_pgpq"].append(copy_parquet(uri, cfg, s3, pq_key))
        for fmt in times:
            log(f"{fmt}: " + ", ".join(f"{t:.2f}s" for t in times[fmt]))
        out = {"rows": rows, "csv_bytes": csv_bytes, "binary_bytes": bin_bytes, "times": times,
               "binary_over_csv_best": min(times["binary"]) / min(times["csv"]),
               "parquet_pgpq_over_csv_best": min(times["parquet_pgpq"]) / min(times["csv"]) if pq_key else None,
               "load_average": {"before": load_before, "after": os.getloadavg()}}
        print(json.dumps(out, indent=2))
        if os.environ.get("BENCH_OUT"):
            with open(os.environ["BENCH_OUT"], "w") as f:
                json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
