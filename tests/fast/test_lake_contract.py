"""The lake side of data contracts without a server: contracts in the source configs, values
that do not convert under each data_type mode, new fields under each new_fields mode, the
quarantine's rows (PII hashed) and the changes recorded."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from bson import ObjectId

from dw.config import MongoCollection
from dw.convert import BatchConverter, ConversionError, mongo_specs
from dw.lake_contract import ContractViolation, DayContract, changes_of, lake_column_name, manifest

REPO = Path(__file__).resolve().parents[2]
KEY = b"k" * 32


def coll(contract=None, field_contract=None, source_contract=None) -> MongoCollection:
    fields = {"_id": {"type": "object_id", "required": True}, "n": {"type": "int64"},
              "email": {"type": "string", "pii": "keyed_hash", "lake_name": "email_hash"},
              "at": {"type": "timestamp", "required": True}}
    if field_contract:
        fields["n"]["contract"] = field_contract
    return MongoCollection.model_validate({"name": "things", "mode": "snapshot", "fields": fields,
                                           "contract": contract, "source_contract": source_contract})


def day_of(c: MongoCollection) -> DayContract:
    from dw.sources.mongo import day_contract

    conv = BatchConverter(mongo_specs(c), pii_key=KEY, label="mongo.things dt=2024-01-15",
                          modes={n: c.contract_mode("data_type", n) for n in c.fields})
    return day_contract(c, conv, "mongo.things dt=2024-01-15")


def doc(n=1, **over) -> dict:
    d = {"_id": ObjectId(), "n": n, "email": "A@Example.com", "at": dt.datetime(2024, 1, 15, 1)}
    d.update(over)
    return d


# --------------------------------------------------------------------------- config


def test_contract_levels_resolve_most_specific_first():
    assert coll().contract_mode("data_type", "n") == "discard_row"  # the defaults keep the day going
    assert coll().contract_mode("new_fields") == "evolve"
    c = coll(contract={"data_type": "discard_value"}, field_contract={"data_type": "freeze"},
             source_contract={"data_type": "freeze", "new_fields": "discard_row"})
    assert c.contract_mode("data_type", "n") == "freeze" and c.contract_mode("data_type", "at") == "discard_value"
    assert c.contract_mode("new_fields") == "discard_row"


def _source_error(tmp_path: Path, name: str, change) -> str:
    from dw.config import clear_caches, mongo_source, vendor_source

    inc = tmp_path / f"config-{name}-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(REPO / "include" / "config", inc)
    path = inc / "sources" / f"{name}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    clear_caches()
    try:
        with pytest.raises(ValueError) as e:
            mongo_source(inc) if name == "mongo" else vendor_source(name, inc)
    finally:
        clear_caches()
    return str(e.value)


def test_bad_contracts_fail_naming_file_and_key(tmp_path):
    msg = _source_error(tmp_path, "mongo", lambda d: d["collections"]["jobs"].update(contract={"new_field": "evolve"}))
    assert "mongo.yaml" in msg and "collections.jobs.contract" in msg and "unknown contract kind 'new_field'" in msg
    msg = _source_error(tmp_path, "mongo", lambda d: d["collections"]["jobs"]["fields"]["dlc"].update(
        contract={"new_fields": "evolve"}))
    assert "collections.jobs.fields.dlc.contract" in msg and "new_fields cannot be set on a field" in msg
    msg = _source_error(tmp_path, "stripe", lambda d: d.update(contract={"data_type": "evolve"}))
    assert "stripe.yaml" in msg and "contract" in msg and "data_type: evolve is not a lake mode" in msg
    msg = _source_error(tmp_path, "chargify", lambda d: d["entities"]["customers"].update(contract={"enum_values": "freeze"}))
    assert "chargify.yaml" in msg and "entities.customers.contract" in msg and "enum_values cannot be set" in msg


# --------------------------------------------------------------------------- data_type


def test_discard_row_sets_the_record_aside_with_its_reason_and_pii_hashed():
    day = day_of(coll())
    bad = doc(n="twelve", email="Secret@Example.com")
    rb = day.apply([doc(1), bad, doc(3)])
    assert rb.column("n").to_pylist() == [1, 3] and day.landed == 2 and day.read == 3
    [q] = day.quarantine_table().to_pylist()
    assert (q["position"], q["object_id"], q["field"], q["expected_type"], q["observed_type"]) == (
        1, str(bad["_id"]), "n", "int64", "string")
    assert "not an int64" in q["reason"]
    rec = json.loads(q["record"])
    assert rec["n"] == "twelve" and rec["email"] == hmac.new(KEY, b"secret@example.com", hashlib.sha256).hexdigest()
    assert "Secret" not in q["record"]
    [c] = day.changes()
    assert (c.column_name, c.kind, c.detail, c.row_count, c.action) == ("n", "data_type", "string (expected int64)", 1,
                                                                        "quarantine")


def test_pii_field_that_does_not_convert_is_removed_from_the_quarantined_record():
    day = day_of(coll())
    day.apply([doc(email=["private@example.com"])])
    [q] = day.quarantine_table().to_pylist()
    assert q["field"] == "email" and "private" not in q["record"] and "email" not in json.loads(q["record"])


def test_discard_value_lands_null_and_a_required_field_is_set_aside():
    day = day_of(coll(contract={"data_type": "discard_value"}))
    rb = day.apply([doc(1), doc("x"), doc(3, at="yesterday")])
    assert rb.column("n").to_pylist() == [1, None]  # the required `at` cannot be NULL: its record is set aside
    assert [q["field"] for q in day.quarantine_table().to_pylist()] == ["at"]
    assert {(c.column_name, c.row_count, c.mode) for c in day.changes()} == {("n", 1, "discard_value"),
                                                                             ("at", 1, "discard_value")}


def test_freeze_fails_naming_document_and_field_never_the_value():
    day = day_of(coll(field_contract={"data_type": "freeze"}))
    bad = doc("secret-value")
    with pytest.raises(ConversionError, match=rf"document {bad['_id']}: field n: a value of type str") as e:
        day.apply([doc(), bad])
    assert "secret-value" not in str(e.value)


# --------------------------------------------------------------------------- new fields


def test_new_fields_evolve_into_extra_columns(tmp_path):
    c = coll()
    day = day_of(c)
    path = str(tmp_path / "p.parquet")
    rb1 = day.apply([doc(1, runner="2.1"), doc(2)])
    rb2 = day.apply([doc(3, runner="2.2", Odd_Key={"a": 1}), doc(4, runner=None)])
    pq.write_table(pq.read_table(_write([rb1, rb2], path)), path)
    added = day.add_new_columns(path, set(rb1.schema.names))
    assert added == [("Odd_Key", "odd_key", "string"), ("runner", "runner", "string")]
    t = pq.read_table(path)
    assert t.column("runner").to_pylist() == ["2.1", None, "2.2", None]
    assert t.column("odd_key").to_pylist() == [None, None, '{"a": 1}', None]
    changes = {ch.column_name: ch for ch in day.changes()}
    assert changes["runner"].row_count == 3 and changes["runner"].detail.startswith("null|string; landed as runner string")
    assert "include/sql/athena/ddl/raw_mongo_things.sql" in changes["runner"].detail
    assert changes["runner"].action == "evolve"


def _write(batches, path):
    import pyarrow as pa

    pq.write_table(pa.Table.from_batches(batches), path)
    return path


def test_new_fields_discard_value_discard_row_and_freeze():
    day = day_of(coll(contract={"new_fields": "discard_value"}))
    rb = day.apply([doc(1, extra=1), doc(2)])
    assert rb.num_rows == 2 and "extra" not in rb.schema.names and day.new_values == {}
    assert [(c.column_name, c.detail, c.action) for c in day.changes()] == [("extra", "int64", "discard_value")]

    day = day_of(coll(contract={"new_fields": "discard_row"}))
    rb = day.apply([doc(1, extra=1), doc(2)])
    assert rb.column("n").to_pylist() == [2]
    [q] = day.quarantine_table().to_pylist()
    assert (q["field"], q["expected_type"], q["observed_type"]) == ("extra", "not in the config", "int64")

    day = day_of(coll(contract={"new_fields": "freeze"}))
    with pytest.raises(ContractViolation, match=r"new field 'extra' \(type string\).*new_fields: freeze"):
        day.apply([doc(1, extra="secret")])


def test_manifest_round_trips_the_changes():
    day = day_of(coll())
    day.apply([doc("x"), doc(2, extra=True)])
    m = manifest(source="mongo", entity="things", ds="2024-01-15", recorded_by="ingest_mongo.things", day=day,
                 partition_uri="s3://b/raw/mongo/things/dt=2024-01-15/part-00000.parquet", quarantine_uri="s3://q")
    m = json.loads(json.dumps(m))
    assert (m["read_rows"], m["landed_rows"], m["quarantined_rows"]) == (2, 1, 1)
    assert changes_of(m) == day.changes()


def test_lake_column_names_are_identifiers():
    assert lake_column_name("$weird-Key", set()) == "_weird_key"
    assert lake_column_name("9lives", set()) == "_9lives"
    assert lake_column_name("n", {"n"}) == "n_2"


def test_new_columns_take_the_days_type_or_json_text():
    day = day_of(coll())
    when = dt.datetime(2024, 1, 15, 3, 4, 5)
    day.apply([doc(1, a=1, b=True, c=when, d=1, e=2**70), doc(2, a=2, b=False, c=None, d="x", e=1)])
    cols = {k: (col, kind, arr.to_pylist()) for k, col, kind, arr in day.new_columns({"id", "n"})}
    assert cols["a"] == ("a", "int64", [1, 2]) and cols["b"] == ("b", "bool", [True, False])
    assert cols["c"][1] == "timestamp" and cols["c"][2][0].replace(tzinfo=None) == when
    assert cols["d"] == ("d", "string", ["1", '"x"'])  # types disagree: JSON text
    assert cols["e"] == ("e", "string", [str(2**70), "1"])  # beyond int64: JSON text
