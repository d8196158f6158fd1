"""Benchmark 2: dimension loads against the raw-COPY baseline of benchmark 1.

- SCD1: ``user_dim``, 200,000 rows (x BENCH_SCALE), into an empty table; then an unchanged re-run.
- The contracts (docs/decisions/0043): the statements every load adds on the common path, and the
  unchanged re-run with one row PostgreSQL refuses (quarantined: the slow path), both against the
  unchanged re-run.
- SCD2: ``subscription_dim``, 200,000 subscriptions loaded once (setup, also reported), then a
  second extract with 5% of them changed (``product_handle``, a tracked column, at a later
  ``source_updated_at``). An SCD2 extract holds every observation in the lake of the keys it
  contains (docs/decisions/0011), so it is the 200,000 first observations plus the 10,000 new
  ones: 10,000 versions closed and as many opened.

Baseline: a raw psycopg COPY of the same extract object into an index-free UNLOGGED table
(``bench.warehouse_data.copy_baseline``), the fastest of two runs.
"""

from __future__ import annotations

from bench import warehouse_data as wd
from bench.common import Report, fresh_bucket, fresh_database, scaled

NAME = "dim_load"


EVERY = 20  # 5% of the SCD2 keys changed: a new plan at a later source version; the other 95% as they were


def extracts(conn, s3, tables, n: int) -> tuple:
    """The SCD1 extract, the SCD2 first extract and the SCD2 5%-changed one on S3, each
    (uri, key, bytes)."""
    scd1, scd2 = tables["user_dim"], tables["subscription_dim"]
    u = wd.put_extract(conn, s3, scd1, wd.dimension_select("user_dim", n), "scd1")
    s1 = wd.put_extract(conn, s3, scd2, wd.dimension_select("subscription_dim", n), "scd2-first")
    # every observation of the keys: the first one of each, and a second one for 5% of them
    cols, _ = wd.dimension_select("subscription_dim", n, version="g.v", changed="g.v = 1")
    observations = (f"FROM (SELECT i, 0 FROM generate_series(0, {n - 1}) AS i UNION ALL "
                    f"SELECT i, 1 FROM generate_series(0, {n - 1}) AS i WHERE i % {EVERY} = 0) AS g(i, v)")
    return u, s1, wd.put_extract(conn, s3, scd2, (cols, observations), "scd2-changed")


def run(st) -> Report:
    import psycopg

    from dw.config import warehouse_tables
    from dw.warehouse.migrate import migrate

    rep = Report(NAME)
    tables = warehouse_tables()
    n = scaled(200_000, 200)
    rep.fact("rows", n)
    with fresh_database(st) as uri, fresh_bucket(st) as s3:
        migrate(uri)
        scd1, scd2 = tables["user_dim"], tables["subscription_dim"]
        with psycopg.connect(uri) as conn:
            (u_uri, u_key, _), (s1_uri, s1_key, _), (s2_uri, s2_key, _) = extracts(conn, s3, tables, n)

        base = wd.best_baseline(uri, scd1, s3, u_key)
        secs, stats = wd.load(uri, scd1, u_uri, s3, tables)
        rep.add("SCD1 user_dim fresh", secs, "raw COPY", base, goal=3.0, note=stats.summary())
        before = wd.tuple_counts(uri, "user_dim")
        secs, stats = wd.load(uri, scd1, u_uri, s3, tables)
        writes = wd.writes_between(before, wd.tuple_counts(uri, "user_dim"))
        rep.add("SCD1 user_dim unchanged re-run", secs, "raw COPY", base, note=stats.summary())
        rep.fact("scd1_unchanged_writes", writes)
        unchanged = secs
        # the contracts (docs/decisions/0043): what every load now does on the common path (a
        # savepoint around the COPY, its quarantine and changes of the day replaced: nothing to
        # replace), per load; and the same re-run with one row PostgreSQL refuses (the slow path)
        rep.add("contracts' common-path statements per load", _common_path_cost(uri, scd1), "SCD1 unchanged re-run",
                unchanged)
        bucket = u_uri.split("/")[2]
        body = s3.get_object(Bucket=bucket, Key=u_key)["Body"].read()
        bad_key = u_key.replace("scd1", "scd1-one-refused")
        s3.put_object(Bucket=bucket, Key=bad_key,
                      Body=body + b"not-a-uuid,x,x,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z\n")
        secs, stats = wd.load(uri, scd1, u_uri.replace(u_key, bad_key), s3, tables)
        rep.add("SCD1 user_dim re-run with 1 refused row", secs, "SCD1 unchanged re-run", unchanged,
                note=stats.summary())

        base = wd.best_baseline(uri, scd2, s3, s1_key)
        secs, stats = wd.load(uri, scd2, s1_uri, s3, tables)
        rep.add("SCD2 subscription_dim first load", secs, "raw COPY", base, note=stats.summary())

        base = wd.best_baseline(uri, scd2, s3, s2_key)
        before = wd.tuple_counts(uri, "subscription_dim")
        secs, stats = wd.load(uri, scd2, s2_uri, s3, tables)
        writes = wd.writes_between(before, wd.tuple_counts(uri, "subscription_dim"))
        rep.add("SCD2 subscription_dim 5% changed", secs, "raw COPY", base, goal=3.0, note=stats.summary())
        rep.fact("scd2_changed_writes", writes)
        changed_rows = len(range(0, n, EVERY))
        if (stats.inserted, stats.updated) != (changed_rows, changed_rows):
            raise AssertionError(f"SCD2: {changed_rows} subscriptions changed (as many versions to close and to open), "
                                 f"the load wrote {stats.summary()}")
    return rep


def _common_path_cost(uri: str, cfg, reps: int = 50) -> float:
    """Seconds per load of the statements the contracts add to a load that meets no refused row,
    in a loader's transaction, best of ``reps`` (dw.load_quarantine and dw.schema_changes holding
    a year of another table's rows)."""
    import datetime as dt
    import time

    import psycopg

    from dw.contracts import record_changes
    from dw.warehouse import quarantine
    from dw.warehouse.load import LOADER_ROLE_SQL
    from dw.warehouse.sql import session_settings

    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("INSERT INTO dw.load_quarantine SELECT 'other', d::date, 'f', l, 'c', 'r', '{}', d "
                     "FROM generate_series('2023-01-01'::date, '2023-12-31', '1 day') d, generate_series(2, 21) l")
        conn.execute("ANALYZE dw.load_quarantine")
        best = float("inf")
        day = dt.date(2024, 1, 15)
        for _ in range(reps):
            with conn.transaction(), conn.cursor() as cur:
                for stmt in session_settings():
                    cur.execute(stmt)
                cur.execute(LOADER_ROLE_SQL)
                t0 = time.perf_counter()
                with conn.transaction():
                    pass
                for stmt in quarantine.replace_quarantine(False):
                    cur.execute(stmt, {"table": cfg.table, "run_date": day, "dates": [], "file": "f", "loaded_at": None})
                record_changes(cur, day, quarantine.SOURCE, cfg.table, "bench", [])
                best = min(best, time.perf_counter() - t0)
    return best
