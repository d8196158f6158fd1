"""Airflow DAG ingest_chargify: the Chargify API → S3 lake. Built from include/config/sources/chargify.yaml by dw.dag_factory."""

# The Airflow modules this DAG's tasks and schedule use, imported at the top of the file so that
# the dag-processor pre-imports them once in its own process ([dag_processor]
# parsing_pre_import_modules: the `airflow.*` imports of the DAG file itself) instead of every
# parsing process importing them again (docs/decisions/0016-dag-parse-time.md).
import airflow.sdk.definitions.timetables.interval  # noqa: F401
import airflow.timetables.interval  # noqa: F401

from dw.dag_factory import build_ingest_vendor_dag

dag = build_ingest_vendor_dag("chargify")
