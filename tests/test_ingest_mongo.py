"""MongoToLakeOperator and the dw.sources.mongo engine against the real local stack
(nx-27017 MongoDB, moto S3): no mocks of pymongo or boto3.

The operator's execute() reads only data_interval_start / data_interval_end from the
context, so the tests pass a minimal dict.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import hmac
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pendulum
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from bson import Decimal128, ObjectId
from bson.binary import Binary
from bson.int64 import Int64

from dw.config import MongoCollection, mongo_source
from dw.sources.mongo import (
    MongoExtractError,
    arrow_schema,
    extract_to_parquet,
    land_partition,
    window_query,
    write_parquet,
)
from dw.lake import RawPartition
from tests.helpers import CONTRACT_CASES, lake_object

DAY = pendulum.datetime(2024, 1, 15, tz="UTC")
DS = "2024-01-15"
UTC = dt.timezone.utc


def ctx(day=DAY) -> dict:
    return {"data_interval_start": day, "data_interval_end": day.add(days=1), "ti": None}


FREEZE = {"data_type": "freeze", "new_fields": "freeze"}  # today's failures, as before contracts


def run(collection: str, day=DAY, contract: dict | None = None, context: dict | None = None) -> dict:
    """The collection's task; ``contract`` replaces the collection's contract in the config."""
    from dw.dag_factory import mongo_task

    op = mongo_task(task_id=f"ingest_{collection}", collection=collection)
    if contract is not None:
        op.collection = op.collection.model_copy(update={"contract": contract})
    return op.execute({**ctx(day), **(context or {})})


def objects(lake, prefix: str) -> list[str]:
    resp = lake.list_objects_v2(Bucket=lake.bucket, Prefix=prefix)
    return [o["Key"] for o in resp.get("Contents", [])]


def read_object(lake, key: str) -> bytes:
    return lake.get_object(Bucket=lake.bucket, Key=key)["Body"].read()


def read_partition(lake, collection: str, ds: str = DS) -> pa.Table:
    part = RawPartition("mongo", collection, ds)
    return pq.read_table(io.BytesIO(read_object(lake, part.key)))


def job(**over) -> dict:
    d = {
        "_id": ObjectId(),
        "organization_analytics_id": str(uuid.uuid4()),
        "project_analytics_id": str(uuid.uuid4()),
        "user_analytics_id": str(uuid.uuid4()),
        "subscription_id": "sub_1",
        "started_at": dt.datetime(2024, 1, 15, 10, 0),
        "stopped_at": dt.datetime(2024, 1, 15, 10, 5),
        "outcome": "success",
        "resource_class": "medium",
        "executor": "docker",
        "operating_system": "linux",
        "dlc": False,
        "credits_used": 10,
        "dlc_credits_used": 0,
        "minutes_used": 5.0,
        "updated_at": dt.datetime(2024, 1, 15, 10, 5),
    }
    d.update(over)
    return {k: v for k, v in d.items() if v is not _DROP}


_DROP = object()


# --------------------------------------------------------------------------- operator: windows and modes


def test_incremental_window_is_gte_start_lt_end(lake, mongo_app):
    ms = dt.timedelta(milliseconds=1)
    start, end = dt.datetime(2024, 1, 15), dt.datetime(2024, 1, 16)
    docs = {
        "before": job(updated_at=start - ms),
        "at_start": job(updated_at=start),
        "last_ms": job(updated_at=end - ms),
        "at_end": job(updated_at=end),
    }
    mongo_app.jobs.insert_many(list(docs.values()))

    out = run("jobs")

    part = RawPartition("mongo", "jobs", DS)
    assert out == {"uri": part.uri, "rows": 2, "bytes": len(read_object(lake, part.key)), "quarantined": 0, "changes": 0}
    assert objects(lake, "raw/mongo/jobs/") == [part.key]
    t = read_partition(lake, "jobs")
    assert sorted(t.column("id").to_pylist()) == sorted([str(docs["at_start"]["_id"]), str(docs["last_ms"]["_id"])])
    assert t.column_names == mongo_source().collections["jobs"].lake_columns
    assert t.schema.field("updated_at").type == pa.timestamp("ms", tz="UTC")  # Athena reads timestamp(3)


def test_snapshot_takes_whole_collection(lake, mongo_app):
    # organizations is a snapshot collection: documents of any date land
    orgs = [
        {"_id": ObjectId(), "analytics_id": str(uuid.uuid4()), "name": f"org{i}", "vcs_type": "github",
         "plan_tier": "free", "created_at": dt.datetime(2020 + i, 1, 1), "updated_at": dt.datetime(2020 + i, 6, 1)}
        for i in range(5)
    ]
    mongo_app.organizations.insert_many(orgs)

    out = run("organizations")

    assert out["rows"] == 5
    t = read_partition(lake, "organizations")
    assert sorted(t.column("name").to_pylist()) == [f"org{i}" for i in range(5)]
    assert t.column_names == ["id", "analytics_id", "name", "vcs_type", "plan_tier", "created_at", "updated_at"]


def test_empty_window_writes_zero_row_file_with_schema(lake, mongo_app):
    mongo_app.jobs.insert_one(job(updated_at=dt.datetime(2024, 1, 10)))

    out = run("jobs")

    assert out["rows"] == 0
    t = read_partition(lake, "jobs")
    assert t.num_rows == 0
    assert t.schema.equals(arrow_schema(mongo_source().collections["jobs"]), check_metadata=False)


def test_rerun_replaces_partition(lake, mongo_app):
    first = job(outcome="failed")
    mongo_app.jobs.insert_one(first)
    assert run("jobs")["rows"] == 1

    mongo_app.jobs.update_one({"_id": first["_id"]}, {"$set": {"outcome": "success"}})
    mongo_app.jobs.insert_one(job(outcome="success"))
    out = run("jobs")

    assert out["rows"] == 2
    assert objects(lake, "raw/mongo/jobs/") == [RawPartition("mongo", "jobs", DS).key]
    t = read_partition(lake, "jobs")
    assert t.column("outcome").to_pylist() == ["success", "success"]


def test_extra_unknown_fields_are_dropped_under_discard_value(lake, mongo_app):
    mongo_app.jobs.insert_one(job(brand_new_field={"x": 1}, another="y"))

    assert run("jobs", contract={"new_fields": "discard_value"})["rows"] == 1
    t = read_partition(lake, "jobs")
    assert "brand_new_field" not in t.column_names and "another" not in t.column_names
    assert t.column_names == mongo_source().collections["jobs"].lake_columns


def test_missing_optional_field_is_null(lake, mongo_app):
    mongo_app.jobs.insert_one(job(stopped_at=_DROP, dlc=None))
    run("jobs")
    row = read_partition(lake, "jobs").to_pylist()[0]
    assert row["stopped_at"] is None and row["dlc"] is None


# --------------------------------------------------------------------------- operator: failures leave the lake as it was


@pytest.mark.parametrize(
    "field,value,shown",
    [
        ("credits_used", "twelve", "a value of type str is not an int64"),
        ("credits_used", 1.5, "a value of type float is not an int64"),
        ("outcome", {"a": 1}, "a value of type dict is not a string"),
        ("minutes_used", 1.2345, "a value of type float is not exactly representable as decimal(18,3)"),
        ("organization_analytics_id", "not-a-uuid", "a value of type str is not a canonical UUID string"),
        ("dlc", 2, "a value of type int is not a bool"),
        ("started_at", "yesterday", "a value of type str is not an ISO-8601 timestamp"),
    ],
)
def test_unconvertible_value_fails_and_lake_is_unchanged(lake, mongo_app, field, value, shown):
    from airflow.sdk.exceptions import AirflowFailException

    part = RawPartition("mongo", "jobs", DS)
    old = b"previous partition bytes"
    lake.put_object(Bucket=lake.bucket, Key=part.key, Body=old)
    good = [job() for _ in range(5)]
    bad = job(**{field: value})
    mongo_app.jobs.insert_many(good + [bad])

    with pytest.raises(AirflowFailException) as ei:
        run("jobs", contract=FREEZE)

    msg = str(ei.value)
    assert msg.startswith(f"mongo.jobs dt={DS}: document {bad['_id']}: field {field}: "), msg
    assert shown in msg and repr(value) not in msg.split(f"field {field}: ")[1].split(" (nothing")[0]  # never the value
    assert read_object(lake, part.key) == old
    assert objects(lake, "raw/mongo/") == [part.key]


def test_unconvertible_value_on_first_run_lands_nothing(lake, mongo_app):
    from airflow.sdk.exceptions import AirflowFailException

    mongo_app.jobs.insert_one(job(credits_used="x" * 500))
    with pytest.raises(AirflowFailException) as ei:
        run("jobs", contract=FREEZE)
    assert "credits_used" in str(ei.value) and "xxx" not in str(ei.value)  # the value is never shown
    assert objects(lake, "raw/") == []


def test_missing_required_field_fails(lake, mongo_app):
    from airflow.sdk.exceptions import AirflowFailException

    bad = job(started_at=_DROP)
    mongo_app.jobs.insert_many([job(), bad])
    with pytest.raises(AirflowFailException, match=rf"document {bad['_id']}: field started_at: is missing or null"):
        run("jobs", contract=FREEZE)
    assert objects(lake, "raw/") == []

    mongo_app.jobs.update_one({"_id": bad["_id"]}, {"$set": {"started_at": None}})
    with pytest.raises(AirflowFailException, match="field started_at: is missing or null"):
        run("jobs", contract=FREEZE)


# --------------------------------------------------------------------------- PII


def test_email_is_keyed_hash_and_never_in_the_lake(lake, mongo_app, stack):
    key = stack.info["pii_key"].encode()
    users = [
        {"_id": ObjectId(), "analytics_id": str(uuid.uuid4()), "login": "alice",
         "email": "  Alice.Secret@Example.COM ", "updated_at": dt.datetime(2023, 5, 1)},
        {"_id": ObjectId(), "analytics_id": str(uuid.uuid4()), "login": "bob", "email": None,
         "updated_at": dt.datetime(2023, 5, 1)},
        {"_id": ObjectId(), "analytics_id": str(uuid.uuid4()), "login": "carol", "updated_at": dt.datetime(2023, 5, 1)},
    ]
    mongo_app.users.insert_many(users)

    run("users")

    raw = read_object(lake, RawPartition("mongo", "users", DS).key)
    for clear in (b"Alice.Secret@Example.COM", b"alice.secret@example.com", b"Alice.Secret", b"alice.secret"):
        assert clear not in raw
    t = pq.read_table(io.BytesIO(raw))
    assert "email" not in t.column_names
    by_login = {r["login"]: r for r in t.to_pylist()}
    expected = hmac.new(key, b"alice.secret@example.com", hashlib.sha256).hexdigest()
    assert by_login["alice"]["email_hash"] == expected
    assert by_login["bob"]["email_hash"] is None and by_login["carol"]["email_hash"] is None


def test_pii_error_names_field_not_value(lake, mongo_app):
    from airflow.sdk.exceptions import AirflowFailException

    doc = {"_id": ObjectId(), "analytics_id": str(uuid.uuid4()), "login": "dave",
           "email": ["dave.private@example.com"], "updated_at": dt.datetime(2023, 5, 1)}
    mongo_app.users.insert_one(doc)
    with pytest.raises(AirflowFailException) as ei:
        run("users", contract=FREEZE)
    msg = str(ei.value)
    assert f"document {doc['_id']}: field email:" in msg
    assert "dave.private" not in msg and "example.com" not in msg
    assert objects(lake, "raw/") == []


# --------------------------------------------------------------------------- engine: type mapping


ALL_TYPES = MongoCollection.model_validate(
    {
        "name": "things",
        "mode": "snapshot",
        "contract": {"data_type": "freeze"},  # a value that does not convert fails (the error is the subject)
        "fields": {
            "_id": {"type": "object_id", "required": True},
            "ref": {"type": "object_id"},
            "uid": {"type": "uuid"},
            "s": {"type": "string"},
            "ts": {"type": "timestamp"},
            "b": {"type": "bool"},
            "i": {"type": "int64"},
            "f": {"type": "float64"},
            "d": {"type": "decimal", "precision": 10, "scale": 2},
            "j": {"type": "json"},
        },
    }
)


def _extract(db, coll_cfg, tmp_path, docs, *, batch_size=1000, query=None):
    db[coll_cfg.name].insert_many(docs)
    path = str(tmp_path / "out.parquet")
    stats = extract_to_parquet(db[coll_cfg.name], coll_cfg, query=query or {}, batch_size=batch_size,
                               pii_key=None, path=path, label=f"mongo.{coll_cfg.name} dt={DS}")
    return stats, pq.read_table(path)


def test_type_mapping_clean_and_messy_values(mongo_app, tmp_path):
    oid, u = ObjectId(), uuid.uuid4()
    ts = dt.datetime(2024, 1, 15, 10, 30, 0, 123000)
    ts_utc = ts.replace(tzinfo=UTC)
    rows = [
        # clean BSON types
        dict(n=0, ref=oid, uid=str(u), s="héllo", ts=ts, b=True, i=42, f=1.25, d=1234 / 100,
             j={"b": 1, "a": [1, 2]}),
        # messy but valid
        dict(n=1, ref=str(oid).upper(), uid=str(u).upper(), s="", ts="2024-01-15T10:30:00.123Z", b=1, i="42",
             f=3, d="12.34", j=[{"z": 1, "y": None}]),
        dict(n=2, ref=None, uid=str(u), s=None, ts="2024-01-15T12:30:00.123+02:00", b="FALSE", i=42.0,
             f="2.5e1", d=12.34, j={"when": ts, "id": oid}),
        dict(n=3, uid=None, ts="2024-01-15 10:30:00.123", b=0, i=Int64(2**40), f=Int64(7), d="12.3",
             j={}),
        dict(n=4, ts=dt.datetime(2024, 1, 15, 10, 30, 0, 123000, tzinfo=UTC), b="true", i=" -7 ", f="-0.5", d=3,
             j=None),
    ]
    docs = [{"_id": ObjectId(), **{k: v for k, v in r.items() if k != "n"}} for r in rows]
    # _id order = insertion order; the server may return any order, so sort by id
    stats, t = _extract(mongo_app, ALL_TYPES, tmp_path, docs)
    assert stats.rows == 5
    assert t.schema.equals(arrow_schema(ALL_TYPES), check_metadata=False)
    assert t.schema.field("id").nullable is False
    assert t.schema.field("d").type == pa.decimal128(10, 2)
    got = {r["id"]: r for r in t.to_pylist()}
    r = [got[str(d["_id"])] for d in docs]

    assert [x["ref"] for x in r] == [str(oid), str(oid), None, None, None]
    assert [x["uid"] for x in r] == [str(u), str(u), str(u), None, None]
    assert [x["s"] for x in r] == ["héllo", "", None, None, None]
    assert [x["ts"] for x in r] == [ts_utc] * 5
    assert [x["b"] for x in r] == [True, True, False, False, True]
    assert [x["i"] for x in r] == [42, 42, 42, 2**40, -7]
    assert [x["f"] for x in r] == [1.25, 3.0, 25.0, 7.0, -0.5]
    D = decimal.Decimal
    assert [x["d"] for x in r] == [D("12.34"), D("12.34"), D("12.34"), D("12.30"), D("3.00")]
    assert r[0]["j"] == '{"a":[1,2],"b":1}'
    assert r[1]["j"] == '[{"y":null,"z":1}]'
    assert json.loads(r[2]["j"]) == {"id": str(oid), "when": "2024-01-15T10:30:00.123000+00:00"}
    assert list(json.loads(r[2]["j"])) == ["id", "when"]
    assert r[3]["j"] == "{}" and r[4]["j"] is None


@pytest.mark.parametrize(
    "field,value,reason",
    [
        ("ref", "xyz", "is not an ObjectId"),
        ("uid", "1234", "is not a canonical UUID string"),
        ("s", 12, "a value of type int is not a string"),
        ("ts", 1700000000, "a value of type int is not a timestamp"),
        ("b", "yes", "a value of type str is not a bool"),
        ("i", True, "a value of type bool is not an int64"),
        ("i", "1.0", "a value of type str is not an int64"),
        ("i", 2.0**70, "is out of the int64 range"),
        ("f", "ten", "a value of type str is not a float64"),
        ("f", 2**60 + 1, "too large for a float64"),
        ("d", "1.234", "is not exactly representable as decimal(10,2)"),
        ("d", 123456789.5, "does not fit decimal(10,2)"),
        ("j", "{}", "is not a JSON object or array"),
    ],
)
def test_type_mapping_rejects_lossy_values(mongo_app, tmp_path, field, value, reason):
    bad = {"_id": ObjectId(), field: value}
    with pytest.raises(MongoExtractError) as ei:
        _extract(mongo_app, ALL_TYPES, tmp_path, [{"_id": ObjectId()} for _ in range(3)] + [bad])
    msg = str(ei.value)
    assert msg.startswith(f"mongo.things dt={DS}: document {bad['_id']}: field {field}: "), msg
    assert reason in msg


# nx-27017 (the local stand-in) cannot store Decimal128, NaN or infinities, and reads
# back UUID binaries (subtype 4) as plain bytes; production MongoDB keeps them. These values go straight into the converter, as bson.decode_all gives them.


def test_bson_values_the_stand_in_cannot_store(tmp_path):
    ok = [
        {"_id": ObjectId(), "d": Decimal128("12.3"), "i": Decimal128("5"), "f": Decimal128("0.25"),
         "j": {"amount": Decimal128("1.50")}},
        {"_id": ObjectId(), "d": decimal.Decimal("-0.01"), "f": float("nan"), "uid": Binary.from_uuid(uuid.UUID(int=7))},
        {"_id": ObjectId(), "uid": uuid.UUID(int=8)},  # decoded with UuidRepresentation.STANDARD
    ]
    path = str(tmp_path / "x.parquet")
    stats = write_parquet([ok], ALL_TYPES, path=path)
    r = pq.read_table(path).to_pylist()
    assert stats.rows == 3
    assert [x["d"] for x in r] == [decimal.Decimal("12.30"), decimal.Decimal("-0.01"), None]
    assert [x["uid"] for x in r] == [None, str(uuid.UUID(int=7)), str(uuid.UUID(int=8))]
    assert r[0]["i"] == 5 and r[0]["f"] == 0.25 and r[0]["j"] == '{"amount":"1.50"}'
    assert r[1]["f"] != r[1]["f"]  # NaN is a float64 value

    for field, value, reason in [
        ("d", float("nan"), "not finite"),
        ("d", Decimal128("Infinity"), "not finite"),
        ("d", Decimal128("0.001"), "is not exactly representable as decimal(10,2)"),
        ("i", Decimal128("1.5"), "is not an int64"),
        ("j", {"x": float("inf")}, "is not JSON-serializable"),
        ("uid", Binary(uuid.UUID(int=7).bytes, 3), "legacy (subtype 3) UUID"),
        ("uid", b"0123456789abcdef", "is not a UUID"),
    ]:
        bad = {"_id": ObjectId(), field: value}
        with pytest.raises(MongoExtractError) as ei:
            write_parquet([[{"_id": ObjectId()}, bad]], ALL_TYPES, path=path, label=f"mongo.things dt={DS}")
        assert str(ei.value).startswith(f"mongo.things dt={DS}: document {bad['_id']}: field {field}: ")
        assert reason in str(ei.value)


def test_small_batches_give_the_same_data(mongo_app, tmp_path):
    cfg = mongo_source().collections["jobs"]
    docs = [job(credits_used=i, minutes_used=i / 8, dlc=bool(i % 2), stopped_at=None if i % 3 else dt.datetime(2024, 1, 15))
            for i in range(257)]
    mongo_app.jobs.insert_many(docs)
    query = window_query(cfg, DAY, DAY.add(days=1))
    tables = {}
    for bs in (7, 1000):
        path = str(tmp_path / f"bs{bs}.parquet")
        stats = extract_to_parquet(mongo_app.jobs, cfg, query=query, batch_size=bs, pii_key=None, path=path)
        assert stats.rows == 257
        tables[bs] = pq.read_table(path).sort_by("id")
    assert stats.batches == 1
    assert tables[7].equals(tables[1000])
    assert sorted(tables[7].column("credits_used").to_pylist()) == list(range(257))


def test_land_partition_removes_temp_file_on_success_and_failure(lake, mongo_app, tmp_path):
    cfg = mongo_source().collections["jobs"].model_copy(update={"contract": FREEZE})
    mongo_app.jobs.insert_one(job())
    part = RawPartition("mongo", "jobs", DS)
    q = window_query(cfg, DAY, DAY.add(days=1))
    kw = dict(query=q, batch_size=10, pii_key=None, s3_client=lake, bucket=lake.bucket, key=part.key, tmp_dir=str(tmp_path))
    stats = land_partition(mongo_app.jobs, cfg, **kw)
    assert stats.rows == 1 and list(tmp_path.iterdir()) == []
    before = read_object(lake, part.key)

    mongo_app.jobs.insert_one(job(credits_used="many"))
    with pytest.raises(MongoExtractError):
        land_partition(mongo_app.jobs, cfg, **kw)
    assert list(tmp_path.iterdir()) == []
    assert read_object(lake, part.key) == before


def test_operator_module_is_light_at_import():
    code = (
        "import sys; import dw.operators.mongo_to_lake; "
        "print(sorted(m for m in ('pyarrow', 'pymongo', 'bson', 'boto3') if m in sys.modules))"
    )
    plugins = str(Path(__file__).resolve().parents[1] / "plugins")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": plugins})
    assert out.stdout.strip().splitlines()[-1] == "[]"


# --------------------------------------------------------------------------- contracts: quarantine, new fields, clear


@pytest.mark.parametrize("mode,kind", CONTRACT_CASES)
def test_contract_modes_on_a_collection(lake, mongo_app, kind, mode):
    from airflow.sdk.exceptions import AirflowFailException

    part = RawPartition("mongo", "jobs", DS)
    bad = job(credits_used="twelve") if kind == "data_type" else job(runner_version="2.1")
    mongo_app.jobs.insert_many([job(), bad, job()])
    if mode == "freeze":
        with pytest.raises(AirflowFailException, match=rf"document {bad['_id']}: (field credits_used|new field 'runner_version')"):
            run("jobs", contract={kind: mode})
        assert objects(lake, "") == []
        return
    out = run("jobs", contract={kind: mode})
    t = read_partition(lake, "jobs")
    manifest = json.loads(read_object(lake, part.manifest_key))
    [change] = manifest["changes"]
    field = "credits_used" if kind == "data_type" else "runner_version"
    assert (change["column_name"], change["kind"], change["mode"], change["row_count"]) == (field, kind, mode, 1)
    assert manifest["recorded_by"] == "ingest_mongo.jobs"  # the DAG factory's <dag>.<task>
    if mode == "discard_row":
        assert (out["rows"], out["quarantined"]) == (2, 1) and str(bad["_id"]) not in t.column("id").to_pylist()
        [q] = pq.read_table(io.BytesIO(read_object(lake, part.quarantine_key))).to_pylist()
        assert (q["object_id"], q["field"], q["position"]) == (str(bad["_id"]), field, 1)
    else:
        assert (out["rows"], out["quarantined"]) == (3, 0) and lake_object(lake, part.quarantine_key) is None
        row = next(r for r in t.to_pylist() if r["id"] == str(bad["_id"]))
        if kind == "data_type":
            assert row["credits_used"] is None
        else:
            assert ("runner_version" in row) == (mode == "evolve")
            if mode == "evolve":
                assert row["runner_version"] == "2.1" and t.column("runner_version").null_count == 2
                assert "include/sql/athena/ddl/raw_mongo_jobs.sql" in change["detail"]
    assert (manifest["read_rows"], manifest["landed_rows"], manifest["quarantined_rows"]) == (3, out["rows"], out["quarantined"])


def test_quarantined_pii_is_hashed_never_in_clear(lake, mongo_app, stack):
    key = stack.info["pii_key"].encode()
    doc = {"_id": ObjectId(), "analytics_id": "not-a-uuid", "login": "erin", "email": "Erin.Private@Example.com",
           "updated_at": dt.datetime(2023, 5, 1)}
    mongo_app.users.insert_one(doc)
    assert run("users")["quarantined"] == 1
    body = read_object(lake, RawPartition("mongo", "users", DS).quarantine_key)
    assert b"Erin.Private" not in body and b"erin.private" not in body
    [q] = pq.read_table(io.BytesIO(body)).to_pylist()
    assert json.loads(q["record"])["email"] == hmac.new(key, b"erin.private@example.com", hashlib.sha256).hexdigest()
    assert (q["field"], q["expected_type"], q["observed_type"]) == ("analytics_id", "uuid", "string")


def test_a_clear_after_the_fix_lands_the_quarantined_record(lake, mongo_app, caplog):
    """The cause fixed in the config (the field's contract) or upstream, a clear of the ingest
    task lands the record and empties the quarantine partition (its object is deleted)."""
    part = RawPartition("mongo", "jobs", DS)
    bad = job(dlc="maybe")
    mongo_app.jobs.insert_many([job(), bad])
    from types import SimpleNamespace

    with caplog.at_level("WARNING", logger="dw.notify"):
        out = run("jobs", context={"ti": SimpleNamespace(dag_id="ingest_mongo", task_id="jobs")})
    assert (out["rows"], out["quarantined"]) == (1, 1)
    assert lake_object(lake, part.quarantine_key) is not None
    # the task succeeded with a warning naming the count and where to look
    warning = next(r.getMessage() for r in caplog.records if "dw-etl WARNING" in r.getMessage())
    assert warning.startswith(f"dw-etl WARNING ingest_mongo › jobs › date {DS}: 1 upstream change(s)")
    assert f"1 record(s) in {part.quarantine_uri}" in warning and "maybe" not in warning

    # the fix: the field's contract now lands NULL for what does not convert; clear = the same run again
    out = run("jobs", contract={"data_type": "discard_value"})
    assert (out["rows"], out["quarantined"]) == (2, 0) and lake_object(lake, part.quarantine_key) is None
    assert str(bad["_id"]) in read_partition(lake, "jobs").column("id").to_pylist()

    # or the fix upstream: the document corrected, the default contract, nothing set aside, no change recorded
    mongo_app.jobs.update_one({"_id": bad["_id"]}, {"$set": {"dlc": True}})
    out = run("jobs")
    assert (out["rows"], out["quarantined"], out["changes"]) == (2, 0, 0)
    assert json.loads(read_object(lake, part.manifest_key))["changes"] == []


def test_schema_changes_task_refuses_a_manifest_of_another_landing(lake, mongo_app):
    """A landing cut between its partition and its manifest leaves the previous manifest beside the
    new partition: the warehouse's schema_changes task fails (retryably) instead of recording it."""
    from airflow.sdk.exceptions import AirflowException

    from dw.operators.lake_changes import LakeChangesOperator

    mongo_app.jobs.insert_many([job(), job(runner_version="1")])
    run("jobs")
    part = RawPartition("mongo", "jobs", DS)
    op = LakeChangesOperator(task_id="mongo", source="mongo", entities=["jobs"], bucket=lake.bucket)
    [m] = op.manifests(lake, DS)
    assert m["landing"] and [c["column_name"] for c in m["changes"]] == ["runner_version"]
    old_manifest = read_object(lake, part.manifest_key)
    mongo_app.jobs.insert_one(job())
    run("jobs")  # a new partition ...
    lake.put_object(Bucket=lake.bucket, Key=part.manifest_key, Body=old_manifest)  # ... beside the old manifest
    with pytest.raises(AirflowException, match="was cut between the two") as e:
        op.manifests(lake, DS)
    assert not isinstance(e.value, __import__("airflow.sdk.exceptions", fromlist=["x"]).AirflowFailException)
