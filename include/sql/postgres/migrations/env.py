"""Alembic environment of the warehouse (schema ``dw``).

``dw.warehouse.migrate.migrate`` passes an open SQLAlchemy connection (already inside the
transaction that also creates the config-declared tables) in ``config.attributes["connection"]``.
Run by hand, the database comes from ``-x url=...``, ``DW_WAREHOUSE_URL`` or the Airflow
connection ``postgres_dw``, in that order.

The version table is ``dw.alembic_version``: the schema is created here first (idempotent),
so a deploy login needs no rights on ``public``. Logging is configured from alembic.ini only
on the command line (inside an Airflow task it would replace the task's log handlers).
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool

SCHEMA = "dw"


def _conninfo() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("DW_WAREHOUSE_URL")
    if url:
        return url.replace("postgresql+psycopg://", "postgresql://", 1)
    from dw.hooks.warehouse import WarehouseHook

    return WarehouseHook().conninfo()


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        version_table="alembic_version",
        version_table_schema=SCHEMA,
        transactional_ddl=True,
    )


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        # Inside the caller's transaction: begin_transaction() neither begins nor commits.
        connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return

    import psycopg

    if context.config.config_file_name:  # the alembic command line
        from logging.config import fileConfig

        fileConfig(context.config.config_file_name, disable_existing_loggers=False)
    conninfo = _conninfo()
    engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(conninfo), poolclass=pool.NullPool)
    with engine.connect() as connection:
        with connection.begin():
            connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("the warehouse migrations run online only (their SQL files are executed as they are)")
run_online()
