"""The lake's SQL: Athena DDL and extract files, how they are rendered and parsed.

    include/sql/athena/ddl/<raw table>.sql      CREATE EXTERNAL TABLE ... (partition projection on dt)
    include/sql/athena/extract/<table>.sql     the query whose result is dw.<table>'s extract

Both kinds are Jinja templates rendered with ``StrictUndefined``:

- extract files see ``run_date`` (the run's day, ``YYYY-MM-DD``, validated), ``next_date``
  (D+1), ``database`` (the Athena database), ``unknown_member_dates`` (a fact's open dates in
  the unknown-member ledger, validated; empty for a dimension), ``look_back`` (the lake's
  ``look_back_days``) and ``shift(ds, days)`` (a date moved by days, for literal ``dt`` bounds);
  they import the shared macros of include/sql/athena/macros/ (``latest_versions``: the latest
  version of each document of the dates a day touches, docs/decisions/0020);
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
from dw.lake import DS_RE, check_ds, objects_in_bounds
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


def shift(ds: str, days: int) -> str:
    """``ds`` (YYYY-MM-DD) moved by ``days`` days, as YYYY-MM-DD (extract files: literal bounds)."""
    return (dt.date.fromisoformat(ds) + dt.timedelta(days=days)).isoformat()


def _render(text: str, where: str, **values) -> str:
    import jinja2

    # the macros under include/sql/athena/ (``{% from 'macros/...' import ... %}``) see the
    # same values as the file
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
                             loader=jinja2.FileSystemLoader(str(paths.sql_dir() / "athena")))
    env.globals.update(values)
    try:
        return env.from_string(text).render()
    except jinja2.TemplateError as e:
        raise LakeQueryError(f"{where}: cannot render: {e}") from None


def render_extract(table: str, run_date: str, sql_file: Path | None = None,
                   unknown_member_dates: list[str] | tuple[str, ...] = (), database: str | None = None,
                   look_back: int | None = None) -> str:
    """The extract SQL of ``dw.<table>`` for day ``run_date`` (Athena dialect).
    ``unknown_member_dates``: the fact's open dates in the unknown-member ledger, which a fact
    extract restates as well (dw.warehouse.ledger; each one validated as a date). ``database``
    defaults to the lake config's Athena database, ``look_back`` to its ``look_back_days``."""
    from dw.config import lake_config

    if database is None:
        database = lake_config().athena_database
    if look_back is None:
        look_back = lake_config().look_back_days
    check_ds(run_date)
    extra = [check_ds(d) for d in unknown_member_dates]
    path = sql_file or extract_dir() / f"{table}.sql"
    if not path.exists():
        raise LakeQueryError(f"dw.{table}: extract SQL {path} does not exist")
    nxt = (dt.date.fromisoformat(run_date) + dt.timedelta(days=1)).isoformat()
    return _render(path.read_text(), str(path), run_date=run_date, next_date=nxt, database=database,
                   unknown_member_dates=extra, look_back=int(look_back), shift=shift)


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


def dt_bounds(sql_text: str) -> dict[str, tuple[str, str] | None]:
    """Per raw table a query reads, the ``dt`` range ``(lo, hi)`` (YYYY-MM-DD, inclusive) every
    one of its reads is confined to by literal predicates in its WHERE (``dt = '...'``,
    ``dt IN (...)``, ``dt BETWEEN '...' AND '...'``, ``>=``/``<=``, and ORs of these), or None
    when some read of it has no literal bound. The DuckDB engine reads only those partitions,
    and the stale-extract check covers only them (docs/decisions/0015, 0020)."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql_text, read=ATHENA_DIALECT)
    except sqlglot.errors.ParseError as e:
        raise LakeQueryError(f"not valid Athena SQL: {e}") from None
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}

    def lit(e) -> str | None:
        return e.this if isinstance(e, exp.Literal) and e.is_string and DS_RE.match(e.this) else None

    def is_dt(e, alias: str, single: bool) -> bool:
        return isinstance(e, exp.Column) and e.name == "dt" and (e.table == alias or (not e.table and single))

    def bound(c, alias: str, single: bool) -> tuple[str | None, str | None] | None:
        if isinstance(c, exp.Paren):
            return bound(c.this, alias, single)
        if isinstance(c, exp.Between) and is_dt(c.this, alias, single):
            return lit(c.args.get("low")), lit(c.args.get("high"))
        if isinstance(c, exp.EQ) and is_dt(c.this, alias, single) and lit(c.expression):
            return lit(c.expression), lit(c.expression)
        if isinstance(c, (exp.GTE, exp.GT)) and is_dt(c.this, alias, single) and lit(c.expression):
            return lit(c.expression), None
        if isinstance(c, (exp.LTE, exp.LT)) and is_dt(c.this, alias, single) and lit(c.expression):
            return None, lit(c.expression)
        if isinstance(c, exp.In) and is_dt(c.this, alias, single) and not c.args.get("query"):
            vals = [lit(v) for v in c.expressions]
            if vals and all(vals):
                return min(vals), max(vals)
        if isinstance(c, exp.Or):
            a, b = bound(c.left, alias, single), bound(c.right, alias, single)
            if a and b and None not in a + b:
                return min(a[0], b[0]), max(a[1], b[1])
        return None

    out: dict[str, tuple[str, str] | None] = {}
    for table in tree.find_all(exp.Table):
        name = table.name
        if name in ctes or not RAW_TABLE_RE.match(name):
            continue
        sel = table.find_ancestor(exp.Select)
        where = sel.args.get("where") if sel else None
        lo = hi = None
        if where is not None:
            sources = [t for t in sel.find_all(exp.Table) if t.find_ancestor(exp.Select) is sel]
            single = len(sources) == 1
            for c in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
                b = bound(c, table.alias_or_name, single)
                if b:
                    lo = max(x for x in (lo, b[0]) if x) if b[0] else lo
                    hi = min(x for x in (hi, b[1]) if x) if b[1] else hi
        rng = (lo, hi) if lo and hi else None
        if name not in out:
            out[name] = rng
        elif out[name] is not None:
            out[name] = None if rng is None else (min(out[name][0], rng[0]), max(out[name][1], rng[1]))
    return dict(sorted(out.items()))


def late_documents_sql(sql_text: str) -> str | None:
    """For an extract built on ``latest_versions`` (it defines the CTE ``lv_late``): the query
    ``documents, oldest_created`` of the day's documents beyond the look-back (updated more than
    ``look_back_days`` after their creation: not restated, reported). None for another query."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql_text, read=ATHENA_DIALECT)
    with_ = tree.args.get("with") or tree.args.get("with_")
    if with_ is None or "lv_late" not in {c.alias_or_name for c in with_.expressions}:
        return None
    q = sqlglot.parse_one("select count(*) as documents, cast(min(lv_created) as varchar) as oldest_created "
                          "from lv_late", read=ATHENA_DIALECT)
    ctes = {c.alias_or_name: c for c in with_.expressions}
    need, todo = set(), ["lv_late"]
    while todo:  # the CTEs lv_late reads, transitively (the others are left out)
        name = todo.pop()
        if name not in need:
            need.add(name)
            todo += [t.name for t in ctes[name].this.find_all(exp.Table) if t.name in ctes]
    w = with_.copy()
    w.set("expressions", [c.copy() for n, c in ctes.items() if n in need])
    q.set("with" if "with" in tree.args else "with_", w)
    return q.sql(dialect=ATHENA_DIALECT)


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


def lake_state(s3, bucket: str, raw_tables: list[str],
               bounds: dict[str, list[str] | tuple[str, str] | None] | None = None) -> dict[str, str]:
    """``{raw table: digest}`` of the objects (key, ETag, size) the raw tables hold within the
    ``dt`` bounds the extract reads (``bounds``: ``dt_bounds`` of its SQL; a table without bounds:
    every object), listed from S3. The extract task records it when it starts its query and the
    load compares it with the lake it finds: a partition the extract could read, replaced or
    added in between, means the extract may no longer be what a query of the lake returns, and
    loading it could put older data over newer; a partition outside its bounds (the next day's
    snapshot of a table a dimension reads for D only) does not
    (docs/decisions/0015-stale-extracts.md, 0020)."""
    import hashlib

    out = {}
    for raw_table in sorted(set(raw_tables)):
        h = hashlib.sha256()
        for o in objects_in_bounds(s3, bucket, raw_table_prefix(raw_table), (bounds or {}).get(raw_table)):
            h.update(f"{o['Key']}\t{o['ETag']}\t{o['Size']}\n".encode())
        out[raw_table] = h.hexdigest()
    return out
