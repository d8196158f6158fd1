"""The warehouse (PostgreSQL schema ``dw``): migrations, SQL generated from config, loads.

- ``migrate``: ``migrate(conninfo, dates=...)`` — Alembic ``upgrade head`` plus the
  config-declared tables (created when missing, Unknown and Not applicable members, grants) and
  the facts' monthly partitions of ``dates``, under an advisory lock.
- ``schema_diff``: where the config (tables, ``types.yaml``) and a migrated database disagree
  (``make migration`` and the agreement test).
- ``load``: ``load_table(...)`` — one extract into one table, one transaction.
- ``ledger``: the unknown-member ledger (dates a fact load left unresolved rows in).
- The statements, generated from a ``TableConfig`` with ``psycopg.sql``: ``sql`` (what they
  share: table shapes, the stage, keys), ``ddl`` (migrate's), ``dimension_sql`` and
  ``fact_sql`` (the loads').

Nothing is imported here: the operators import these modules inside ``execute`` only.
"""
