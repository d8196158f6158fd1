"""LakePartitionSensor: waits for a raw lake partition of the run's date.

The provider's S3KeySensor would do, but importing it imports boto3 at DAG parse time;
this sensor imports the S3Hook only when it pokes, and names the source to look at.
"""

from __future__ import annotations

from airflow.sdk import BaseSensorOperator

from dw.hooks.connections import LAKE_CONN_ID


class LakePartitionSensor(BaseSensorOperator):
    """Succeeds when ``raw/<source>/<entity>/dt=<run date>/part-00000.parquet`` exists."""

    template_fields = ("source", "entity")
    ui_color = "#e8f4fd"

    def __init__(self, *, source: str, entity: str, aws_conn_id: str = LAKE_CONN_ID, **kwargs):
        kwargs.setdefault("mode", "reschedule")
        super().__init__(**kwargs)
        self.source = source
        self.entity = entity
        self.aws_conn_id = aws_conn_id

    def poke(self, context) -> bool:
        from dw.hooks.connections import s3_hook
        from dw.lake import RawPartition, run_date

        part = RawPartition(self.source, self.entity, run_date(context))
        found = s3_hook(self.aws_conn_id).check_for_key(part.key, bucket_name=part.bucket)
        if not found:
            self.log.info(
                "not yet in the lake: %s — waiting for ingest_%s (task %s) to land date %s",
                part.uri, self.source, self.entity, part.ds,
            )
        return bool(found)
