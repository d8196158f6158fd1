"""ingest_stripe, ingest_amplitude, ingest_chargify against the stand-ins over real HTTP:
the normal day (through the DAGs), an empty day, 429 bursts, a 500 mid-paging, a timeout, a
truncated body, bad credentials, unstable page-numbered paging, an incomplete Amplitude
window — and completeness: every object the stand-in serves lands exactly once, as served."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json

import pendulum
import pyarrow.parquet as pq
import pytest

from dw.config import vendor_source
from devstack import vendors
from tests.helpers import CONTRACT_CASES, FAST, amplitude_served, lake_object, served

D = dt.date(2024, 1, 15)
UTC = dt.timezone.utc


def ctx(day: dt.date = D) -> dict:
    start = pendulum.datetime(day.year, day.month, day.day, tz="UTC")
    return {"data_interval_start": start, "data_interval_end": start.add(days=1)}


def operator(source: str, entity: str, **overrides):
    from dw.dag_factory import vendor_task

    return vendor_task(task_id=f"{source}_{entity}", source=source, entity=entity,
                                overrides={**FAST, **overrides})


def land(source: str, entity: str, day: dt.date = D, **overrides) -> dict:
    return operator(source, entity, **overrides).execute(ctx(day))


def lake_rows(lake, source: str, entity: str, day: dt.date = D):
    key = f"raw/{source}/{entity}/dt={day.isoformat()}/part-00000.parquet"
    body = lake.get_object(Bucket=lake.bucket, Key=key)["Body"].read()
    return pq.read_table(io.BytesIO(body))


def lake_json(lake, source: str, entity: str, day: dt.date = D) -> bytes:
    key = f"raw/{source}/{entity}_json/dt={day.isoformat()}/part-00000.jsonl.gz"
    return lake.get_object(Bucket=lake.bucket, Key=key)["Body"].read()


def lake_objects(lake, source, entity, day=D) -> list[dict]:
    return [json.loads(ln) for ln in gzip.decompress(lake_json(lake, source, entity, day)).splitlines()]


def first_day_since(lake, source: str, entity: str, day: dt.date) -> dt.date | None:
    """Where a window entity's first day starts: its source's history_start when the lake holds
    no earlier partition of it (docs/decisions/0010), else None (the day's window)."""
    from dw.config import vendor_source

    start = vendor_source(source).history_start
    if not start or vendor_source(source).entities[entity].mode != "window":
        return None
    prefixes = lake.list_objects_v2(Bucket=lake.bucket, Prefix=f"raw/{source}/{entity}/", Delimiter="/")
    earlier = [p["Prefix"] for p in prefixes.get("CommonPrefixes", []) if p["Prefix"] < f"raw/{source}/{entity}/dt={day}/"]
    return None if earlier else start


def assert_lands_exactly(lake, v, source: str, entity: str, day: dt.date = D) -> int:
    objs = served(v, source, entity, day, since=first_day_since(lake, source, entity, day))
    ids = [o["id"] for o in objs]
    table = lake_rows(lake, source, entity, day)
    landed = table.column("id").to_pylist()
    assert len(landed) == len(set(landed)), f"{source}.{entity}: duplicates in the lake"
    assert sorted(landed) == sorted(ids), f"{source}.{entity}: the lake does not hold exactly what was served"
    raw = {o["id"]: o for o in lake_objects(lake, source, entity, day)}
    assert len(raw) == len(objs) and all(raw[o["id"]] == o for o in objs), f"{source}.{entity}: raw JSON differs"
    return len(ids)


# --------------------------------------------------------------------------- the DAGs, a normal day


def test_normal_day_through_the_three_dags(lake, vendor_standins, stack):
    from dw.dag_factory import build_ingest_vendor_dag
    from tests.helpers import run_dag

    v = vendor_standins
    for source in ("stripe", "chargify", "amplitude"):
        run_dag(f"ingest_{source}", D, dag=build_ingest_vendor_dag(source))
    counts = {f"stripe.{e}": assert_lands_exactly(lake, v, "stripe", e)
              for e in ("customers", "subscriptions", "invoices", "charges")}
    counts.update({f"chargify.{e}": assert_lands_exactly(lake, v, "chargify", e) for e in ("subscriptions", "customers")})
    assert all(counts.values()), counts
    # Amplitude: the raw file is the served gzip members byte for byte; Parquet has each event once
    raw, events = amplitude_served(v)
    assert lake_json(lake, "amplitude", "events") == raw
    table = lake_rows(lake, "amplitude", "events")
    assert sorted(table.column("uuid").to_pylist()) == sorted(e["uuid"] for e in events)
    by_uuid = {e["uuid"]: e for e in events}
    for row in table.slice(0, 50).to_pylist():
        e = by_uuid[row["uuid"]]
        assert row["organization_analytics_id"] == e["event_properties"]["organization_analytics_id"]
        assert row["user_id"] == (e["user_id"].lower() if e["user_id"] else None)
        assert row["session_id"] == e["session_id"]
    # PII: the emails land only as a keyed hash
    cust = lake_rows(lake, "stripe", "customers")
    assert "email" not in cust.column_names and all(len(h) == 64 for h in cust.column("email_hash").to_pylist())
    # the timestamps land in UTC whatever the vendor's zone (Chargify serves -05:00)
    subs = lake_rows(lake, "chargify", "subscriptions").to_pylist()
    served_at = {o["id"]: dt.datetime.fromisoformat(o["updated_at"]) for o in served(
        v, "chargify", "subscriptions", D, since=vendor_source("chargify").history_start)}
    assert all(s["updated_at"] == served_at[s["id"]] and s["updated_at"].tzinfo is not None for s in subs)
    # the entity's first day in this lake: everything updated up to the end of D (history_start)
    assert max(s["updated_at"] for s in subs).date() == D and min(s["updated_at"] for s in subs).date() < D


def test_a_window_entitys_first_day_lands_its_whole_history(lake, vendor_standins):
    """Chargify subscriptions: the first day in the lake reads from history_start (so the SCD2
    dimension knows every subscription); the next day only its window; a re-run of the first day
    is still the first day and lands the same objects (docs/decisions/0010)."""
    v = vendor_standins
    d2 = D + dt.timedelta(days=1)
    vendors.set_clock(v["chargify"]["url"], dt.datetime.combine(d2 + dt.timedelta(days=1), dt.time(3), UTC))
    first = land("chargify", "subscriptions", D)
    ids_first = sorted(lake_rows(lake, "chargify", "subscriptions", D).column("id").to_pylist())
    history = served(v, "chargify", "subscriptions", D, since=vendor_source("chargify").history_start)
    assert first["rows"] == len(history) > len(served(v, "chargify", "subscriptions", D)) > 0
    land("chargify", "subscriptions", d2)
    assert sorted(lake_rows(lake, "chargify", "subscriptions", d2).column("id").to_pylist()) == sorted(
        o["id"] for o in served(v, "chargify", "subscriptions", d2))
    land("chargify", "subscriptions", D)  # a clear of the first day, after the second landed
    assert sorted(lake_rows(lake, "chargify", "subscriptions", D).column("id").to_pylist()) == ids_first


# --------------------------------------------------------------------------- an empty day


def test_empty_day_lands_empty_partitions(lake, vendor_standins):
    v = vendor_standins
    from devstack import generate

    old = generate.EPOCH.date() - dt.timedelta(days=30)  # before any organization existed
    for source, entity in (("stripe", "invoices"), ("stripe", "customers"), ("chargify", "subscriptions")):
        out = land(source, entity, old)
        assert out["rows"] == 0
        assert lake_rows(lake, source, entity, old).num_rows == 0
        assert gzip.decompress(lake_json(lake, source, entity, old)) == b""
    # Amplitude: every hour answers 404 (no data for the range): an empty hour, not an error
    vendors.inject(v["amplitude"]["url"], {"kind": "status", "status": 404, "count": 24})
    out = land("amplitude", "events")
    assert out["rows"] == 0 and lake_rows(lake, "amplitude", "events").num_rows == 0
    assert lake_json(lake, "amplitude", "events") == b""


# --------------------------------------------------------------------------- faults


def test_429_burst_and_500_mid_paging_still_land_everything_once(lake, vendor_standins):
    v = vendor_standins
    url = v["stripe"]["url"]
    vendors.inject(url, {"kind": "rate_limit", "path": "/v1/customers", "count": 3, "retry_after": 1},
                   {"kind": "status", "status": 500, "path": "/v1/customers", "after": 5, "count": 2},
                   {"kind": "status", "status": 503, "path": "/v1/customers", "after": 9})
    out = land("stripe", "customers", page_size=5)
    assert out["retries"] == 6 and out["pages"] >= 10
    n = assert_lands_exactly(lake, v, "stripe", "customers")
    assert out["rows"] == n
    log = [e for e in vendors.request_log(url) if e["path"] == "/v1/customers"]
    assert [e["status"] for e in log[:3]] == [429, 429, 429]
    # the retry after the mid-paging 500 asked for the same page again (same cursor)
    failed = [i for i, e in enumerate(log) if e["status"] == 500]
    assert log[failed[0]]["query"] == log[failed[-1] + 1]["query"]
    # enforced rate limit (not injected): a client over the limit is told to wait, and does
    vendors.reset(url)
    vendors.configure(url, rate_limit=4, rate_window=1.0)
    land("stripe", "subscriptions", page_size=10)
    assert any(e["status"] == 429 for e in vendors.request_log(url))
    vendors.configure(url, rate_limit=100)
    assert_lands_exactly(lake, v, "stripe", "subscriptions")


def test_timeout_and_truncated_bodies_are_retried(lake, vendor_standins):
    v = vendor_standins
    vendors.inject(v["stripe"]["url"], {"kind": "timeout", "seconds": 2.5, "path": "/v1/charges"},
                   {"kind": "truncate", "path": "/v1/invoices", "after": 1})
    land("stripe", "charges", timeout_seconds=0.5)
    land("stripe", "invoices", page_size=2)
    assert_lands_exactly(lake, v, "stripe", "charges")
    assert_lands_exactly(lake, v, "stripe", "invoices")
    faults = [e["fault"] for e in vendors.request_log(v["stripe"]["url"])]
    assert "timeout" in faults and "truncate" in faults
    # Amplitude: a cut-short zip (and a 500) for two hours, then whole: the day lands complete
    vendors.inject(v["amplitude"]["url"], {"kind": "truncate", "after": 3}, {"kind": "status", "status": 502, "after": 7})
    out = land("amplitude", "events")
    # both faults were served once, and every fault the stand-in served the operator (those two,
    # and a 429 of its rate limit when the requests come fast enough) cost exactly one retry
    served_faults = [str(e["fault"]) for e in vendors.request_log(v["amplitude"]["url"]) if e.get("fault")]
    assert served_faults.count("truncate") == 1 and served_faults.count("status") == 1, served_faults
    assert out["retries"] == len(served_faults), (out, served_faults)
    raw, events = amplitude_served(v)
    assert lake_json(lake, "amplitude", "events") == raw and out["rows"] == len(events)
    # Chargify: a timeout mid-paging
    vendors.inject(v["chargify"]["url"], {"kind": "timeout", "seconds": 2.5, "after": 1})
    land("chargify", "customers", page_size=3, timeout_seconds=0.5)
    assert_lands_exactly(lake, v, "chargify", "customers")


@pytest.mark.parametrize("source,entity", [("stripe", "customers"), ("chargify", "subscriptions"), ("amplitude", "events")])
def test_bad_credentials_fail_at_once_without_leaking_them(lake, vendor_standins, stack, monkeypatch, source, entity):
    from airflow.sdk.exceptions import AirflowFailException

    v = vendor_standins
    land(source, entity)  # a good partition first
    key = f"raw/{source}/{entity}/dt={D.isoformat()}/part-00000.parquet"
    etag = lake.head_object(Bucket=lake.bucket, Key=key)["ETag"]
    vendors.reset(v[source]["url"])
    conn_id = f"{source}_api"
    conn = json.loads(stack.connections()[conn_id])
    conn["password"] = "wrong-secret-123456"
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    with pytest.raises(AirflowFailException) as e:
        land(source, entity)
    msg = str(e.value)
    assert "HTTP 401" in msg and f"{source}.{entity} dt=2024-01-15" in msg and "unchanged" in msg
    assert "wrong-secret-123456" not in msg and v[source]["key"] not in msg
    assert len(vendors.request_log(v[source]["url"])) == 1  # never retried
    assert lake.head_object(Bucket=lake.bucket, Key=key)["ETag"] == etag  # the old partition stays


def test_retry_after_a_failed_mid_paging_run_neither_loses_nor_duplicates(lake, vendor_standins):
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    v = vendor_standins
    url = v["stripe"]["url"]
    # page 4 fails on every attempt: the task gives up (Airflow would retry it) and writes nothing
    vendors.inject(url, {"kind": "status", "status": 500, "path": "/v1/customers", "after": 3, "count": 3})
    with pytest.raises(AirflowException) as e:
        land("stripe", "customers", page_size=5, max_attempts=3)
    assert not isinstance(e.value, AirflowFailException)
    assert "page 4" in str(e.value) and "gave up after 3 attempts" in str(e.value)
    assert lake.list_objects_v2(Bucket=lake.bucket).get("KeyCount", 0) == 0
    # the task's retry starts over and lands the day exactly once
    out = land("stripe", "customers", page_size=5)
    assert out["rows"] == assert_lands_exactly(lake, v, "stripe", "customers")


def test_chargify_repeated_and_skipped_pages_are_caught(lake, vendor_standins):
    v = vendor_standins
    url = v["chargify"]["url"]
    vendors.configure(url, scale=0.2)  # ~30 subscriptions change on the day: several pages of 5
    vendors.inject(url, {"kind": "repeat_page", "path": "/subscriptions.json", "after": 2},
                   {"kind": "skip_page", "path": "/subscriptions.json", "after": 4})
    out = land("chargify", "subscriptions", page_size=5)
    n = assert_lands_exactly(lake, v, "chargify", "subscriptions")
    assert out["rows"] == n and n > 15
    reads = [e for e in vendors.request_log(url) if e["query"].get("page") == "1"]
    assert len(reads) >= 3  # the first read was inconsistent: read again until two agree


def test_amplitude_never_exports_an_incomplete_day(lake, vendor_standins):
    from airflow.sdk.exceptions import TaskDeferred

    from dw.config import vendor_source
    from dw.sources import amplitude
    from dw.sources.http import NotYetAvailable, PartitionSink
    from dw.sources.http import vendor_client

    v = vendor_standins
    today = dt.datetime.now(UTC).date()
    with pytest.raises(TaskDeferred) as d:
        land("amplitude", "events", today)  # the day is not over yet: always deferred
    assert d.value.trigger.moment >= dt.datetime.combine(today, dt.time(), UTC) + dt.timedelta(hours=2)
    # the engine refuses too, before any request
    src = vendor_source("amplitude")
    start = dt.datetime(2024, 1, 15, tzinfo=UTC)
    sink = PartitionSink("amplitude", src.entities["events"], ds="2024-01-15", pii_key=None, raw_members=True)
    try:
        client = vendor_client(src, label="amplitude.events dt=2024-01-15")
        with pytest.raises(NotYetAvailable):
            amplitude.fetch(client, src.entities["events"], sink, start, start + dt.timedelta(days=1),
                            now=start + dt.timedelta(days=1, hours=1, minutes=59))
    finally:
        sink.discard()
    assert vendors.request_log(v["amplitude"]["url"]) == []
    assert lake.list_objects_v2(Bucket=lake.bucket).get("KeyCount", 0) == 0


def test_each_ingest_dag_emits_one_asset_per_entity():
    from dw.config import vendor_source
    from dw.dag_factory import build_ingest_vendor_dag

    for source in ("stripe", "amplitude", "chargify"):
        dag = build_ingest_vendor_dag(source)
        for name in vendor_source(source).entities:
            t = dag.get_task(name)
            assert [o.name for o in t.outlets] == [f"raw_{source}_{name}"]
            assert t.retries >= 2 and t.doc_md


# --------------------------------------------------------------------------- contracts (dw.lake_contract)


def _charges_with(kind: str, mode: str) -> dict:
    """Stripe's charges config, changed so that the stand-in's normal objects show one kind of
    change: ``data_type`` declares ``captured`` an int64 (its served bools do not convert);
    ``new_fields`` stops ignoring ``failure_message`` (a key every served charge has)."""
    ents = vendor_source("stripe").model_dump()["entities"]
    ch = ents["charges"]
    if kind == "data_type":
        ch["fields"]["captured"] = {**ch["fields"]["captured"], "type": "int64", "contract": {"data_type": mode}}
    else:
        ch["ignored_fields"] = [f for f in ch["ignored_fields"] if f != "failure_message"]
        ch["contract"] = {"new_fields": mode}
    return {"entities": ents}


@pytest.mark.parametrize("mode,kind", CONTRACT_CASES)
def test_contract_modes_on_a_vendor_table(lake, vendor_standins, kind, mode):
    from airflow.sdk.exceptions import AirflowFailException

    from dw.lake import RawPartition

    part = RawPartition("stripe", "charges", D.isoformat())
    n = len(served(vendor_standins, "stripe", "charges"))
    assert n > 0
    if mode == "freeze":
        with pytest.raises(AirflowFailException, match="captured|failure_message"):
            land("stripe", "charges", **_charges_with(kind, mode))
        assert lake_object(lake, part.key) is None and lake_object(lake, part.manifest_key) is None
        return
    out = land("stripe", "charges", **_charges_with(kind, mode))
    table = lake_rows(lake, "stripe", "charges")
    manifest = json.loads(lake_object(lake, part.manifest_key))
    [change] = manifest["changes"]
    quarantine = lake_object(lake, part.quarantine_key)
    if mode == "discard_row":  # every served charge shows the change: every one is set aside
        assert out["rows"] == table.num_rows == 0 and out["quarantined"] == n
        q = pq.read_table(io.BytesIO(quarantine)).to_pylist()
        assert len(q) == n and {r["field"] for r in q} == {"captured" if kind == "data_type" else "failure_message"}
        assert manifest["quarantine"] == part.quarantine_uri
    else:
        assert out["rows"] == table.num_rows == n and out["quarantined"] == 0 and quarantine is None
    if kind == "data_type":
        assert (change["column_name"], change["detail"], change["row_count"]) == ("captured", "bool (expected int64)", n)
        if mode == "discard_value":
            assert table.column("captured").null_count == n
    else:
        assert change["column_name"] == "failure_message" and change["row_count"] == n
        assert ("failure_message" in table.column_names) == (mode == "evolve")
        if mode == "evolve":
            assert "include/sql/athena/ddl/raw_stripe_charges.sql" in change["detail"]
    assert (manifest["landed_rows"], manifest["quarantined_rows"], manifest["read_rows"]) == (
        table.num_rows, out["quarantined"], n)
    assert out["changes"] == 1
