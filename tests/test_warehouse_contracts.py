"""Warehouse contracts against a real PostgreSQL and moto S3 (docs/decisions/0043): a new
enumerated value lands the same day in the dimension and the facts; ``freeze`` fails with the
warehouse unchanged; a row that does not convert is quarantined while the rest loads, and a load
of the fixed extract brings it in and empties its quarantine; ``discard_value`` NULLs the value
and keeps the row."""

from __future__ import annotations

import psycopg
import pytest

from dw.warehouse.load import LoadError
from tests.helpers import warehouse_fingerprint
from tests.test_warehouse_load import AT1, D1, job, load, load_jobs, put, q, seed_dims, wh  # noqa: F401


def enum_labels(wh, type_name: str) -> list[str]:
    return [r[0] for r in q(wh, "select e.enumlabel from pg_enum e join pg_type t on t.oid = e.enumtypid "
                                "where t.typname = %s order by e.enumsortorder", (type_name,))]


def changes(wh) -> list[tuple]:
    return q(wh, "select dt::text, entity, column_name, change, detail, row_count, action "
                 "from dw.schema_changes where source = 'warehouse' order by 2, 3, 4, 5")


def test_a_new_enum_value_lands_the_same_day_in_the_dimension_and_the_fact(wh, lake, dw_tables):
    seed_dims(wh, lake, dw_tables)
    r = dw_tables["resource_dim"]
    s = load(wh, lake, dw_tables, "resource_dim",
             put(lake, "resource_dim", D1, r.column_names, [["medium", "freebsd", "firecracker"], ["medium", "linux", "docker"]]))
    assert s.copied == 2 and s.inserted == 1 and s.quarantined == 0
    assert {(c.column_name, c.detail, c.mode) for c in s.changes} == {
        ("operating_system", "freebsd", "evolve"), ("executor", "firecracker", "evolve")}
    assert enum_labels(wh, "operating_system_type")[-1] == "freebsd"
    assert enum_labels(wh, "executor_type")[-1] == "firecracker"
    assert q(wh, "select count(*) from dw.resource_dim where operating_system = 'freebsd'") == [(1,)]
    assert changes(wh) == [
        (D1, "resource_dim", "executor", "new_enum_value", "firecracker", 1, "evolve"),
        (D1, "resource_dim", "operating_system", "new_enum_value", "freebsd", 1, "evolve"),
    ]
    # the fact carries the column too: it loads that day, resolved to the new member
    s = load_jobs(wh, lake, dw_tables, [job(os_="freebsd", ex="firecracker"), job(os_="linux")])
    assert s.quarantined == 0 and s.unknown == 0 and s.inserted == 2
    assert q(wh, "select count(*) from dw.job_ran_fact f join dw.resource_dim r on r.id = f.resource_id "
                 "where r.operating_system = 'freebsd'") == [(1,)]
    # a re-run finds the label in the type (the common path) and keeps the record of the day
    load(wh, lake, dw_tables, "resource_dim",
         put(lake, "resource_dim", D1, r.column_names, [["medium", "freebsd", "firecracker"]]))
    assert len(changes(wh)) == 2


def test_freeze_fails_naming_column_and_count_and_leaves_the_warehouse_unchanged(wh, lake, dw_tables):
    seed_dims(wh, lake, dw_tables)
    r = dw_tables["resource_dim"]
    frozen = {**dw_tables, "resource_dim": r.model_copy(update={"contract": {"enum_values": "freeze"}})}
    before = warehouse_fingerprint(wh)
    with pytest.raises(LoadError) as e:
        load(wh, lake, frozen, "resource_dim",
             put(lake, "resource_dim", D1, r.column_names, [["medium", "freebsd", "docker"], ["large", "freebsd", "docker"]]))
    msg = str(e.value)
    assert "dw.resource_dim dt=2024-03-04" in msg and "column operating_system: 2 row(s)" in msg
    assert "freeze" in msg and "freebsd" not in msg
    assert warehouse_fingerprint(wh) == before
    assert "freebsd" not in enum_labels(wh, "operating_system_type")


def test_a_refused_row_is_quarantined_the_rest_loads_and_a_fixed_load_clears_it(wh, lake, dw_tables):
    seed_dims(wh, lake, dw_tables)
    cols = dw_tables["job_ran_fact"].column_names
    secret = "alice@example.com"
    bad = job(credits=secret)  # a value that does not convert to bigint
    null = job(outcome=None)  # NULL in a NOT NULL column
    good = job(rc=None)
    s = load_jobs(wh, lake, dw_tables, [good, bad, null])
    assert (s.copied, s.quarantined, s.inserted) == (1, 2, 1)
    got = q(wh, "select table_name, dt::text, line, column_name, reason, record->>'credits_used' "
                "from dw.load_quarantine order by line")
    assert got == [("job_ran_fact", D1, 3, "credits_used", "not a valid bigint", secret),
                   ("job_ran_fact", D1, 4, "outcome", "NULL in a NOT NULL column", "10")]
    assert {(c.column_name, c.kind, c.row_count, c.action) for c in s.changes} == {
        ("credits_used", "data_type", 1, "quarantine"), ("outcome", "data_type", 1, "quarantine")}
    assert all(secret not in str(v) for row in changes(wh) for v in row)
    # the analyst reads the quarantine but never the row
    with psycopg.connect(wh, autocommit=True) as su:
        su.execute("set role dw_analyst")
        assert su.execute("select count(*) from dw.load_quarantine where dt = %s", (D1,)).fetchone() == (2,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            su.execute("select record from dw.load_quarantine")
    # the cause fixed upstream, the load cleared: the rows come in, their quarantine empties
    s = load_jobs(wh, lake, dw_tables, [good, job(), job(outcome="failed")])
    assert s.quarantined == 0
    assert q(wh, "select count(*) from dw.load_quarantine") == [(0,)]
    assert q(wh, "select count(*) from dw.schema_changes where change = 'type_mismatch'") == [(0,)]
    assert q(wh, "select sum(jobs_ran) from dw.job_ran_fact where date = %s", (D1,)) == [(3,)]


def test_discard_value_nulls_the_refused_value_and_keeps_the_row(wh, lake, dw_tables):
    seed_dims(wh, lake, dw_tables)
    f = dw_tables["job_ran_fact"]
    cols = [c.model_copy(update={"contract": {"data_type": "discard_value"}}) if c.name == "credits_used" else c
            for c in f.columns]
    tables = {**dw_tables, "job_ran_fact": f.model_copy(update={"columns": cols})}
    s = load_jobs(wh, lake, tables, [job(), job(outcome="failed", credits="12x")])
    assert (s.quarantined, s.inserted) == (0, 2)
    assert [(c.column_name, c.action, c.row_count) for c in s.changes] == [("credits_used", "discard_value", 1)]
    assert q(wh, "select outcome::text, credits_used from dw.job_ran_fact order by 1") == [("failed", None), ("success", 10)]
    assert changes(wh) == [(D1, "job_ran_fact", "credits_used", "type_mismatch", "bigint", 1, "discard_value")]
