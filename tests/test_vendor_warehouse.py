"""The vendor tables of the warehouse on the embedded stack: dw.subscription_dim (SCD2 from
Chargify), dw.invoice_fact (Stripe), dw.activity_fact (Amplitude), and job_ran_fact's
subscription lookup. Data: the stand-ins and MongoDB seeded alike; landed by the real
ingestion operators; extracted by the Athena SQL on DuckDB; loaded by the warehouse loads.
Reconciled per date and organization against what the stand-ins serve, summed here."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pendulum
import psycopg
import pytest

from dw.config import NOT_APPLICABLE_ID, UNKNOWN_ID, vendor_source, warehouse_tables
from devstack import generate as g
from devstack import vendors
from tests.helpers import FAST, amplitude_served, served

SCALE = 0.02
D = dt.date(2024, 1, 15)
UTC = dt.timezone.utc


def ctx(day: dt.date) -> dict:
    start = pendulum.datetime(day.year, day.month, day.day, tz="UTC")
    return {"data_interval_start": start, "data_interval_end": start.add(days=1)}


def clock_for(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(3), UTC)


def land_vendor(source: str, day: dt.date, entities=None, full_history: bool = False) -> None:
    from dw.dag_factory import vendor_task

    for name in entities or vendor_source(source).entities:
        c = dict(ctx(day), params={"full_history": full_history})
        vendor_task(task_id=name, source=source, entity=name, overrides=FAST).execute(c)


def land_mongo(db, day: dt.date) -> None:
    from dw.config import mongo_source
    from dw.dag_factory import mongo_task

    g.seed_day(db, day, scale=SCALE)
    for name in mongo_source().collections:
        mongo_task(task_id=name, collection=name).execute(ctx(day))


def load(uri: str, s3, table: str, day: dt.date) -> dict:
    """The warehouse DAG's extract ▸ load for one table and day, called directly."""
    from dw.dag_factory import lake_query_task
    from dw.warehouse.load import load_table

    out = lake_query_task(task_id="extract", table=table).execute(ctx(day))
    tables = warehouse_tables()
    with psycopg.connect(uri) as conn:
        stats = load_table(conn, tables[table], out["uri"], day.isoformat(), ctx(day)["data_interval_end"], s3,
                           tables=tables)
    return stats.as_dict()


def migrate(uri: str) -> None:
    from dw.warehouse.migrate import migrate as run, partition_dates

    run(uri, warehouse_tables(), dates=partition_dates(D))


def rows(uri: str, query: str, *args) -> list[tuple]:
    with psycopg.connect(uri) as con:
        return con.execute(query, args).fetchall()


@pytest.fixture
def pinned(vendor_standins):
    """The stand-ins at the test's scale; ``pinned(day)`` sets their clock to day+1 03:00."""
    for v in vendor_standins.values():
        vendors.configure(v["url"], scale=SCALE)

    def pin(day: dt.date) -> None:
        for v in vendor_standins.values():
            vendors.set_clock(v["url"], clock_for(day))

    pin(D)
    return pin


# --------------------------------------------------------------------------- DDL


def test_vendor_ddl_matches_the_source_configs():
    from dw.lake_sql import raw_table_columns

    types = {"string": "VARCHAR", "uuid": "VARCHAR", "int64": "BIGINT", "float64": "DOUBLE", "bool": "BOOLEAN",
             "timestamp": "TIMESTAMP", "epoch_seconds": "TIMESTAMP", "json": "VARCHAR"}
    for source in ("stripe", "amplitude", "chargify"):
        for name, ent in vendor_source(source).entities.items():
            cols = raw_table_columns(f"raw_{source}_{name}")
            assert [c.name for c in cols] == list(ent.fields), (source, name)
            assert [c.athena_type.upper() for c in cols] == [types[f.type] for f in ent.fields.values()], (source, name)


# --------------------------------------------------------------------------- facts and the lookup


def test_vendor_facts_reconcile_per_date_and_organization(warehouse, lake, mongo_app, vendor_standins, pinned):
    v = vendor_standins
    g.seed_base(mongo_app, scale=SCALE)
    land_mongo(mongo_app, D)
    land_vendor("stripe", D)
    land_vendor("amplitude", D)
    land_vendor("chargify", D, full_history=True)  # a first load: every subscription, not only D's changes
    migrate(warehouse)
    for table in ("organization_dim", "project_dim", "user_dim", "resource_dim", "subscription_dim",
                  "invoice_fact", "activity_fact", "job_ran_fact"):
        load(warehouse, lake, table, D)
    known = {r[0] for r in rows(warehouse, "select analytics_id::text from dw.organization_dim")}
    # every organization the vendors bill exists in MongoDB (so the warehouse's lookups resolve)
    billed = {c["metadata"]["analytics_id"] for c in served(v, "stripe", "customers")}
    assert billed and billed <= known, sorted(billed - known)[:5]

    def org(aid):  # no organization: Not applicable; one the warehouse does not know: Unknown (0044)
        if not aid:
            return NOT_APPLICABLE_ID
        return aid.lower() if aid.lower() in known else UNKNOWN_ID

    # ---- invoice_fact: sums over the invoices, charges and customers the stand-in serves
    customers = {c["id"]: c["metadata"].get("analytics_id") for c in served(v, "stripe", "customers")}
    refunds = defaultdict(int)
    for ch in served(v, "stripe", "charges"):
        if ch.get("invoice"):
            refunds[ch["invoice"]] += ch["amount_refunded"]
    truth = defaultdict(lambda: [0, 0, 0, 0])
    for inv in served(v, "stripe", "invoices"):
        day = dt.datetime.fromtimestamp(inv["created"], UTC).date()
        t = truth[(day, org(customers.get(inv["customer"])))]
        t[0] += 1
        t[1] += inv["amount_due"]
        t[2] += inv["amount_paid"]
        t[3] += refunds[inv["id"]]
    got = {(r[0], r[1]): list(r[2:]) for r in rows(warehouse, """
        select f.date, o.analytics_id::text, sum(invoices), sum(amount_due), sum(amount_paid), sum(amount_refunded)
        from dw.invoice_fact f join dw.organization_dim o on o.id = f.organization_id group by 1, 2""")}
    assert truth and got == dict(truth)

    # ---- activity_fact: the day's exported events, per (event date, organization)
    _, events = amplitude_served(v)
    ev_truth = defaultdict(int)
    sessions = defaultdict(set)
    for e in events:
        day = dt.date.fromisoformat(e["event_time"][:10])
        props = e["event_properties"]
        grain = (day, org(props["organization_analytics_id"]), props.get("project_analytics_id"),
                 (e["user_id"] or "").lower(), e["event_type"])
        ev_truth[grain[:2]] += 1
        sessions[grain].add(e["session_id"])
    sess_truth = defaultdict(int)
    for grain, s in sessions.items():
        sess_truth[grain[:2]] += len(s)
    got = {(r[0], r[1]): (r[2], r[3]) for r in rows(warehouse, """
        select f.date, o.analytics_id::text, sum(events), sum(sessions)
        from dw.activity_fact f join dw.organization_dim o on o.id = f.organization_id group by 1, 2""")}
    assert got == {k: (ev_truth[k], sess_truth[k]) for k in ev_truth}
    assert {k[0] for k in got} == {D - dt.timedelta(days=1), D}  # late uploads restate the day before

    # ---- every table check of the three tables holds on the loaded rows
    tables = warehouse_tables()
    for name in ("invoice_fact", "activity_fact", "subscription_dim"):
        for check, expr in tables[name].checks.table.items():
            (bad,) = rows(warehouse, f"select count(*) from dw.{name} where not ({expr})")[0]
            assert bad == 0, (name, check)

    # ---- subscription_dim: every subscription (a full-history first load), current; job_ran_fact resolves them
    subs = {s["id"]: s for s in served(v, "chargify", "subscriptions", since=dt.date(2000, 1, 1))}
    dim = {r[0]: r[1:] for r in rows(warehouse, """select subscription_id, product_handle, state, is_current
                                                  from dw.subscription_dim where id not in (%s, %s)""",
                                      UNKNOWN_ID, NOT_APPLICABLE_ID)}
    assert dim == {str(k): (s["product"]["handle"], s["state"], True) for k, s in subs.items()} and dim
    resolved = dict(rows(warehouse, """
        select s.subscription_id, sum(f.jobs_ran) from dw.job_ran_fact f join dw.subscription_dim s on s.id = f.subscription_id
        where f.date = %s group by 1""", D))
    jobs = defaultdict(int)
    for doc in mongo_app.jobs.find({"started_at": {"$gte": dt.datetime(2024, 1, 15), "$lt": dt.datetime(2024, 1, 16)}}):
        sub = doc["subscription_id"]
        jobs["not_applicable" if not sub else sub if int(sub) in subs else "unknown"] += 1
    # every job whose subscription Chargify served resolves to it; only those it did not serve (updated
    # after D ended, so outside every window up to D) fall back to the unknown member
    assert resolved == dict(jobs) and len(resolved) > 20 and jobs["unknown"] < sum(jobs.values()) / 20


# --------------------------------------------------------------------------- SCD2


def _plan_change_pair():
    """(organization, t1, t2): two consecutive versions with different plans, on two days in Jan 2024."""
    until = dt.datetime(2024, 2, 15, tzinfo=UTC)
    best = None
    for o in g.base_orgs(42, SCALE):
        h = g.plan_history(42, SCALE, o, until)
        for a, b in zip(h, h[1:]):
            if (a.handle != b.handle and a.at >= dt.datetime(2024, 1, 2, tzinfo=UTC) and b.at.date() > a.at.date()
                    and (best is None or (b.at - a.at) < (best[2] - best[1]))):
                best = (o, a.at, b.at, a.handle, b.handle)
    assert best, "the generator has no plan change pair"
    return best


def test_scd2_plan_change_across_two_dates_and_reruns(warehouse, lake, vendor_standins, pinned):
    from tests.helpers import warehouse_fingerprint

    o, t1, t2, h1, h2 = _plan_change_pair()
    d1, d2 = t1.date(), t2.date()
    migrate(warehouse)
    for day in (d1, d2):
        pinned(day)
        land_vendor("chargify", day, ["subscriptions"])
        load(warehouse, lake, "subscription_dim", day)
    q = """select product_handle, valid_from::text, valid_to::text, is_current from dw.subscription_dim
           where subscription_id = %s order by valid_from"""
    versions = rows(warehouse, q, o.subscription_id)
    assert [(v[0], v[3]) for v in versions] == [(h1, False), (h2, True)]
    (t2_text,) = rows(warehouse, "select %s::timestamptz::text", t2)[0]
    # adjacent validity: the first version (from -infinity: the earliest known) closes when the next opens
    assert versions[0][1] == "-infinity" and versions[0][2] == versions[1][1] == t2_text
    assert versions[1][2] == "infinity"
    before = warehouse_fingerprint(warehouse)
    for day in (d1, d2, d1):  # re-running either date creates no version and changes nothing
        load(warehouse, lake, "subscription_dim", day)
    assert warehouse_fingerprint(warehouse) == before
    assert rows(warehouse, q, o.subscription_id) == versions


def test_warehouse_dag_wires_the_vendor_tables_once_loaded(tmp_path, monkeypatch):
    """With ``loaded: true`` (a copy of include/ with the flag flipped), the warehouse DAG waits
    for the vendors' raw partitions and loads subscription_dim before the facts that look it up."""
    import shutil

    from dw import config, dag_factory, paths

    inc = tmp_path / "include"
    shutil.copytree(paths.include_dir(), inc)
    for name in ("subscription_dim", "activity_fact", "invoice_fact"):
        f = inc / "config" / "warehouse" / f"{name}.yaml"
        f.write_text(f.read_text().replace("loaded: false", "loaded: true"))
    monkeypatch.setenv("DW_INCLUDE_DIR", str(inc))
    config.clear_caches()
    try:
        dag = dag_factory.build_warehouse_dag()
        up = {t.task_id: t.get_flat_relative_ids(upstream=True) for t in dag.tasks}
        assert "dimensions.subscription_dim.load" in up["facts.invoice_fact.load"]
        assert "dimensions.subscription_dim.load" in up["facts.job_ran_fact.load"]
        assert "dimensions.organization_dim.load" in up["facts.activity_fact.load"]
        for fact, raws in (("invoice_fact", ["raw_stripe_invoices", "raw_stripe_charges", "raw_stripe_customers"]),
                           ("activity_fact", ["raw_amplitude_events"])):
            assert {f"lake_ready.{r}" for r in raws} <= up[f"facts.{fact}.extract"]
        assert "lake_ready.raw_chargify_subscriptions" in up["dimensions.subscription_dim.extract"]
        assert dag.get_task("facts.invoice_fact.table_checks")
    finally:
        monkeypatch.delenv("DW_INCLUDE_DIR")
        config.clear_caches()
