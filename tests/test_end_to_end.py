"""End to end on the embedded stack: MongoDB → lake → extracts → warehouse, with dag.test().

Two consecutive dates, then a re-run of the first; a clean warehouse loaded in the reverse
order must come out identical; every measure reconciles with MongoDB, computed here
independently of the platform's code.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest

from tests.helpers import ingest_day, load_stats, new_warehouse, run_dag, warehouse_fingerprint

pytestmark = pytest.mark.e2e

D1 = dt.date(2024, 3, 4)
D2 = dt.date(2024, 3, 5)
SCALE = 0.02
UNKNOWN = "00000000-0000-0000-0000-000000000000"
NOT_APPLICABLE = "00000000-0000-0000-0000-000000000001"


def _num(v, kind=int):
    if v is None:
        return None
    if isinstance(v, bool):
        return kind(int(v))
    if isinstance(v, str):
        return kind(Decimal(v))
    return kind(v) if kind is int else Decimal(str(v))


def mongo_truth(db, dates, exclude=()) -> dict[tuple[str, str], dict]:
    """Per (date, organization analytics_id): the job measures, straight from MongoDB (without
    the jobs ``exclude`` names: the quarantined ones)."""
    truth: dict[tuple[str, str], dict] = defaultdict(lambda: {"jobs": 0, "credits": 0, "dlc_credits": 0, "minutes": Decimal(0)})
    lo = dt.datetime.combine(min(dates), dt.time(), dt.timezone.utc)
    hi = dt.datetime.combine(max(dates) + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    for j in db.jobs.find({"started_at": {"$gte": lo, "$lt": hi}, "_id": {"$nin": list(exclude)}}):
        key = (j["started_at"].date().isoformat(), j["organization_analytics_id"])
        t = truth[key]
        t["jobs"] += 1
        t["credits"] += _num(j.get("credits_used")) or 0
        t["dlc_credits"] += _num(j.get("dlc_credits_used")) or 0
        m = j.get("minutes_used")
        t["minutes"] += Decimal(str(m)).quantize(Decimal("0.001")) if m is not None else Decimal(0)
    return dict(truth)


def warehouse_totals(uri: str, dates) -> dict[tuple[str, str], dict]:
    import psycopg

    with psycopg.connect(uri) as con:
        rows = con.execute(
            """select f.date::text, o.analytics_id::text, sum(jobs_ran), sum(coalesce(credits_used, 0)),
                      sum(coalesce(dlc_credits_used, 0)), sum(coalesce(minutes_used, 0))
               from dw.job_ran_fact f join dw.organization_dim o on o.id = f.organization_id
               where f.date = any(%s) group by 1, 2""",
            (list(dates),),
        ).fetchall()
    return {(d, o): {"jobs": j, "credits": c, "dlc_credits": dc, "minutes": m} for d, o, j, c, dc, m in rows}


def unknown_rows(uri: str, table: str, day: dt.date) -> int:
    """Rows of ``dw.<table>`` on ``day`` that point at an unknown member (any of its keys)."""
    import psycopg

    from dw.config import warehouse_tables

    cond = " or ".join(f"{lk.key} = %(u)s" for lk in warehouse_tables()[table].lookups)
    with psycopg.connect(uri) as con:
        return con.execute(f"select count(*) from dw.{table} where date = %(d)s and ({cond})",
                           {"u": UNKNOWN, "d": day}).fetchone()[0]


def _bool(v) -> bool:
    if isinstance(v, str):
        return v.strip().lower() == "true"
    return bool(v) if v is not None else False


def mongo_grain_truth(db, dates) -> dict[tuple, dict]:
    """job_ran_fact at its full grain (every key as its natural value: organization, project and
    user analytics ids — the unknown id where MongoDB has no such document —, the resource
    triple, the subscription billing id, project visibility, outcome, dlc), computed in Python
    from MongoDB's documents, never from the platform's SQL."""
    orgs = {str(d["analytics_id"]).lower() for d in db.organizations.find({}, {"analytics_id": 1})}
    users = {str(d["analytics_id"]).lower() for d in db.users.find({}, {"analytics_id": 1})}
    projects: dict[str, tuple] = {}
    for d in db.projects.find({}, {"analytics_id": 1, "visibility": 1, "updated_at": 1}):
        aid = str(d["analytics_id"]).lower()
        if aid not in projects or d["updated_at"] > projects[aid][0]:
            projects[aid] = (d["updated_at"], d.get("visibility"))
    truth: dict[tuple, dict] = defaultdict(lambda: {"jobs": 0, "credits": None, "dlc_credits": None, "minutes": None})
    lo = dt.datetime.combine(min(dates), dt.time())
    hi = dt.datetime.combine(max(dates) + dt.timedelta(days=1), dt.time())
    for j in db.jobs.find({"started_at": {"$gte": lo, "$lt": hi}}):
        org, proj, user = (str(j.get(f) or "").lower() for f in
                           ("organization_analytics_id", "project_analytics_id", "user_analytics_id"))
        resource = ((j.get("resource_class"), j["operating_system"], j["executor"])
                    if j.get("operating_system") is not None and j.get("executor") is not None
                    else ("unknown", "unknown", "unknown"))
        key = (j["started_at"].date().isoformat(), org if org in orgs else UNKNOWN, proj if proj in projects else UNKNOWN,
               user if user in users else UNKNOWN, *resource, j.get("subscription_id"),
               (projects.get(proj, (None, None))[1] or "unknown"), j.get("outcome") or "unknown", _bool(j.get("dlc")))
        t = truth[key]
        t["jobs"] += 1
        for name, field, kind in (("credits", "credits_used", int), ("dlc_credits", "dlc_credits_used", int)):
            v = _num(j.get(field))
            if v is not None:
                t[name] = (t[name] or 0) + v
        m = j.get("minutes_used")
        if m is not None:
            t["minutes"] = (t["minutes"] or Decimal(0)) + Decimal(str(m)).quantize(Decimal("0.001"))
    return dict(truth)


def warehouse_grain(uri: str, dates) -> dict[tuple, dict]:
    import psycopg

    with psycopg.connect(uri) as con:
        rows = con.execute(
            """select f.date::text, o.analytics_id::text, p.analytics_id::text, u.analytics_id::text, r.resource_class,
                      r.operating_system::text, r.executor::text, s.subscription_id, f.project_visibility::text,
                      f.outcome::text, f.dlc, f.jobs_ran, f.credits_used, f.dlc_credits_used, f.minutes_used
               from dw.job_ran_fact f
               join dw.organization_dim o on o.id = f.organization_id
               join dw.project_dim p on p.id = f.project_id
               join dw.user_dim u on u.id = f.user_id
               join dw.resource_dim r on r.id = f.resource_id
               left join dw.subscription_dim s on s.id = f.subscription_id
               where f.date = any(%s)""",
            (list(dates),),
        ).fetchall()
    out: dict[tuple, dict] = {}
    for *key, jobs, credits, dlc_credits, minutes in rows:
        assert tuple(key) not in out, key  # one fact row per grain
        out[tuple(key)] = {"jobs": jobs, "credits": credits, "dlc_credits": dlc_credits, "minutes": minutes}
    return out


def reconcile_dimensions(db, uri: str) -> None:
    """Every organization, project and user in MongoDB has exactly one dimension row whose
    attributes are its latest document's (Python over the documents, not the platform's SQL)."""
    import psycopg

    def latest(coll, fields):
        out = {}
        for d in db[coll].find({}):
            aid = str(d["analytics_id"]).lower()
            if aid not in out or d["updated_at"] > out[aid]["updated_at"]:
                out[aid] = {"updated_at": d["updated_at"], **{f: d.get(f) for f in fields}}
        return {k: tuple(None if v[f] is None else str(v[f]).lower() if f.endswith("analytics_id") else v[f]
                         for f in fields) for k, v in out.items()}

    checks = {
        "organization_dim": ["name", "vcs_type", "plan_tier"],
        "project_dim": ["organization_analytics_id", "name", "visibility"],
        "user_dim": ["login"],
    }
    with psycopg.connect(uri) as con:
        for table, fields in checks.items():
            coll = table.replace("_dim", "s")
            truth = latest(coll, fields)
            cols = ", ".join(f"{f}::text" for f in fields)
            got = {aid: tuple(rest) for aid, *rest in con.execute(
                f"select analytics_id::text, {cols} from dw.{table} where analytics_id not in (%s, %s)",
                (UNKNOWN, NOT_APPLICABLE))}
            assert len(truth) > 3 and got == truth, (table, sorted(set(got.items()) ^ set(truth.items()))[:4])


def test_two_days_rerun_reverse_order_and_reconciliation(stack, lake, warehouse, mongo_app, monkeypatch):
    """Also a day with a new enumerated value upstream: D2 (the 5th) holds the generator's jobs on
    executor firecracker / operating system freebsd (devstack.generate.mongo.NEW_RESOURCE), which no
    type of the warehouse has: the day completes, the values are in the warehouse (reconciled at the
    full grain below), recorded, and the run's notification (the Slack post) names them."""
    import json

    import psycopg

    from devstack import generate
    from tests.test_reliability_access import _Served

    assert generate.mongo.new_values_day(D2) and not generate.mongo.new_values_day(D1)

    generate.seed_base(mongo_app, scale=SCALE)
    generate.seed_day(mongo_app, D1, scale=SCALE)
    ingest_day(stack, D1, scale=SCALE)
    wh1 = run_dag("warehouse", D1)
    stats_d1 = load_stats(wh1)
    assert set(stats_d1) == {"organization_dim", "project_dim", "user_dim", "resource_dim", "subscription_dim",
                             "job_ran_fact", "activity_fact", "invoice_fact"}
    assert stats_d1["job_ran_fact"]["inserted"] > 0
    # late-arriving users/projects: some of D1's jobs point at an unknown member for now
    assert stats_d1["job_ran_fact"]["unknown"] > 0

    generate.seed_day(mongo_app, D2, scale=SCALE)
    ingest_day(stack, D2, scale=SCALE)
    slack = _Served()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", json.dumps(
            {"conn_type": "slackwebhook", "password": f"http://127.0.0.1:{slack.port}/hook"}))
        stats_d2 = load_stats(run_dag("warehouse", D2))
    finally:
        monkeypatch.delenv("AIRFLOW_CONN_SLACK_ALERTS")
        slack.server.shutdown()
    # the new values grew their types on the resource dimension's load, which warned naming them
    grown = {(c["column_name"], c["detail"]) for c in stats_d2["resource_dim"]["changes"]}
    assert grown == {("operating_system", "freebsd"), ("executor", "firecracker")}, stats_d2["resource_dim"]
    posts = [json.loads(p)["text"] for p in slack.posts]
    assert [p for p in posts if "dimensions.resource_dim.load" in p and "new value 'freebsd'" in p
            and "new value 'firecracker'" in p and p.startswith("dw-etl WARNING")], posts
    assert not any(p.startswith("dw-etl FAILED") for p in posts), posts
    with psycopg.connect(warehouse) as con:
        assert con.execute("select sum(f.jobs_ran) from dw.job_ran_fact f join dw.resource_dim r on r.id = f.resource_id "
                           "where r.operating_system = 'freebsd' and r.executor = 'firecracker' and f.date = %s",
                           (D2,)).fetchone()[0] == generate.mongo.NEW_VALUE_JOBS
    # D2's documents touch D1 (jobs that ran over midnight, corrections): D2's run restates D1
    # whole, and D1's rows that pointed at users/projects which arrived on D2 heal
    assert stats_d2["job_ran_fact"]["dates"] == [D1.isoformat(), D2.isoformat()]
    assert stats_d2["job_ran_fact"]["deleted"] > 0

    # re-running D1: job_ran_fact's D1 was restated from the lake's latest versions by D2's run
    # already; a vendor fact of D1 may still heal (a dimension row that arrived on D2). The re-run
    # also restates the dates the unknown-member ledger holds open (docs/decisions/0014), so its
    # counts cover D2 too: D1's unknown rows are compared in the warehouse
    vendor_unknowns = {t: unknown_rows(warehouse, t, D1) for t in ("activity_fact", "invoice_fact")}
    rerun = load_stats(run_dag("warehouse", D1))
    assert (rerun["job_ran_fact"]["deleted"], rerun["job_ran_fact"]["inserted"], rerun["job_ran_fact"]["updated"]) == (0, 0, 0)
    for table, before in vendor_unknowns.items():
        assert unknown_rows(warehouse, table, D1) <= before, (table, rerun[table])
    state_a = warehouse_fingerprint(warehouse)
    # and a second re-run changes nothing at all
    again = load_stats(run_dag("warehouse", D1))
    for table, s in again.items():
        assert (s["deleted"], s["inserted"], s["updated"]) == (0, 0, 0), (table, s)
    assert warehouse_fingerprint(warehouse) == state_a

    # what still points at the unknown user is exactly the jobs whose user is not in MongoDB
    known_users = {u["analytics_id"].lower() for u in mongo_app.users.find({}, {"analytics_id": 1})}
    for day in (D1, D2):
        lo = dt.datetime.combine(day, dt.time(), dt.timezone.utc)
        orphans = sum(
            1 for j in mongo_app.jobs.find({"started_at": {"$gte": lo, "$lt": lo + dt.timedelta(days=1)}},
                                           {"user_analytics_id": 1})
            if j["user_analytics_id"].lower() not in known_users
        )
        with psycopg.connect(warehouse) as con:
            stuck = con.execute("select coalesce(sum(jobs_ran), 0) from dw.job_ran_fact where date = %s and user_id = %s",
                                (day, UNKNOWN)).fetchone()[0]
        assert stuck == orphans, (day, stuck, orphans)
    assert orphans > 0  # D2 has users that arrive only on D3: the case stays covered

    # the generator's world is consistent: a job's project belongs to the job's organization
    owner = {str(p["analytics_id"]).lower(): str(p["organization_analytics_id"]).lower()
             for p in mongo_app.projects.find({}, {"analytics_id": 1, "organization_analytics_id": 1})}
    jobs = list(mongo_app.jobs.find({}, {"project_analytics_id": 1, "organization_analytics_id": 1}))
    strays = [j["_id"] for j in jobs if owner.get(str(j["project_analytics_id"]).lower(),
                                                   str(j["organization_analytics_id"]).lower())
              != str(j["organization_analytics_id"]).lower()]
    assert jobs and not strays, (len(strays), strays[:3])

    # reconciliation: every measure of every (date, organization) equals MongoDB's sums; no record
    # was quarantined on these days (a drift day: test_a_drift_day_completes_quarantines_records_and_reconciles)
    assert lake.list_objects_v2(Bucket=lake.bucket, Prefix="quarantine/").get("KeyCount", 0) == 0
    truth = mongo_truth(mongo_app, [D1, D2])
    got = warehouse_totals(warehouse, [D1, D2])
    assert set(got) == set(truth), (sorted(set(got) - set(truth))[:5], sorted(set(truth) - set(got))[:5])
    for key, t in truth.items():
        assert got[key] == t, key
    # and at the fact's full grain, every key by its natural value, and every dimension attribute
    grain_truth, grain_got = mongo_grain_truth(mongo_app, [D1, D2]), warehouse_grain(warehouse, [D1, D2])
    assert len(grain_truth) > 100 and set(grain_got) == set(grain_truth), (
        sorted(set(grain_got) - set(grain_truth), key=str)[:3], sorted(set(grain_truth) - set(grain_got), key=str)[:3])
    for key, t in grain_truth.items():
        assert grain_got[key] == t, (key, grain_got[key], t)
    reconcile_dimensions(mongo_app, warehouse)

    # a clean warehouse loaded in the reverse order is identical
    wh_b = new_warehouse(stack, monkeypatch)
    run_dag("warehouse", D2)
    run_dag("warehouse", D1)
    assert warehouse_fingerprint(wh_b) == state_a


D_DRIFT = dt.date(2024, 3, 15)  # a drift day of the generator (devstack.generate.mongo.is_drift_day)


def test_a_drift_day_completes_quarantines_records_and_reconciles(stack, lake, warehouse, mongo_app):
    """Upstream drift on a day (a few jobs' dlc as text, a few with a new field, new enumerated
    values): the day completes, the types grow,
    the rest lands, the drifted records are in the quarantine, the new field is a column that the
    extract reads beside the day before's partition without it, dw.schema_changes says so, and
    MongoDB's jobs of the day = landed + quarantined. Once upstream fixes the records, a clear of
    the ingest task lands them and the quarantine is gone."""
    import io
    import json

    import psycopg
    import pyarrow.parquet as pq
    from botocore.exceptions import ClientError

    from devstack import generate
    from dw.lake import RawPartition

    prev = D_DRIFT - dt.timedelta(days=1)
    generate.seed_base(mongo_app, scale=SCALE)
    generate.seed_day(mongo_app, prev, scale=SCALE, drift=True)  # not a drift day: no new field
    generate.seed_day(mongo_app, D_DRIFT, scale=SCALE, drift=True)
    typed, new_field = generate.drifted_jobs(42, SCALE, D_DRIFT)
    assert len(typed) == 3 and len(new_field) == 5
    run_dag("ingest_mongo", prev)
    ingest_day(stack, D_DRIFT, scale=SCALE)
    run_dag("warehouse", D_DRIFT)

    part = RawPartition("mongo", "jobs", D_DRIFT.isoformat())

    def table(key):
        try:
            return pq.read_table(io.BytesIO(lake.get_object(Bucket=lake.bucket, Key=key)["Body"].read()))
        except ClientError:
            return None

    raw, quarantine = table(part.key), table(part.quarantine_key)
    lo = dt.datetime.combine(D_DRIFT, dt.time(), dt.timezone.utc)
    window = len(list(mongo_app.jobs.find({"updated_at": {"$gte": lo, "$lt": lo + dt.timedelta(days=1)}}, {"_id": 1})))
    assert raw.num_rows + quarantine.num_rows == window  # nothing dropped silently
    assert sorted(quarantine.column("object_id").to_pylist()) == sorted(map(str, typed))
    assert set(quarantine.column("field").to_pylist()) == {"dlc"}
    assert sorted(raw.column("runner_version").drop_null().to_pylist()) == [f"2.{n}.0" for n in range(5)]
    manifest = json.loads(lake.get_object(Bucket=lake.bucket, Key=part.manifest_key)["Body"].read())
    assert (manifest["read_rows"], manifest["quarantined_rows"]) == (window, 3)

    def ledger():
        with psycopg.connect(warehouse) as con:
            return {r[:5]: r[5:] for r in con.execute(
                "select source, entity, column_name, change, action, row_count, recorded_by, detail "
                "from dw.schema_changes where dt = %s", (D_DRIFT,))}

    got = ledger()
    assert got[("mongo", "jobs", "dlc", "type_mismatch", "quarantine")][:2] == (3, "ingest_mongo.jobs")
    n, by, detail = got[("mongo", "jobs", "runner_version", "new_field", "evolve")]
    assert (n, by) == (5, "ingest_mongo.jobs") and "raw_mongo_jobs.sql" in detail
    # the day is also one of new enumerated values (devstack.generate: days of the month that are a
    # multiple of 5): the load grew the types and the jobs on them are in the warehouse that day
    grown = {("warehouse", "resource_dim", "executor", "new_enum_value", "evolve"),
             ("warehouse", "resource_dim", "operating_system", "new_enum_value", "evolve")}
    assert set(got) == {("mongo", "jobs", "dlc", "type_mismatch", "quarantine"),
                        ("mongo", "jobs", "runner_version", "new_field", "evolve")} | grown
    with psycopg.connect(warehouse) as con:
        assert con.execute("select count(*) from dw.job_ran_fact f join dw.resource_dim r on r.id = f.resource_id "
                           "where f.date = %s and r.operating_system = 'freebsd' and r.executor = 'firecracker'",
                           (D_DRIFT,)).fetchone()[0] > 0

    # the warehouse holds MongoDB's jobs of the day but the quarantined ones, measure for measure
    assert warehouse_totals(warehouse, [D_DRIFT]) == mongo_truth(mongo_app, [D_DRIFT], exclude=typed)

    # upstream fixes the records; a clear of the ingest task (and of the warehouse run) lands them
    mongo_app.jobs.update_many({"_id": {"$in": typed}}, {"$set": {"dlc": True}})
    run_dag("ingest_mongo", D_DRIFT)
    run_dag("warehouse", D_DRIFT)
    assert table(part.quarantine_key) is None and table(part.key).num_rows == window
    assert set(ledger()) == {("mongo", "jobs", "runner_version", "new_field", "evolve")} | grown
    assert warehouse_totals(warehouse, [D_DRIFT]) == mongo_truth(mongo_app, [D_DRIFT])


def test_a_new_table_is_one_yaml_and_one_sql_file(stack, lake, warehouse, mongo_app, monkeypatch, tmp_path):
    """Adding a fact of an existing shape takes a YAML file and an Athena SQL file, no Python (its
    revision is written by ``make migration``, docs/decisions/0045; without it, as here, migrate
    still creates the table from the YAML)."""
    import shutil

    import psycopg

    from dw import config, paths
    from devstack import generate

    include = tmp_path / "include"
    shutil.copytree(paths.INCLUDE_DIR, include)
    (include / "config" / "warehouse" / "organization_daily_fact.yaml").write_text(
        """\
table: organization_daily_fact
kind: fact
description: Jobs and credits per organization and day.
source: mongo
lake_tables: [raw_mongo_jobs]
date_column: date
columns:
  - {name: date, type: date, nullable: false}
  - {name: organization_analytics_id, type: uuid}
  - {name: jobs_ran, type: bigint, nullable: false}
  - {name: credits_used, type: bigint}
lookups:
  - {key: organization_id, dimension: organization_dim, match: {analytics_id: organization_analytics_id}}
grain: [date, organization_id]
measures:
  - {name: jobs_ran, type: bigint}
  - {name: credits_used, type: bigint}
checks:
  table:
    jobs_ran_positive: "jobs_ran > 0"
"""
    )
    (include / "sql" / "athena" / "extract" / "organization_daily_fact.sql").write_text(
        """\
select cast(date(started_at) as date) as date,
       organization_analytics_id,
       count(*) as jobs_ran,
       sum(credits_used) as credits_used
from raw_mongo_jobs
where dt = '{{ run_date }}'
group by 1, 2
"""
    )
    monkeypatch.setenv("DW_INCLUDE_DIR", str(include))
    config.clear_caches()
    try:
        assert "organization_daily_fact" in config.warehouse_tables()
        generate.seed_base(mongo_app, scale=SCALE)
        generate.seed_day(mongo_app, D1, scale=SCALE)
        run_dag("ingest_mongo", D1)
        from tests.helpers import build_dag

        dag = build_dag("warehouse")
        assert "facts.organization_daily_fact.load" in dag.task_ids
        # the new table's tasks and everything upstream of them (migrate, its lake_ready sensor,
        # organization_dim): only MongoDB was ingested
        sub = dag.partial_subset(task_ids=[t for t in dag.task_ids if t.startswith("facts.organization_daily_fact.")],
                                 include_upstream=True)
        assert "dimensions.organization_dim.load" in sub.task_ids and "facts.job_ran_fact.load" not in sub.task_ids
        run_dag("warehouse", D1, dag=sub)
        with psycopg.connect(warehouse) as con:
            n, jobs = con.execute(
                "select count(*), sum(jobs_ran) from dw.organization_daily_fact where date = %s", (D1,)
            ).fetchone()
        started_d1 = mongo_app.jobs.count_documents({"started_at": {
            "$gte": dt.datetime(2024, 3, 4, tzinfo=dt.timezone.utc), "$lt": dt.datetime(2024, 3, 5, tzinfo=dt.timezone.utc)}})
        assert n > 0 and jobs == started_d1
    finally:
        monkeypatch.delenv("DW_INCLUDE_DIR")
        config.clear_caches()
