"""dw.warehouse.migrate against a real PostgreSQL (the ``warehouse`` fixture): Alembic
migrations + tables generated from config, unknown members, date_dim, roles and grants,
idempotence and concurrency. No mocks.
"""

from __future__ import annotations

import threading

import psycopg
import pytest
from pydantic import ValidationError

from dw.config import NOT_APPLICABLE_ID, UNKNOWN_ID, TableConfig
from dw.warehouse.migrate import head_revision
from tests.helpers import run_migrate, warehouse_fingerprint

CONTRACT_JOB_RAN_FACT = [
    "date", "organization_id", "project_id", "user_id", "resource_id", "subscription_id",
    "project_visibility", "outcome", "dlc", "jobs_ran", "credits_used", "dlc_credits_used",
    "minutes_used", "dw_updated_at",
]
ENUMS = {
    "project_visibility_type": ["public", "private", "unknown", "not_applicable"],
    "operating_system_type": ["linux", "macos", "windows", "unknown", "not_applicable"],
    "executor_type": ["docker", "machine", "macos", "windows", "unknown", "not_applicable"],
    "job_outcome_type": ["success", "failed", "canceled", "infrastructure_fail", "timedout", "running", "unknown"],
}


def catalog_state(uri: str) -> dict:
    """Everything migrate could change, as comparable values."""
    q = {
        "tables": """select c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relacl::text
                     from pg_class c where c.relnamespace = 'dw'::regnamespace order by 1""",
        "columns": """select c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                             a.attacl::text
                      from pg_attribute a join pg_class c on c.oid = a.attrelid
                      where c.relnamespace = 'dw'::regnamespace and a.attnum > 0 and not a.attisdropped
                      order by 1, 2""",
        "constraints": """select conrelid::regclass::text, conname, pg_get_constraintdef(oid)
                          from pg_constraint where connamespace = 'dw'::regnamespace order by 1, 2""",
        "indexes": "select indexname, indexdef from pg_indexes where schemaname = 'dw' order by 1",
        "types": """select t.typname, e.enumsortorder, e.enumlabel from pg_type t join pg_enum e on e.enumtypid = t.oid
                    where t.typnamespace = 'dw'::regnamespace order by 1, 2""",
        "schema": "select nspname, pg_get_userbyid(nspowner), nspacl::text from pg_namespace where nspname = 'dw'",
        "default_acl": "select pg_get_userbyid(defaclrole), defaclobjtype, defaclacl::text from pg_default_acl order by 1, 2",
        "roles": """select rolname, rolcanlogin, rolsuper from pg_roles
                    where rolname in ('dw_loader', 'dw_analyst') order by 1""",
        "version": "select version_num from dw.alembic_version",
    }
    with psycopg.connect(uri) as con:
        out = {k: con.execute(v).fetchall() for k, v in q.items()}
    out["data"] = warehouse_fingerprint(uri, with_audit=True)
    return out


def test_migrate_creates_schema_types_tables_unknown_members_date_dim_roles(warehouse, dw_tables):
    result = run_migrate(warehouse, dw_tables)
    assert result["revision"] == head_revision()
    assert result["created"] == []  # the migrations make the config tables (0013, docs/decisions/0045)

    with psycopg.connect(warehouse) as con:
        tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'dw'")}
        assert tables >= set(dw_tables) | {"date_dim"}
        for typ, labels in ENUMS.items():
            got = [r[0] for r in con.execute(
                "select e.enumlabel from pg_enum e join pg_type t on t.oid = e.enumtypid "
                "where t.typnamespace = 'dw'::regnamespace and t.typname = %s order by e.enumsortorder", (typ,))]
            assert got == labels, typ
        roles = dict(con.execute(
            "select rolname, rolcanlogin from pg_roles where rolname in ('dw_loader', 'dw_analyst')").fetchall())
        assert roles == {"dw_loader": False, "dw_analyst": False}
        assert con.execute("select pg_get_userbyid(nspowner) from pg_namespace where nspname = 'dw'").fetchone()[0] == "dw_owner"

        # every dimension has exactly its Unknown and Not applicable members, with the configured values
        for name, cfg in dw_tables.items():
            if cfg.kind != "dimension":
                continue
            rows = con.execute(f"select id::text from dw.{name} order by id").fetchall()
            assert rows == [(UNKNOWN_ID,), (NOT_APPLICABLE_ID,)], name
        assert con.execute("select visibility::text, name from dw.project_dim order by id").fetchall() == [
            ("unknown", "Unknown"), ("not_applicable", "Not applicable")]
        assert con.execute(
            "select resource_class, operating_system::text, executor::text from dw.resource_dim order by id").fetchall() == [
            ("unknown", "unknown", "unknown"), ("not_applicable", "not_applicable", "not_applicable")]
        assert con.execute(
            "select subscription_id, valid_from::text, valid_to::text, is_current from dw.subscription_dim order by id"
        ).fetchall() == [("unknown", "-infinity", "infinity", True), ("not_applicable", "-infinity", "infinity", True)]

        # date_dim: 2000-01-01 .. 2050-12-31 plus the unknown member, deterministic keys
        n, lo, hi = con.execute("select count(date), min(date)::text, max(date)::text from dw.date_dim").fetchone()
        assert (n, lo, hi) == (18628, "2000-01-01", "2050-12-31")
        assert con.execute("select count(*) from dw.date_dim where id = %s", (UNKNOWN_ID,)).fetchone()[0] == 1
        row = con.execute(
            """select id = md5('date_dim|2024-03-09')::uuid, year, quarter, month, day, day_of_week, iso_week,
                      is_weekend, month_name, day_name from dw.date_dim where date = '2024-03-09'""").fetchone()
        assert row == (True, 2024, 1, 3, 9, 6, 10, True, "March", "Saturday")

        # the fact: the contract's columns, PK = grain with the date first, no NULLs in the grain
        cols = [r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = 'dw' "
            "and table_name = 'job_ran_fact' order by ordinal_position")]
        assert cols == CONTRACT_JOB_RAN_FACT
        pk = con.execute(
            "select pg_get_constraintdef(oid) from pg_constraint where conrelid = 'dw.job_ran_fact'::regclass "
            "and contype = 'p'").fetchone()[0]
        assert pk == ("PRIMARY KEY (date, organization_id, project_id, user_id, resource_id, subscription_id, "
                      "project_visibility, outcome, dlc)")
        types = dict(con.execute(
            "select column_name, data_type || coalesce('(' || numeric_precision || ',' || numeric_scale || ')', '') "
            "from information_schema.columns where table_schema = 'dw' and table_name = 'job_ran_fact'").fetchall())
        assert types["minutes_used"] == "numeric(18,3)" and types["dlc_credits_used"].startswith("bigint")
        # resource_dim: nullable resource_class, unique with NULLS NOT DISTINCT
        uq = con.execute(
            "select pg_get_constraintdef(oid) from pg_constraint where conrelid = 'dw.resource_dim'::regclass "
            "and contype = 'u'").fetchone()[0]
        assert uq == "UNIQUE NULLS NOT DISTINCT (resource_class, operating_system, executor)"


def test_migrate_twice_changes_nothing(warehouse, dw_tables):
    run_migrate(warehouse, dw_tables)
    before = catalog_state(warehouse)
    again = run_migrate(warehouse, dw_tables)
    assert again["created"] == []
    assert catalog_state(warehouse) == before


def test_concurrent_migrates_both_succeed(warehouse, dw_tables):
    results, errors = [], []
    start = threading.Barrier(2)

    def worker():
        try:
            start.wait()
            results.append(run_migrate(warehouse, dw_tables))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(results) == 2
    # one of them migrated the new warehouse (the revisions create the tables), the other found it done
    assert sorted(str(r["upgraded_from"]) for r in results) == sorted(["None", head_revision()])
    assert [r["created"] for r in results] == [[], []]


def test_analyst_reads_but_cannot_write_or_see_email_hash(warehouse, dw_tables):
    run_migrate(warehouse, dw_tables)
    with psycopg.connect(warehouse, autocommit=True) as con:
        con.execute("set role dw_analyst")
        for t in [*dw_tables, "date_dim"]:
            con.execute(f"select count(*) from dw.{t}").fetchone()
        assert sorted(con.execute("select login from dw.user_dim").fetchall()) == [("not applicable",), ("unknown",)]
        denied = [
            "select email_hash from dw.user_dim",
            "select * from dw.user_dim",
            "insert into dw.organization_dim (id, analytics_id, dw_created_at, dw_updated_at) "
            "values (gen_random_uuid(), gen_random_uuid(), now(), now())",
            "update dw.organization_dim set name = 'x'",
            "delete from dw.job_ran_fact",
            "delete from dw.date_dim",
            "truncate dw.resource_dim",
            "create table dw.mine (x int)",
        ]
        for stmt in denied:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                con.execute(stmt)
        con.execute("reset role")

    # the loader writes rows, and nothing else
    with psycopg.connect(warehouse) as con:
        con.execute("set role dw_loader")
        con.execute("update dw.organization_dim set name = name")
        con.execute("insert into dw.job_ran_fact select * from dw.job_ran_fact")
        con.execute("create temp table stage (x int) on commit drop")  # a load's stage
        con.rollback()


LOADER_DENIED = [
    "drop table dw.job_ran_fact", "alter table dw.organization_dim add column x int", "truncate dw.resource_dim",
    "create table dw.mine (x int)", "drop schema dw cascade", "alter type dw.executor_type add value 'x'",
    "alter table dw.user_dim owner to dw_loader", "delete from dw.alembic_version", "create table public.mine (x int)",
    "create index on dw.job_ran_fact (date)",
]


@pytest.mark.parametrize("stmt", LOADER_DENIED)
def test_the_loader_owns_nothing_and_writes_rows_only(warehouse, dw_tables, stmt):
    """dw_owner owns schema dw and everything in it (the migrate task's login, postgres_dw_migrate);
    dw_loader, the loading login's role, can neither DROP, ALTER, TRUNCATE, CREATE nor grant."""
    run_migrate(warehouse, dw_tables)
    with psycopg.connect(warehouse) as con:
        owners = {r[0] for r in con.execute(
            "select pg_get_userbyid(relowner) from pg_class where relnamespace = 'dw'::regnamespace "
            "and relkind in ('r', 'p', 'S', 'v', 'm') union select pg_get_userbyid(typowner) from pg_type "
            "where typnamespace = 'dw'::regnamespace and typtype = 'e'")}
        assert owners == {"dw_owner"}
        assert not con.execute("select pg_has_role('dw_loader', 'dw_owner', 'member')").fetchone()[0]
        con.execute("set role dw_loader")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute(stmt)


def test_grants_are_explicit_and_sessions_pin_their_search_path(warehouse, dw_tables, monkeypatch):
    """No default privilege gives anyone a future table of dw (a table created outside migrate is
    readable by no analyst); CREATE on public is revoked; every session the platform opens (the
    hook's conninfo: loads, migrate, the Warehouse view) resolves names in pg_catalog, pg_temp."""
    from dw.hooks.warehouse import WarehouseHook

    run_migrate(warehouse, dw_tables)
    with psycopg.connect(warehouse, autocommit=True) as con:
        assert con.execute("select count(*) from pg_default_acl d join pg_namespace n on n.oid = d.defaclnamespace "
                           "where n.nspname = 'dw'").fetchone() == (0,)
        con.execute("create table dw.later_pii (email text)")  # as the owner would, without a grant
        assert not con.execute("select has_table_privilege('dw_analyst', 'dw.later_pii', 'select')").fetchone()[0]
        assert not con.execute("select has_table_privilege('dw_loader', 'dw.later_pii', 'select')").fetchone()[0]
        assert not con.execute("select has_schema_privilege('public', 'public', 'create')").fetchone()[0]
    with WarehouseHook().connect() as con:
        assert con.execute("show search_path").fetchone()[0].replace(" ", "") == "pg_catalog,pg_temp"


def test_vendor_pii_columns_are_hidden_from_the_analyst_like_mongos():
    from dw.config import warehouse_tables
    from dw.warehouse.migrate import analyst_hidden_columns, pii_lake_columns

    assert {"email_hash"} <= pii_lake_columns()
    sub = warehouse_tables()["subscription_dim"]
    cols = [*sub.columns, sub.columns[-1].model_copy(update={"name": "email_hash", "nullable": True})]
    vendor_table = sub.model_copy(update={"columns": cols})
    assert vendor_table.source != "mongo" and "email_hash" in analyst_hidden_columns(vendor_table)


def test_config_identifiers_are_validated():
    base = {
        "table": "t_dim", "kind": "dimension", "description": "d", "source": "mongo", "scd": 1,
        "natural_key": ["k"], "columns": [{"name": "k", "type": "uuid", "nullable": False}],
        "unknown_member": {"k": UNKNOWN_ID}, "not_applicable_member": {"k": NOT_APPLICABLE_ID},
    }
    TableConfig.model_validate(base)
    for bad in (
        {**base, "table": "x; drop table y"},
        {**base, "columns": [{"name": "k", "type": "uuid"}, {"name": "x; drop table y", "type": "text"}]},
        {**base, "columns": [{"name": "k", "type": "text; drop table y"}]},
        {**base, "natural_key": ['k" or 1=1 --']},
    ):
        with pytest.raises(ValidationError):
            TableConfig.model_validate(bad)


def test_migrate_creates_a_config_table_the_migrations_lack(warehouse, dw_tables):
    """A safety net: a table the revisions do not make yet (a test's own config) is created from
    its config; the repository's config and migrations agree (tests/test_schema_config_agreement.py)."""
    run_migrate(warehouse, dw_tables)
    extra = TableConfig.model_validate({
        "table": "organization_daily_fact", "kind": "fact", "description": "jobs per organization and day",
        "source": "mongo", "date_column": "date",
        "columns": [
            {"name": "date", "type": "date", "nullable": False},
            {"name": "organization_analytics_id", "type": "uuid"},
            {"name": "jobs_ran", "type": "bigint", "nullable": False},
        ],
        "lookups": [{"key": "organization_id", "dimension": "organization_dim",
                     "match": {"analytics_id": "organization_analytics_id"}}],
        "grain": ["date", "organization_id"],
        "measures": [{"name": "jobs_ran", "type": "bigint"}],
    })
    result = run_migrate(warehouse, {**dw_tables, extra.table: extra})
    assert result["created"] == ["organization_daily_fact"]
    with psycopg.connect(warehouse) as con:
        cols = [r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = 'dw' "
            "and table_name = 'organization_daily_fact' order by ordinal_position")]
        assert cols == ["date", "organization_id", "jobs_ran", "dw_updated_at"]
        con.execute("set role dw_analyst")
        con.execute("select * from dw.organization_daily_fact").fetchall()


def test_0013_on_a_warehouse_migrate_made_adds_the_values_and_members_and_keeps_the_tables(warehouse, dw_tables):
    """A live warehouse at 0010, its tables made by migrate from the YAML, a row loaded: 0013 adds
    the enum values, commits, inserts the Not applicable members (the new values in use the same
    migrate) and leaves the tables and their rows as they were."""
    from alembic import command

    from dw.warehouse import ddl
    from dw.warehouse.migrate import _engine, alembic_config

    engine = _engine(warehouse)
    with engine.connect() as sa_conn, sa_conn.begin():
        command.upgrade(alembic_config(sa_conn), "0010")
        pg = sa_conn.connection.dbapi_connection
        for cfg in dw_tables.values():
            for stmt in ddl.create_table(cfg):
                pg.execute(stmt)
            if cfg.kind == "dimension":
                pg.execute(ddl.member_inserts(cfg)[0])  # the Unknown member only: 0010 had no other
        pg.execute("insert into dw.resource_dim values (md5('resource_dim|large|linux|docker')::uuid, 'large', 'linux', "
                   "'docker', '2024-01-01', '2024-01-01')")
    engine.dispose()
    with psycopg.connect(warehouse) as con:
        before = con.execute("select id, dw_created_at from dw.resource_dim order by id").fetchall()
        oid = con.execute("select 'dw.job_ran_fact'::regclass::oid").fetchone()[0]
    run_migrate(warehouse, dw_tables)
    with psycopg.connect(warehouse) as con:
        got = con.execute("select id, dw_created_at from dw.resource_dim order by id").fetchall()
        assert [r for r in got if str(r[0]) != NOT_APPLICABLE_ID] == before
        assert con.execute("select operating_system::text from dw.resource_dim where id = %s",
                           (NOT_APPLICABLE_ID,)).fetchone() == ("not_applicable",)
        assert con.execute("select 'dw.job_ran_fact'::regclass::oid").fetchone()[0] == oid
        for name, cfg in dw_tables.items():
            if cfg.kind == "dimension":
                assert con.execute(f"select count(*) from dw.{name} where id = %s", (NOT_APPLICABLE_ID,)).fetchone() == (1,)


def test_changing_an_existing_tables_columns_needs_a_migration(warehouse, dw_tables):
    from dw.warehouse.migrate import MigrationError

    run_migrate(warehouse, dw_tables)
    org = dw_tables["organization_dim"]
    changed = org.model_copy(update={"columns": [*org.columns, org.columns[1].model_copy(update={"name": "country"})]})
    with pytest.raises(MigrationError, match=r"dw\.organization_dim .*Alembic migration"):
        run_migrate(warehouse, {**dw_tables, "organization_dim": changed})


def test_migrate_does_not_wait_for_a_running_load(warehouse, dw_tables):
    """A second DAG run's migrate while a load holds its rows and has analyzed its partition: no
    table is altered, the unknown members are only read, and the next month's partition is
    attached under SHARE UPDATE EXCLUSIVE on the fact, so migrate goes through (lock_timeout
    would fire)."""
    run_migrate(warehouse, dw_tables)

    with psycopg.connect(warehouse) as load_tx:
        load_tx.execute("set local role dw_loader")
        load_tx.execute("select pg_advisory_xact_lock(hashtext('dw.organization_dim'))")
        load_tx.execute("update dw.organization_dim set name = name")  # even the unknown member's row
        load_tx.execute(
            "insert into dw.job_ran_fact values ('2024-03-04', %(u)s, %(u)s, %(u)s, %(u)s, %(u)s, 'public', "
            "'success', false, 1, 1, 1, 1, now())", {"u": UNKNOWN_ID})
        load_tx.execute("select dw.analyze_partition('job_ran_fact_p2024_03')")  # as the load does
        result = run_migrate(warehouse + "?options=-c%20lock_timeout%3D5000", dw_tables, dates=["2024-04-30"])
        assert result["created"] == []
        assert "job_ran_fact_p2024_04" in result["partitions"]
        load_tx.rollback()


def test_ledger_dates_expire_after_the_heal_window_with_their_counts(warehouse, dw_tables):
    """A fact load of day D moves its table's ledger dates older than D-7 to
    dw.unknown_member_expired (counts, the day that expired them), readable by analysts; the
    others stay; another table's dates are not touched; a second expiry changes nothing."""
    import datetime as dt

    from dw.warehouse import ledger

    run_migrate(warehouse, dw_tables)
    d = dt.date(2024, 3, 20)
    loaded_at = dt.datetime(2024, 3, 21, tzinfo=dt.timezone.utc)
    with psycopg.connect(warehouse) as con:
        con.execute("insert into dw.unknown_member_dates values ('job_ran_fact', %s, 5, now()), "
                    "('job_ran_fact', %s, 3, now()), ('activity_fact', %s, 9, now())",
                    (d - dt.timedelta(days=8), d - dt.timedelta(days=7), d - dt.timedelta(days=30)))
        with con.cursor() as cur:
            assert ledger.expire(cur, dw_tables["job_ran_fact"], loaded_at) == 1
            assert ledger.expire(cur, dw_tables["job_ran_fact"], loaded_at) == 0
        con.commit()
        assert con.execute("select table_name, date, source_rows from dw.unknown_member_dates order by 1, 2").fetchall() == [
            ("activity_fact", d - dt.timedelta(days=30), 9), ("job_ran_fact", d - dt.timedelta(days=7), 3)]
    with psycopg.connect(warehouse) as con:
        con.execute("set role dw_analyst")
        assert con.execute("select table_name, date, source_rows, expired_on from dw.unknown_member_expired").fetchall() == [
            ("job_ran_fact", d - dt.timedelta(days=8), 5, d)]


def test_schema_change_ledger_is_written_by_the_loader_and_read_by_analysts(warehouse, dw_tables):
    """dw.schema_changes: the loader inserts and deletes (a task replaces its day's rows), never
    updates; an unknown change kind is refused; analysts read it and its first-seen view."""
    import datetime as dt

    run_migrate(warehouse, dw_tables)
    row = ("mongo", "jobs", "operating_system", "new_enum_value", "freebsd", 3, "evolve", "ingest_mongo.jobs")
    with psycopg.connect(warehouse) as con:
        con.execute("delete from dw.schema_changes")
        con.execute("set role dw_loader")
        for d in (dt.date(2024, 3, 2), dt.date(2024, 3, 1)):
            con.execute("insert into dw.schema_changes values (%s, %s, %s, %s, %s, %s, %s, %s, %s)", (d, *row))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute("update dw.schema_changes set row_count = 0")
        con.rollback()
    with psycopg.connect(warehouse) as con:
        con.execute("set role dw_loader")
        with pytest.raises(psycopg.errors.CheckViolation):
            con.execute("insert into dw.schema_changes values ('2024-03-01', 'mongo', 'jobs', 'x', 'renamed', '', 1, "
                        "'evolve', 't')")
        con.rollback()
        for d in (dt.date(2024, 3, 2), dt.date(2024, 3, 1)):
            con.execute("insert into dw.schema_changes values (%s, %s, %s, %s, %s, %s, %s, %s, %s)", (d, *row))
        con.commit()
    with psycopg.connect(warehouse) as con:
        con.execute("set role dw_analyst")
        assert con.execute("select first_seen, last_seen, row_count, last_action from dw.schema_changes_first_seen "
                           "where detail = 'freebsd'").fetchall() == [(dt.date(2024, 3, 1), dt.date(2024, 3, 2), 6, "evolve")]


def test_record_changes_replaces_what_its_task_wrote_for_its_day(warehouse, dw_tables):
    """dw.contracts.record_changes: a re-run of the same task and day writes the same rows; the
    rows of another task, day or entity stay."""
    import datetime as dt

    from dw.contracts import Change, record_changes

    run_migrate(warehouse, dw_tables)
    d = dt.date(2024, 4, 1)
    new_os = Change("mongo", "jobs", "operating_system", "enum_values", "freebsd", 3, "evolve")
    new_field = Change("mongo", "jobs", "gpu", "new_fields", "string", 7, "evolve")
    with psycopg.connect(warehouse) as con, con.cursor() as cur:
        cur.execute("set role dw_loader")
        cur.execute("delete from dw.schema_changes where dt >= %s", (d,))
        assert record_changes(cur, d, "mongo", "jobs", "ingest_mongo.jobs", [new_os, new_field]) == 2
        record_changes(cur, d + dt.timedelta(days=1), "mongo", "jobs", "ingest_mongo.jobs", [new_os])
        record_changes(cur, d, "mongo", "jobs", "warehouse.load", [new_os])
        assert record_changes(cur, d, "mongo", "jobs", "ingest_mongo.jobs", [new_field]) == 1
        rows = cur.execute("select dt, column_name, row_count, action, recorded_by from dw.schema_changes "
                           "order by 1, 5, 2").fetchall()
    assert rows == [(d, "gpu", 7, "evolve", "ingest_mongo.jobs"), (d, "operating_system", 3, "evolve", "warehouse.load"),
                    (d + dt.timedelta(days=1), "operating_system", 3, "evolve", "ingest_mongo.jobs")]


def test_facts_are_partitioned_by_month_made_by_migrate_and_0007_migrates_old_ones(warehouse, dw_tables):
    """A new warehouse's facts are partitioned by month, with the partition of dates before 2000
    (made with the table, so a first monthly partition never updates the parent's catalog row,
    which migrate's grants would wait for); migrate makes the months of the dates given, once,
    owned by dw_owner, written by the loader, not readable by the analyst (who reads the
    parent). Alembic 0007 turns a plain fact (as revision 0004's warehouses have them: its
    downgrade makes one) into a partitioned one in place, rows, columns, key and grants unchanged."""
    from alembic import command

    from dw.warehouse.migrate import alembic_config, _engine

    run_migrate(warehouse, dw_tables, dates=())
    parts = """select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
               where i.inhparent = 'dw.job_ran_fact'::regclass order by 1"""
    with psycopg.connect(warehouse) as con:
        assert con.execute("select relkind from pg_class where oid = 'dw.job_ran_fact'::regclass").fetchone() == ("p",)
        assert con.execute(parts).fetchall() == [("job_ran_fact_p_before",)]  # dates before 2000
    made = run_migrate(warehouse, dw_tables, dates=["2024-02-01", "2024-01-01"])["partitions"]
    assert {"job_ran_fact_p2024_01", "job_ran_fact_p2024_02"} <= set(made)
    assert run_migrate(warehouse, dw_tables, dates=["2024-01-15"])["partitions"] == []
    with psycopg.connect(warehouse) as con:
        for part in ("job_ran_fact_p2024_01", "job_ran_fact_p_before"):
            assert con.execute(
                "select pg_get_userbyid(relowner), has_table_privilege('dw_loader', oid, 'insert, update, delete'),"
                " has_table_privilege('dw_analyst', oid, 'select') from pg_class where oid = %s::regclass",
                (f"dw.{part}",)).fetchone() == ("dw_owner", True, False), part
        for d in ("2024-01-31", "2024-02-01"):
            con.execute(
                "insert into dw.job_ran_fact values (%(d)s, %(u)s, %(u)s, %(u)s, %(u)s, %(u)s, 'public', "
                "'success', false, 1, 1, 1, 1, '2024-02-02')", {"d": d, "u": UNKNOWN_ID})
        con.commit()
    before = catalog_state(warehouse)

    engine = _engine(warehouse)
    with engine.begin() as sa:
        command.downgrade(alembic_config(sa), "0004")
    engine.dispose()
    with psycopg.connect(warehouse) as con:
        assert con.execute("select relkind from pg_class where oid = 'dw.job_ran_fact'::regclass").fetchone() == ("r",)
        assert con.execute("select count(*) from dw.job_ran_fact").fetchone() == (2,)

    # 0007 makes the months that hold rows; migrate the months of its dates (the other, empty facts)
    run_migrate(warehouse, dw_tables, dates=["2024-01-01", "2024-02-01"])
    with psycopg.connect(warehouse) as con:
        assert con.execute("select relkind from pg_class where oid = 'dw.job_ran_fact'::regclass").fetchone() == ("p",)
        assert con.execute(parts).fetchall() == [
            ("job_ran_fact_p2024_01",), ("job_ran_fact_p2024_02",), ("job_ran_fact_p_before",)]
    after = catalog_state(warehouse)
    for k in ("tables", "columns", "constraints", "indexes", "data"):
        assert after[k] == before[k], k
