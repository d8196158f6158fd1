"""Local stand-ins for development and tests, never deployed: the embedded stack (``stack``),
its data generator (``generate``), the vendor HTTP stand-ins (``vendors``), ``make demo``
(``demo``, ``run_day``) and ``make airflow`` (``airflow``, ``airflow_server``)."""
