"""Airflow DAG ingest_amplitude: the Amplitude API → S3 lake. Built from include/config/sources/amplitude.yaml by dw.dag_factory."""

from dw.dag_factory import build_ingest_vendor_dag

dag = build_ingest_vendor_dag("amplitude")
