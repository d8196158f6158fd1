"""The Warehouse view's access to the platform's connections: ``postgres_dw`` and ``aws_lake``,
read by the api-server from Airflow's metadata DB. Every import of ``dw.hooks`` in ``dw.ui`` is here."""

from __future__ import annotations


def warehouse_connect():
    """A new psycopg connection to the warehouse (``postgres_dw``), read-only, autocommit off."""
    import psycopg

    from dw.hooks.warehouse import WarehouseHook

    conn = psycopg.connect(WarehouseHook().conninfo(), connect_timeout=5, application_name="dw-etl warehouse view")
    conn.read_only = True
    return conn


def lake_s3():
    """The lake's boto3 S3 client (``aws_lake``) and bucket."""
    from dw.config import lake_config
    from dw.hooks.lake import s3_client

    return s3_client(), lake_config().bucket
