"""The Warehouse view: a read-only FastAPI app that Airflow's api-server mounts at ``/warehouse``
(``plugins/warehouse_view.py``), with JSON endpoints and the page that draws them.

- ``app``: the app, its endpoints and their auth (Airflow's own login);
- ``queries``: the warehouse reads (as ``dw_analyst``, in a read-only transaction);
- ``sources``: the raw lake's partition calendar (one listing per raw table, footer row counts);
- ``connections``: the only place that reaches Airflow connections (``postgres_dw``, ``aws_lake``).
"""
