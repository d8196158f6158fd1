"""The warehouse DAG's table checks: ``SliceTableCheckOperator``.

The common-sql provider's ``SQLTableCheckOperator`` aggregates each per-row check of a table's
YAML (``jobs_ran > 0``) as ``MIN(CASE WHEN <check> THEN 1 ELSE 0 END)`` over the run's slice.
Over an empty slice — a day with no invoice, no Amplitude event — that MIN is NULL and the
provider fails the task with "'none' is not a boolean-like string value": an empty day would
fail the run with an error that names nothing. A per-row check holds for every row of an empty
slice, so this subclass counts it as passed; whether an empty day is acceptable at all is the
``lake_ready`` sensors' decision (``min_rows`` of each source).
"""

from __future__ import annotations

from airflow.providers.common.sql.operators.sql import SQLTableCheckOperator


class SliceTableCheckOperator(SQLTableCheckOperator):
    sql_check_template = """
    SELECT '{check_name}' AS check_name, COALESCE(MIN({check_name}), 1) AS check_result
    FROM (SELECT CASE WHEN {check_statement} THEN 1 ELSE 0 END AS {check_name}
          FROM {table} {partition_clause}) AS sq
    """
