"""LakeChangesOperator: the day's upstream changes seen by one source's ingest tasks, into dw.schema_changes.

    LakeChangesOperator(task_id="mongo", source="mongo", entities=["jobs", "users", ...], bucket="...")

(``dw.dag_factory.build_warehouse_dag`` adds one per source in the task group ``schema_changes``,
after that source's ``lake_ready`` sensors and before the loads that read it.) For the run's date D
it reads each entity's manifest ``changes/<source>/<entity>/dt=D/manifest.json`` (written by the
ingest task next to its partition: ``dw.lake_contract``) and, in one transaction, replaces the
rows of ``dw.schema_changes`` that the ingest task (``recorded_by`` = ``ingest_<source>.<entity>``)
has for D and the entity with the manifest's changes (``dw.contracts.record_changes``, as
``dw_loader``), so a
re-ingested day and a cleared task write the day's rows again, never twice. An entity without a
manifest (landed before contracts) is skipped and named in the log; a manifest of another
landing than the partition's (``dw-landing`` ids differ: the ingest task was cut between the
two) fails the task retryably. Returns (XCom)
``{"entities": n, "changes": n, "quarantined": n}``.

Parse-time cost: ``dw.lake`` only; boto3 and psycopg are imported in ``execute``.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from dw.hooks.connections import LAKE_CONN_ID
from dw.lake import LANDING_META, RawPartition, is_missing, run_date


class LakeChangesOperator(BaseOperator):
    template_fields = ("bucket",)
    ui_color = "#f6e7b0"

    def __init__(self, *, source: str, entities: list[str], bucket: str, conn_id: str = "postgres_dw",
                 aws_conn_id: str = LAKE_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.entities = list(entities)
        self.bucket = bucket
        self.conn_id = conn_id
        self.aws_conn_id = aws_conn_id

    def manifests(self, s3, ds: str) -> list[dict]:
        import json

        from botocore.exceptions import ClientError

        out = []
        for entity in self.entities:
            part = RawPartition(self.source, entity, ds, self.bucket)
            try:
                body = s3.get_object(Bucket=part.bucket, Key=part.manifest_key)["Body"].read()
            except ClientError as e:
                if is_missing(e):
                    self.log.info("%s.%s dt=%s: no manifest at %s (landed before contracts): nothing to record",
                                  self.source, entity, ds, part.manifest_uri)
                    continue
                raise
            try:
                m = json.loads(body)
                if (m["source"], m["entity"], m["dt"]) != (self.source, entity, ds):
                    raise ValueError(f"it is the manifest of {m['source']}.{m['entity']} dt={m['dt']}")
            except (ValueError, KeyError, TypeError) as e:
                from airflow.sdk.exceptions import AirflowFailException

                raise AirflowFailException(f"{part.manifest_uri}: not a manifest of changes ({e}); re-run "
                                           f"ingest_{self.source} task {entity} for {ds}") from None
            self._check_landing(s3, part, m)
            out.append(m)
        return out

    def _check_landing(self, s3, part: RawPartition, m: dict) -> None:
        """The manifest must describe the partition that is in the lake (the same ``dw-landing``
        id): a landing cut between its partition and its manifest fails this task, retryably,
        until the ingest task's retry writes both."""
        from airflow.sdk.exceptions import AirflowException


        landed = s3.head_object(Bucket=part.bucket, Key=part.key).get("Metadata", {}).get(LANDING_META)
        if m.get("landing") != landed:
            raise AirflowException(
                f"{part.manifest_uri} describes landing {m.get('landing') or 'none'}, the partition {part.uri} is "
                f"landing {landed or 'none'}: ingest_{self.source} task {part.entity} for {part.ds} was cut between "
                "the two; its retry writes both (this task retries)")

    def execute(self, context) -> dict:
        import datetime as dt

        from dw.contracts import record_changes
        from dw.hooks.lake import s3_client
        from dw.hooks.warehouse import WarehouseHook
        from dw.lake_contract import changes_of

        ds = run_date(context)
        manifests = self.manifests(s3_client(self.aws_conn_id), ds)
        total = quarantined = 0
        with WarehouseHook(self.conn_id).get_conn() as conn, conn.cursor() as cur:
            cur.execute("SET LOCAL ROLE dw_loader")  # the loader's rights only (docs/decisions/0041)
            for m in manifests:
                changes = changes_of(m)
                record_changes(cur, dt.date.fromisoformat(ds), m["source"], m["entity"], m["recorded_by"], changes)
                total += len(changes)
                quarantined += int(m.get("quarantined_rows") or 0)
                self.log.info("%s.%s dt=%s: %d change(s) recorded, %d record(s) quarantined%s", m["source"],
                              m["entity"], ds, len(changes), m.get("quarantined_rows") or 0,
                              f" ({m['quarantine']})" if m.get("quarantine") else "")
        return {"entities": len(manifests), "changes": total, "quarantined": quarantined}
