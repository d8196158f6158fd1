"""Airflow DAG ingest_stripe: the Stripe API → S3 lake. Built from include/config/sources/stripe.yaml by dw.dag_factory."""

from dw.dag_factory import build_ingest_vendor_dag

dag = build_ingest_vendor_dag("stripe")
