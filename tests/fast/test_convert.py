"""The type mapping of docs/decisions/0003-mongo-type-mapping.md (dw.convert), without MongoDB:
what each type accepts and how it lands, what it rejects, and the error naming the field and
the document (never a PII value)."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pytest
from bson import Decimal128, ObjectId
from bson.binary import Binary

from dw.convert import BatchConverter, ConversionError, FieldSpec

UTC = dt.timezone.utc
OID = ObjectId("65a1b2c3d4e5f60718293a4b")
U = uuid.UUID("12345678-9abc-4def-8123-456789abcdef")


def convert(type_: str, values: list, **spec):
    conv = BatchConverter([FieldSpec("v", "v", type_, **spec)], label="mongo.things dt=2024-01-15")
    docs = [{"_id": OID, "v": v} for v in values]
    return conv.convert(docs).column(0).to_pylist()


ACCEPTED = [
    ("object_id", [OID, "65A1B2C3D4E5F60718293A4B"], [str(OID), str(OID)]),
    ("uuid", [str(U).upper(), Binary(U.bytes, 4), U], [str(U)] * 3),
    ("string", ["a", "é"], ["a", "é"]),
    ("timestamp", [dt.datetime(2024, 1, 15, 10), dt.datetime(2024, 1, 15, 11, tzinfo=dt.timezone(dt.timedelta(hours=1))),
                   "2024-01-15T10:00:00"],
     [dt.datetime(2024, 1, 15, 10, tzinfo=UTC)] * 3),
    ("bool", [True, 0, 1, "TRUE", "false"], [True, False, True, True, False]),
    ("int64", [7, 7.0, " 7 ", Decimal128("7")], [7, 7, 7, 7]),
    ("float64", [1.5, 2, "2.5", Decimal128("0.25")], [1.5, 2.0, 2.5, 0.25]),
    ("json", [{"b": 1, "a": [OID]}, [1, 2]], ['{"a":["' + str(OID) + '"],"b":1}', "[1,2]"]),
    ("string", [None], [None]),  # a missing field is null
]


@pytest.mark.parametrize("type_, values, expected", ACCEPTED)
def test_accepted_values_convert_without_loss(type_, values, expected):
    assert convert(type_, values) == expected


def test_decimal_takes_exact_values_at_its_scale():
    got = convert("decimal", [12.345, 7, "1.5", Decimal128("0.001")], precision=10, scale=3)
    assert got == [decimal.Decimal(x) for x in ("12.345", "7.000", "1.500", "0.001")]


REJECTED = [
    ("int64", "twelve", "a value of type str is not an int64"),
    ("int64", 1.5, "a value of type float is not an int64"),
    ("int64", True, "a value of type bool is not an int64 (a bool)"),
    ("float64", True, "is not a float64"),
    ("string", {"a": 1}, "is not a string"),
    ("bool", 2, "a value of type int is not a bool"),
    ("timestamp", 1705312800, "is not a timestamp"),
    ("uuid", Binary(U.bytes, 3), "legacy (subtype 3) UUID"),
    ("object_id", "xyz", "is not an ObjectId"),
    ("json", "text", "is not a JSON object or array"),
]


@pytest.mark.parametrize("type_, value, reason", REJECTED)
def test_rejected_values_name_the_field_and_the_document(type_, value, reason):
    with pytest.raises(ConversionError) as e:
        convert(type_, [value])
    msg = str(e.value)
    assert msg.startswith(f"mongo.things dt=2024-01-15: document {OID}: field v: "), msg
    assert reason in msg
    assert repr(value) not in msg.split("field v: ")[1]  # the value's type, never the value


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1.2345])
def test_decimal_rejects_what_it_cannot_hold_exactly(value):
    with pytest.raises(ConversionError, match="field v: .*decimal\\(10,3\\)"):
        convert("decimal", [value], precision=10, scale=3)


def test_a_required_field_that_is_missing_fails():
    with pytest.raises(ConversionError, match="field v: is missing or null"):
        convert("string", [None], required=True)


def test_pii_is_hashed_and_never_shown():
    conv = BatchConverter([FieldSpec("email", "email_hash", "string", pii="keyed_hash")], pii_key=b"k", label="x")
    rb = conv.convert([{"_id": "d1", "email": " A@B.example "}, {"_id": "d2", "email": ""}])
    hashed, empty = rb.column(0).to_pylist()
    assert len(hashed) == 64 and "@" not in hashed and empty is None
    assert rb.schema.names == ["email_hash"]
    with pytest.raises(ConversionError) as e:
        conv.convert([{"_id": "d3", "email": 42}])
    assert "42" not in str(e.value) and "field email: a value of type int" in str(e.value)


def test_a_vendor_sink_names_the_object():
    conv = BatchConverter([FieldSpec("amount", "amount", "int64")], label="stripe.invoices dt=2024-01-15", noun="object")
    with pytest.raises(ConversionError, match=r"^stripe\.invoices dt=2024-01-15: object in_1: field amount: "
                                              r"a value of type str is not an int64$"):
        conv.convert([{"_id": "in_1", "amount": "jane@example.org"}])
