"""Airflow DAG warehouse: lake → Athena extracts → PostgreSQL star schema. Built from include/config/warehouse/ by dw.dag_factory."""

from dw.dag_factory import build_warehouse_dag

dag = build_warehouse_dag()
