"""Airflow DAG ingest_mongo: MongoDB collections → S3 lake. Built from include/config/sources/mongo.yaml by dw.dag_factory."""

from dw.dag_factory import build_ingest_mongo_dag

dag = build_ingest_mongo_dag()
