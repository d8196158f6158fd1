"""Extraction engines: source systems to Parquet files for the lake.

Plain Python (no Airflow): the operators under ``dw.operators`` resolve connections and
the run's date, then call these. Heavy libraries (pyarrow, pymongo, bson) are imported
by the engine modules themselves, which operators import only inside ``execute``.
"""
