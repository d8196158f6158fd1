"""Connection ids of the platform and the small lookups on them.

- ``aws_lake``: S3 and the lake engine (``dw.hooks.lake``).
- ``postgres_dw``: the warehouse as the loader (``dw.hooks.warehouse.WarehouseHook``);
  ``postgres_dw_migrate``: as the owner, for migrations only.
- ``mongo_app``: the production MongoDB, through the mongo provider's MongoHook.
- ``dw_pii_key``: its password is the key of the keyed email hash.

Heavy imports stay inside the functions: operators import this module at parse time.
"""

from __future__ import annotations

LAKE_CONN_ID = "aws_lake"
WAREHOUSE_CONN_ID = "postgres_dw"  # the loader (dw_loader; the Warehouse view as dw_analyst)
MIGRATE_CONN_ID = "postgres_dw_migrate"  # the migrator (dw_owner): the warehouse DAG's migrate task
MONGO_CONN_ID = "mongo_app"


def get_connection(conn_id: str):
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def mongo_client(conn_id: str = MONGO_CONN_ID):
    from airflow.providers.mongo.hooks.mongo import MongoHook

    return MongoHook(mongo_conn_id=conn_id).get_conn()


def pii_key(conn_id: str) -> bytes:
    c = get_connection(conn_id)
    if not c.password:
        raise ValueError(f"connection {conn_id} has no password: it holds the key of the keyed PII hash")
    return c.password.encode()
