"""The lake's SQL and LakeQueryOperator against the real local stack (moto S3 server, DuckDB with
the pinned httpfs extension; moto's Athena API for the deferrable path). No mocks.

- every raw table's Athena DDL matches its source config (one schema, two engines);
- every extract SQL file runs on DuckDB against generated lake data and yields its table's columns;
- the job_ran_fact extract restates every touched date from the latest versions in the lake;
- the operator writes a new extract object per attempt and fails cleanly on a bad query;
- on Athena it starts the query and defers on the provider's trigger.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile

import pendulum
import pytest
from bson import ObjectId

from dw.config import mongo_source, warehouse_tables
from dw.lake import RawPartition

UTC = dt.timezone.utc
D1, D2, D3 = "2024-03-04", "2024-03-05", "2024-03-06"
ORG = "aaaaaaaa-0000-4000-8000-000000000001"
PROJ = "bbbbbbbb-0000-4000-8000-000000000001"
PROJ2 = "bbbbbbbb-0000-4000-8000-000000000002"
USER = "cccccccc-0000-4000-8000-000000000001"


def ctx(ds: str) -> dict:
    day = pendulum.parse(ds, tz="UTC")
    return {"data_interval_start": day, "data_interval_end": day.add(days=1), "ti": None}


def land(lake, collection: str, ds: str, docs: list[dict]) -> None:
    """Write docs as the raw partition of ``collection`` for ``ds``, like ingest_mongo does."""
    from dw.sources.mongo import write_parquet

    coll = mongo_source().collections[collection]
    fd, path = tempfile.mkstemp(suffix=".parquet")
    os.close(fd)
    try:
        write_parquet([docs], coll, path=path, pii_key=b"k" * 32)
        part = RawPartition("mongo", collection, ds)
        lake.upload_file(path, lake.bucket, part.key)
    finally:
        os.unlink(path)


def t(ds: str, hh: int = 10, mm: int = 0) -> dt.datetime:
    d = dt.date.fromisoformat(ds)
    return dt.datetime(d.year, d.month, d.day, hh, mm)


def job(oid: str, started: dt.datetime, updated: dt.datetime, **over) -> dict:
    d = {
        "_id": ObjectId(oid), "organization_analytics_id": ORG, "project_analytics_id": PROJ,
        "user_analytics_id": USER, "subscription_id": "6100001", "started_at": started,
        "stopped_at": updated, "outcome": "success", "resource_class": "medium", "executor": "docker",
        "operating_system": "linux", "dlc": False, "credits_used": 10, "dlc_credits_used": 0,
        "minutes_used": 1.5, "updated_at": updated,
    }
    d.update(over)
    return d


def project(pid: str, vis: str, updated: dt.datetime) -> dict:
    return {"_id": ObjectId(), "analytics_id": pid, "organization_analytics_id": ORG, "name": "p",
            "visibility": vis, "created_at": t(D1, 0), "updated_at": updated}


def run_extract(table: str, ds: str) -> tuple[dict, list[dict]]:
    from dw.dag_factory import lake_query_task

    out = lake_query_task(task_id="extract", table=table).execute(ctx(ds))
    return out, read_csv(out["uri"])


def read_csv(uri: str) -> list[dict]:
    from dw.hooks.lake import s3_client
    from dw.lake import split_s3_uri

    bucket, key = split_s3_uri(uri)
    body = s3_client().get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return list(csv.DictReader(io.StringIO(body)))


# --------------------------------------------------------------------------- DDL and files


ATHENA_TYPE = {"object_id": "VARCHAR", "uuid": "VARCHAR", "string": "VARCHAR", "json": "VARCHAR",
               "timestamp": "TIMESTAMP", "bool": "BOOLEAN", "int64": "BIGINT", "float64": "DOUBLE"}


def test_mongo_ddl_matches_the_source_config():
    from dw.lake_sql import ddl_dir, raw_table_columns, render_ddl

    src = mongo_source()
    for name, coll in src.collections.items():
        cols = raw_table_columns(f"raw_mongo_{name}")
        want = [
            (coll.lake_column(f), f"DECIMAL({fc.precision}, {fc.scale})" if fc.type == "decimal" else ATHENA_TYPE[fc.type])
            for f, fc in coll.fields.items()
        ]
        assert [(c.name, c.athena_type) for c in cols] == want, name
        ddl = render_ddl(f"raw_mongo_{name}")
        assert f"LOCATION 's3://dw-lake/raw/mongo/{name}/'" in ddl
        assert f"'storage.location.template' = 's3://dw-lake/raw/mongo/{name}/dt=${{dt}}/'" in ddl
        assert "'projection.enabled' = 'true'" in ddl and "PARTITIONED BY (dt string)" in ddl
    assert sorted(p.stem for p in ddl_dir().glob("raw_mongo_*.sql")) == sorted(f"raw_mongo_{n}" for n in src.collections)


def test_every_extract_reads_only_raw_tables_with_ddl_and_declared_lake_tables():
    from dw.lake_sql import ddl_dir, raw_tables_in, render_extract

    for name, cfg in warehouse_tables().items():
        if not cfg.loaded:
            continue
        used = raw_tables_in(render_extract(name, D1))
        assert used, name
        assert set(used) <= set(cfg.lake_tables), (name, used, cfg.lake_tables)
        for raw in used:
            assert (ddl_dir() / f"{raw}.sql").exists(), (name, raw)


def test_render_rejects_bad_dates_and_unknown_variables(tmp_path):
    from dw.lake_sql import LakeQueryError, render_extract

    with pytest.raises(ValueError, match="not a YYYY-MM-DD"):
        render_extract("job_ran_fact", "2024-03-04'; drop table x; --")
    bad = tmp_path / "x.sql"
    bad.write_text("select 1 from raw_mongo_jobs where dt = '{{ rundate }}'")
    with pytest.raises(LakeQueryError, match="rundate"):
        render_extract("job_ran_fact", D1, bad)


# --------------------------------------------------------------------------- every extract on DuckDB


def land_generated_day(stack, mongo_app, ds: str = D1, scale: float = 0.005) -> None:
    """Generated source data for day ``ds``, landed by the real ingestion operators (MongoDB and
    the vendor stand-ins)."""
    from dw.config import vendor_source
    from devstack import generate, vendors
    from dw.dag_factory import mongo_task
    from dw.dag_factory import vendor_task

    day = dt.date.fromisoformat(ds)
    generate.seed_base(mongo_app, scale=scale)
    generate.seed_day(mongo_app, day, scale=scale)
    for name in mongo_source().collections:
        mongo_task(task_id=name, collection=name).execute(ctx(ds))
    vendors.configure_all(stack.vendor_urls(), seed=42, scale=scale,
                          now=dt.datetime.combine(day + dt.timedelta(days=1), dt.time(3), UTC))
    for source in ("stripe", "amplitude", "chargify"):
        for name in vendor_source(source).entities:
            vendor_task(task_id=name, source=source, entity=name).execute(
                dict(ctx(ds), params={"full_history": True}))


# Extracts that still read every partition of a raw table (docs/decisions/0020: the SCD2
# dimension rebuilds each touched subscription's whole history).
UNBOUNDED: set[str] = set()


def test_partitions_outside_an_extracts_bounds_are_never_read(stack, lake, mongo_app, vendor_standins):
    """Every extract reads a bounded set of dt partitions (its literal bounds, dw.lake_sql.dt_bounds,
    whatever the lake's length): with unreadable garbage in the partitions just outside the
    bounds and a year before them, each extract still succeeds with the same rows; garbage
    inside the bounds fails it (the check can fail)."""
    from dw.lake_sql import dt_bounds, raw_table_prefix, render_extract, shift

    land_generated_day(stack, mongo_app)
    checked = []
    for name, cfg in warehouse_tables().items():
        if not cfg.loaded:
            continue
        bounds = dt_bounds(render_extract(name, D1, unknown_member_dates=[shift(D1, -7), shift(D1, 7)], database="x"))
        if name in UNBOUNDED:
            assert None in bounds.values(), f"{name} is bounded now: drop it from UNBOUNDED"
            continue
        assert None not in bounds.values(), (name, bounds)
        _, before = run_extract(name, D1)
        garbage = [f"{raw_table_prefix(t)}dt={d}/part-00000.parquet"
                   for t, (lo, hi) in bounds.items() for d in (shift(lo, -1), shift(hi, 1), shift(lo, -365))]
        for key in garbage:
            lake.put_object(Bucket=lake.bucket, Key=key, Body=b"PAR1 not a parquet file")
        try:
            _, after = run_extract(name, D1)
        finally:
            lake.delete_objects(Bucket=lake.bucket, Delete={"Objects": [{"Key": k} for k in garbage]})
        assert sorted(map(str, after)) == sorted(map(str, before)), name
        checked.append(name)
    assert "job_ran_fact" in checked and "subscription_dim" in checked and len(checked) == 8
    # garbage inside job_ran_fact's bounds (a partition it may read) does fail the extract
    from airflow.sdk.exceptions import AirflowFailException

    lake.put_object(Bucket=lake.bucket, Key=f"{raw_table_prefix('raw_mongo_jobs')}dt={shift(D1, -1)}/part-00000.parquet",
                    Body=b"PAR1 not a parquet file")
    with pytest.raises(AirflowFailException):
        run_extract("job_ran_fact", D1)


def test_every_extract_runs_on_duckdb_and_yields_its_columns(stack, lake, mongo_app, vendor_standins):
    """Generated source data, landed by the real ingestion operators (MongoDB and the vendor
    stand-ins), then every loaded table's extract on DuckDB: the CSV header is exactly the
    table's configured columns, and every extract has rows."""
    land_generated_day(stack, mongo_app)
    for name, cfg in warehouse_tables().items():
        if not cfg.loaded:
            continue
        out, rows = run_extract(name, D1)
        assert out["rows"] == len(rows) > 0, name
        assert list(rows[0]) == cfg.column_names, name
        assert out["uri"].startswith(f"s3://{lake.bucket}/extracts/{name}/dt={D1}/duckdb-") and out["uri"].endswith(".csv")


def test_extract_csv_is_athena_format(stack, lake):
    """Header line, every value quoted, NULL an empty unquoted field (what COPY ... csv reads)."""
    land(lake, "organizations", D1, [
        {"_id": ObjectId(), "analytics_id": ORG, "name": 'Acme, "the" co', "vcs_type": None,
         "plan_tier": "", "created_at": t(D1, 1), "updated_at": t(D1, 2)},
    ])
    out, _ = run_extract("organization_dim", D1)
    from dw.hooks.lake import s3_client
    from dw.lake import split_s3_uri

    bucket, key = split_s3_uri(out["uri"])
    text = s3_client().get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    assert text.splitlines() == [
        '"analytics_id","name","vcs_type","plan_tier","created_at","source_updated_at"',
        f'"{ORG}","Acme, ""the"" co",,"","2024-03-04 01:00:00","2024-03-04 02:00:00"',
    ]


# --------------------------------------------------------------------------- job_ran_fact semantics


def test_job_ran_fact_restates_touched_dates_from_latest_versions(stack, lake):
    a, b, c, m = "65e5a0000000000000000001", "65e5a0000000000000000002", "65e5a0000000000000000003", "65e5a0000000000000000004"
    land(lake, "projects", D1, [project(PROJ, "private", t(D1, 0)), project(PROJ2, "public", t(D1, 0))])
    land(lake, "projects", D2, [project(PROJ, "public", t(D2, 5)), project(PROJ2, "public", t(D1, 0))])
    # D1: job a (done), job b still running at midnight, job m on D1 (moves to D2 later)
    land(lake, "jobs", D1, [
        job(a, t(D1, 9), t(D1, 9, 30), credits_used=7),
        job(b, t(D1, 23, 50), t(D1, 23, 50), outcome="running", stopped_at=None, credits_used=None,
            dlc_credits_used=None, minutes_used=None),
        job(m, t(D1, 12), t(D1, 12, 5), project_analytics_id=PROJ2, outcome=None, dlc=None),
    ])
    # D2: b finishes (updated on D2, event date D1); m's start is corrected to D2; c runs on D2
    land(lake, "jobs", D2, [
        job(b, t(D1, 23, 50), t(D2, 0, 20), outcome="failed", credits_used=30, minutes_used=30),
        job(m, t(D2, 1), t(D2, 1, 5), project_analytics_id=PROJ2, outcome=None, dlc=None),
        job(c, t(D2, 8), t(D2, 8, 10), credits_used=5),
    ])
    _, rows = run_extract("job_ran_fact", D2)
    got = sorted((r["date"], r["project_visibility"], r["outcome"], r["dlc"], r["jobs_ran"], r["credits_used"],
                  r["minutes_used"]) for r in rows)
    assert got == [
        # D1 restated whole: a (not in D2's partition) with PROJ's latest visibility, b's latest version;
        # m is gone from D1 (its latest version started on D2)
        ("2024-03-04", "public", "failed", "false", "1", "30", "30.000"),
        ("2024-03-04", "public", "success", "false", "1", "7", "1.500"),
        # D2: c, and m (null outcome -> unknown, null dlc -> false, PROJ2's visibility)
        ("2024-03-05", "public", "success", "false", "1", "5", "1.500"),
        ("2024-03-05", "public", "unknown", "false", "1", "10", "1.500"),
    ]
    # D1's own extract, run after D2 landed, touches D1 only (its documents' versions up to D1)
    # and reads the latest versions within D1's window: the same D1 slice
    _, rows_d1 = run_extract("job_ran_fact", D1)
    got_d1 = sorted((r["date"], r["project_visibility"], r["outcome"], r["dlc"], r["jobs_ran"], r["credits_used"],
                     r["minutes_used"]) for r in rows_d1)
    assert got_d1 == [g for g in got if g[0] == "2024-03-04"]
    # a day with no job documents touches nothing: an empty extract (header only)
    land(lake, "jobs", D3, [])
    out, rows_d3 = run_extract("job_ran_fact", D3)
    assert (out["rows"], rows_d3) == (0, [])


def test_resource_dim_extract_keeps_null_resource_class(stack, lake):
    land(lake, "jobs", D1, [
        job("65e5a0000000000000000011", t(D1), t(D1), resource_class=None),
        job("65e5a0000000000000000012", t(D1), t(D1), resource_class=None),
        job("65e5a0000000000000000013", t(D1), t(D1), resource_class="large", executor=None),
        job("65e5a0000000000000000014", t(D1), t(D1), resource_class="large"),
    ])
    _, rows = run_extract("resource_dim", D1)
    assert sorted((r["resource_class"], r["executor"]) for r in rows) == [("", "docker"), ("large", "docker")]


# --------------------------------------------------------------------------- operator behaviour


def test_each_attempt_writes_a_new_extract_object(stack, lake):
    land(lake, "users", D1, [{"_id": ObjectId(), "analytics_id": USER, "login": "x", "email": "x@example.com",
                              "created_at": t(D1), "updated_at": t(D1)}])
    first, _ = run_extract("user_dim", D1)
    second, rows = run_extract("user_dim", D1)
    assert first["uri"] != second["uri"]
    keys = [o["Key"] for o in lake.list_objects_v2(Bucket=lake.bucket, Prefix=f"extracts/user_dim/dt={D1}/")["Contents"]]
    assert len(keys) == 2
    assert rows[0]["email_hash"] and "@" not in rows[0]["email_hash"]


def test_bad_query_fails_without_retry_and_writes_nothing(stack, lake, tmp_path, monkeypatch):
    import shutil

    from airflow.sdk.exceptions import AirflowFailException

    from dw import config, paths

    include = tmp_path / "include"
    shutil.copytree(paths.include_dir(), include)
    (include / "sql" / "athena" / "extract" / "user_dim.sql").write_text(
        "select analytics_id, login, no_such_column as email_hash, created_at, updated_at as source_updated_at\n"
        "from raw_mongo_users where dt = '{{ run_date }}'\n"
    )
    monkeypatch.setenv("DW_INCLUDE_DIR", str(include))
    config.clear_caches()
    land(lake, "users", D1, [])
    try:
        with pytest.raises(AirflowFailException, match=r"(?s)dw\.user_dim extract dt=2024-03-04: .*no_such_column.*user_dim\.sql"):
            run_extract("user_dim", D1)
    finally:
        config.clear_caches()
    assert "Contents" not in lake.list_objects_v2(Bucket=lake.bucket, Prefix="extracts/")


def test_raw_table_without_partitions_reads_as_empty(stack, lake):
    """A raw table with no partition at all is an empty table (as on Athena), not an error;
    whether the day's partition must exist is the lake_ready sensors' job."""
    out, rows = run_extract("organization_dim", D1)
    assert (out["rows"], rows) == (0, [])


def test_athena_path_starts_the_query_and_defers(stack, lake, monkeypatch):
    """Against moto's Athena API: the query is submitted with the rendered SQL, database,
    workgroup and output location, and the task defers on the provider's AthenaTrigger."""
    import json

    from airflow.providers.amazon.aws.triggers.athena import AthenaTrigger
    from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

    from dw.dag_factory import lake_query_task
    from dw.hooks.lake import lake_engine

    conn = json.loads(os.environ["AIRFLOW_CONN_AWS_LAKE"])
    conn["extra"].pop("lake_engine")
    monkeypatch.setenv("AIRFLOW_CONN_AWS_LAKE", json.dumps(conn))
    op = lake_query_task(task_id="extract", table="organization_dim", poll_interval=1, max_polls=5)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx(D1))
    trigger = deferred.value.trigger
    assert isinstance(trigger, AthenaTrigger) and deferred.value.method_name == "execute_complete"
    query_id = trigger.serialize()[1]["query_execution_id"]

    athena = lake_engine().get_conn()
    q = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert f"where dt = '{D1}'" in q["Query"]
    assert q["QueryExecutionContext"]["Database"] == "dw_lake"
    assert q["WorkGroup"] == "primary"
    # Athena (and moto) report the result object: the location given plus <query id>.csv
    assert q["ResultConfiguration"]["OutputLocation"] == f"s3://{lake.bucket}/extracts/organization_dim/dt={D1}/{query_id}.csv"

    # the trigger's success event: the task returns the location Athena reports
    out = op.execute_complete(ctx(D1), event={"status": "success", "value": query_id}, ds=D1)
    assert out == {"uri": f"s3://{lake.bucket}/extracts/organization_dim/dt={D1}/{query_id}.csv", "rows": None,
                   "query_id": query_id, "engine": "athena"}
    # a failed or cancelled query fails the task with Athena's state, never returns a URI
    athena.stop_query_execution(QueryExecutionId=query_id)
    with pytest.raises(AirflowFailException, match=rf"Athena query {query_id} ended CANCELLED"):
        op.execute_complete(ctx(D1), event={"status": "error", "value": query_id, "message": "waiter failed"}, ds=D1)


def oid_on(ds: str, n: int) -> str:
    """A MongoDB ObjectId created at noon UTC on ``ds`` (its first 4 bytes: the creation time)."""
    d = dt.date.fromisoformat(ds)
    ts = int(dt.datetime(d.year, d.month, d.day, 12, tzinfo=UTC).timestamp())
    return f"{ts:08x}{n:016x}"


def test_job_ran_fact_updates_inside_and_beyond_the_look_back(stack, lake, warehouse):
    """lake.yaml look_back_days (35): a correction 33 days after a job's creation restates its date
    whole (from a bounded window); a job moved to another day leaves its old date; an update 40
    days after creation is not restated but reported (late_documents) and recorded in
    dw.late_updates for the day that saw it (once, whatever the attempts), and reaches the fact
    when the day runs with a look_back_days that covers it (the run's param), which clears the
    record. The slice of a date is the same whichever run restates it."""
    import psycopg

    from tests.helpers import run_migrate

    run_migrate(warehouse, warehouse_tables())

    def late_rows():
        with psycopg.connect(warehouse) as con:
            return con.execute("select dt::text, table_name, documents, oldest_created::text, look_back_days, "
                               "recorded_by from dw.late_updates order by 1").fetchall()

    from dw.dag_factory import lake_query_task
    from dw.lake_sql import shift

    d0 = "2024-01-10"
    e, f, g, h = (oid_on(d0, i) for i in (1, 2, 3, 4))
    land(lake, "projects", d0, [project(PROJ, "private", t(d0, 0))])
    land(lake, "jobs", d0, [job(e, t(d0, 9), t(d0, 9, 30), credits_used=10), job(f, t(d0, 10), t(d0, 10, 30), credits_used=1),
                            job(g, t(d0, 11), t(d0, 11, 30), credits_used=100), job(h, t(d0, 12), t(d0, 12, 30), credits_used=1000)])
    d1, d2, d33, d40 = shift(d0, 1), shift(d0, 2), shift(d0, 33), shift(d0, 40)
    land(lake, "projects", d1, [project(PROJ, "private", t(d0, 0))])
    land(lake, "jobs", d2, [job(g, t(d1, 11), t(d2, 8), credits_used=100)])  # g moves to d1
    land(lake, "jobs", d33, [job(e, t(d0, 9), t(d33, 8), credits_used=20)])  # a billing-cycle correction
    land(lake, "jobs", d40, [job(h, t(d0, 12), t(d40, 8), credits_used=2000)])  # beyond the look-back

    def slice_of(ds: str, params: dict | None = None) -> tuple[dict, dict]:
        out = lake_query_task(task_id="extract", table="job_ran_fact").execute(dict(ctx(ds), params=params or {}))
        per_date: dict = {}
        for r in read_csv(out["uri"]):
            per_date.setdefault(r["date"], []).append((r["jobs_ran"], r["credits_used"]))
        return out, {k: sorted(v) for k, v in per_date.items()}

    _, on_d2 = slice_of(d2)  # g left d0 for d1 (and d0 already counts e's later correction)
    assert on_d2 == {d0: [("3", "1021")], d1: [("1", "100")]}
    out, on_d33 = slice_of(d33)  # e's correction restates d0 whole: f and h read from d0's partition
    assert on_d33 == {d0: [("3", "1021")]} and out["late_documents"] == 0
    out, on_d40 = slice_of(d40)  # h's update is 40 days after its creation: reported, not restated
    assert on_d40 == {} and (out["late_documents"], out["late_oldest_created"]) == (1, d0)
    slice_of(d40)  # a second attempt of the same day: the same record
    assert late_rows() == [(d40, "job_ran_fact", 1, d0, 35, "warehouse.extract")]
    _, on_d0 = slice_of(d0)  # d0's own run, after everything landed: the same slice as the d33 run
    assert on_d0 == {d0: [("3", "1021")]}
    out, wider = slice_of(d40, {"look_back_days": 45})  # the documented path for a late update
    assert wider == {d0: [("3", "2021")]} and out["late_documents"] == 0
    assert late_rows() == []  # restated: no longer listed


@pytest.mark.parametrize("evolved_day", [D1, D2])
def test_extracts_read_partitions_with_and_without_an_evolved_column(stack, lake, evolved_day):
    """A new field landed as an extra column (new_fields: evolve, decision 0042) on one day and not
    on the other: the extract reads both days by the DDL's columns, whichever comes first."""
    a, b = "65e5a0000000000000000011", "65e5a0000000000000000012"
    land(lake, "projects", D1, [project(PROJ, "public", t(D1, 0))])
    for ds, oid in ((D1, a), (D2, b)):
        # "ID" would land as a second `id` column: it is renamed id_2 (dw.lake_contract.lake_column_name)
        extra = {"runner_version": "2.1.0", "Odd Key": {"x": 1}, "ID": "not-the-id"} if ds == evolved_day else {}
        land(lake, "jobs", ds, [job(oid, t(ds, 9), t(ds, 9, 30), credits_used=7, **extra)])
    body = lake.get_object(Bucket=lake.bucket, Key=RawPartition("mongo", "jobs", evolved_day).key)["Body"].read()
    import pyarrow.parquet as pq

    names = pq.read_table(io.BytesIO(body)).column_names
    assert {"runner_version", "odd_key", "id_2"} <= set(names) and names.count("id") == 1
    # D2's extract restates D1 only if D2's documents touch it: a job of D1 updated on D2 does
    land(lake, "jobs", D2, [job(a, t(D1, 9), t(D2, 1), credits_used=8,
                                **({"runner_version": "2.1.0"} if evolved_day == D2 else {})),
                            job(b, t(D2, 9), t(D2, 9, 30), credits_used=7,
                                **({"runner_version": "2.1.0"} if evolved_day == D2 else {}))])
    _, rows = run_extract("job_ran_fact", D2)
    # one row per job: its latest version by id (job a's D2 version restates D1)
    assert sorted((r["date"], r["credits_used"], r["jobs_ran"]) for r in rows) == [("2024-03-04", "8", "1"),
                                                                                    ("2024-03-05", "7", "1")]
