"""Config models: the YAML under include/config/ parsed and validated.

Everything the DAG factory, the ingestion and the warehouse loads need to know about a
source or a table comes from here. Validation happens when the config loads (at DAG
parse time, which is cheap: YAML + pydantic, no I/O beyond reading the files), so a bad
identifier or an unknown type fails the DAG import with a message naming the file and
field, never a half-run.

Identifiers (schemas, tables, columns) must match ``IDENTIFIER``; they are still always
composed into SQL with ``psycopg.sql.Identifier``. Column types are a closed set
(``BASE_TYPES``) or an enum type of schema ``dw`` declared in ``warehouse/types.yaml`` (and made
by a migration).
"""

import datetime as dt
import functools
import os
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from dw import config_cache, paths
from dw.contracts import check_contract, resolve_mode
from dw.sources import VENDORS, source_module

IDENTIFIER = r"^[a-z_][a-z0-9_]{0,62}$"
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER)]

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"  # a key the dimension does not know (yet)
NOT_APPLICABLE_ID = "00000000-0000-0000-0000-000000000001"  # the fact has no key (docs/decisions/0044)
WAREHOUSE_SCHEMA = "dw"

# Postgres types a config column may use, besides dw.<enum>.
BASE_TYPES = {
    "text",
    "uuid",
    "date",
    "timestamptz",
    "boolean",
    "smallint",
    "integer",
    "bigint",
    "numeric",
    "double precision",
}
_NUMERIC_RE = re.compile(r"^numeric\((\d{1,2}),(\d{1,2})\)$")
_ENUM_RE = re.compile(r"^dw\.([a-z_][a-z0-9_]{0,62})$")


class _Model(BaseModel):
    # defer_build: a model's validator is built on its first validation, not when this module is
    # imported (DAG parsing builds only the models it uses; docs/decisions/0016)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# --------------------------------------------------------------------------- airflow


class PoolConfig(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,256}$")
    slots: int = Field(ge=1)
    include_deferred: bool = False
    description: str = ""


class AirflowConfig(_Model):
    """include/config/airflow.yaml: the pools the warehouse DAG's tasks run in."""

    pools: dict[Literal["athena", "warehouse_loads"], PoolConfig]

    @model_validator(mode="after")
    def _both_pools(self) -> "AirflowConfig":
        missing = {"athena", "warehouse_loads"} - set(self.pools)
        if missing:
            raise ValueError(f"pools: {', '.join(sorted(missing))} missing")
        return self
# A lake contract (dw.contracts) at source, collection / vendor-table and field level: what the
# ingest task does with values that do not convert (data_type) and with fields the config does not
# declare (new_fields). A field takes data_type only; enum_values belong to warehouse columns.
LAKE_KINDS = {"source": ("new_fields", "data_type"), "entity": ("new_fields", "data_type"), "field": ("data_type",)}
LAKE_DEFAULTS = {"new_fields": "evolve", "data_type": "discard_row"}
Contract = dict[str, str] | None


def lake_contract(value, level: str) -> dict[str, str] | None:
    """A ``contract:`` mapping of a source config checked for ``level`` (source, entity, field);
    pydantic names the file and key of a ValueError."""
    if value is None:
        return None
    c = check_contract(value, "contract")
    for kind, mode in c.items():
        if kind not in LAKE_KINDS[level]:
            raise ValueError(f"contract: {kind} cannot be set on a {level} of a lake source "
                             f"(allowed: {', '.join(LAKE_KINDS[level])})")
        if kind == "data_type" and mode == "evolve":
            raise ValueError("contract: data_type: evolve is not a lake mode (the lake lands a field as its "
                             "configured type: change the field's type, or use discard_row, discard_value or freeze)")
    return c


def lake_mode(entity, kind: str, field: str | None = None) -> str:
    """The mode of ``kind`` for a collection or vendor entity (or its ``field``): the field's, else
    the entity's, else the source's, else ``LAKE_DEFAULTS``."""
    f = entity.fields[field].contract if field else None
    return resolve_mode(kind, entity.source_contract, entity.contract, f, default=LAKE_DEFAULTS[kind])


# --------------------------------------------------------------------------- lake


class LakeConfig(_Model):
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    raw_prefix: Identifier = "raw"
    extracts_prefix: Identifier = "extracts"
    athena_database: Identifier = "dw_lake"
    athena_workgroup: str = "primary"
    # The platform's epoch: the first day it loads (DAG start_date, Athena partition projection
    # range, the vendors' full-history windows). A run for an earlier day fails naming it.
    history_start: dt.date = dt.date(2018, 1, 1)
    # Fact extracts are exact for documents updated up to this many days after their creation
    # (docs/decisions/0020); each day's extract reads a window of partitions bounded by it.
    look_back_days: int = Field(default=35, ge=1, le=366)
    # Server-side encryption of every object the platform uploads (dw.lake.upload_args);
    # kms_key_id (or DW_LAKE_KMS_KEY_ID) with aws:kms: the key's id, ARN or alias.
    server_side_encryption: Literal["AES256", "aws:kms"] = "AES256"
    kms_key_id: str | None = None

    @model_validator(mode="after")
    def _kms_key_needs_kms(self) -> "LakeConfig":
        if self.kms_key_id and self.server_side_encryption != "aws:kms":
            raise ValueError("kms_key_id needs server_side_encryption: aws:kms")
        return self


# --------------------------------------------------------------------------- sources

MongoFieldType = Literal["object_id", "uuid", "string", "timestamp", "bool", "int64", "float64", "decimal", "json"]


class MongoField(_Model):
    type: MongoFieldType
    required: bool = False
    pii: Literal["keyed_hash"] | None = None
    lake_name: Identifier | None = None  # column name in the lake, if not the field name
    precision: int | None = Field(default=None, ge=1, le=38)
    scale: int | None = Field(default=None, ge=0, le=38)
    contract: Contract = None  # data_type only (dw.contracts)

    _contract = field_validator("contract")(classmethod(lambda cls, v: lake_contract(v, "field")))

    @model_validator(mode="after")
    def _decimal_needs_precision(self) -> "MongoField":
        if self.type == "decimal" and (self.precision is None or self.scale is None):
            raise ValueError("a decimal field needs precision and scale")
        if self.pii and self.type != "string":
            raise ValueError("pii: keyed_hash applies to string fields only")
        return self


class MongoCollection(_Model):
    name: Identifier
    mode: Literal["incremental", "snapshot"]
    cursor_field: str | None = None
    # freshness: the fewest rows a day's partition may hold; the warehouse's lake_ready check fails
    # the run, naming the source, when a landed partition holds fewer (0: an empty day is valid)
    min_rows: int = Field(default=0, ge=0)
    fields: dict[str, MongoField]
    contract: Contract = None  # new_fields, data_type (dw.contracts)
    source_contract: Contract = None  # the source's contract, set from the source (not written in the YAML)

    _contract = field_validator("contract", "source_contract")(classmethod(lambda cls, v: lake_contract(v, "entity")))

    def contract_mode(self, kind: str, field: str | None = None) -> str:
        """The contract mode of ``kind`` for this collection (or its ``field``): the field's, else
        the collection's, else the source's, else ``LAKE_DEFAULTS``."""
        return lake_mode(self, kind, field)

    @field_validator("fields")
    @classmethod
    def _field_names(cls, fields: dict[str, MongoField]) -> dict[str, MongoField]:
        for name in fields:
            if not re.match(r"^_?[a-z][a-z0-9_]{0,62}$|^_id$", name):
                raise ValueError(f"field name {name!r} is not a plain identifier")
        return fields

    @model_validator(mode="after")
    def _cursor(self) -> "MongoCollection":
        if self.mode == "incremental":
            if not self.cursor_field:
                raise ValueError(f"collection {self.name}: incremental mode needs cursor_field")
            f = self.fields.get(self.cursor_field)
            if f is None or f.type != "timestamp" or not f.required:
                raise ValueError(f"collection {self.name}: cursor_field must be a required timestamp field")
        lake_names = [self.lake_column(n) for n in self.fields]
        if len(set(lake_names)) != len(lake_names):
            raise ValueError(f"collection {self.name}: two fields land in the same lake column")
        return self

    @staticmethod
    def _lake_column(name: str, field: MongoField) -> str:
        if field.lake_name:
            return field.lake_name
        return "id" if name == "_id" else name

    def lake_column(self, name: str) -> str:
        return self._lake_column(name, self.fields[name])

    @property
    def lake_columns(self) -> list[str]:
        return [self.lake_column(n) for n in self.fields]


class MongoSource(_Model):
    source: Literal["mongo"]
    conn_id: str
    database: str
    batch_size: int = Field(default=10_000, ge=1, le=1_000_000)
    pii_key_conn_id: str
    contract: Contract = None  # new_fields, data_type for every collection (dw.contracts)
    collections: dict[str, MongoCollection]

    _contract = field_validator("contract")(classmethod(lambda cls, v: lake_contract(v, "source")))

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: dict) -> dict:
        cols = data.get("collections") or {}
        data = dict(data)
        data["collections"] = {k: {**v, "name": k, "source_contract": data.get("contract")} for k, v in cols.items()}
        return data


# --------------------------------------------------------------------------- vendor sources
# include/config/sources/<vendor>.yaml: the vendor APIs landed by ingest_<vendor>
# (dw.sources.http and one module per vendor, which also holds the vendor's config rules). An
# entity's objects land as raw JSON and as Parquet with the configured fields
# (docs/decisions/0010-vendor-landing.md).

# A vendor field's type: the Mongo types (same strict conversion, dw.convert), plus
# epoch_seconds (Stripe's unix times, landed as timestamps).
VendorFieldType = Literal["string", "uuid", "int64", "float64", "bool", "timestamp", "epoch_seconds", "json"]


def _keyed(data: dict, key: str) -> dict:
    """Give each entry of the mapping ``data[key]`` its key as ``name``."""
    return {**data, key: {k: {**v, "name": k} for k, v in (data.get(key) or {}).items()}}


class VendorField(_Model):
    path: str | None = None  # dotted path into the object ("metadata.analytics_id", "items.data.0.price.id"); default: the name
    type: VendorFieldType
    required: bool = False
    pii: Literal["keyed_hash"] | None = None
    contract: Contract = None  # data_type only (dw.contracts)

    _contract = field_validator("contract")(classmethod(lambda cls, v: lake_contract(v, "field")))

    @model_validator(mode="after")
    def _pii_string(self) -> "VendorField":
        if self.pii and self.type != "string":
            raise ValueError("pii: keyed_hash applies to string fields only")
        return self


class VendorEntity(_Model):
    name: Identifier
    endpoint: str = Field(pattern=r"^/[A-Za-z0-9_./-]*$")
    # window: the objects of the data interval (Stripe: created in it; Chargify: date_field in it;
    # Amplitude: uploaded in it); snapshot: every object that exists at the interval's end.
    mode: Literal["window", "snapshot"]
    id_field: str = "id"  # path of the object's unique id (de-duplication, error messages)
    time_field: str | None = None  # path of the field the window filters on, checked on every object
    root: str | None = None  # Chargify wraps each object: [{"subscription": {...}}]
    date_field: str | None = None  # Chargify's date_field parameter
    params: dict[str, str] = Field(default_factory=dict)  # fixed query parameters (e.g. status: all)
    min_rows: int = Field(default=0, ge=0)  # freshness, as for a Mongo collection
    fields: dict[Identifier, VendorField]
    # top-level keys of the objects the vendor serves that the lake knows and does not land
    # (not new fields: kept in the raw JSON only)
    ignored_fields: list[str] = Field(default_factory=list)
    contract: Contract = None  # new_fields, data_type (dw.contracts)
    source_contract: Contract = None  # the source's contract, set from the source (not written in the YAML)

    _contract = field_validator("contract", "source_contract")(classmethod(lambda cls, v: lake_contract(v, "entity")))

    def contract_mode(self, kind: str, field: str | None = None) -> str:
        """The contract mode of ``kind`` for this entity (or its ``field``), as ``MongoCollection.contract_mode``."""
        return lake_mode(self, kind, field)

    @property
    def known_keys(self) -> set[str]:
        """The objects' top-level keys the config knows: the first step of every field's path,
        and ``ignored_fields``."""
        return {(f.path or n).split(".")[0] for n, f in self.fields.items()} | set(self.ignored_fields)

    @model_validator(mode="after")
    def _id_is_a_field(self) -> "VendorEntity":
        paths = {f.path or n for n, f in self.fields.items()}
        if self.id_field not in paths:
            raise ValueError(f"entity {self.name}: id_field {self.id_field!r} must be the path of a configured field")
        return self


class VendorSource(_Model):
    source: Literal[VENDORS]
    conn_id: str
    pii_key_conn_id: str | None = None
    page_size: int = Field(default=100, ge=1)
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)  # per request (connect and each read)
    max_attempts: int = Field(default=6, ge=1, le=20)  # per request: 429, 5xx, timeouts, truncated bodies
    backoff_seconds: float = Field(default=2.0, ge=0)  # first backoff; doubles, jittered
    max_backoff_seconds: float = Field(default=120.0, ge=0)  # also caps a Retry-After
    max_passes: int = Field(default=4, ge=2, le=10)  # page-numbered paging: reads until two agree
    available_after_hours: float = Field(default=0, ge=0)  # Amplitude: an hour is exportable this long after it ends
    # Chargify: a run with the DAG param full_history (or the entity's first day in the lake)
    # reads every window entity from the lake's history_start on (every subscription, not only
    # those changed on day D)
    full_history: bool = False
    headers: dict[str, str] = Field(default_factory=dict)  # e.g. Stripe-Version
    contract: Contract = None  # new_fields, data_type for every entity (dw.contracts)
    entities: dict[str, VendorEntity]

    _contract = field_validator("contract")(classmethod(lambda cls, v: lake_contract(v, "source")))

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: dict) -> dict:
        data = _keyed(data, "entities")
        data["entities"] = {k: {**v, "source_contract": data.get("contract")} for k, v in data["entities"].items()}
        return data

    @property
    def history_start(self) -> dt.date | None:
        """Where a full-history read starts: the lake's ``history_start`` (None without ``full_history``)."""
        return lake_config().history_start if self.full_history else None

    @model_validator(mode="after")
    def _vendor_rules(self) -> "VendorSource":
        vendor = source_module(self.source)
        if self.page_size > vendor.MAX_PAGE_SIZE:
            raise ValueError(f"{self.source}: page_size at most {vendor.MAX_PAGE_SIZE}")
        for e in self.entities.values():
            if any(f.pii for f in e.fields.values()) and not self.pii_key_conn_id:
                raise ValueError(f"{self.source}.{e.name}: a pii field needs pii_key_conn_id")
            vendor.check_entity(e)
            if e.mode == "window" and not e.time_field:
                raise ValueError(f"{self.source}.{e.name}: a window entity needs time_field")
        return self


# --------------------------------------------------------------------------- warehouse


def _check_type(value: str) -> str:
    v = " ".join(value.strip().lower().split())
    if v in BASE_TYPES or _NUMERIC_RE.match(v) or _ENUM_RE.match(v):
        return v
    raise ValueError(f"unsupported column type {value!r} (allowed: {sorted(BASE_TYPES)}, numeric(p,s), dw.<enum>)")


ColumnType = Annotated[str, Field(min_length=1)]


# a warehouse load's modes when no contract sets one: a new value grows its type, a row that
# does not convert is quarantined (dw.load_quarantine); docs/decisions/0043
WAREHOUSE_CONTRACT_DEFAULTS = {"enum_values": "evolve", "data_type": "discard_row"}
# the contract kinds a warehouse load applies (dw.contracts; new_fields is the lake's)
WAREHOUSE_CONTRACT_KINDS = ("enum_values", "data_type")


def _warehouse_contract(contract: dict | None, where: str) -> dict[str, str]:
    """``contract`` checked (``dw.contracts.check_contract``) and limited to the kinds a load applies."""

    checked = check_contract(contract, where)
    for kind in checked:
        if kind not in WAREHOUSE_CONTRACT_KINDS:
            raise ValueError(f"{where}: contract {kind} does not apply to a warehouse table "
                             f"(it takes {', '.join(WAREHOUSE_CONTRACT_KINDS)})")
    if checked.get("data_type") == "evolve":
        raise ValueError(f"{where}: contract data_type: evolve does not apply to a warehouse column (its type "
                         "changes by a migration): discard_row, discard_value or freeze")
    return checked


class Column(_Model):
    name: Identifier
    type: ColumnType
    nullable: bool = True
    # what the load does with a value of this column that upstream changed (dw.contracts):
    # enum_values (a dw.<enum> column only), data_type; default: the table's, then the load's defaults
    contract: dict[str, str] | None = None

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        return _check_type(v)

    @model_validator(mode="after")
    def _contract(self) -> "Column":
        if self.contract is not None:
            _warehouse_contract(self.contract, f"column {self.name}")
            if "enum_values" in self.contract and not _ENUM_RE.match(self.type):
                raise ValueError(f"column {self.name}: contract enum_values applies to a dw.<enum> column only")
        return self


class Measure(_Model):
    name: Identifier
    type: ColumnType

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        return _check_type(v)


class Lookup(_Model):
    """Resolve a surrogate key: ``key`` = ``dimension.id`` where every ``match`` pair
    (dimension column: extract column) is equal, NULL matching NULL. An unmatched row gets the
    Not applicable member when its key is absent (every key column the dimension declares NOT
    NULL is NULL), else the Unknown member (docs/decisions/0044). ``as_of`` names the extract's date column for an SCD2 dimension
    (valid_from <= as_of < valid_to); without it an SCD2 lookup takes the current row."""

    key: Identifier
    dimension: Identifier
    match: dict[Identifier, Identifier]
    as_of: Identifier | None = None


class TableChecks(_Model):
    # name -> boolean SQL expression that must hold on every row of the run's slice
    # (run with SQLTableCheckOperator, per-row expressions aggregated by the operator).
    table: dict[Identifier, str] = Field(default_factory=dict)
    # column -> SQLColumnCheckOperator checks, e.g. {null_check: {equal_to: 0}}
    columns: dict[Identifier, dict[str, dict[str, float | int]]] = Field(default_factory=dict)


class TableConfig(_Model):
    """A warehouse table, from include/config/warehouse/<table>.yaml: the columns of its extract
    (the load's stage, in order), a dimension's natural key and versioning (SCD1/SCD2) or a
    fact's date column, lookups, grain and measures. ``_shape`` checks the rules between fields;
    ``warehouse_tables`` the rules between tables."""

    table: Identifier
    kind: Literal["dimension", "fact"]
    description: str
    source: str  # which ingested source feeds it (mongo, stripe, ...), for docs and freshness
    lake_tables: list[Identifier] = Field(default_factory=list)  # raw_* tables the extract reads
    loaded: bool = True  # false: the table exists (with its unknown member) but no task loads it yet
    columns: list[Column]  # the extract's columns, in order (the stage table)
    checks: TableChecks = Field(default_factory=TableChecks)
    # the table's contract (dw.contracts: enum_values, data_type), for every column that sets none
    contract: dict[str, str] | None = None

    # dimensions
    scd: Literal[1, 2] | None = None
    natural_key: list[Identifier] = Field(default_factory=list)
    version_column: Identifier | None = None  # source version (e.g. updated_at) for SCD ordering
    tracked: list[Identifier] | None = None  # SCD2: columns whose change opens a new version
    unknown_member: dict[Identifier, str | int | bool | None] = Field(default_factory=dict)
    not_applicable_member: dict[Identifier, str | int | bool | None] = Field(default_factory=dict)
    insert_only: bool = False  # a dimension with no attributes: rows are only ever added

    # facts
    date_column: Identifier | None = None
    lookups: list[Lookup] = Field(default_factory=list)
    grain: list[Identifier] = Field(default_factory=list)
    measures: list[Measure] = Field(default_factory=list)

    @property
    def qualified(self) -> tuple[str, str]:
        return (WAREHOUSE_SCHEMA, self.table)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.table}: no column {name!r}")

    def contract_mode(self, kind: str, column: str) -> str:
        """The mode of ``kind`` for ``column``: its own contract, else the table's, else the
        default (``WAREHOUSE_CONTRACT_DEFAULTS``)."""
        return resolve_mode(kind, self.contract, self.column(column).contract,
                            default=WAREHOUSE_CONTRACT_DEFAULTS[kind])

    @property
    def extract_sql_path(self) -> Path:
        return paths.sql_dir() / "athena" / "extract" / f"{self.table}.sql"

    @property
    def attributes(self) -> list[Column]:
        """Dimension columns that are neither the natural key nor the version column."""
        skip = set(self.natural_key) | ({self.version_column} if self.version_column else set())
        return [c for c in self.columns if c.name not in skip]

    @property
    def degenerate(self) -> list[Column]:
        """Fact grain columns taken from the extract as they are (not surrogate keys)."""
        keys = {lk.key for lk in self.lookups}
        return [self.column(g) for g in self.grain if g not in keys]

    @model_validator(mode="after")
    def _shape(self) -> "TableConfig":
        names = self.column_names
        where = f"table {self.table}"
        _warehouse_contract(self.contract, f"{where}: contract")
        if len(set(names)) != len(names):
            raise ValueError(f"{where}: duplicate column names")
        if self.kind == "dimension":
            if self.scd is None or not self.natural_key:
                raise ValueError(f"{where}: a dimension needs scd and natural_key")
            for k in self.natural_key:
                if k not in names:
                    raise ValueError(f"{where}: natural key {k!r} is not an extract column")
            if self.version_column and self.version_column not in names:
                raise ValueError(f"{where}: version_column {self.version_column!r} is not an extract column")
            if self.scd == 2 and not self.version_column:
                raise ValueError(f"{where}: an SCD2 dimension needs version_column")
            for k in self.tracked or []:
                if k not in names:
                    raise ValueError(f"{where}: tracked column {k!r} is not an extract column")
            for field in ("unknown_member", "not_applicable_member"):
                for k in getattr(self, field):
                    if k not in names:
                        raise ValueError(f"{where}: {field} column {k!r} is not an extract column")
            if [str(self.unknown_member.get(k)) for k in self.natural_key] == [
                    str(self.not_applicable_member.get(k)) for k in self.natural_key]:
                raise ValueError(f"{where}: unknown_member and not_applicable_member need different natural keys "
                                 f"({', '.join(self.natural_key)})")
            if self.lookups or self.grain or self.measures:
                raise ValueError(f"{where}: lookups, grain and measures are for facts")
        else:
            if not self.date_column or self.date_column not in names:
                raise ValueError(f"{where}: a fact needs date_column, an extract column")
            keys = [lk.key for lk in self.lookups]
            if len(set(keys)) != len(keys):
                raise ValueError(f"{where}: two lookups write the same key")
            for lk in self.lookups:
                if lk.key in names:
                    raise ValueError(f"{where}: lookup key {lk.key!r} clashes with an extract column")
                for extract_col in lk.match.values():
                    if extract_col not in names:
                        raise ValueError(f"{where}: lookup {lk.key} matches on {extract_col!r}, not an extract column")
                if lk.as_of and lk.as_of not in names:
                    raise ValueError(f"{where}: lookup {lk.key} as_of {lk.as_of!r} is not an extract column")
            if self.date_column not in self.grain:
                raise ValueError(f"{where}: the grain must include the date column")
            for g in self.grain:
                if g not in keys and g not in names:
                    raise ValueError(f"{where}: grain column {g!r} is neither a lookup key nor an extract column")
                if g in names and self.column(g).nullable:
                    raise ValueError(f"{where}: grain column {g!r} must be declared nullable: false")
            for m in self.measures:
                if m.name not in names:
                    raise ValueError(f"{where}: measure {m.name!r} is not an extract column")
                if m.name in self.grain:
                    raise ValueError(f"{where}: measure {m.name!r} is in the grain")
        return self


TYPES_FILE = "types.yaml"  # include/config/warehouse/types.yaml: the enum types, not a table


class WarehouseTypes(_Model):
    """include/config/warehouse/types.yaml: every enumerated type of schema dw a column may name
    (``dw.<name>``), with its values in their sort order."""

    types: dict[Identifier, list[Annotated[str, StringConstraints(min_length=1, max_length=63)]]]

    @model_validator(mode="after")
    def _values(self) -> "WarehouseTypes":
        for name, values in self.types.items():
            if not values or len(set(values)) != len(values):
                raise ValueError(f"type {name}: needs at least one value, each once")
        return self


# --------------------------------------------------------------------------- loading


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, text: str | None = None) -> dict:
    try:
        # libyaml's loader (the same safe subset) when PyYAML has it: DAG parsing reads every
        # config file (docs/decisions/0016)
        data = yaml.load(path.read_text() if text is None else text, Loader=_YAML_LOADER)
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def _validated(model: type[BaseModel], path: Path, data: dict):
    try:
        return model.model_validate(data)
    except Exception as e:  # pydantic.ValidationError, with the file named
        raise ValueError(f"{path}: {e}") from e


def _load_model(model: type[BaseModel], path: Path, prepare=None, variant: str = ""):
    """``model`` validated from the YAML file ``path`` (``prepare(data)`` applied first, its
    inputs named by ``variant``), kept between processes by ``dw.config_cache``."""

    def validate(raw: bytes):
        data = _read_yaml(path, raw.decode("utf-8"))
        return _validated(model, path, prepare(data) if prepare else data)

    return config_cache.load(model, path, validate, variant)


def _cached(fn):
    """Cache per include tree; ``f.cache_clear()`` forgets (tests change DW_* settings)."""
    cached = functools.lru_cache(maxsize=None)(fn)

    @functools.wraps(fn)
    def wrapper(config_dir: Path | None = None):
        return cached(Path(config_dir) if config_dir else paths.config_dir())

    wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return wrapper


@_cached
def lake_config(config_dir: Path) -> LakeConfig:
    bucket = os.environ.get("DW_LAKE_BUCKET")
    return _load_model(LakeConfig, config_dir / "lake.yaml", (lambda d: {**d, "bucket": bucket}) if bucket else None,
                       variant=f"bucket={bucket or ''}")


@_cached
def airflow_config(config_dir: Path) -> AirflowConfig:
    return _load_model(AirflowConfig, config_dir / "airflow.yaml")


@_cached
def mongo_source(config_dir: Path) -> MongoSource:
    return _load_model(MongoSource, config_dir / "sources" / "mongo.yaml")


@_cached
def warehouse_tables(config_dir: Path) -> dict[str, TableConfig]:
    """Every table under <config>/warehouse/, by name, with cross-table checks:
    lookups name existing dimensions and their columns, extract SQL files exist. An error
    names the table's YAML file."""
    tables: dict[str, TableConfig] = {}
    files: dict[str, Path] = {}
    types = warehouse_types(config_dir)
    for path in sorted((config_dir / "warehouse").glob("*.yaml")):
        if path.name == TYPES_FILE:
            continue
        cfg = _load_model(TableConfig, path)
        if cfg.table != path.stem:
            raise ValueError(f"{path}: table {cfg.table!r} must match the file name")
        tables[cfg.table], files[cfg.table] = cfg, path
    sql_dir = config_dir.parent / "sql" / "athena" / "extract"
    for cfg in tables.values():
        path = files[cfg.table]
        for c in [*cfg.columns, *cfg.measures]:
            if (m := _ENUM_RE.match(c.type)) and m.group(1) not in types:
                raise ValueError(f"{path}: column {c.name}: type {c.type} is not declared in "
                                 f"{config_dir / 'warehouse' / TYPES_FILE}")
        if cfg.loaded and not (sql_dir / f"{cfg.table}.sql").exists():
            raise ValueError(f"{path}: table {cfg.table}: extract SQL {sql_dir / (cfg.table + '.sql')} is missing")
        for lk in cfg.lookups:
            dim = tables.get(lk.dimension)
            if dim is None or dim.kind != "dimension":
                raise ValueError(f"{path}: lookups: {lk.key} names {lk.dimension!r}, not a dimension")
            for dim_col in lk.match:
                if dim_col not in dim.column_names:
                    raise ValueError(f"{path}: lookups: {lk.key}: {lk.dimension} has no column {dim_col!r}")
    return tables


@_cached
def warehouse_types(config_dir: Path) -> dict[str, list[str]]:
    """<config>/warehouse/types.yaml: ``{type name: [values in order]}`` (none if the file is missing)."""
    path = config_dir / "warehouse" / TYPES_FILE
    if not path.exists():
        return {}
    return dict(_load_model(WarehouseTypes, path).types)


def vendor_source(name: str, config_dir: Path | None = None) -> VendorSource:
    """include/config/sources/<name>.yaml for a vendor (stripe, amplitude, chargify)."""
    if name not in VENDORS:
        raise ValueError(f"unknown vendor source {name!r} (known: {VENDORS})")
    return _vendor_source(Path(config_dir) if config_dir else paths.config_dir(), name)


@functools.lru_cache(maxsize=None)
def _vendor_source(config_dir: Path, name: str) -> VendorSource:
    path = config_dir / "sources" / f"{name}.yaml"
    src = _load_model(VendorSource, path)
    if src.source != name:
        raise ValueError(f"{path}: source {src.source!r} must match the file name")
    return src


def clear_caches() -> None:
    for f in (airflow_config, lake_config, mongo_source, warehouse_tables, warehouse_types, _vendor_source):
        f.cache_clear()


def dimension_order(tables: dict[str, TableConfig]) -> list[str]:
    return [t for t, c in tables.items() if c.kind == "dimension"]


def fact_order(tables: dict[str, TableConfig]) -> list[str]:
    return [t for t, c in tables.items() if c.kind == "fact"]
