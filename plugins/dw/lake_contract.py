"""The lake side of data contracts: one collection's or vendor table's day, checked record by record.

    day = DayContract(source="mongo", entity="jobs", conv=<BatchConverter with modes>, known={...},
                      new_fields="evolve", pii=<dict path -> hash function>, label="mongo.jobs dt=D")
    batch = day.apply(records)          # per batch: the rows to land (a RecordBatch of conv.schema)
    day.add_new_columns(parquet_path, taken)  # once the day is written: the evolved new fields as columns
    day.changes(), day.quarantine_table(), day.manifest(...)

- **Values that do not convert** (``data_type``): the converter's modes (``BatchConverter.
  convert_checked``): ``discard_row`` sets the record aside in the quarantine, ``discard_value``
  lands NULL instead, ``freeze`` fails (``ConversionError``).
- **New fields** (keys the config does not declare, top level; ``new_fields``): counted per
  field and observed type; ``evolve`` lands them as extra columns of the day's Parquet (type
  inferred from the day's values: one JSON-text string column when they disagree), named in the
  change's detail with the Athena DDL file to update; ``discard_value`` leaves them out;
  ``discard_row`` quarantines the records that hold one; ``freeze`` fails naming the field
  (``ContractViolation``).
- **The quarantine**: one row per record set aside, with its position in the day's read, its id,
  the field, the expected and observed type, the reason, and the record as JSON text with every
  ``pii`` field replaced by its keyed hash (removed when it is not a string), as in the raw data.

Nothing is dropped silently: every change, whatever the mode, is a ``dw.contracts.Change``
that the ingest task writes in the day's manifest (``changes/<source>/<entity>/dt=D/manifest.json``,
after the partition, carrying the partition's landing id) for the warehouse DAG's
``schema_changes`` tasks (``dw.operators.lake_changes``).
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter, defaultdict
from typing import Any, Callable

import pyarrow as pa

from dw.contracts import Change
from dw.convert import BatchConverter, ConversionError, Issue, _json_default, type_name

QUARANTINE_SCHEMA = pa.schema([
    pa.field("position", pa.int64(), nullable=False),  # the record's position in the day's read (0-based)
    pa.field("object_id", pa.string()),
    pa.field("field", pa.string(), nullable=False),
    pa.field("expected_type", pa.string(), nullable=False),
    pa.field("observed_type", pa.string(), nullable=False),
    pa.field("reason", pa.string(), nullable=False),
    pa.field("record", pa.string(), nullable=False),  # JSON text, pii fields hashed or removed
])
NOT_DECLARED = "not in the config"
_ATHENA = {"bool": "boolean", "int64": "bigint", "float64": "double", "string": "string", "timestamp": "timestamp"}
_ARROW = {"bool": pa.bool_(), "int64": pa.int64(), "float64": pa.float64(), "string": pa.string(),
          "timestamp": pa.timestamp("ms", tz="UTC")}


class ContractViolation(ConversionError):
    """A contract says freeze and the day broke it (a new field). Names the field, never a value."""


def _record_json(v: Any) -> str:
    def default(o):
        try:
            return _json_default(o)
        except TypeError:
            return f"<{type(o).__name__}>"

    return json.dumps(v, default=default, sort_keys=True, ensure_ascii=False)


def lake_column_name(key: str, taken: set[str]) -> str:
    """A new field's lake column: lower case, other characters than [a-z0-9_] as ``_``, not
    starting with a digit, not one of ``taken``."""
    name = re.sub(r"[^a-z0-9_]", "_", key.lower()) or "field"
    if not re.match(r"[a-z_]", name):
        name = f"_{name}"
    base, n = name[:60], 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def _mask(obj: dict, path: str, hash_one: Callable[[str], str | None]) -> None:
    steps = path.split(".")
    cur: Any = obj
    for step in steps[:-1]:
        if isinstance(cur, dict):
            cur = cur.get(step)
        elif isinstance(cur, list) and step.isdigit() and int(step) < len(cur):
            cur = cur[int(step)]
        else:
            return
    last = steps[-1]
    if isinstance(cur, dict) and last in cur:
        v = cur[last]
        if isinstance(v, str):
            try:
                cur[last] = hash_one(v)
                return
            except Exception:  # noqa: BLE001 - not hashable as the raw data would: removed
                pass
        del cur[last]


class DayContract:
    """One entity's day under its contract (module docstring). ``records`` are the source's
    records (documents, vendor objects); ``rows`` (optional) what the converter reads of them
    (a vendor object's configured fields), else the records themselves."""

    def __init__(self, *, source: str, entity: str, conv: BatchConverter, known: set[str], new_fields: str,
                 pii: dict[str, Callable[[str], str | None]], label: str, noun: str = "document",
                 id_of: Callable[[dict], Any] = lambda r: r.get("_id"), ddl_file: str = ""):
        self.source, self.entity, self.conv, self.known = source, entity, conv, set(known)
        self.new_mode, self.pii, self.label, self.noun, self.id_of = new_fields, pii, label, noun, id_of
        self.ddl_file = ddl_file
        self.read = 0  # records read so far
        self.landed = 0
        self.new_types: dict[str, Counter] = defaultdict(Counter)  # field -> observed type -> rows
        self.new_values: dict[str, list[tuple[int, Any]]] = defaultdict(list)  # evolve: (landed row, value)
        self.issues: list[Issue] = []  # values that did not convert (discard_row / discard_value)
        self.nulled_fields: set[tuple[str, str]] = set()
        self.quarantine: list[dict] = []
        self.evolved: list[tuple[str, str, str]] = []  # (field, lake column, lake type) added by add_new_columns

    # ------------------------------------------------------------------ per batch

    def apply(self, records: list[dict], rows: list[dict] | None = None) -> pa.RecordBatch:
        rows = records if rows is None else rows
        base = self.read
        self.read += len(records)
        aside: dict[int, Issue] = {}
        extras: dict[int, list[str]] = {}
        known = self.known
        for i, rec in enumerate(records):
            if rec.keys() <= known:  # the usual case, one set comparison
                continue
            new = [k for k in rec if k not in known]
            extras[i] = new
            for k in new:
                observed = type_name(rec[k])
                self.new_types[k][observed] += 1
                if self.new_mode == "freeze":
                    raise ContractViolation(
                        f"{self.label}: {self.noun} {self._shown_id(rec)}: new field {k!r} (type {observed}) is not "
                        "in the config and its contract says new_fields: freeze (declare the field, or change the "
                        "contract, then clear the task)")
                if self.new_mode == "discard_row":
                    aside.setdefault(i, Issue(i, k, NOT_DECLARED, observed, "is a field the config does not declare"))
        kept = [i for i in range(len(records)) if i not in aside]
        checked = self.conv.convert_checked([rows[i] for i in kept] if aside else rows)
        for j, issue in checked.rejected.items():
            aside[kept[j]] = issue
        self.issues += [Issue(kept[x.index], x.field, x.expected, x.observed, x.reason) for x in checked.issues]
        for i in sorted(aside):
            self._set_aside(base + i, records[i], aside[i])
        if self.new_mode == "evolve" and extras:
            landed = [i for i in kept if i not in aside]
            for row, i in enumerate(landed):
                for k in extras.get(i, ()):
                    self.new_values[k].append((self.landed + row, records[i][k]))
        self.landed += checked.batch.num_rows
        return checked.batch

    def _shown_id(self, rec: dict) -> str:
        oid = self.id_of(rec)
        return str(oid) if oid is not None and not isinstance(oid, (dict, list)) else "(no id)"

    def _set_aside(self, position: int, rec: dict, issue: Issue) -> None:
        masked = copy.deepcopy(rec)
        for path, hash_one in self.pii.items():
            _mask(masked, path, hash_one)
        oid = self.id_of(rec)
        self.quarantine.append({
            "position": position, "object_id": None if oid is None else str(oid), "field": issue.field,
            "expected_type": issue.expected, "observed_type": issue.observed, "reason": issue.reason,
            "record": _record_json(masked)})

    # ------------------------------------------------------------------ the day

    def new_columns(self, taken: set[str]) -> list[tuple[str, str, str, pa.Array]]:
        """The evolved new fields as (field, lake column, lake type, values over the landed rows)."""
        out = []
        taken = set(taken)
        for k in sorted(self.new_values):
            pairs = self.new_values[k]
            types = {type_name(v) for _, v in pairs} - {"null"}
            kind = types.pop() if len(types) == 1 else "json"
            arr = None
            if kind in _ARROW:
                values: list = [None] * self.landed
                for row, v in pairs:
                    values[row] = v
                try:
                    arr = pa.array(values, _ARROW[kind])
                except (pa.ArrowException, OverflowError, ValueError, TypeError):  # e.g. an int beyond int64
                    arr = None
            if arr is None:  # mixed or non-scalar types: JSON text
                kind = "string"
                values = [None] * self.landed
                for row, v in pairs:
                    values[row] = None if v is None else _record_json(v)
                arr = pa.array(values, pa.string())
            col = lake_column_name(k, taken)
            taken.add(col)
            out.append((k, col, kind, arr))
        return out

    def add_new_columns(self, path: str, taken: set[str]) -> list[tuple[str, str, str]]:
        """Rewrite the local Parquet file ``path`` (the day's landed rows) with the evolved new
        fields as extra columns; returns (field, lake column, lake type) of each."""
        cols = self.new_columns(taken)
        if not cols:
            return []
        import os

        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
        for _, col, kind, _arr in cols:
            schema = schema.append(pa.field(col, _ARROW[kind]))
        tmp = path + ".evolved"
        offset = 0
        with pq.ParquetWriter(tmp, schema, compression="zstd") as w:
            for rg in range(pf.num_row_groups):
                t = pf.read_row_group(rg)
                n = t.num_rows
                for _, col, _kind, arr in cols:
                    t = t.append_column(col, arr.slice(offset, n))
                w.write_table(t.replace_schema_metadata(schema.metadata), row_group_size=max(n, 1))
                offset += n
            if pf.num_row_groups == 0:
                w.write_table(schema.empty_table())
        os.replace(tmp, path)
        self.evolved = [(k, col, kind) for k, col, kind, _ in cols]
        return self.evolved

    def changes(self) -> list[Change]:
        """The day's changes: one per new field (with its observed type(s)) and one per field and
        observed type of the values that did not convert."""
        out = []
        evolved = {k: (col, kind) for k, col, kind in self.evolved}
        for k in sorted(self.new_types):
            types = "|".join(sorted(self.new_types[k]))
            detail = types
            if k in evolved and self.new_mode == "evolve":
                col, kind = evolved[k]
                detail = (f"{types}; landed as {col} {_ATHENA[kind]}: add it to "
                          f"{self.ddl_file or 'the raw table DDL'} (ALTER TABLE ... ADD COLUMNS)")
            out.append(Change(self.source, self.entity, k, "new_fields", detail, sum(self.new_types[k].values()),
                              self.new_mode))
        seen: Counter = Counter()
        for x in self.issues:
            seen[(x.field, x.observed, x.expected)] += 1
        for (field, observed, expected), n in sorted(seen.items()):
            mode = self.conv.modes.get(field, "freeze")
            out.append(Change(self.source, self.entity, field, "data_type", f"{observed} (expected {expected})", n, mode))
        return out

    def quarantine_table(self) -> pa.Table:
        return pa.Table.from_pylist(self.quarantine, QUARANTINE_SCHEMA)


def manifest(*, source: str, entity: str, ds: str, recorded_by: str, day: DayContract, partition_uri: str,
             quarantine_uri: str | None, landing: str = "") -> dict:
    """The day's manifest of changes (JSON), read by ``dw.operators.lake_changes``; ``landing`` is
    the ``dw-landing`` id of the partition it describes."""
    return {
        "source": source, "entity": entity, "dt": ds, "recorded_by": recorded_by, "landing": landing,
        "read_rows": day.read, "landed_rows": day.landed, "quarantined_rows": len(day.quarantine),
        "partition": partition_uri, "quarantine": quarantine_uri,
        "changes": [{"column_name": c.column_name, "kind": c.kind, "detail": c.detail, "row_count": c.row_count,
                     "mode": c.mode} for c in day.changes()],
    }


def changes_of(m: dict) -> list[Change]:
    """The ``Change`` list of a manifest."""
    return [Change(m["source"], m["entity"], c["column_name"], c["kind"], c["detail"], int(c["row_count"]), c["mode"])
            for c in m.get("changes", [])]


def upload_day(s3, *, bucket: str, quarantine_key: str, manifest_key: str, day: DayContract, source: str,
               entity: str, ds: str, recorded_by: str, partition_uri: str, landing: str,
               tmp_dir: str | None = None) -> dict:
    """Replace the day's quarantine object (one Parquet object, written whole; deleted when no
    record was set aside) and then its manifest (JSON, with the partition's ``landing`` id).
    Called once the partition has landed: a landing that fails before leaves the day's
    partition, quarantine and manifest as they were (a record is in the partition or in the
    quarantine, never in neither). Returns the manifest."""
    import os
    import tempfile

    import pyarrow.parquet as pq

    from dw.lake import upload_args

    q_uri = None
    if day.quarantine:
        fd, path = tempfile.mkstemp(prefix=f"dw-quarantine-{source}-{entity}-", suffix=".parquet", dir=tmp_dir)
        os.close(fd)
        try:
            pq.write_table(day.quarantine_table(), path, compression="zstd")
            s3.upload_file(path, bucket, quarantine_key, ExtraArgs=upload_args("application/vnd.apache.parquet"))
        finally:
            os.unlink(path)
        q_uri = f"s3://{bucket}/{quarantine_key}"
    else:
        s3.delete_object(Bucket=bucket, Key=quarantine_key)  # a clear that lands every record empties it
    m = manifest(source=source, entity=entity, ds=ds, recorded_by=recorded_by, day=day, partition_uri=partition_uri,
                 quarantine_uri=q_uri, landing=landing)
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(m, indent=1).encode(),
                  **upload_args("application/json"))
    return m


def report(context, day: DayContract, part, noun: str = "record") -> dict:
    """After a landing: the warning of ``dw.notify.changes_seen`` when ``day`` saw changes (the
    count, the quarantine's URI, the manifest), and the XCom fields ``quarantined`` and ``changes``."""
    changes = day.changes()
    quarantined = len(day.quarantine)
    if changes:
        from dw import notify

        where = (f"{quarantined} {noun}(s) in {part.quarantine_uri}; " if quarantined else "") + \
            f"the changes in {part.manifest_uri} and, once the warehouse run records them, dw.schema_changes"
        notify.changes_seen(context, changes, where=where)
    return {"quarantined": quarantined, "changes": len(changes)}
