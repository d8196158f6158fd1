"""Bring a warehouse database to the current schema: ``migrate(conninfo)``.

1. ``pg_advisory_lock(MIGRATE_LOCK_KEY)`` on a dedicated connection: concurrent migrate tasks
   (backfill runs, two DAG runs) serialize; the second finds nothing to do.
2. One transaction on a second connection (a revision that adds enum values commits it after
   them, ``commit_migration``: a value is usable only once committed):
   - ``alembic upgrade head`` (``include/sql/postgres/migrations``; version table
     ``dw.alembic_version``): roles, schema, enum types, ``dw.date_dim``, and every later
     versioned change (0007: facts partitioned by month; 0008: the owner role apart from the
     loader; 0009: ``dw.analyze_partition`` for the loads; 0013: the config tables as of 0010
     and the Not applicable members; later ones written by ``make migration``, 0045);
   - every config-declared table (``include/config/warehouse/*.yaml``) that does not exist yet
     is created from its ``TableConfig`` (``CREATE TABLE IF NOT EXISTS``; a fact partitioned by
     month, with the partition of dates before 2000);
     one that exists must still have the columns its config declares, else migrate fails and
     says that the change needs an Alembic migration (docs/decisions/0006, 0045);
   - the dimensions' Unknown and Not applicable members (``ON CONFLICT DO NOTHING``; 0044);
   - each fact's missing monthly partitions for the months of ``dates`` (the migrate task: its
     run's dates from the fact extracts' look-back before it to the ledger's window after it,
     ``partition_dates``), owned
     by ``dw_owner``, the loader's DML granted (``dw.warehouse.ddl.ensure_partitions``): the
     loads make none;
   - ownership and grants, explicit per table (no default privileges): ``dw_owner`` owns it,
     ``dw_loader`` SELECT/INSERT/UPDATE/DELETE, ``dw_analyst`` SELECT — column by column where a
     column holds a ``pii:`` field's keyed hash from any source (``dw.user_dim.email_hash``).
   Both connections pin ``search_path`` to ``pg_catalog, pg_temp``.
3. Commit, unlock.

Idempotent: a second run executes the same statements and changes nothing (existing tables
are not altered, so it takes no lock that would wait for a running load).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from dw import paths
from dw.config import WAREHOUSE_SCHEMA, TableConfig, mongo_source, warehouse_tables
from dw.warehouse.sql import ANALYST_ROLE, LOADER_ROLE, OWNER_ROLE  # the roles (re-exported here)

log = logging.getLogger(__name__)

# One bigint key, above the int4 range of the loads' hashtext() keys, so it cannot collide.
MIGRATE_LOCK_KEY = 0x64775F6D69677261  # "dw_migra"
# Columns the analyst must not read, besides the keyed hashes of ``pii:`` source fields.
ANALYST_HIDDEN_COLUMNS: dict[str, set[str]] = {"user_dim": {"email_hash"}}


# Every session the platform opens resolves names in pg_catalog, then its own temp tables only:
# nothing planted in public (or any schema a login can create in) can shadow a function it calls.
PIN_SEARCH_PATH = "SET search_path = pg_catalog, pg_temp"


class MigrationError(RuntimeError):
    pass


def migrations_dir() -> Path:
    """The Alembic tree of the include tree in use (``DW_INCLUDE_DIR``, else the repository's)."""
    return paths.sql_dir() / "postgres" / "migrations"


def alembic_config(connection=None):
    """The Alembic Config of the warehouse; ``connection`` (SQLAlchemy) is handed to env.py."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("version_locations", str(migrations_dir() / "versions"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest Alembic revision of the warehouse migrations."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def run_sql_files(directory: Path, names: list[str], commit_after: tuple[str, ...] = ()) -> None:
    """Execute the SQL files of a migration step, in order, on the migration's connection
    (inside Alembic's transaction). Called from ``versions/*.py``. After a file named in
    ``commit_after``, the transaction is committed (``commit_migration``)."""
    from alembic import op

    raw = op.get_bind().connection.dbapi_connection
    for name in names:
        path = Path(directory) / name
        text = path.read_text()
        with raw.cursor() as cur:
            try:
                cur.execute(text)  # no parameters: the file may hold several statements
            except Exception as e:
                e.add_note(f"while running migration SQL {path}")
                raise
        if name in commit_after:
            commit_migration()


def commit_migration() -> None:
    """Commit the migration's transaction so far and go on in a new one, on the same connection.
    For enum values (``ALTER TYPE ... ADD VALUE``): PostgreSQL lets a transaction use a value only
    once it is committed. What ran before is kept if a later step fails; every step that calls
    this must be idempotent (``ADD VALUE IF NOT EXISTS``, ``CREATE TABLE IF NOT EXISTS``, inserts
    that skip existing rows) so the next migrate completes it. docs/decisions/0044."""
    from alembic import op

    op.get_bind().connection.dbapi_connection.commit()  # the next statement begins a new transaction


def _engine(conninfo: str):
    import psycopg
    from sqlalchemy import create_engine, pool

    return create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(conninfo), poolclass=pool.NullPool)


def partition_dates(run_date, look_back_days: int | None = None) -> list[dt.date]:
    """The dates a run of ``run_date`` (date or ISO string) can write into a fact: from the
    fact extracts' look-back (``look_back_days``, default the lake config's, plus the day before
    a document's creation) or the ledger's healing window, whichever reaches further back, to
    the ledger's window after it (``ledger.HEAL_DAYS``: a backfill restates later open dates)."""
    from dw.config import lake_config
    from dw.warehouse.ledger import HEAL_DAYS

    d = run_date if isinstance(run_date, dt.date) else dt.date.fromisoformat(str(run_date))
    back = max(HEAL_DAYS, (look_back_days or lake_config().look_back_days) + 1)
    return [d + dt.timedelta(days=i) for i in range(-back, HEAL_DAYS + 1)]


def upgrade_migrations(conninfo: str) -> str:
    """``alembic upgrade head`` only, nothing from the config (a scratch database for
    ``dw.warehouse.schema_diff``); returns the revision."""
    import psycopg
    from alembic import command

    engine = _engine(conninfo)
    try:
        with engine.connect() as sa_conn:
            with sa_conn.begin():
                pg = sa_conn.connection.dbapi_connection
                pg.execute(PIN_SEARCH_PATH)
                command.upgrade(alembic_config(sa_conn), "head")
        with psycopg.connect(conninfo) as con:
            return con.execute("SELECT version_num FROM dw.alembic_version").fetchone()[0]
    finally:
        engine.dispose()


def migrate(conninfo: str, tables: dict[str, TableConfig] | None = None, dates=()) -> dict:
    """Migrate the warehouse at ``conninfo`` (libpq conninfo or URI) and make the facts'
    partitions of the months of ``dates``. Returns ``{"revision": ..., "upgraded_from": the
    revision before (None: a new warehouse), "created": [config tables created now from their
    config], "partitions": [partitions created now], "tables": [all config tables]}``."""
    import psycopg
    from alembic import command

    tables = warehouse_tables() if tables is None else tables
    with psycopg.connect(conninfo, autocommit=True) as lock_conn:
        lock_conn.execute(PIN_SEARCH_PATH)
        lock_conn.execute("SELECT pg_catalog.pg_advisory_lock(%s)", (MIGRATE_LOCK_KEY,))
        try:
            engine = _engine(conninfo)
            try:
                with engine.connect() as sa_conn:
                    with sa_conn.begin():
                        pg = sa_conn.connection.dbapi_connection
                        pg.execute(PIN_SEARCH_PATH)  # session-wide: Alembic's and our statements alike
                        before = _revision(pg)
                        command.upgrade(alembic_config(sa_conn), "head")
                        created = ensure_tables(pg, tables)
                        partitions = ensure_fact_partitions(pg, tables, dates)
                        revision = _revision(pg)
            finally:
                engine.dispose()
        finally:
            lock_conn.execute("SELECT pg_catalog.pg_advisory_unlock(%s)", (MIGRATE_LOCK_KEY,))
    return {"revision": revision, "upgraded_from": before, "created": created,
            "partitions": partitions, "tables": list(tables)}


def _revision(pg) -> str | None:
    """The database's Alembic revision; None before the first migration."""
    if pg.execute("SELECT to_regclass('dw.alembic_version') IS NULL").fetchone()[0]:
        return None
    row = pg.execute("SELECT version_num FROM dw.alembic_version").fetchone()
    return row[0] if row else None


# --------------------------------------------------------------------------- config tables


def ensure_tables(pg, tables: dict[str, TableConfig]) -> list[str]:
    """Create the missing config tables, check the existing ones, insert the fixed members,
    grant. ``pg``: a psycopg connection inside the migration transaction."""
    from psycopg import sql

    from dw.warehouse.ddl import before_partition_name, create_table, member_inserts, table_comment
    from dw.warehouse.sql import session_settings

    created: list[str] = []
    with pg.cursor() as cur:
        for stmt in session_settings():
            cur.execute(stmt)
        _own(cur, "alembic_version")
        for name, cfg in tables.items():
            exists = cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{WAREHOUSE_SCHEMA}.{name}",)).fetchone()[0]
            if exists:
                _check_columns(cur, cfg)
            else:
                for stmt in create_table(cfg):
                    cur.execute(stmt)
                cur.execute(table_comment(cfg))
                created.append(name)
                log.info("created dw.%s", name)
            _own(cur, name)
            if cfg.kind == "fact" and not exists:
                _own(cur, before_partition_name(cfg))
            for insert in member_inserts(cfg):
                cur.execute(insert)
            _grant(cur, cfg)
            if cfg.scd == 2:
                _ensure_observations(cur, cfg)
    return created


def _ensure_observations(cur, cfg: TableConfig) -> None:
    """An SCD2 dimension's observations table, created (and seeded from the dimension's versions)
    if missing; the owner's, the loader reads and writes rows, the analyst nothing (0021)."""
    from psycopg import sql

    from dw.warehouse.ddl import create_observations, observations_ident

    t = observations_ident(cfg)
    name = f"{cfg.table}_observations"
    if not cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{WAREHOUSE_SCHEMA}.{name}",)).fetchone()[0]:
        for stmt in create_observations(cfg):
            cur.execute(stmt)
        log.info("created dw.%s (%d observations seeded from dw.%s)", name, cur.rowcount, cfg.table)
    _own(cur, name)
    loader, analyst = sql.Identifier(LOADER_ROLE), sql.Identifier(ANALYST_ROLE)
    cur.execute(sql.SQL("REVOKE ALL ON {} FROM PUBLIC, {}, {}").format(t, loader, analyst))
    cur.execute(sql.SQL("GRANT SELECT, INSERT, DELETE ON {} TO {}").format(t, loader))


def ensure_fact_partitions(pg, tables: dict[str, TableConfig], dates) -> list[str]:
    """The missing monthly partitions of every partitioned fact for the months of ``dates``."""
    from dw.warehouse.ddl import ensure_partitions

    dates = list(dates)
    made: list[str] = []
    if not dates:
        return made
    with pg.cursor() as cur:
        for cfg in tables.values():
            if cfg.kind == "fact":
                made += ensure_partitions(cur, cfg, dates) or []
    if made:
        log.info("created partitions %s", ", ".join(made))
    return made


def _own(cur, table: str) -> None:
    """Hand the table to dw_owner, only if it is not its owner yet (ALTER ... OWNER takes an
    ACCESS EXCLUSIVE lock, which would wait for a running load)."""
    from psycopg import sql

    row = cur.execute(
        "SELECT tableowner FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = %s",
        (WAREHOUSE_SCHEMA, table),
    ).fetchone()
    if row and row[0] != OWNER_ROLE:
        cur.execute(
            sql.SQL("ALTER TABLE {} OWNER TO {}").format(sql.Identifier(WAREHOUSE_SCHEMA, table), sql.Identifier(OWNER_ROLE))
        )


COLUMNS_SQL = """
SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


def _check_columns(cur, cfg: TableConfig) -> None:
    """An existing table must have exactly the columns (names, types, NOT NULL; in any order: an
    added column lands at the end) its config declares: a YAML change to an existing table needs
    an Alembic migration (``make migration``, docs/decisions/0045)."""
    from psycopg import sql

    from dw.warehouse.ddl import expected_columns_table

    probe = f"_dw_expected_{cfg.table}"[:63]
    cur.execute(expected_columns_table(cfg, probe))
    expected = cur.execute(COLUMNS_SQL, (f"pg_temp.{probe}",)).fetchall()
    cur.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(probe)))
    actual = cur.execute(COLUMNS_SQL, (f"{WAREHOUSE_SCHEMA}.{cfg.table}",)).fetchall()
    if sorted(actual) != sorted(expected):
        def fmt(cols):
            return ", ".join(f"{n} {t}{' not null' if nn else ''}" for n, t, nn in cols)

        raise MigrationError(
            f"dw.{cfg.table} exists with columns ({fmt(actual)}) but include/config/warehouse/{cfg.table}.yaml "
            f"declares ({fmt(expected)}). Changing an existing table's columns needs an Alembic migration: "
            f"`make migration NAME=...` writes it (docs/decisions/0045-migrations-from-config.md)."
        )


def analyst_hidden_columns(cfg: TableConfig) -> set[str]:
    """Columns of ``cfg`` the analyst may not read: the configured ones and every column named
    like the keyed hash of a ``pii:`` field of any source."""
    return (set(ANALYST_HIDDEN_COLUMNS.get(cfg.table, set())) | pii_lake_columns()) & set(_table_column_names(cfg))


def pii_lake_columns() -> set[str]:
    """The lake columns of every ``pii:`` field of every source (MongoDB and the vendors): a
    warehouse column of that name is hidden from the analyst whatever table or source it is in."""
    from dw.config import VENDORS, vendor_source

    cols: set[str] = set()
    for coll in mongo_source().collections.values():
        cols |= {coll.lake_column(name) for name, f in coll.fields.items() if f.pii}
    for vendor in VENDORS:
        for ent in vendor_source(vendor).entities.values():
            cols |= {name for name, f in ent.fields.items() if f.pii}
    return cols


def _table_column_names(cfg: TableConfig) -> list[str]:
    from dw.warehouse.sql import table_columns

    return [c.name for c in table_columns(cfg)]


def grant_statements(cfg: TableConfig) -> list:
    """The explicit grants of a config table (``psycopg.sql`` statements, idempotent): the loader
    SELECT/INSERT/UPDATE/DELETE, the analyst SELECT — column by column where it may not read one."""
    from psycopg import sql

    from dw.warehouse.sql import table_ident

    t = table_ident(cfg)
    loader, analyst = sql.Identifier(LOADER_ROLE), sql.Identifier(ANALYST_ROLE)
    # The loader writes rows, nothing else (no TRUNCATE, REFERENCES, TRIGGER; it owns nothing).
    out = [sql.SQL("REVOKE ALL ON {} FROM {}").format(t, loader),
           sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(t, loader),
           # The analyst reads, nothing else: reset its table privileges, then grant SELECT.
           sql.SQL("REVOKE ALL ON {} FROM PUBLIC, {}").format(t, analyst)]
    hidden = analyst_hidden_columns(cfg)
    if hidden:
        cols = _table_column_names(cfg)
        out.append(sql.SQL("REVOKE ALL ({}) ON {} FROM {}").format(
            sql.SQL(", ").join(map(sql.Identifier, sorted(hidden))), t, analyst))
        visible = [c for c in cols if c not in hidden]
        out.append(sql.SQL("GRANT SELECT ({}) ON {} TO {}").format(
            sql.SQL(", ").join(map(sql.Identifier, visible)), t, analyst))
    else:
        out.append(sql.SQL("GRANT SELECT ON {} TO {}").format(t, analyst))
    return out


def _grant(cur, cfg: TableConfig) -> None:
    for stmt in grant_statements(cfg):
        cur.execute(stmt)
