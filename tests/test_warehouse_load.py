"""dw.warehouse.load.load_table and WarehouseLoadOperator against a real PostgreSQL and moto S3:
small CSV extracts uploaded to the ``lake`` bucket, loaded into a migrated ``warehouse``.
No mocks of psycopg or boto3.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
import time
import uuid
from decimal import Decimal

import psycopg
import pytest

from dw.config import NOT_APPLICABLE_ID, UNKNOWN_ID
from dw.warehouse.migrate import head_revision
from dw.warehouse.load import LoadContext, LoadError, LoadStats, load_table
from tests.helpers import csv_bytes, new_warehouse, org, run_migrate, warehouse_fingerprint

UTC = dt.timezone.utc
D1, D2, D3 = "2024-03-04", "2024-03-05", "2024-03-06"
AT1 = dt.datetime(2024, 3, 5, tzinfo=UTC)
AT2 = dt.datetime(2024, 3, 6, tzinfo=UTC)
ORG_A = "aaaaaaaa-0000-4000-8000-000000000001"
ORG_B = "aaaaaaaa-0000-4000-8000-000000000002"
PROJ_A = "bbbbbbbb-0000-4000-8000-000000000001"
PROJ_LATE = "bbbbbbbb-0000-4000-8000-00000000000f"
USER_A = "cccccccc-0000-4000-8000-000000000001"


# --------------------------------------------------------------------------- fixtures / helpers


@pytest.fixture
def wh(warehouse, lake, dw_tables):
    """A migrated warehouse; returns its URI."""
    run_migrate(warehouse, dw_tables)
    return warehouse


_seq = iter(range(1_000_000))


def put(lake, table: str, ds: str, header: list[str], rows: list[list]) -> str:
    key = f"extracts/{table}/dt={ds}/q{next(_seq):05d}.csv"
    lake.put_object(Bucket=lake.bucket, Key=key, Body=csv_bytes(header, rows))
    return f"s3://{lake.bucket}/{key}"


def load(wh, lake, tables, table: str, uri: str, ds: str = D1, at: dt.datetime = AT1) -> LoadStats:
    with psycopg.connect(wh) as con:
        return load_table(con, tables[table], uri, ds, at, lake, tables=tables)


def q(wh, query: str, params=()) -> list[tuple]:
    with psycopg.connect(wh) as con:
        return con.execute(query, params).fetchall()


def load_orgs(wh, lake, tables, rows, ds=D1, at=AT1) -> LoadStats:
    uri = put(lake, "organization_dim", ds, tables["organization_dim"].column_names, rows)
    return load(wh, lake, tables, "organization_dim", uri, ds, at)


def job(date=D1, org_id=ORG_A, proj=PROJ_A, user=USER_A, sub="sub_0", rc="medium", os_="linux", ex="docker",
        vis="public", outcome="success", dlc=False, jobs=1, credits=10, dlc_credits=3, minutes="1.500"):
    return [date, org_id, proj, user, sub, rc, os_, ex, vis, outcome, dlc, jobs, credits, dlc_credits, minutes]


def load_jobs(wh, lake, tables, rows, ds=D1, at=AT1) -> LoadStats:
    uri = put(lake, "job_ran_fact", ds, tables["job_ran_fact"].column_names, rows)
    return load(wh, lake, tables, "job_ran_fact", uri, ds, at)


def seed_dims(wh, lake, tables, projects=(PROJ_A,)):
    load_orgs(wh, lake, tables, [org(ORG_A, "acme", "2024-03-01T00:00:00Z"), org(ORG_B, "beta", "2024-03-01T00:00:00Z")])
    p = tables["project_dim"]
    uri = put(lake, "project_dim", D1, p.column_names,
              [[pid, ORG_A, f"p-{pid[-2:]}", "public", None, "2024-03-01T00:00:00Z"] for pid in projects])
    load(wh, lake, tables, "project_dim", uri)
    u = tables["user_dim"]
    uri = put(lake, "user_dim", D1, u.column_names, [[USER_A, "alice", "f00d" * 16, None, "2024-03-01T00:00:00Z"]])
    load(wh, lake, tables, "user_dim", uri)
    r = tables["resource_dim"]
    uri = put(lake, "resource_dim", D1, r.column_names, [["medium", "linux", "docker"], [None, "linux", "docker"]])
    load(wh, lake, tables, "resource_dim", uri)
    s2 = tables["subscription_dim"]
    uri = put(lake, "subscription_dim", D1, s2.column_names, [["sub_0", ORG_A, "free", "active", "2024-01-01T00:00:00Z"]])
    load(wh, lake, tables, "subscription_dim", uri)


def facts(wh, date=None) -> list[tuple]:
    where = "where date = %s" if date else ""
    return q(wh, f"""select date::text, organization_id::text, project_id::text, user_id::text, resource_id::text,
                            subscription_id::text, project_visibility::text, outcome::text, dlc, jobs_ran,
                            credits_used, dlc_credits_used, minutes_used
                     from dw.job_ran_fact {where} order by 1, 2, 3, 4, 5, 6, 7, 8, 9""", (date,) if date else ())


def xmins(wh, table: str) -> list[tuple]:
    return q(wh, f"select xmin::text, ctid::text from dw.{table} order by 1, 2")


def key(table: str, *values) -> str:
    """The surrogate key the warehouse must have computed, computed here independently."""
    return str(uuid.UUID(hashlib.md5("|".join([table, *values]).encode()).hexdigest()))


# --------------------------------------------------------------------------- SCD1 dimensions


def test_scd1_insert_rerun_change_and_keys(wh, lake, dw_tables):
    rows = [org(ORG_A, "acme", "2024-03-04T10:00:00Z"), org(ORG_B, "beta", "2024-03-04T10:00:00Z")]
    s = load_orgs(wh, lake, dw_tables, rows)
    assert (s.copied, s.inserted, s.updated, s.deleted) == (2, 2, 0, 0)
    got = q(wh, "select id::text, analytics_id::text, name, dw_created_at, dw_updated_at from dw.organization_dim "
                "where id not in (%s, %s) order by 2", (UNKNOWN_ID, NOT_APPLICABLE_ID))
    assert got == [
        (key("organization_dim", ORG_A), ORG_A, "acme", AT1, AT1),
        (key("organization_dim", ORG_B), ORG_B, "beta", AT1, AT1),
    ]

    # unchanged re-run: nothing written (stats, and no row got a new version)
    before = xmins(wh, "organization_dim")
    s = load_orgs(wh, lake, dw_tables, rows, at=AT2)
    assert (s.inserted, s.updated) == (0, 0)
    assert xmins(wh, "organization_dim") == before

    # a changed attribute updates that row only, stamped with the run's loaded_at
    s = load_orgs(wh, lake, dw_tables, [org(ORG_A, "acme inc", "2024-03-05T09:00:00Z"), rows[1]], ds=D2, at=AT2)
    assert (s.inserted, s.updated) == (0, 1)
    assert q(wh, "select name, dw_created_at, dw_updated_at from dw.organization_dim where analytics_id = %s",
             (ORG_A,)) == [("acme inc", AT1, AT2)]


def test_scd1_older_version_never_overwrites_newer(wh, lake, dw_tables):
    load_orgs(wh, lake, dw_tables, [org(ORG_A, "new name", "2024-03-05T09:00:00Z")], ds=D2, at=AT2)
    # the backfill of an earlier date arrives afterwards
    s = load_orgs(wh, lake, dw_tables, [org(ORG_A, "old name", "2024-03-04T09:00:00Z")], ds=D1, at=AT1)
    assert (s.inserted, s.updated) == (0, 0)
    assert q(wh, "select name, source_updated_at from dw.organization_dim where analytics_id = %s", (ORG_A,)) == [
        ("new name", dt.datetime(2024, 3, 5, 9, tzinfo=UTC))]


def test_scd1_duplicates_in_one_extract_resolve_to_latest(wh, lake, dw_tables):
    rows = [
        org(ORG_A, "v1", "2024-03-04T01:00:00Z"),
        org(ORG_A, "v3", "2024-03-04T03:00:00Z"),
        org(ORG_A, "v2", "2024-03-04T02:00:00Z"),
        # same version twice with different values: a deterministic pick, whatever the row order
        org(ORG_B, "x", "2024-03-04T01:00:00Z"),
        org(ORG_B, "y", "2024-03-04T01:00:00Z"),
    ]
    s = load_orgs(wh, lake, dw_tables, rows)
    assert (s.copied, s.inserted) == (5, 2)
    names = dict(q(wh, "select analytics_id::text, name from dw.organization_dim"))
    assert names[ORG_A] == "v3"
    picked = names[ORG_B]
    s = load_orgs(wh, lake, dw_tables, list(reversed(rows)))
    assert (s.inserted, s.updated) == (0, 0)
    assert dict(q(wh, "select analytics_id::text, name from dw.organization_dim"))[ORG_B] == picked


def test_unknown_member_is_never_touched(wh, lake, dw_tables):
    before = q(wh, "select * from dw.organization_dim")
    s = load_orgs(wh, lake, dw_tables, [org(UNKNOWN_ID, "hijacked", "2030-01-01T00:00:00Z"),
                                        org(NOT_APPLICABLE_ID, "hijacked", "2030-01-01T00:00:00Z")])
    assert (s.inserted, s.updated) == (0, 0)
    assert q(wh, "select * from dw.organization_dim") == before


def test_resource_dim_null_resource_class_inserted_once(wh, lake, dw_tables):
    r = dw_tables["resource_dim"]
    rows = [[None, "linux", "docker"], [None, "linux", "docker"], ["large", "linux", "docker"], [None, "macos", "macos"]]
    s = load(wh, lake, dw_tables, "resource_dim", put(lake, "resource_dim", D1, r.column_names, rows))
    assert (s.copied, s.inserted, s.updated) == (4, 3, 0)
    s = load(wh, lake, dw_tables, "resource_dim", put(lake, "resource_dim", D2, r.column_names, rows), D2, AT2)
    assert (s.inserted, s.updated) == (0, 0)
    got = q(wh, "select id::text, resource_class, operating_system::text, executor::text from dw.resource_dim "
                "where id not in (%s, %s) order by 2 nulls first, 3", (UNKNOWN_ID, NOT_APPLICABLE_ID))
    assert got == [
        (key("resource_dim", "\\N", "linux", "docker"), None, "linux", "docker"),
        (key("resource_dim", "\\N", "macos", "macos"), None, "macos", "macos"),
        (key("resource_dim", "large", "linux", "docker"), "large", "linux", "docker"),
    ]


# --------------------------------------------------------------------------- facts


def test_fact_measures_are_sums_and_duplicate_grains_aggregate(wh, lake, dw_tables):
    seed_dims(wh, lake, dw_tables)
    rows = [
        job(credits=10, dlc_credits=1, minutes="1.250"),
        job(credits=20, dlc_credits=2, minutes="2.500"),  # same grain: aggregated
        job(credits=None, dlc_credits=4, minutes=None),  # same grain, NULL measures ignored by sum
        job(outcome="failed", credits=7, dlc_credits=None, minutes="0.001"),
        job(rc=None, credits=5, dlc_credits=5, minutes="3.000"),  # NULL resource_class resolves
    ]
    s = load_jobs(wh, lake, dw_tables, rows)
    assert (s.copied, s.inserted, s.updated, s.deleted, s.unknown) == (5, 3, 0, 0, 0)
    assert s.dates == [D1]
    org_a, proj_a, user_a = key("organization_dim", ORG_A), key("project_dim", PROJ_A), key("user_dim", USER_A)
    medium, null_rc = key("resource_dim", "medium", "linux", "docker"), key("resource_dim", "\\N", "linux", "docker")
    sub0 = key("subscription_dim", "sub_0", "-infinity")
    assert facts(wh) == sorted([
        (D1, org_a, proj_a, user_a, medium, sub0, "public", "success", False, 3, 30, 7, Decimal("3.750")),
        (D1, org_a, proj_a, user_a, medium, sub0, "public", "failed", False, 1, 7, None, Decimal("0.001")),
        (D1, org_a, proj_a, user_a, null_rc, sub0, "public", "success", False, 1, 5, 5, Decimal("3.000")),
    ])
    # totals equal the extract's, field by field (dlc_credits_used is not credits_used)
    assert q(wh, "select sum(jobs_ran), sum(credits_used), sum(dlc_credits_used), sum(minutes_used) "
                 "from dw.job_ran_fact") == [(5, 42, 12, Decimal("6.751"))]

    # unchanged re-run: nothing deleted, inserted or updated, no row rewritten
    before = xmins(wh, "job_ran_fact")
    s = load_jobs(wh, lake, dw_tables, rows, at=AT2)
    assert (s.deleted, s.inserted, s.updated) == (0, 0, 0)
    assert xmins(wh, "job_ran_fact") == before

    # a changed measure updates exactly that row, with the run's loaded_at
    rows[3] = job(outcome="failed", credits=8, dlc_credits=None, minutes="0.001")
    s = load_jobs(wh, lake, dw_tables, rows, at=AT2)
    assert (s.deleted, s.inserted, s.updated) == (0, 0, 1)
    assert q(wh, "select credits_used, dw_updated_at from dw.job_ran_fact where outcome = 'failed'") == [(8, AT2)]
    assert q(wh, "select count(*) from dw.job_ran_fact where dw_updated_at = %s", (AT1,)) == [(2,)]


def test_fact_unknown_member_fallback_and_many_unknowns_aggregate(wh, lake, dw_tables):
    seed_dims(wh, lake, dw_tables)
    missing = ["dddddddd-0000-4000-8000-00000000000%d" % i for i in range(3)]
    rows = [job(org_id=m, credits=i + 1) for i, m in enumerate(missing)] + [job(org_id=None, credits=100)]
    s = load_jobs(wh, lake, dw_tables, rows)
    # three organizations nobody knows: one row on the Unknown member, their sums added up; the
    # job without an organization on the Not applicable member, not counted as unknown
    assert (s.inserted, s.unknown) == (2, 1)
    assert q(wh, "select organization_id::text, jobs_ran, credits_used from dw.job_ran_fact order by 1") == [
        (UNKNOWN_ID, 3, 6), (NOT_APPLICABLE_ID, 1, 100)]


def test_null_key_is_not_applicable_unknown_key_is_unknown_and_only_that_heals(wh, lake, dw_tables):
    """docs/decisions/0044: a NULL project lands on Not applicable, a project that has not arrived
    on Unknown; only the second enters dw.unknown_member_dates and heals when it arrives. For
    resource_dim's three-column key, no operating system and no executor is Not applicable, only
    one of them missing is Unknown (a partial key: never healable, so not in the ledger either),
    and a NULL resource_class is a value of the key."""
    seed_dims(wh, lake, dw_tables)
    rows = [job(proj=None, credits=1), job(proj=PROJ_LATE, credits=2), job(os_=None, ex=None, credits=4),
            job(os_=None, credits=8), job(rc=None, credits=16)]
    s = load_jobs(wh, lake, dw_tables, rows)
    assert s.unknown == 2  # the late project and the partial resource key

    def where(col):
        return dict(q(wh, f"select {col}::text, sum(credits_used) from dw.job_ran_fact "
                          f"where {col} in (%s, %s) group by 1", (UNKNOWN_ID, NOT_APPLICABLE_ID)))

    assert where("project_id") == {NOT_APPLICABLE_ID: 1, UNKNOWN_ID: 2}
    assert where("resource_id") == {NOT_APPLICABLE_ID: 4, UNKNOWN_ID: 8}
    assert q(wh, "select count(*) from dw.job_ran_fact where resource_id = %s",
             (key("resource_dim", "\\N", "linux", "docker"),)) == [(1,)]
    # only the late project can heal: one row in the ledger for D1
    assert q(wh, "select date::text, source_rows from dw.unknown_member_dates where table_name = 'job_ran_fact'") == [
        (D1, 1)]

    # the project arrives; the next run restates the ledger's date: the Unknown project heals,
    # the Not applicable one stays, and the ledger is empty (the partial resource key never heals)
    p = dw_tables["project_dim"]
    load(wh, lake, dw_tables, "project_dim",
         put(lake, "project_dim", D2, p.column_names, [[PROJ_LATE, ORG_A, "late", "private", None, "2024-03-05T00:00:00Z"]]),
         D2, AT2)
    s = load_jobs(wh, lake, dw_tables, rows, ds=D2, at=AT2)
    assert s.unknown == 1
    assert where("project_id") == {NOT_APPLICABLE_ID: 1}
    assert q(wh, "select sum(credits_used) from dw.job_ran_fact where project_id = %s",
             (key("project_dim", PROJ_LATE),)) == [(2,)]
    assert q(wh, "select count(*) from dw.unknown_member_dates") == [(0,)]


def test_late_arriving_dimension_heals_on_reload(wh, lake, dw_tables):
    seed_dims(wh, lake, dw_tables)
    rows = [job(proj=PROJ_A, credits=1), job(proj=PROJ_LATE, credits=2), job(proj=PROJ_LATE, credits=3)]
    s = load_jobs(wh, lake, dw_tables, rows)
    assert (s.inserted, s.unknown) == (2, 1)
    assert q(wh, "select count(*) from dw.job_ran_fact where project_id = %s", (UNKNOWN_ID,)) == [(1,)]

    # the project arrives (a later dimension load); the date's fact reload heals
    p = dw_tables["project_dim"]
    load(wh, lake, dw_tables, "project_dim",
         put(lake, "project_dim", D2, p.column_names, [[PROJ_LATE, ORG_A, "late", "private", None, "2024-03-05T00:00:00Z"]]),
         D2, AT2)
    s = load_jobs(wh, lake, dw_tables, rows, at=AT2)
    assert (s.deleted, s.inserted, s.updated, s.unknown) == (1, 1, 0, 0)
    assert q(wh, "select count(*) from dw.job_ran_fact where project_id = %s", (UNKNOWN_ID,)) == [(0,)]
    assert q(wh, "select jobs_ran, credits_used from dw.job_ran_fact where project_id = %s",
             (key("project_dim", PROJ_LATE),)) == [(2, 5)]


def test_vanished_grain_is_removed(wh, lake, dw_tables):
    seed_dims(wh, lake, dw_tables)
    load_jobs(wh, lake, dw_tables, [job(outcome="running", credits=1), job(outcome="success", user=None, credits=2)])
    # next day's extract restates D1: the running job has finished
    s = load_jobs(wh, lake, dw_tables, [job(outcome="failed", credits=1), job(outcome="success", user=None, credits=2)],
                  ds=D2, at=AT2)
    assert (s.deleted, s.inserted, s.updated) == (1, 1, 0)
    assert sorted((r[7], r[10]) for r in facts(wh)) == [("failed", 1), ("success", 2)]


def test_only_the_extracts_dates_are_touched(wh, lake, dw_tables):
    seed_dims(wh, lake, dw_tables)
    load_jobs(wh, lake, dw_tables, [job(date=D1, credits=1), job(date=D2, credits=2), job(date=D3, credits=3)])
    d1_d3 = [r for r in xmins(wh, "job_ran_fact")]
    before = {D1: facts(wh, D1), D3: facts(wh, D3)}
    # an extract restating D2 only (with a different grain) leaves D1 and D3 alone
    s = load_jobs(wh, lake, dw_tables, [job(date=D2, outcome="failed", credits=20)], ds=D2, at=AT2)
    assert s.dates == [D2]
    assert (s.deleted, s.inserted) == (1, 1)
    assert facts(wh, D1) == before[D1] and facts(wh, D3) == before[D3]
    assert [r[7] for r in facts(wh, D2)] == ["failed"]
    assert len(set(xmins(wh, "job_ran_fact")) & set(d1_d3)) == 2
    # several dates in one extract are all restated
    s = load_jobs(wh, lake, dw_tables, [job(date=D1, credits=10), job(date=D3, credits=30)], ds=D3, at=AT2)
    assert s.dates == [D1, D3] and (s.deleted, s.inserted, s.updated) == (0, 0, 2)


def test_restating_dates_of_two_partitions_matches_rows_by_partition_and_ctid(wh, lake, dw_tables):
    """The fact is partitioned by month: one row on 2024-01-31 and one on 2024-02-01 each sit at
    ctid (0,1) of their partition. Restating both dates with the January grain gone deletes that
    row only (a bare ctid would match both) and updates the February row only."""
    seed_dims(wh, lake, dw_tables)
    jan, feb = "2024-01-31", "2024-02-01"
    s = load_jobs(wh, lake, dw_tables, [job(date=jan, credits=1), job(date=feb, credits=2)], ds=feb)
    assert s.inserted == 2
    assert q(wh, "select tableoid::regclass::text, ctid::text from dw.job_ran_fact order by 1") == [
        ("dw.job_ran_fact_p2024_01", "(0,1)"), ("dw.job_ran_fact_p2024_02", "(0,1)")]
    s = load_jobs(wh, lake, dw_tables, [job(date=jan, outcome="failed", credits=1), job(date=feb, credits=5)],
                  ds=feb, at=AT2)
    assert (s.deleted, s.inserted, s.updated) == (1, 1, 1)
    assert sorted((str(r[0]), r[7], r[10]) for r in facts(wh)) == [("2024-01-31", "failed", 1), ("2024-02-01", "success", 5)]


def test_a_date_without_its_partition_fails_clearly_and_the_loader_analyzes_partitions_only(wh, lake, dw_tables):
    """The load makes no partition (the loader can run no DDL): a date whose month migrate has
    not made fails, naming table, date, partition and what to do, and loads nothing. The load
    analyzes what it changed through dw.analyze_partition, which takes a partition of a
    partitioned table of dw and nothing else."""
    seed_dims(wh, lake, dw_tables)
    before = warehouse_fingerprint(wh)
    with pytest.raises(LoadError) as e:
        load_jobs(wh, lake, dw_tables, [job(date=D1), job(date="2024-05-02")], ds="2024-05-02")
    msg = str(e.value)
    assert all(s in msg for s in ("dw.job_ran_fact", "date 2024-05-02", "dw.job_ran_fact_p2024_05", "migrate")), msg
    assert D1 not in msg.split("no partition", 1)[1], msg  # only the date that has none
    assert warehouse_fingerprint(wh) == before
    load_jobs(wh, lake, dw_tables, [job(date=D1)])
    analyzed = q(wh, "select last_analyze is not null from pg_stat_user_tables where relid = 'dw.job_ran_fact_p2024_03'::regclass")
    assert analyzed == [(True,)]
    with psycopg.connect(wh) as con:
        con.execute("set role dw_loader")
        for name in ("job_ran_fact", "user_dim", "load_audit", "job_ran_fact_p2024_03; drop table dw.user_dim"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                con.execute("select dw.analyze_partition(%s)", (name,))
            con.rollback()
            con.execute("set role dw_loader")
    with psycopg.connect(wh) as con:
        con.execute("set role dw_analyst")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute("select dw.analyze_partition('job_ran_fact_p2024_03')")


def test_empty_extract_loads_nothing(wh, lake, dw_tables):
    seed_dims(wh, lake, dw_tables)
    load_jobs(wh, lake, dw_tables, [job()])
    before = warehouse_fingerprint(wh, with_audit=True)
    s = load_jobs(wh, lake, dw_tables, [])
    assert s == LoadStats()
    assert warehouse_fingerprint(wh, with_audit=True) == before


# --------------------------------------------------------------------------- unchanged dates (0032)


def load_jobs_full(wh, lake, tables, rows, ds=D1, at=AT1) -> LoadStats:
    """``load_jobs`` with a forced full restatement (no date skipped)."""
    uri = put(lake, "job_ran_fact", ds, tables["job_ran_fact"].column_names, rows)
    with psycopg.connect(wh) as con:
        return load_table(con, tables["job_ran_fact"], uri, ds, at, lake, tables=tables,
                          context=LoadContext(full_restatement=True))


def test_an_unchanged_date_is_skipped_and_is_what_a_full_restatement_writes(wh, lake, dw_tables):
    seed_dims(wh, lake, dw_tables)
    rows = [job(date=D1, credits=1), job(date=D1, outcome="failed", user=None), job(date=D2, credits=2)]
    s = load_jobs(wh, lake, dw_tables, rows)
    assert (s.inserted, s.skipped) == (3, [])
    before = warehouse_fingerprint(wh)
    # the same extract again, rows in another order: both dates skipped, nothing written
    s = load_jobs(wh, lake, dw_tables, rows[::-1], ds=D2, at=AT2)
    assert (s.dates, s.skipped, s.deleted, s.inserted, s.updated) == ([D1, D2], [D1, D2], 0, 0, 0)
    assert warehouse_fingerprint(wh) == before
    # a full restatement of the same extract finds nothing to write: the skipped dates were right
    s = load_jobs_full(wh, lake, dw_tables, rows, ds=D2, at=AT2)
    assert (s.skipped, s.deleted, s.inserted, s.updated) == ([], 0, 0, 0)
    # one date's slice changed: that date only is resolved and merged
    s = load_jobs(wh, lake, dw_tables, [job(date=D1, credits=1), job(date=D1, outcome="failed", user=None),
                                        job(date=D2, credits=7)], ds=D2, at=AT2)
    assert (s.dates, s.skipped, s.deleted, s.inserted, s.updated) == ([D1, D2], [D1], 0, 0, 1)
    assert [r[10] for r in facts(wh, D2)] == [7]
    assert q(wh, "select extract_rows from dw.load_totals where table_name = 'job_ran_fact' order by date") == [(2,), (1,)]


def test_a_date_is_not_skipped_once_a_dimension_it_looks_up_was_written(wh, lake, dw_tables):
    seed_dims(wh, lake, dw_tables)
    rows = [job(date=D1, proj=PROJ_A), job(date=D2, proj=PROJ_LATE)]
    s = load_jobs(wh, lake, dw_tables, rows)
    assert s.unknown == 1
    ledger = q(wh, "select date::text, source_rows, dw_updated_at from dw.unknown_member_dates")
    assert [r[:2] for r in ledger] == [(D2, 1)]
    # no dimension written since: D2's unknown member cannot have healed, both dates are skipped,
    # the ledger row stays, and a full restatement finds nothing to write
    s = load_jobs(wh, lake, dw_tables, rows, ds=D2, at=AT2)
    assert (s.skipped, s.deleted, s.inserted, s.updated) == ([D1, D2], 0, 0, 0)
    assert q(wh, "select date::text, source_rows, dw_updated_at from dw.unknown_member_dates") == ledger
    s = load_jobs_full(wh, lake, dw_tables, rows, ds=D2, at=AT2)
    assert (s.skipped, s.deleted, s.inserted, s.updated, s.unknown) == ([], 0, 0, 0, 1)
    # a dimension the fact looks up is written (a rename: the fact's keys stay): nothing skipped
    load_orgs(wh, lake, dw_tables, [org(ORG_A, "acme-renamed", "2024-03-05T00:00:00Z")], D2, AT2)
    s = load_jobs(wh, lake, dw_tables, rows, ds=D2, at=AT2)
    assert (s.skipped, s.deleted, s.inserted, s.updated) == ([], 0, 0, 0)
    # a dimension load that writes nothing moves no watermark
    load_orgs(wh, lake, dw_tables, [org(ORG_A, "acme-renamed", "2024-03-05T00:00:00Z")], D2, AT2)
    s = load_jobs(wh, lake, dw_tables, rows, ds=D2, at=AT2)
    assert s.skipped == [D1, D2]
    # the late project arrives (a write to project_dim: no date skipped): D2 heals, then both are skipped
    p = dw_tables["project_dim"]
    load(wh, lake, dw_tables, "project_dim",
         put(lake, "project_dim", D2, p.column_names, [[PROJ_LATE, ORG_A, "late", "private", None, "2024-03-05T00:00:00Z"]]),
         D2, AT2)
    s = load_jobs(wh, lake, dw_tables, rows, ds=D2, at=AT2)
    assert (s.skipped, s.deleted, s.inserted, s.unknown) == ([], 1, 1, 0)
    s = load_jobs(wh, lake, dw_tables, rows, ds=D3, at=AT2)
    assert s.skipped == [D1, D2]


def test_a_hand_edited_fact_is_repaired_only_by_a_full_restatement(wh, lake, dw_tables):
    seed_dims(wh, lake, dw_tables)
    rows = [job(date=D1, credits=1), job(date=D2, credits=2)]
    load_jobs(wh, lake, dw_tables, rows)
    right = facts(wh)
    q(wh, "update dw.job_ran_fact set credits_used = 999 where date = %s returning 1", (D1,))
    s = load_jobs(wh, lake, dw_tables, rows, ds=D2, at=AT2)
    assert s.skipped == [D1, D2] and [r[10] for r in facts(wh, D1)] == [999]
    s = load_jobs_full(wh, lake, dw_tables, rows, ds=D2, at=AT2)
    assert (s.skipped, s.updated) == ([], 1) and facts(wh) == right
    # a date whose rows are gone (a partition dropped by hand) is not skipped: it is loaded again
    q(wh, "delete from dw.job_ran_fact where date = %s returning 1", (D2,))
    s = load_jobs(wh, lake, dw_tables, rows, ds=D2, at=AT2)
    assert (s.skipped, s.inserted) == ([D1], 1) and facts(wh) == right


# --------------------------------------------------------------------------- SCD2


def sub(sid, product, state, updated, org_id=ORG_A):
    return [sid, org_id, product, state, updated]


def test_scd2_versions_and_as_of_lookup(wh, lake, dw_tables):
    """The extract holds every observation in the lake of the keys it touches (the contract of
    docs/decisions/0011): each load rebuilds those keys' histories."""
    s2 = dw_tables["subscription_dim"]

    def load_subs(rows, ds, at):
        return load(wh, lake, dw_tables, "subscription_dim", put(lake, "subscription_dim", ds, s2.column_names, rows), ds, at)

    o1 = sub("sub_1", "free", "active", "2024-03-04T08:00:00Z")
    o2 = sub("sub_1", "free", "active", "2024-03-05T01:00:00Z", org_id=ORG_B)  # an untracked attribute changed
    o3 = sub("sub_1", "pro", "active", "2024-03-05T12:00:00Z", org_id=ORG_B)  # a tracked one changed
    s = load_subs([o1], D1, AT1)
    assert (s.inserted, s.updated, s.deleted) == (1, 0, 0)
    assert load_subs([o1], D1, AT1) == LoadStats(copied=1)
    # an untracked attribute changes in place; a tracked one closes the version and opens one
    s = load_subs([o1, o2], D2, AT2)
    assert (s.inserted, s.updated, s.deleted) == (0, 1, 0)
    s = load_subs([o3, o1, o2, o2], D2, AT2)  # any order, duplicates across partitions
    assert (s.inserted, s.updated, s.deleted) == (1, 1, 0)
    # re-running either date (whose extract reads the same observations) writes nothing
    for ds, at in ((D1, AT1), (D2, AT2)):
        assert load_subs([o1, o2, o3], ds, at) == LoadStats(copied=3)
    versions = q(wh, "select id::text, product_handle, organization_analytics_id::text, valid_from::text, "
                     "valid_to::text, is_current from dw.subscription_dim where id not in (%s, %s) order by valid_from", (UNKNOWN_ID, NOT_APPLICABLE_ID))
    v1 = key("subscription_dim", "sub_1", "-infinity")
    v2 = key("subscription_dim", "sub_1", "2024-03-05 12:00:00+00")
    assert versions == [
        (v1, "free", ORG_B, "-infinity", "2024-03-05 12:00:00+00", False),
        (v2, "pro", ORG_B, "2024-03-05 12:00:00+00", "infinity", True),
    ]
    # facts look the version up as of their date
    seed_dims(wh, lake, dw_tables)
    load_jobs(wh, lake, dw_tables, [job(date=D1, sub="sub_1"), job(date=D2, sub="sub_1"), job(date=D3, sub="sub_1"),
                                    job(date=D3, sub="sub_unknown")], ds=D3)
    got = q(wh, "select date::text, subscription_id::text from dw.job_ran_fact order by 1, 2")
    assert got == [(D1, v1), (D2, v2), (D3, UNKNOWN_ID), (D3, v2)]


def test_scd2_history_does_not_depend_on_load_order(stack, lake, dw_tables, monkeypatch):
    """Loading a key's observations all at once, step by step, or newest first gives the same
    table; a back-and-forth change (free -> pro -> free) is three versions; a version whose
    observation is superseded by a new one in between is split, and one that vanishes is deleted."""
    s2 = dw_tables["subscription_dim"]
    obs = [sub("sub_9", "free", "active", "2024-03-01T00:00:00Z"), sub("sub_9", "pro", "active", "2024-03-02T00:00:00Z"),
           sub("sub_9", "free", "active", "2024-03-03T00:00:00Z"), sub("sub_9", "free", "canceled", "2024-03-04T00:00:00Z")]

    def build(steps) -> dict:
        uri = new_warehouse(stack, monkeypatch)
        run_migrate(uri, dw_tables)
        for rows in steps:
            load(uri, lake, dw_tables, "subscription_dim", put(lake, "subscription_dim", D1, s2.column_names, rows))
        return warehouse_fingerprint(uri)

    at_once = build([obs])
    assert build([obs[:1], obs[:2], obs[:3], obs]) == at_once
    assert build([obs[3:], obs[1:], obs]) == at_once
    # an observation learned late splits a version: free(-inf..03-02) pro free -> free pro free canceled
    assert build([[obs[0], obs[1], obs[3]], obs]) == at_once
    uri = new_warehouse(stack, monkeypatch)
    run_migrate(uri, dw_tables)
    load(uri, lake, dw_tables, "subscription_dim", put(lake, "subscription_dim", D1, s2.column_names, obs))
    assert q(uri, "select product_handle, state, valid_from::text, is_current from dw.subscription_dim "
                  "where id not in (%s, %s) order by valid_from", (UNKNOWN_ID, NOT_APPLICABLE_ID)) == [
        ("free", "active", "-infinity", False), ("pro", "active", "2024-03-02 00:00:00+00", False),
        ("free", "active", "2024-03-03 00:00:00+00", False), ("free", "canceled", "2024-03-04 00:00:00+00", True)]
    # a history that lost an observation (a corrected source) deletes the version it made
    s = load(uri, lake, dw_tables, "subscription_dim",
             put(lake, "subscription_dim", D1, s2.column_names, [obs[0], obs[2], obs[3]]))
    assert (s.deleted, s.inserted) == (2, 0)


def test_scd2_days_loaded_in_any_order_and_the_observations_seeded_from_versions(stack, lake, dw_tables, monkeypatch):
    """Each day's extract is its own partition only (docs/decisions/0021): the warehouse records
    each day's observations and rebuilds a key from all of them, so days loaded in order, in
    reverse, or one of them twice give the same table. A warehouse upgraded from the old load
    (no observations table) seeds it from its versions: the next day's load gives the same table
    as one that recorded every observation."""
    s2 = dw_tables["subscription_dim"]
    days = [("2024-03-01", sub("sub_7", "free", "active", "2024-03-01T05:00:00Z")),
            ("2024-03-02", sub("sub_7", "free", "active", "2024-03-02T05:00:00Z", org_id=ORG_B)),
            ("2024-03-03", sub("sub_7", "pro", "active", "2024-03-03T05:00:00Z", org_id=ORG_B)),
            ("2024-03-04", sub("sub_7", "free", "active", "2024-03-04T05:00:00Z", org_id=ORG_B)),
            ("2024-03-05", sub("sub_7", "free", "canceled", "2024-03-05T05:00:00Z", org_id=ORG_B))]

    def build(order, drop_observations_after: int | None = None) -> tuple[str, dict]:
        uri = new_warehouse(stack, monkeypatch)
        run_migrate(uri, dw_tables)
        for i, (ds, o) in enumerate(order):
            load(uri, lake, dw_tables, "subscription_dim", put(lake, "subscription_dim", ds, s2.column_names, [o]), ds)
            if i == drop_observations_after:  # the warehouse as the old load left it
                with psycopg.connect(uri) as con:
                    con.execute("DROP TABLE dw.subscription_dim_observations")
                run_migrate(uri, dw_tables)
        return uri, warehouse_fingerprint(uri)

    uri, in_order = build(days)
    assert q(uri, "select product_handle, state, valid_from::text, is_current from dw.subscription_dim "
                  "where id not in (%s, %s) order by valid_from", (UNKNOWN_ID, NOT_APPLICABLE_ID)) == [
        ("free", "active", "-infinity", False), ("pro", "active", "2024-03-03 05:00:00+00", False),
        ("free", "active", "2024-03-04 05:00:00+00", False), ("free", "canceled", "2024-03-05 05:00:00+00", True)]
    assert q(uri, "select count(*) from dw.subscription_dim_observations where dt is not null") == [(5,)]
    assert build(days[::-1])[1] == in_order
    assert build([days[2], days[0], days[4], days[1], days[3], days[2]])[1] == in_order
    seeded_uri, seeded = build(days, drop_observations_after=3)
    assert {k: v for k, v in seeded.items() if k != "subscription_dim_observations"} == \
        {k: v for k, v in in_order.items() if k != "subscription_dim_observations"}
    # a day loaded after the seed whose observation falls inside a seeded version splits it (the
    # seed holds each version's first and latest observation; the first version's start is
    # -infinity, so its first observation is not known: decision 0021)
    late = sub("sub_7", "pro", "past_due", "2024-03-03T12:00:00Z", org_id=ORG_B)
    for u in (uri, seeded_uri):
        load(u, lake, dw_tables, "subscription_dim", put(lake, "subscription_dim", "2024-03-06", s2.column_names, [late]),
             "2024-03-06")
    assert q(seeded_uri, "select product_handle, valid_from::text from dw.subscription_dim where id <> %s "
                         "order by valid_from", (UNKNOWN_ID,)) == \
        q(uri, "select product_handle, valid_from::text from dw.subscription_dim where id <> %s order by valid_from",
          (UNKNOWN_ID,))


# --------------------------------------------------------------------------- errors


def _bad_extracts(tables):
    f = tables["job_ran_fact"].column_names
    o = tables["organization_dim"].column_names
    good = job()
    return {
        "missing_object": ("job_ran_fact", None, r"does not exist"),
        "wrong_header": ("job_ran_fact", ([*f[:-1], "minutes"], [good]), r"header columns .* do not match"),
        "header_order": ("job_ran_fact", ([f[1], f[0], *f[2:]], [good]), r"another order"),
        "too_many_columns": ("job_ran_fact", (f, [good, [*good, "x"]]), r"line 3 \(data row 2\): extra data after last"),
        "too_few_columns": ("job_ran_fact", (f, [good, good[:-1]]), r"line 3 \(data row 2\): missing data for column"),
        # a value PostgreSQL refuses fails the load only under contract freeze (the table's, here)
        "unknown_enum": ("job_ran_fact", (f, [good, job(outcome="exploded")]),
                         r"column outcome: 1 row\(s\) with a new value of its enumerated type \(contract enum_values: freeze\)"),
        "out_of_range": ("job_ran_fact", (f, [good, job(credits=2**63)]),
                         r"column credits_used: 1 row\(s\) not converting to bigint \(contract data_type: freeze\)"),
        "bad_date": ("job_ran_fact", (f, [good, job(date="2024-02-30")]), r"column date: 1 row\(s\) not converting to date"),
        "null_natural_key": ("organization_dim", (o, [org(ORG_A, "a", "2024-03-04T00:00:00Z"),
                                                      org(None, "b", "2024-03-04T00:00:00Z")]),
                             r"column analytics_id: 1 row\(s\) NULL in a NOT NULL column \(contract data_type: freeze\)"),
        "empty_file": ("organization_dim", ([], []), r"empty"),
    }


BAD_CASES = ["missing_object", "wrong_header", "header_order", "too_many_columns", "too_few_columns", "unknown_enum",
             "out_of_range", "bad_date", "null_natural_key", "empty_file"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_extract_fails_naming_table_date_file_and_leaves_warehouse_unchanged(wh, lake, dw_tables, case):
    seed_dims(wh, lake, dw_tables)
    load_jobs(wh, lake, dw_tables, [job(), job(outcome="failed")])
    table, content, pattern = _bad_extracts(dw_tables)[case]
    if content is None:
        uri = f"s3://{lake.bucket}/extracts/{table}/dt={D2}/never-written.csv"
    elif content == ([], []):
        key_ = f"extracts/{table}/dt={D2}/empty.csv"
        lake.put_object(Bucket=lake.bucket, Key=key_, Body=b"")
        uri = f"s3://{lake.bucket}/{key_}"
    else:
        uri = put(lake, table, D2, *content)
    before = warehouse_fingerprint(wh, with_audit=True)
    frozen = {**dw_tables, table: dw_tables[table].model_copy(
        update={"contract": {"enum_values": "freeze", "data_type": "freeze"}})}
    with pytest.raises(LoadError) as err:
        load(wh, lake, frozen, table, uri, D2, AT2)
    msg = str(err.value)
    assert f"dw.{table}" in msg and f"dt={D2}" in msg and uri in msg, msg
    assert re.search(pattern, msg), msg
    assert not any(v in msg for v in ("exploded", str(2**63), "2024-02-30", '"x"')), msg  # never a value of the extract
    assert warehouse_fingerprint(wh, with_audit=True) == before
    # the ledger records the failed attempt, with the error, and no counts
    assert q(wh, "select table_name, date::text, outcome, extract_uri, rows_copied, error is not null "
                 "from dw.load_audit order by id desc limit 1") == [(table, D2, "failed", uri, None, True)]
    # the connection's transaction rolled back: no stage table, no lock left behind
    assert q(wh, "select count(*) from pg_locks where locktype = 'advisory' "
                 "and database = (select oid from pg_database where datname = current_database())") == [(0,)]


# --------------------------------------------------------------------------- the load ledger


def test_every_load_leaves_one_ledger_row_in_its_own_transaction(wh, lake, dw_tables):
    from dw.warehouse.load import LoadContext

    seed_dims(wh, lake, dw_tables)
    uri = put(lake, "job_ran_fact", D1, dw_tables["job_ran_fact"].column_names,
              [job(), job(outcome="failed"), job(user="cccccccc-0000-4000-8000-0000000000ff")])
    ctx = LoadContext(dag_id="warehouse", run_id="manual__x", task_id="facts.job_ran_fact.load", try_number=2,
                      query_id="q-1")
    with psycopg.connect(wh) as con:
        stats = load_table(con, dw_tables["job_ran_fact"], uri, D1, AT1, lake, tables=dw_tables, context=ctx)
    rows = q(wh, """select table_name, date::text, dag_id, run_id, task_id, try_number, extract_uri, query_id,
                           rows_copied, rows_deleted, rows_inserted, rows_updated, rows_unknown,
                           dates_restated::text, outcome, error, ended_at >= started_at
                    from dw.load_audit where table_name = 'job_ran_fact'""")
    assert rows == [("job_ran_fact", D1, "warehouse", "manual__x", "facts.job_ran_fact.load", 2, uri, "q-1",
                     3, 0, stats.inserted, 0, 1, "{2024-03-04}", "success", None, True)]
    # one row per dimension load too (seed_dims loaded five)
    assert q(wh, "select count(*) from dw.load_audit where outcome = 'success'") == [(6,)]
    # the analyst reads the ledger
    with psycopg.connect(wh) as con:
        con.execute("set role dw_analyst")
        assert con.execute("select count(*) from dw.load_audit").fetchone() == (6,)


# --------------------------------------------------------------------------- concurrency


def test_concurrent_loads_of_one_fact_serialize_without_deadlock(wh, lake, dw_tables):
    seed_dims(wh, lake, dw_tables)
    uris = {
        D1: put(lake, "job_ran_fact", D1, dw_tables["job_ran_fact"].column_names,
                [job(date=D1, credits=i) for i in range(50)] + [job(date=D1, outcome="failed")]),
        D2: put(lake, "job_ran_fact", D2, dw_tables["job_ran_fact"].column_names,
                [job(date=D2, credits=i) for i in range(50)] + [job(date=D2, proj=PROJ_LATE)]),
    }
    results, errors = {}, []

    def worker(ds):
        try:
            results[ds] = load(wh, lake, dw_tables, "job_ran_fact", uris[ds], ds)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    # hold the table's lock so that both loads are queued behind it at the same time
    with psycopg.connect(wh) as holder:
        holder.execute("select pg_advisory_xact_lock(hashtext('dw.job_ran_fact'))")
        threads = [threading.Thread(target=worker, args=(ds,)) for ds in (D1, D2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            waiting = q(wh, "select count(*) from pg_locks where locktype = 'advisory' and not granted "
                            "and database = (select oid from pg_database where datname = current_database())")[0][0]
            if waiting == 2:
                break
            time.sleep(0.05)
        assert waiting == 2
        holder.rollback()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert results[D1].inserted == 2 and results[D2].inserted == 2
    assert q(wh, "select date::text, sum(jobs_ran), sum(credits_used) from dw.job_ran_fact group by 1 order by 1") == [
        (D1, 51, sum(range(50)) + 10), (D2, 51, sum(range(50)) + 10)]


# --------------------------------------------------------------------------- operators


class _TI:
    def __init__(self, value):
        self.value = value
        self.pulled = []

    def xcom_pull(self, task_ids=None, **kwargs):
        self.pulled.append(task_ids)
        return self.value


def _ctx(ti, day=dt.datetime(2024, 3, 4, tzinfo=UTC)):
    return {"ti": ti, "data_interval_start": day, "data_interval_end": day + dt.timedelta(days=1)}


def test_operators_migrate_load_and_return_stats(warehouse, lake, dw_tables):
    from airflow.sdk.exceptions import AirflowFailException

    from dw.dag_factory import load_task
    from dw.operators.warehouse import MigrateWarehouseOperator

    result = MigrateWarehouseOperator(task_id="migrate").execute(_ctx(None))
    assert result["revision"] == head_revision()

    uri = put(lake, "organization_dim", D1, dw_tables["organization_dim"].column_names,
              [org(ORG_A, "acme", "2024-03-04T00:00:00Z")])
    op = load_task(task_id="load", table="organization_dim", extract_task_id="dimensions.organization_dim.extract")
    ti = _TI({"uri": uri, "rows": 1, "lake_state": {}})
    stats = op.execute(_ctx(ti))
    assert ti.pulled == ["dimensions.organization_dim.extract"]
    assert stats == {"copied": 1, "deleted": 0, "inserted": 1, "updated": 0, "unknown": 0, "dates": [], "quarantined": 0, "changes": []}
    # dw_created_at is the run's data_interval_end, not the wall clock
    assert q(warehouse, "select dw_created_at from dw.organization_dim where analytics_id = %s", (ORG_A,)) == [
        (dt.datetime(2024, 3, 5, tzinfo=UTC),)]
    assert op.execute(_ctx(_TI({"uri": uri, "lake_state": {}})))["inserted"] == 0
    # fails closed: an extract without a lake state is never loaded; the load redoes it (the lake
    # holds no organizations partition: an empty extract, a new object) and loads that
    before = {o["Key"] for o in lake.list_objects_v2(Bucket=lake.bucket, Prefix="extracts/organization_dim/")["Contents"]}
    assert op.execute(_ctx(_TI(uri)))["copied"] == 0
    after = {o["Key"] for o in lake.list_objects_v2(Bucket=lake.bucket, Prefix="extracts/organization_dim/")["Contents"]}
    assert len(after - before) == 1

    with pytest.raises(AirflowFailException, match="returned no extract URI"):
        op.execute(_ctx(_TI(None)))
    with pytest.raises(AirflowFailException, match=r"dw\.organization_dim dt=2024-03-04 .*does not exist"):
        op.execute(_ctx(_TI({"uri": uri + ".gone", "lake_state": {}})))
    with pytest.raises(ValueError, match="not in include/config/warehouse"):
        load_task(task_id="x", table="nope", extract_task_id="e")

    # a load reads only its own table's extracts, in the lake bucket: an XCom is data
    before = q(warehouse, "select count(*) from dw.load_audit")
    other = put(lake, "user_dim", D1, dw_tables["organization_dim"].column_names, [org(ORG_A, "x", "2024-03-04T00:00:00Z")])
    for foreign in (other, uri.replace(lake.bucket, "someone-elses-bucket"),
                    f"s3://{lake.bucket}/raw/chargify/customers_json/dt=2024-03-04/part-00000.jsonl.gz",
                    f"s3://{lake.bucket}/extracts/organization_dim/../user_dim/dt=2024-03-04/q.csv",
                    f"s3://{lake.bucket}/extracts/organization_dim_x/dt=2024-03-04/q.csv"):
        with pytest.raises(AirflowFailException, match=r"dw\.organization_dim dt=2024-03-04: refusing .*: a load "
                                                        r"reads only extracts under s3://.*/extracts/organization_dim/"):
            op.execute(_ctx(_TI(foreign)))
    assert q(warehouse, "select count(*) from dw.load_audit") == before  # refused before any load began


def test_operator_module_is_light_at_import():
    import subprocess
    import sys

    code = (
        "import sys, airflow.sdk; before = set(sys.modules); import dw.operators.warehouse; "
        "heavy = {m.split('.')[0] for m in set(sys.modules) - before} & "
        "{'psycopg', 'boto3', 'botocore', 'sqlalchemy', 'alembic'}; print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_a_load_waits_for_its_tables_lock_at_most_lock_timeout(wh, lake, dw_tables, monkeypatch):
    """One load per table at a time (the advisory lock), but never waiting without end: past
    LOCK_TIMEOUT the load fails with lock_not_available (55P03, not a data error: the task's
    retries run it again) and the warehouse is as it was."""
    import psycopg

    from dw.warehouse import load as load_mod

    seed_dims(wh, lake, dw_tables)
    uri = put(lake, "job_ran_fact", D1, dw_tables["job_ran_fact"].column_names, [job(date=D1, credits=1)])
    before = warehouse_fingerprint(wh)
    monkeypatch.setattr(load_mod, "LOCK_TIMEOUT", "300ms")
    with psycopg.connect(wh) as holder:
        holder.execute("select pg_advisory_xact_lock(hashtext('dw.job_ran_fact'))")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            load(wh, lake, dw_tables, "job_ran_fact", uri, D1)
        holder.rollback()
    assert warehouse_fingerprint(wh) == before
    assert load(wh, lake, dw_tables, "job_ran_fact", uri, D1).inserted == 1


# --------------------------------------------------------------------------- loads by key (0031)


def _always_by_key(cur, stage_rows, dimensions):
    from dw.warehouse import load as load_mod

    cur.execute(load_mod.DIMENSIONS_BY_KEY)
    return True


@pytest.mark.parametrize("case", ["scd1", "scd2", "heal", "order"])
def test_loads_by_key_give_the_same_tables(wh, lake, dw_tables, monkeypatch, stack, case):
    """The nested-loop plans of a small stage against a large dimension (hash and merge joins
    off) load what the planner's own plans load: the SCD1, SCD2 and fact tests, forced by key."""
    from dw.warehouse import load as load_mod

    monkeypatch.setattr(load_mod, "dimensions_by_key", _always_by_key)
    {"scd1": lambda: test_scd1_insert_rerun_change_and_keys(wh, lake, dw_tables),
     "scd2": lambda: test_scd2_versions_and_as_of_lookup(wh, lake, dw_tables),
     "heal": lambda: test_late_arriving_dimension_heals_on_reload(wh, lake, dw_tables),
     "order": lambda: test_scd2_history_does_not_depend_on_load_order(stack, lake, dw_tables, monkeypatch)}[case]()


def test_a_small_stage_looks_a_large_dimension_up_by_key(wh, lake, dw_tables):
    """300 extract rows against 5,000 users (more than BY_KEY_SHARE times as many): the SCD1
    upsert, the SCD2 statements and the fact resolve probe the dimensions' indexes and never scan
    a dimension whole; a stage as large as the dimension is left to the planner."""
    from psycopg import sql

    from dw.warehouse import dimension_sql, fact_sql
    from dw.warehouse.load import DIMENSIONS_BY_KEY, dimensions_by_key
    from dw.warehouse.sql import STAGE, analyze, create_stage, session_settings

    with psycopg.connect(wh) as con:
        con.execute("INSERT INTO dw.user_dim (id, analytics_id, login, dw_created_at, dw_updated_at) "
                    "SELECT md5('u' || g)::uuid, md5('a' || g)::uuid, 'u' || g, %s, %s FROM generate_series(1, 5000) AS g",
                    (AT1, AT1))
        con.execute("INSERT INTO dw.subscription_dim (id, subscription_id, product_handle, state, source_updated_at, "
                    "valid_from, valid_to, is_current, dw_created_at, dw_updated_at) "
                    "SELECT md5('s' || g)::uuid, 's' || g, 'free', 'active', %s, '-infinity', 'infinity', true, %s, %s "
                    "FROM generate_series(1, 5000) AS g", (AT1, AT1, AT1))
        con.commit()
        con.execute("ANALYZE dw.user_dim")
        con.execute("ANALYZE dw.subscription_dim")
        con.commit()

        def plans(cfg, fill: str, rows: int) -> tuple[bool, str]:
            with con.transaction(force_rollback=True), con.cursor() as cur:
                for stmt in session_settings():
                    cur.execute(stmt)
                cur.execute(create_stage(cfg))
                cur.execute(sql.SQL(fill).format(STAGE, sql.Literal(rows)))
                cur.execute(analyze(STAGE))
                dims = [lk.dimension for lk in cfg.lookups] if cfg.kind == "fact" else [cfg.table]
                by_key = dimensions_by_key(cur, rows, dims)
                if cfg.kind == "fact":
                    stmts = [fact_sql.fact_resolve(dw_tables[cfg.table], dw_tables)]
                elif cfg.scd == 2:
                    s = dimension_sql.scd2_statements(cfg)
                    cur.execute(s["obs"])
                    cur.execute(s["versions"])
                    stmts = [s["delete"], s["close"], s["update"], s["open"]]
                else:
                    stmts = [dimension_sql.dimension_upsert(cfg)]
                out = []
                for stmt in stmts:
                    out += [r[0] for r in cur.execute(sql.SQL("EXPLAIN ") + stmt, {"loaded_at": AT2}).fetchall()]
                return by_key, "\n".join(out)

        users = ("INSERT INTO {} (analytics_id, login, source_updated_at) "
                 "SELECT md5('a' || g * 16)::uuid, 'x', timestamptz '2024-03-05' FROM generate_series(1, {}) AS g")
        subs = ("INSERT INTO {} (subscription_id, organization_analytics_id, product_handle, state, source_updated_at) "
                "SELECT 's' || g * 16, NULL, 'pro', 'active', timestamptz '2024-03-05' FROM generate_series(1, {}) AS g")
        jobs = ("INSERT INTO {} (date, user_analytics_id, subscription_billing_id, project_visibility, outcome, dlc, jobs_ran) "
                "SELECT date '2024-03-04', md5('a' || g * 16)::uuid, 's' || g * 16, 'public', 'success', false, 1 "
                "FROM generate_series(1, {}) AS g")
        for cfg, fill, dim in ((dw_tables["user_dim"], users, "user_dim"), (dw_tables["subscription_dim"], subs, "subscription_dim"),
                               (dw_tables["job_ran_fact"], jobs, "user_dim")):
            by_key, plan = plans(cfg, fill, 300)
            assert by_key, cfg.table
            assert f"Seq Scan on {dim}" not in plan, plan
            assert re.search(rf"Index (Only )?Scan using \w+ on {dim}", plan), plan
            assert "Hash Join" not in plan and "Merge Join" not in plan, plan
            assert not plans(cfg, fill, 5000)[0]  # as many rows as the dimension: the planner's choice
    assert DIMENSIONS_BY_KEY
