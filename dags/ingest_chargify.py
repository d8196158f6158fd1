"""Airflow DAG ingest_chargify: the Chargify API → S3 lake. Built from include/config/sources/chargify.yaml by dw.dag_factory."""

from dw.dag_factory import build_ingest_vendor_dag

dag = build_ingest_vendor_dag("chargify")
