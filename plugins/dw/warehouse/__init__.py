"""The warehouse (PostgreSQL schema ``dw``): migrations, SQL generated from config, loads.

- ``dw.warehouse.migrate``: ``migrate(conninfo)`` — Alembic ``upgrade head`` plus the
  config-declared tables (created when missing, unknown members, grants), under an advisory lock.
- ``dw.warehouse.sqlgen``: every statement, generated from a ``TableConfig`` with ``psycopg.sql``.
- ``dw.warehouse.load``: ``load_table(...)`` — one extract into one table, one transaction.

Nothing is imported here: the operators import these modules inside ``execute`` only.
"""
