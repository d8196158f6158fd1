"""The lake's SQL: Athena DDL and extract files, how they are rendered and parsed.

    include/sql/athena/ddl/<raw table>.sql      CREATE EXTERNAL TABLE ... (partition projection on dt)
    include/sql/athena/extract/<table>.sql     the query whose result is dw.<table>'s extract

Both kinds are Jinja templates rendered with ``StrictUndefined``:

- extract files see ``run_date`` (the run's day, ``YYYY-MM-DD``, validated), ``next_date``
  (D+1), ``database`` (the Athena database) and ``unknown_member_dates`` (a fact's open dates in
  the unknown-member ledger, validated; empty for a dimension);
- DDL files see ``database``, ``bucket``, ``raw_prefix``, ``location`` (the raw table's
  ``s3://`` prefix) and ``dt_partitioned_parquet`` (the PARTITIONED BY ... TBLPROPERTIES tail
  every raw table shares: daily ``dt`` partitions found by partition projection, from the lake's
  ``history_start`` on).

The extract files are written in Athena's dialect (Trino). On Athena they run as they are,
with the raw tables of the Glue database; the DuckDB engine (``dw.hooks.duckdb``) transpiles
them with ``to_duckdb``.

The DDL files are the one description of the raw tables' schemas: Athena creates its tables
from them and the DuckDB engine types its views with them; ``tests/test_lake_query.py`` checks them
against the source configs.

Heavy libraries (duckdb, sqlglot, jinja2) are imported inside the functions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from dw import paths
from dw.lake import check_ds
from dw.sources import RAW_TABLE_RE, RawTable

ATHENA_DIALECT = "athena"


# The tail of every raw table's DDL: one partition per day under <location>dt=YYYY-MM-DD/, found
# by partition projection (no MSCK REPAIR / ALTER TABLE ADD PARTITION task is ever needed).
DT_PARTITIONED_PARQUET = """\
PARTITIONED BY (dt string)
STORED AS PARQUET
LOCATION '{location}'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '{history_start},NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = '{location}dt=${{dt}}/',
  'parquet.compression' = 'ZSTD'
)"""


class LakeQueryError(Exception):
    """The lake query cannot run as written (SQL, schema or missing data): retrying won't help."""


# --------------------------------------------------------------------------- files and rendering


def ddl_dir() -> Path:
    return paths.sql_dir() / "athena" / "ddl"


def extract_dir() -> Path:
    return paths.sql_dir() / "athena" / "extract"


def parse_raw_table(name: str) -> RawTable:
    """``raw_mongo_jobs`` -> ``RawTable("mongo", "jobs")``; LakeQueryError for another name."""
    try:
        return RawTable.parse(name)
    except ValueError as e:
        raise LakeQueryError(str(e)) from None


def _render(text: str, where: str, **values) -> str:
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)
    try:
        return env.from_string(text).render(**values)
    except jinja2.TemplateError as e:
        raise LakeQueryError(f"{where}: cannot render: {e}") from None


def render_extract(table: str, run_date: str, sql_file: Path | None = None,
                   unknown_member_dates: list[str] | tuple[str, ...] = (), database: str | None = None) -> str:
    """The extract SQL of ``dw.<table>`` for day ``run_date`` (Athena dialect).
    ``unknown_member_dates``: the fact's open dates in the unknown-member ledger, which a fact
    extract restates as well (dw.warehouse.ledger; each one validated as a date). ``database``
    defaults to the lake config's Athena database."""
    if database is None:
        from dw.config import lake_config

        database = lake_config().athena_database
    check_ds(run_date)
    extra = [check_ds(d) for d in unknown_member_dates]
    path = sql_file or extract_dir() / f"{table}.sql"
    if not path.exists():
        raise LakeQueryError(f"dw.{table}: extract SQL {path} does not exist")
    nxt = (dt.date.fromisoformat(run_date) + dt.timedelta(days=1)).isoformat()
    return _render(path.read_text(), str(path), run_date=run_date, next_date=nxt, database=database,
                   unknown_member_dates=extra)


def render_ddl(raw_table_name: str) -> str:
    """The Athena CREATE EXTERNAL TABLE statement of a raw table, for this deployment's lake."""
    from dw.config import lake_config

    table = parse_raw_table(raw_table_name)
    path = ddl_dir() / f"{raw_table_name}.sql"
    if not path.exists():
        raise LakeQueryError(f"{raw_table_name}: no DDL file {path}")
    cfg = lake_config()
    location = table.uri(cfg.bucket, cfg.raw_prefix)
    return _render(path.read_text(), str(path), database=cfg.athena_database, bucket=cfg.bucket,
                   raw_prefix=cfg.raw_prefix, location=location,
                   dt_partitioned_parquet=DT_PARTITIONED_PARQUET.format(
                       location=location, history_start=cfg.history_start.isoformat()))


def raw_table_prefix(name: str) -> str:
    """The S3 key prefix of a raw table's partitions (``raw/<source>/<entity>/``)."""
    from dw.config import lake_config

    return parse_raw_table(name).prefix(lake_config().raw_prefix)


# --------------------------------------------------------------------------- parsing


@dataclasses.dataclass(frozen=True)
class RawColumn:
    name: str
    athena_type: str  # as written in the DDL, normalized by sqlglot (Athena dialect)
    duckdb_type: str


def raw_table_columns(raw_table: str) -> list[RawColumn]:
    """The data columns of a raw table (partition column ``dt`` excluded), from its DDL file."""
    import sqlglot
    from sqlglot import exp

    text = render_ddl(raw_table)
    try:
        tree = sqlglot.parse_one(text, read=ATHENA_DIALECT)
    except sqlglot.errors.ParseError as e:
        raise LakeQueryError(f"{ddl_dir() / (raw_table + '.sql')}: not valid Athena DDL: {e}") from None
    if not isinstance(tree, exp.Create) or not isinstance(tree.this, exp.Schema):
        raise LakeQueryError(f"{raw_table}: the DDL file must hold one CREATE EXTERNAL TABLE statement")
    if tree.this.this.name != raw_table:
        raise LakeQueryError(f"{raw_table}: the DDL creates {tree.this.this.name!r}, not {raw_table!r}")
    cols = []
    for c in tree.this.expressions:
        if isinstance(c, exp.ColumnDef):
            kind = c.args["kind"]
            cols.append(RawColumn(c.name, kind.sql(ATHENA_DIALECT), _duckdb_type(kind)))
    if not cols:
        raise LakeQueryError(f"{raw_table}: the DDL declares no columns")
    return cols


def _duckdb_type(kind) -> str:
    from sqlglot import exp

    # Athena reads Parquet timestamps (UTC-adjusted) as timestamp without zone, in UTC.
    if kind.this in (exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMP):
        return "TIMESTAMP"
    return kind.sql("duckdb")


def raw_tables_in(sql_text: str) -> list[str]:
    """The raw lake tables a query reads (``raw_<source>_<entity>``), sorted."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql_text, read=ATHENA_DIALECT)
    except sqlglot.errors.ParseError as e:
        raise LakeQueryError(f"not valid Athena SQL: {e}") from None
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    names = {t.name for t in tree.find_all(exp.Table)} - ctes
    return sorted(n for n in names if RAW_TABLE_RE.match(n))


def to_duckdb(sql_text: str) -> str:
    import sqlglot

    try:
        out = sqlglot.transpile(sql_text, read=ATHENA_DIALECT, write="duckdb", unsupported_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.SqlglotError as e:
        raise LakeQueryError(f"cannot transpile the Athena SQL to DuckDB: {e}") from None
    if len(out) != 1:
        raise LakeQueryError(f"an extract file must hold exactly one query, not {len(out)}")
    return out[0]


# --------------------------------------------------------------------------- the lake an extract read


def lake_state(s3, bucket: str, raw_tables: list[str]) -> dict[str, str]:
    """``{raw table: digest}`` of every object the raw tables hold (key, ETag, size), listed from
    S3. The extract task records it when it starts its query and the load compares it with the
    lake it finds: a partition replaced or added in between means the extract may no longer be
    what a query of the lake returns, and loading it could put older data over newer
    (docs/decisions/0015-stale-extracts.md)."""
    import hashlib

    out = {}
    for raw_table in sorted(set(raw_tables)):
        prefix = raw_table_prefix(raw_table)
        h = hashlib.sha256()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for o in page.get("Contents", []):  # listed in key order
                h.update(f"{o['Key']}\t{o['ETag']}\t{o['Size']}\n".encode())
        out[raw_table] = h.hexdigest()
    return out
