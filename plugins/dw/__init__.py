"""dw-etl: hooks, operators, config models and lake layout of the data platform.

Importing this package (and dw.config, dw.lake, dw.dag_factory) must stay cheap: DAG
files import it at parse time. Heavy libraries (pyarrow, duckdb, boto3, pymongo,
psycopg) are imported inside the functions that run in tasks.
"""
