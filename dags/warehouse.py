"""Airflow DAG warehouse: lake → Athena extracts → PostgreSQL star schema. Built from include/config/warehouse/ by dw.dag_factory."""

# The Airflow modules this DAG's tasks and schedule use, imported at the top of the file so that
# the dag-processor pre-imports them once in its own process ([dag_processor]
# parsing_pre_import_modules: the `airflow.*` imports of the DAG file itself) instead of every
# parsing process importing them again (docs/decisions/0016-dag-parse-time.md).
import airflow.providers.common.sql.operators.sql  # noqa: F401
import airflow.sdk.bases.sensor  # noqa: F401
import airflow.sdk.definitions.timetables.interval  # noqa: F401
import airflow.timetables.interval  # noqa: F401

from dw.dag_factory import build_warehouse_dag

dag = build_warehouse_dag()
