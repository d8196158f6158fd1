"""Builds the platform's DAGs from include/config/.

DAG files in dags/ are one call each into this module. Parsing reads YAML and builds
operators; it opens no connection, reads no Variable and imports no heavy library
(the operators import pyarrow, duckdb, boto3, pymongo and psycopg inside execute).

The operators hold resolved arguments: ``mongo_task``, ``vendor_task``, ``lake_sensor_task``,
``lake_query_task`` and ``load_task`` look the config up and build one task each (the DAG
builders and the tests use them).

Every run processes one UTC day, its data interval [D 00:00, D+1 00:00): a scheduled or
backfill run has logical date D (``CronDataIntervalTimetable``), a manual run with logical
date D+1 processes D (docs/decisions/0001-run-date.md).
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, TaskGroup

from dw import notify, runbooks
from dw.lake import check_epoch
from dw.config import airflow_config, lake_config, mongo_source, vendor_source, warehouse_tables
from dw.sources import RawTable, source_module

OWNER = "data-platform"
# The run's date (D) as a Jinja expression, for templated fields of provider operators.
RUN_DATE = "{{ data_interval_start.strftime('%Y-%m-%d') }}"


def start_date() -> pendulum.DateTime:
    """Every DAG's start_date: the lake's ``history_start``, the logical date (and the day) of
    its first scheduled run (docs/decisions/0001-run-date.md)."""
    d = lake_config().history_start
    return pendulum.datetime(d.year, d.month, d.day, tz="UTC")


def default_args(**extra) -> dict:
    args = {
        "owner": OWNER,
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "max_retry_delay": dt.timedelta(minutes=30),
        "execution_timeout": dt.timedelta(hours=2),
        # one compact message (DAG, task, date, error, log and runbook links) in the task's log,
        # and on Slack when the connection slack_alerts exists (dw.notify)
        "on_failure_callback": notify.task_failed,
        # a day before the lake's history_start fails at once, naming the setting (a backfill
        # creates task instances before the DAG's start_date too)
        "pre_execute": check_epoch,
    }
    args.update(extra)
    return args


def daily() -> CronDataIntervalTimetable:
    """Runs at 00:00 UTC and processes the day that just ended; a scheduled or backfill run's
    logical date is the day it loads (its data interval's start). A manual run with logical
    date T processes the day before T (docs/decisions/0001-run-date.md)."""
    return CronDataIntervalTimetable("0 0 * * *", timezone="UTC")


def raw_asset(source: str, entity: str) -> Asset:
    """The Asset of a raw lake table (``dw.sources.RawTable.asset``)."""
    lake = lake_config()
    return RawTable(source, entity).asset(lake.bucket, lake.raw_prefix)


# --------------------------------------------------------------------------- tasks from the config


def mongo_task(*, collection: str, **kwargs):
    """The MongoToLakeOperator of one collection of sources/mongo.yaml."""
    from dw.operators.mongo_to_lake import MongoToLakeOperator

    src = mongo_source()
    if collection not in src.collections:
        raise ValueError(
            f"MongoToLakeOperator: collection {collection!r} is not in sources/mongo.yaml "
            f"(known: {sorted(src.collections)})"
        )
    lake = lake_config()
    return MongoToLakeOperator(collection=src.collections[collection], conn_id=src.conn_id, database=src.database,
                               batch_size=src.batch_size, pii_key_conn_id=src.pii_key_conn_id, bucket=lake.bucket,
                               raw_prefix=lake.raw_prefix, **kwargs)


def vendor_task(*, source: str, entity: str, overrides: dict | None = None, **kwargs):
    """The VendorToLakeOperator of one entity of sources/<source>.yaml. ``overrides``: source
    settings to change for this task (timeout_seconds, page_size, backoff_seconds, ...),
    validated like the YAML."""
    from dw.operators.vendor_to_lake import VendorToLakeOperator

    src = vendor_source(source)
    if overrides:
        src = type(src).model_validate({**src.model_dump(), **overrides})
    lake = lake_config()
    return VendorToLakeOperator(source_config=src, entity=entity, bucket=lake.bucket, raw_prefix=lake.raw_prefix,
                                **kwargs)


def min_rows(source: str, entity: str) -> int:
    """The fewest rows a day's partition of a raw table may hold (its source config's ``min_rows``)."""
    items = mongo_source().collections if source == "mongo" else vendor_source(source).entities
    return items[entity].min_rows if entity in items else 0


def lake_sensor_task(*, source: str, entity: str, **kwargs):
    """The LakePartitionSensor of a raw table in this deployment's lake."""
    from dw.operators.lake_sensor import LakePartitionSensor

    lake = lake_config()
    return LakePartitionSensor(source=source, entity=entity, bucket=lake.bucket, raw_prefix=lake.raw_prefix, **kwargs)


def _table_config(table: str, operator: str):
    tables = warehouse_tables()
    if table not in tables:
        raise ValueError(f"{operator}: table {table!r} is not in include/config/warehouse/ (known: {sorted(tables)})")
    return tables[table]


def pool(role: str) -> str:
    """The pool of the tasks of ``role`` (``athena``: extracts; ``warehouse_loads``: loads), from
    include/config/airflow.yaml."""
    return airflow_config().pools[role].name


def lake_query_task(*, table: str, **kwargs):
    """The LakeQueryOperator (extract) of a warehouse table, in the Athena pool."""
    from dw.operators.lake_query import LakeQueryOperator

    _table_config(table, "LakeQueryOperator")
    return LakeQueryOperator.for_table(table, **{"pool": pool("athena"), **kwargs})


def load_task(*, table: str, extract_task_id: str, **kwargs):
    """The WarehouseLoadOperator of a warehouse table, in the warehouse-loads pool, one at a time."""
    from dw.operators.warehouse import WarehouseLoadOperator

    cfg = _table_config(table, "WarehouseLoadOperator")
    tables = warehouse_tables()
    dims = {lk.dimension: tables[lk.dimension] for lk in cfg.lookups if lk.dimension in tables}
    return WarehouseLoadOperator(table_config=cfg, dimensions=dims, bucket=lake_config().bucket,
                                 extract_task_id=extract_task_id,
                                 # one load per table at a time, across runs and backfills
                                 **{"pool": pool("warehouse_loads"), "max_active_tis_per_dag": 1, **kwargs})


# --------------------------------------------------------------------------- ingest_mongo


def build_ingest_mongo_dag() -> DAG:
    src = mongo_source()
    raw_prefix = lake_config().raw_prefix
    docs = []
    with DAG(
        dag_id="ingest_mongo",
        description="MongoDB collections of the app database into the S3 lake (Parquet, dt= partitions)",
        schedule=daily(),
        start_date=start_date(),
        catchup=False,
        max_active_runs=4,
        default_args=default_args(),
        doc_md=runbooks.render("ingest_mongo.md", src=src, raw_prefix=raw_prefix),
        tags=["ingest", "mongo", "lake"],
    ) as dag:
        for name, coll in src.collections.items():
            task = mongo_task(task_id=name, collection=name, outlets=[raw_asset("mongo", name)])
            pii = [n for n, f in coll.fields.items() if f.pii]
            docs.append((task, "mongo_collection.md", {"src": src, "coll": coll, "pii": pii, "raw_prefix": raw_prefix}))
    runbooks.document_tasks(docs)
    return dag


# --------------------------------------------------------------------------- ingest_<vendor>


def build_ingest_vendor_dag(source: str) -> DAG:
    """ingest_stripe / ingest_amplitude / ingest_chargify from include/config/sources/<source>.yaml:
    one task per entity, each emitting its raw table's Asset."""
    src = vendor_source(source)
    raw_prefix = lake_config().raw_prefix
    reads = source_module(source).RUNBOOK_READS
    docs = []
    settings = dict(schedule=daily(), start_date=start_date(), catchup=False, max_active_runs=4, default_args=default_args())
    if src.history_start:
        from airflow.sdk import Param

        settings["params"] = {"full_history": Param(False, type="boolean", description=(
            f"read every object updated since {src.history_start} up to the end of the day (a first load)"))}
    with DAG(
        dag_id=f"ingest_{source}",
        description=f"{source.capitalize()} API into the S3 lake (raw JSON + Parquet, dt= partitions)",
        doc_md=runbooks.render("ingest_vendor.md", src=src, reads=reads, raw_prefix=raw_prefix),
        tags=["ingest", source, "lake"],
        **settings,
    ) as dag:
        for name, ent in src.entities.items():
            task = vendor_task(task_id=name, source=source, entity=name, outlets=[raw_asset(source, name)])
            pii = [n for n, f in ent.fields.items() if f.pii]
            docs.append((task, "vendor_entity.md",
                         {"src": src, "ent": ent, "pii": pii, "reads": reads, "raw_prefix": raw_prefix}))
    runbooks.document_tasks(docs)
    return dag


# --------------------------------------------------------------------------- warehouse


def build_warehouse_dag() -> DAG:
    from airflow.providers.common.sql.operators.sql import SQLColumnCheckOperator
    from airflow.sdk import Param

    from dw.operators.checks import SliceTableCheckOperator
    from dw.operators.warehouse import MigrateWarehouseOperator

    tables = warehouse_tables()
    loaded = {n: c for n, c in tables.items() if c.loaded}
    lake = lake_config()
    docs = []

    with DAG(
        dag_id="warehouse",
        description="Lake → Athena extracts → PostgreSQL star schema (dw.*), dimensions before facts",
        schedule=daily(),
        start_date=start_date(),
        catchup=False,
        max_active_runs=1,
        default_args=default_args(),
        doc_md=runbooks.render(
            "warehouse.md", extracts_prefix=lake.extracts_prefix,
            dimensions=[f"dw.{n}" for n, c in tables.items() if c.kind == "dimension"],
            facts=[f"dw.{n}" for n, c in tables.items() if c.kind == "fact"]),
        tags=["warehouse", "athena", "postgres"],
        params={"look_back_days": Param(None, type=["null", "integer"], minimum=1, description=(
            "this run's fact extracts restate documents updated up to this many days after their "
            f"creation (default: lake.yaml look_back_days, {lake.look_back_days}); to restate the late "
            "updates an extract reported (docs/decisions/0020)")),
            "full_restatement": Param(False, type="boolean", description=(
                "fact loads resolve and merge every date of their extracts, also those whose extract "
                "and dimensions did not change since their last load (which are otherwise skipped): "
                "to repair fact rows changed by hand (include/runbooks/load.md, docs/decisions/0032)"))},
    ) as dag:
        migrate = MigrateWarehouseOperator(task_id="migrate")
        docs.append((migrate, "migrate.md", {}))

        # The day's raw partitions every loaded table reads must exist (ingestion done).
        lake_tables = sorted({lt for c in loaded.values() for lt in c.lake_tables})
        with TaskGroup("lake_ready", tooltip="the day's raw partitions are in the lake") as lake_ready:
            lake_ready.doc_md = runbooks.render("lake_ready.md")
            sensors = {}
            for lt in lake_tables:
                raw = RawTable.parse(lt)
                sensors[lt] = lake_sensor_task(
                    task_id=lt,
                    source=raw.source,
                    entity=raw.entity,
                    min_rows=min_rows(raw.source, raw.entity),
                    poke_interval=300,
                    timeout=6 * 3600,
                    retries=0,
                )
                docs.append((sensors[lt], "lake_ready_sensor.md",
                             {"raw": raw, "raw_prefix": lake.raw_prefix, "min_rows": min_rows(raw.source, raw.entity)}))

        # The day's upstream changes (new fields, quarantined records) the ingest tasks wrote
        # next to their partitions, into dw.schema_changes: one task per source, once its
        # partitions are ready, before the loads that read it (docs/decisions/0042).
        from dw.operators.lake_changes import LakeChangesOperator

        by_source: dict[str, list[str]] = {}
        for lt in lake_tables:
            raw = RawTable.parse(lt)
            by_source.setdefault(raw.source, []).append(raw.entity)
        changes_tasks = {}
        with TaskGroup("schema_changes", tooltip="the day's upstream changes into dw.schema_changes") as sc:
            sc.doc_md = runbooks.render("schema_changes.md")
            for source, entities in by_source.items():
                changes_tasks[source] = LakeChangesOperator(task_id=source, source=source, entities=entities,
                                                            bucket=lake.bucket)
                for e in entities:
                    sensors[RawTable(source, e).name] >> changes_tasks[source]
                migrate >> changes_tasks[source]  # dw.schema_changes is made by the migrations
                docs.append((changes_tasks[source], "schema_changes_task.md",
                             {"source": source, "entities": entities}))

        groups: dict[str, TaskGroup] = {}
        loads: dict[str, object] = {}

        def table_group(name: str, cfg) -> TaskGroup:
            with TaskGroup(name, tooltip=cfg.description) as tg:
                sql_file = f"include/sql/athena/extract/{name}.sql"
                tg.doc_md = runbooks.render("table.md", cfg=cfg, sql_file=sql_file)
                extract = lake_query_task(task_id="extract", table=name)
                load = load_task(task_id="load", table=name, extract_task_id=f"{tg.group_id}.extract")
                docs.append((extract, "extract.md", {"cfg": cfg, "sql_file": sql_file, "pool": extract.pool,
                                                     "extracts_prefix": lake.extracts_prefix}))
                docs.append((load, "load.md", {"cfg": cfg, "pool": load.pool}))
                extract >> load
                checks = []
                partition = f"{cfg.date_column} = '{RUN_DATE}'" if cfg.kind == "fact" else None
                if cfg.checks.table:
                    checks.append(
                        SliceTableCheckOperator(
                            task_id="table_checks",
                            conn_id="postgres_dw",
                            table=f"dw.{name}",
                            checks={k: {"check_statement": v} for k, v in cfg.checks.table.items()},
                            partition_clause=partition,
                            retries=0,
                        )
                    )
                if cfg.checks.columns:
                    checks.append(
                        SQLColumnCheckOperator(
                            task_id="column_checks",
                            conn_id="postgres_dw",
                            table=f"dw.{name}",
                            column_mapping={c: dict(v) for c, v in cfg.checks.columns.items()},
                            partition_clause=partition,
                            retries=0,
                        )
                    )
                for c in checks:
                    load >> c
                    docs.append((c, "checks.md", {}))
                loads[name] = load
                extract_of[name] = extract
            return tg

        extract_of: dict[str, object] = {}
        with TaskGroup("dimensions", tooltip="dimensions, loaded before any fact") as dims:
            dims.doc_md = runbooks.render("dimensions.md")
            for name, cfg in loaded.items():
                if cfg.kind == "dimension":
                    groups[name] = table_group(name, cfg)
        with TaskGroup("facts", tooltip="facts, each after the dimensions it looks up") as facts:
            facts.doc_md = runbooks.render("facts.md")
            for name, cfg in loaded.items():
                if cfg.kind == "fact":
                    groups[name] = table_group(name, cfg)

        for name, cfg in loaded.items():
            # An extract waits for the day's partitions of the raw tables it reads, and only those:
            # a late vendor does not hold up the tables that do not read it.
            for lt in cfg.lake_tables:
                sensors[lt] >> extract_of[name]
                changes_tasks[RawTable.parse(lt).source] >> loads[name]
            migrate >> loads[name]
            if cfg.kind == "fact":
                # A fact's extract also reads the unknown-member ledger (the dates to restate):
                # it starts once this run's dimensions are loaded, so a date that a concurrent
                # run left with unknown members is restated after the members it lacked arrived
                # (docs/decisions/0014-unknown-member-ledger.md).
                for lk in cfg.lookups:
                    if lk.dimension in groups:
                        groups[lk.dimension] >> extract_of[name]
    runbooks.document_tasks(docs)
    return dag
