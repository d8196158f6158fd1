"""Type conversion: documents or objects (dicts) -> Arrow record batches of a lake schema.

    specs = [FieldSpec("_id", "id", "object_id", required=True), FieldSpec("email", "email", "string", pii="keyed_hash")]
    rb = BatchConverter(specs, pii_key=b"...", label="mongo.users dt=2024-01-15").convert(docs)

A ``FieldSpec`` names a key of the input dicts, its lake column, its type (``object_id``,
``uuid``, ``string``, ``timestamp``, ``bool``, ``int64``, ``float64``, ``decimal`` with precision
and scale, ``json``), whether it is required and whether it is PII. ``mongo_specs`` and
``vendor_specs`` build them from the source configs.

Conversion is strict and lossless (docs/decisions/0003-mongo-type-mapping.md): a value that
does not convert raises ``ConversionError`` naming the label, the document (or object) id and
the field and the value's type, never a value (any field may hold personal data);
``convert_checked`` applies the fields' data_type contract modes instead (set the record aside,
land NULL, or fail: docs/decisions/0042). Each column takes a fast path (one ``pa.array`` call)
when the Python types in the batch allow it, and falls back to a per-value converter otherwise.
``pii: keyed_hash`` fields are hashed (HMAC-SHA256, hex) during conversion; the clear value is
never written, logged or put in an error message.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import hmac
import json
import re
import uuid as _uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import pyarrow as pa
import pyarrow.compute as pc
from bson import Decimal128, ObjectId
from bson.binary import Binary
from bson.datetime_ms import DatetimeMS
from bson.int64 import Int64

if TYPE_CHECKING:
    from dw.config import MongoCollection, VendorEntity

UTC = dt.timezone.utc
NoneType = type(None)

_SHOW_MAX = 60
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_FLOAT_EXACT_INT = 2**53

_OID_RE = re.compile(r"[0-9a-fA-F]{24}")
_UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_UUID_RE = re.compile(_UUID_PATTERN[1:-1])
_INT_RE = re.compile(r"[+-]?[0-9]+")
_NUM_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class ConversionError(ValueError):
    """A value does not fit its field. The message names the label, the document (or object),
    the field and the value, never the value of a PII field."""


@dataclass(frozen=True)
class FieldSpec:
    name: str  # the key in the input dicts
    lake_name: str  # the lake column
    type: str
    required: bool = False
    pii: str | None = None  # "keyed_hash"
    precision: int | None = None  # decimal only
    scale: int | None = None


def mongo_specs(coll: MongoCollection) -> list[FieldSpec]:
    """The field specs of a MongoDB collection's config."""
    return [FieldSpec(n, coll.lake_column(n), f.type, f.required, f.pii, f.precision, f.scale)
            for n, f in coll.fields.items()]


def vendor_specs(entity: VendorEntity) -> list[FieldSpec]:
    """The field specs of a vendor entity's config (``epoch_seconds`` fields arrive as datetimes:
    the sink converts them before)."""
    return [FieldSpec(n, "id" if n == "_id" else n, "timestamp" if f.type == "epoch_seconds" else f.type, f.required,
                      f.pii) for n, f in entity.fields.items()]


# --------------------------------------------------------------------------- schema


def arrow_type(field: FieldSpec) -> pa.DataType:
    t = field.type
    if t in ("object_id", "uuid", "string", "json"):
        return pa.string()
    if t == "timestamp":
        return pa.timestamp("ms", tz="UTC")  # what Athena reads from Hive Parquet tables: timestamp(3)
    if t == "bool":
        return pa.bool_()
    if t == "int64":
        return pa.int64()
    if t == "float64":
        return pa.float64()
    if t == "decimal":
        return pa.decimal128(field.precision, field.scale)
    raise ValueError(f"unknown field type {t!r}")


def arrow_schema(specs: list[FieldSpec], metadata: dict[str, str] | None = None) -> pa.Schema:
    """The lake schema of the fields: in order, lake column names, required fields non-nullable."""
    return pa.schema([pa.field(s.lake_name, arrow_type(s), nullable=not s.required) for s in specs],
                     metadata=metadata)


# --------------------------------------------------------------------------- conversion


class _Reject(Exception):
    """A value does not convert; ``args[0]`` completes '<value> ...', e.g. 'is not an int64'."""


class _BadValue(Exception):
    def __init__(self, index: int, reason: str):
        super().__init__(index, reason)
        self.index = index
        self.reason = reason


def _show(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= _SHOW_MAX else r[: _SHOW_MAX - 1] + "…"


def _slow(values: list, coerce: Callable[[Any], Any], typ: pa.DataType) -> pa.Array:
    out: list = [None] * len(values)
    for i, v in enumerate(values):
        if v is not None:
            try:
                out[i] = coerce(v)
            except _Reject as e:
                raise _BadValue(i, e.args[0]) from None
    return pa.array(out, typ)


def _try_array(values: list, typ: pa.DataType) -> pa.Array | None:
    try:
        return pa.array(values, typ)
    except (pa.ArrowException, OverflowError, ValueError, TypeError):
        return None


# --- per-value converters (the slow path): return the value pa.array takes, or _Reject


def _c_object_id(v):
    if type(v) is ObjectId:
        return str(v)
    if type(v) is str and _OID_RE.fullmatch(v):
        return v.lower()
    raise _Reject("is not an ObjectId (or its 24-hex string)")


def _c_uuid(v):
    if isinstance(v, str):
        if _UUID_RE.fullmatch(v):
            return v.lower()
        raise _Reject("is not a canonical UUID string")
    if type(v) is _uuid.UUID:
        return str(v)
    if isinstance(v, Binary):
        if v.subtype == 4 and len(v) == 16:
            return str(_uuid.UUID(bytes=bytes(v)))
        if v.subtype == 3:
            raise _Reject("is a legacy (subtype 3) UUID, whose byte order is ambiguous")
    raise _Reject("is not a UUID")


def _c_string(v):
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise _Reject("is not valid UTF-8 text") from None
        return str(v)
    raise _Reject("is not a string")


def _naive_utc(v: dt.datetime) -> dt.datetime:
    off = v.utcoffset()
    if off is not None:
        v = (v - off).replace(tzinfo=None)
    return dt.datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond)


def _c_timestamp(v):
    if isinstance(v, dt.datetime):
        return _naive_utc(v)
    if isinstance(v, str):
        try:
            parsed = dt.datetime.fromisoformat(v.strip())
        except ValueError:
            raise _Reject("is not an ISO-8601 timestamp") from None
        return _naive_utc(parsed)  # naive ISO text is taken as UTC, like BSON dates
    if isinstance(v, DatetimeMS):
        raise _Reject("is a date outside the supported range (years 1-9999)")
    raise _Reject("is not a timestamp")


def _c_bool(v):
    t = type(v)
    if t is bool:
        return v
    if t is int or t is Int64:
        if v == 0 or v == 1:
            return bool(v)
        raise _Reject("is not a bool (an integer bool must be 0 or 1)")
    if t is str:
        s = v.strip().lower()
        if s == "true":
            return True
        if s == "false":
            return False
    raise _Reject("is not a bool")


def _check_int64(i: int) -> int:
    if _INT64_MIN <= i <= _INT64_MAX:
        return i
    raise _Reject("is out of the int64 range")


def _c_int64(v):
    t = type(v)
    if t is bool:
        raise _Reject("is not an int64 (a bool)")
    if isinstance(v, int):
        return _check_int64(int(v))
    if t is float:
        if v.is_integer():
            return _check_int64(int(v))
        raise _Reject("is not an int64")
    if t is str:
        s = v.strip()
        if _INT_RE.fullmatch(s):
            return _check_int64(int(s))
        raise _Reject("is not an int64")
    if t is Decimal128 or t is decimal.Decimal:
        d = v.to_decimal() if t is Decimal128 else v
        if d.is_finite() and d == d.to_integral_value():
            return _check_int64(int(d))
    raise _Reject("is not an int64")


def _c_float64(v):
    t = type(v)
    if t is float:
        return v
    if t is bool:
        raise _Reject("is not a float64 (a bool)")
    if isinstance(v, int):
        if -_FLOAT_EXACT_INT <= v <= _FLOAT_EXACT_INT:
            return float(v)
        raise _Reject("is an integer too large for a float64 without loss")
    if t is str:
        s = v.strip()
        if _NUM_RE.fullmatch(s):
            return float(s)
        raise _Reject("is not a float64")
    if t is Decimal128 or t is decimal.Decimal:
        return float(v.to_decimal() if t is Decimal128 else v)
    raise _Reject("is not a float64")


def _decimal_converter(precision: int, scale: int):
    exp = decimal.Decimal(1).scaleb(-scale)
    ctx = decimal.Context(prec=precision + scale + 60, traps=[decimal.InvalidOperation])
    what = f"decimal({precision},{scale})"

    def conv(v):
        t = type(v)
        if t is float:
            if v != v or v in (float("inf"), float("-inf")):
                raise _Reject(f"is not a {what} (not finite)")
            d = decimal.Decimal(repr(v))  # the float's shortest round-trip decimal text
        elif t is bool:
            raise _Reject(f"is not a {what} (a bool)")
        elif isinstance(v, int):
            d = decimal.Decimal(int(v))
        elif t is str:
            s = v.strip()
            if not _NUM_RE.fullmatch(s):
                raise _Reject(f"is not a {what}")
            d = decimal.Decimal(s)
        elif t is decimal.Decimal:
            d = v
        elif t is Decimal128:
            d = v.to_decimal()
        else:
            raise _Reject(f"is not a {what}")
        if not d.is_finite():
            raise _Reject(f"is not a {what} (not finite)")
        try:
            q = d.quantize(exp, context=ctx)
        except decimal.InvalidOperation:
            raise _Reject(f"does not fit {what}") from None
        if q != d:
            raise _Reject(f"is not exactly representable as {what}")
        if len(q.as_tuple().digits) > precision:
            raise _Reject(f"does not fit {what}")
        return q

    return conv


def _json_default(o):
    if isinstance(o, ObjectId):
        return str(o)
    if isinstance(o, dt.datetime):
        return (o if o.tzinfo else o.replace(tzinfo=UTC)).isoformat()
    if isinstance(o, Decimal128):
        return str(o.to_decimal())
    if isinstance(o, decimal.Decimal):
        return str(o)
    if isinstance(o, _uuid.UUID):
        return str(o)
    if isinstance(o, Binary) and o.subtype == 4 and len(o) == 16:
        return str(_uuid.UUID(bytes=bytes(o)))
    raise TypeError(f"a {type(o).__name__} inside is not JSON-serializable")


def _c_json(v):
    if isinstance(v, (dict, list)):
        try:
            return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                              default=_json_default)
        except (TypeError, ValueError) as e:
            raise _Reject(f"is not JSON-serializable: {e}") from None
    raise _Reject("is not a JSON object or array")


# --- column converters: fast path first


_STR_TYPES = {str, NoneType}
_OID_TYPES = {ObjectId, NoneType}
_DT_TYPES = {dt.datetime, NoneType}
_BOOL_TYPES = {bool, NoneType}
_INT_TYPES = {int, Int64, NoneType}
_FLOAT_TYPES = {float, NoneType}
_NUMBER_TYPES = {float, int, Int64, NoneType}


def _col_object_id(values, typ):
    types = set(map(type, values))
    if types <= _OID_TYPES:
        if NoneType in types:
            return pa.array([None if v is None else str(v) for v in values], typ)
        return pa.array(list(map(str, values)), typ)
    return _slow(values, _c_object_id, typ)


def _col_uuid(values, typ):
    if set(map(type, values)) <= _STR_TYPES:
        arr = _try_array(values, typ)
        if arr is not None and pc.all(pc.match_substring_regex(arr, _UUID_PATTERN)).as_py() is not False:
            return pc.ascii_lower(arr)
    return _slow(values, _c_uuid, typ)


def _fast_or_slow(values, typ, fast_types: set, coerce):
    """One ``pa.array`` call when every value's type is in ``fast_types``, else per value."""
    if set(map(type, values)) <= fast_types:
        arr = _try_array(values, typ)
        if arr is not None:
            return arr
    return _slow(values, coerce, typ)


def _col_string(values, typ):
    return _fast_or_slow(values, typ, _STR_TYPES, _c_string)


def _col_timestamp(values, typ):
    return _fast_or_slow(values, typ, _DT_TYPES, _c_timestamp)


def _col_bool(values, typ):
    if set(map(type, values)) <= _BOOL_TYPES:
        return pa.array(values, typ)
    return _slow(values, _c_bool, typ)


def _col_int64(values, typ):
    if set(map(type, values)) <= _INT_TYPES:
        arr = _try_array(values, typ)  # out-of-range ints fail here: the slow path names them
        if arr is not None:
            return arr
    return _slow(values, _c_int64, typ)


def _col_float64(values, typ):
    types = set(map(type, values))
    if types <= _NUMBER_TYPES:
        exact = types <= _FLOAT_TYPES or all(
            type(v) is float or v is None or -_FLOAT_EXACT_INT <= v <= _FLOAT_EXACT_INT for v in values
        )
        if exact:
            arr = _try_array(values, typ)
            if arr is not None:
                return arr
    return _slow(values, _c_float64, typ)


def _col_decimal(values, typ, precision: int, scale: int, coerce):
    """Fast path for numbers (precision <= 18): unscaled int64 values reinterpreted as
    decimal128(p, s). A float is taken when it is the double nearest to a decimal of
    ``scale`` digits (the same rule as the slow path's shortest-repr text), which this
    checks exactly while |unscaled| < 2**50; anything else goes to the slow path."""
    if precision <= 18 and set(map(type, values)) <= _NUMBER_TYPES:
        f = 10.0**scale
        m = 10**scale
        float_lim = min(10**precision, 2**50)
        int_lim = 10**precision
        out: list = []
        append = out.append
        try:
            for v in values:
                if v is None:
                    append(None)
                elif type(v) is float:
                    r = round(v * f)
                    if not (-float_lim < r < float_lim and r / f == v):
                        break
                    append(r)
                else:
                    r = v * m
                    if not -int_lim < r < int_lim:
                        break
                    append(r)
            else:
                dec = pa.array(out, pa.int64()).cast(pa.decimal128(38, 0))
                return pa.Array.from_buffers(typ, len(dec), dec.buffers(), null_count=dec.null_count)
        except (ValueError, OverflowError):  # NaN / inf: the slow path names the value
            pass
    return _slow(values, coerce, typ)


def _col_json(values, typ):
    return _slow(values, _c_json, typ)


_VALUE = {
    "object_id": _c_object_id,
    "uuid": _c_uuid,
    "string": _c_string,
    "timestamp": _c_timestamp,
    "bool": _c_bool,
    "int64": _c_int64,
    "float64": _c_float64,
    "json": _c_json,
}

_COLUMN = {
    "object_id": _col_object_id,
    "uuid": _col_uuid,
    "string": _col_string,
    "timestamp": _col_timestamp,
    "bool": _col_bool,
    "int64": _col_int64,
    "float64": _col_float64,
    "json": _col_json,
}


class _Field:
    """Converts one field's values of a batch into its lake column."""

    def __init__(self, field: FieldSpec, pii_key: bytes | None):
        self.name = field.name
        self.field = field
        self.lake_name = field.lake_name
        self.type = arrow_type(field)
        self.pii = field.pii == "keyed_hash"
        if self.pii:
            if not pii_key:
                raise ValueError(f"field {field.name} is pii: keyed_hash but no PII key was given")
            self._hmac = hmac.new(pii_key, digestmod=hashlib.sha256)
            self.convert = self._hashed
            self.coerce = self._hash_one
        elif field.type == "decimal":
            dec = _decimal_converter(field.precision, field.scale)
            p, s = field.precision, field.scale
            self.convert = lambda values, typ: _col_decimal(values, typ, p, s, dec)
            self.coerce = dec
        else:
            self.convert = _COLUMN[field.type]
            self.coerce = _VALUE[field.type]

    def _hash_one(self, v):
        if type(v) is not str:
            raise _Reject(f"(a {type(v).__name__}) is not a string")
        s = v.strip().lower()
        if not s:
            return None
        h = self._hmac.copy()
        h.update(s.encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def _hashed(self, values, typ):
        return _slow(values, self._hash_one, typ)

    def bad_values(self, docs: list[dict]) -> list[tuple[int, str]]:
        """Every (position, reason) of this field's values in ``docs`` that do not convert (or
        are missing from a required field): the slow path, value by value."""
        out = []
        name, required, coerce = self.name, self.field.required, self.coerce
        for i, d in enumerate(docs):
            v = d.get(name)
            if v is None:
                if required:
                    out.append((i, "is missing or null (the field is required)"))
                continue
            try:
                coerce(v)
            except _Reject as e:
                out.append((i, e.args[0]))
        return out

    def column(self, docs: list[dict]) -> pa.Array:
        name = self.name
        values = [d.get(name) for d in docs]
        arr = self.convert(values, self.type)
        if self.field.required and arr.null_count:
            i = pc.index(arr.is_null(), True).as_py()
            raise _BadValue(i, "is missing or null (the field is required)")
        return arr


def type_name(v: Any) -> str:
    """The type of a value as errors, quarantine reasons and dw.schema_changes name it (never the value)."""
    t = type(v)
    if v is None:
        return "null"
    if t is bool:
        return "bool"
    if isinstance(v, int):
        return "int64"
    return {float: "float64", str: "string", dict: "object", list: "array", ObjectId: "object_id",
            Decimal128: "decimal", decimal.Decimal: "decimal", _uuid.UUID: "uuid", Binary: "binary",
            DatetimeMS: "out_of_range_date"}.get(t, "timestamp" if isinstance(v, dt.datetime) else t.__name__)


@dataclass(frozen=True)
class Issue:
    """A value of one record that did not convert: where, and its types (never the value)."""

    index: int  # the record's position in the batch
    field: str
    expected: str  # the configured type
    observed: str  # type_name of the value
    reason: str


@dataclass(frozen=True)
class Checked:
    """What ``convert_checked`` made of a batch: the landed rows, the records set aside (by
    position, with the first issue of each) and the values set to NULL."""

    batch: pa.RecordBatch
    rejected: dict[int, Issue]
    issues: list[Issue]  # every value that did not convert, whatever the mode did with it
    nulled: list[Issue]


class BatchConverter:
    """Dicts (documents as decoded from BSON, or vendor objects) -> RecordBatches of the fields'
    lake schema. Errors name the ``label``, the ``noun`` ("document", "object") and its ``_id``.
    ``modes`` (field name -> data_type contract mode) is what ``convert_checked`` does with a
    value that does not convert; a field without one fails (freeze)."""

    def __init__(self, specs: list[FieldSpec], *, pii_key: bytes | None = None, label: str,
                 metadata: dict[str, str] | None = None, noun: str = "document",
                 modes: dict[str, str] | None = None):
        self.label = label
        self.noun = noun
        self.schema = arrow_schema(specs, metadata)
        self.fields = [_Field(s, pii_key) for s in specs]
        self.modes = modes or {}

    def convert_checked(self, docs: list[dict]) -> Checked:
        """``convert`` under the fields' data_type modes: a value that does not convert fails
        the batch (``freeze``, ConversionError), sets its record aside (``discard_row``) or
        becomes NULL (``discard_value``; a required field's record is set aside instead). The
        fast path runs first; only a batch with a bad value is read value by value."""
        try:
            return Checked(self.convert(docs), {}, [], [])
        except ConversionError:
            pass
        rejected: dict[int, Issue] = {}
        issues: list[Issue] = []
        nulled: list[Issue] = []
        null_fields: dict[int, list[str]] = {}
        for f in self.fields:
            bad = f.bad_values(docs)
            if not bad:
                continue
            mode = self.modes.get(f.name, "freeze")
            if mode == "freeze":
                i, reason = bad[0]
                raise self._error(docs[i], f, reason)
            for i, reason in bad:
                v = docs[i].get(f.name)
                issue = Issue(i, f.name, f.field.type, type_name(v), reason)
                issues.append(issue)
                if mode == "discard_value" and v is not None and not f.field.required:
                    nulled.append(issue)
                    null_fields.setdefault(i, []).append(f.name)
                else:
                    rejected.setdefault(i, issue)
        keep = []
        for i, d in enumerate(docs):
            if i in rejected:
                continue
            if i in null_fields:
                d = {**d, **dict.fromkeys(null_fields[i])}
            keep.append(d)
        return Checked(self.convert(keep), rejected, issues, nulled)

    def convert(self, docs: list[dict]) -> pa.RecordBatch:
        arrays = []
        for f in self.fields:
            try:
                arrays.append(f.column(docs))
            except _BadValue as e:
                raise self._error(docs[e.index], f, e.reason) from None
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _error(self, doc: dict, f: _Field, reason: str) -> ConversionError:
        doc_id = doc.get("_id")
        shown_id = str(doc_id) if isinstance(doc_id, (ObjectId, str)) else _show(doc_id)
        value = doc.get(f.name)
        # never the value itself (any field may hold personal data): its type, then the reason
        what = reason if value is None else f"a value of type {type(value).__name__} {reason}"
        return ConversionError(f"{self.label}: {self.noun} {shown_id}: field {f.name}: {what}")
