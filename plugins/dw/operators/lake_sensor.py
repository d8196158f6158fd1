"""LakePartitionSensor: waits for a raw lake partition of the run's date, and checks it is fresh.

The provider's S3KeySensor would do for the waiting, but importing it imports boto3 at DAG parse
time; this sensor imports the S3 hook only when it pokes, and names the source to look at.

A vendor day is two objects (raw JSON, Parquet): it counts as landed only when both carry
the same landing id (``dw.sources.http.pair_landed``, decision 0040); until then the sensor waits.

Freshness (``min_rows``, from the source's config): once the partition object exists, its row
count is read from the Parquet footer (``dw.lake.parquet_rows``: a ranged GET of its tail). A
partition with fewer rows than the source promises a day fails the task at once (no retries,
no more waiting): the
ingestion landed an empty or partial day, and the warehouse must not load it. A partition that
never arrives fails when the sensor times out. Both messages name the source, the ingestion DAG
and task to look at, and the date. Each extract of the warehouse waits for the sensors of the raw
tables it reads.
"""

from __future__ import annotations

from airflow.sdk import BaseSensorOperator

from dw.hooks.connections import LAKE_CONN_ID
from dw.lake import RawPartition, parquet_rows
from dw.sources import VENDORS


class LakePartitionSensor(BaseSensorOperator):
    """Succeeds when ``s3://<bucket>/<raw_prefix>/<source>/<entity>/dt=<run date>/part-00000.parquet``
    exists and holds at least ``min_rows`` rows."""

    template_fields = ("source", "entity", "bucket", "raw_prefix")
    ui_color = "#e8f4fd"

    def __init__(self, *, source: str, entity: str, bucket: str, raw_prefix: str, min_rows: int = 0,
                 aws_conn_id: str = LAKE_CONN_ID, **kwargs):
        kwargs.setdefault("mode", "reschedule")
        super().__init__(**kwargs)
        self.source = source
        self.entity = entity
        self.bucket = bucket
        self.raw_prefix = raw_prefix
        self.min_rows = min_rows
        self.aws_conn_id = aws_conn_id

    def _partition(self, context) -> RawPartition:
        from dw.lake import run_date

        return RawPartition(self.source, self.entity, run_date(context), self.bucket, self.raw_prefix)

    def _where(self, ds: str) -> str:
        return f"look at the ingest_{self.source} run for date {ds} (task {self.entity})"

    def execute(self, context):
        from airflow.sdk.exceptions import AirflowSensorTimeout

        try:
            return super().execute(context)
        except AirflowSensorTimeout:
            part = self._partition(context)
            raise AirflowSensorTimeout(
                f"source {self.source}: {part.uri} is still missing after {self.timeout:.0f}s, so the warehouse "
                f"loaded nothing for {part.ds}. The {self.source} ingestion has not landed the day: "
                f"{self._where(part.ds)}; once the partition is there, clear this task with its downstream tasks."
            ) from None

    def poke(self, context) -> bool:
        from dw.hooks.lake import s3_hook

        part = self._partition(context)
        hook = s3_hook(self.aws_conn_id)
        if not hook.check_for_key(part.key, bucket_name=part.bucket):
            self.log.info("not yet in the lake: %s — waiting for ingest_%s (task %s) to land date %s",
                          part.uri, self.source, self.entity, part.ds)
            return False
        s3 = hook.get_conn()
        if self.source in VENDORS:  # a vendor day is two objects: landed only as a pair (decision 0040)
            from dw.sources.http import pair_landed

            landed, why = pair_landed(s3, part.bucket, part.key)
            if not landed:
                self.log.warning("%s not landed yet: %s — waiting for ingest_%s (task %s) to land date %s whole "
                                 "(its retry lands both objects)", part.uri, why, self.source, self.entity, part.ds)
                return False
        rows = parquet_rows(s3, part.bucket, part.key)
        self.log.info("%s: %d rows (this source promises at least %d a day)", part.uri, rows, self.min_rows)
        if rows < self.min_rows:
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(
                f"source {self.source}: {part.uri} holds {rows} rows, fewer than the {self.min_rows} a day "
                f"include/config/sources/{self.source}.yaml promises ({self.entity}: min_rows). The warehouse "
                f"loads nothing for {part.ds} rather than a partial day. {self._where(part.ds).capitalize()} "
                f"and at the source itself; re-run that task once the data is there, then clear this task "
                "with its downstream tasks."
            )
        return True
