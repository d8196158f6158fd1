"""The sources of the lake and the names derived from them.

    SOURCES                  mongo, stripe, amplitude, chargify (one module each in this package)
    RawTable(source, entity) raw_<source>_<entity>: the Athena/DuckDB table, its S3 prefix
                             <raw_prefix>/<source>/<entity>/, its s3:// URI and its Asset
                             (x-dw-lake://raw/<source>/<entity>)

``dw.sources.mongo`` extracts MongoDB collections; ``dw.sources.http`` holds what the vendor
APIs share (client, sink, landing) and ``dw.sources.<vendor>`` each vendor's auth, paging,
windows and config rules. ``source_module(name)`` imports a source's module.

This module is light (parse time): no config, no heavy import.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from types import ModuleType

SOURCES = ("mongo", "stripe", "amplitude", "chargify")
VENDORS = tuple(s for s in SOURCES if s != "mongo")

RAW_TABLE_RE = re.compile(rf"^raw_({'|'.join(SOURCES)})_([a-z][a-z0-9_]*)$")
_ENTITY_RE = re.compile(r"^[a-z_][a-z0-9_]*$")


def source_module(name: str) -> ModuleType:
    """``dw.sources.<name>``."""
    if name not in SOURCES:
        raise ValueError(f"unknown lake source {name!r} (known: {', '.join(SOURCES)})")
    return importlib.import_module(f"{__name__}.{name}")


@dataclass(frozen=True)
class RawTable:
    """A raw lake table: one source's entity (a MongoDB collection, a vendor's object type)."""

    source: str
    entity: str

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"unknown lake source {self.source!r}")
        if not _ENTITY_RE.match(self.entity):
            raise ValueError(f"bad entity name {self.entity!r}")

    @classmethod
    def parse(cls, name: str) -> RawTable:
        """``raw_mongo_jobs`` -> ``RawTable("mongo", "jobs")``; ValueError for another name."""
        m = RAW_TABLE_RE.match(name)
        if not m:
            raise ValueError(f"{name!r} is not a raw lake table name (raw_<source>_<entity>)")
        return cls(m.group(1), m.group(2))

    @property
    def name(self) -> str:
        return f"raw_{self.source}_{self.entity}"

    def prefix(self, raw_prefix: str) -> str:
        """The S3 key prefix of the table's partitions."""
        return f"{raw_prefix}/{self.source}/{self.entity}/"

    def uri(self, bucket: str, raw_prefix: str) -> str:
        """The S3 location of all partitions: the Asset's ``s3_uri`` and Athena's LOCATION."""
        return f"s3://{bucket}/{self.prefix(raw_prefix)}"

    @property
    def asset_uri(self) -> str:
        """Not ``s3://``: Airflow normalizes those URIs with the amazon provider, which imports
        boto3 at parse time (docs/decisions/0009-asset-uris.md)."""
        return f"x-dw-lake://raw/{self.source}/{self.entity}"

    def asset(self, bucket: str, raw_prefix: str):
        """The table's Asset; this deployment's S3 location is in ``extra``."""
        from airflow.sdk import Asset

        return Asset(uri=self.asset_uri, name=self.name, group="lake",
                     extra={"s3_uri": self.uri(bucket, raw_prefix)})
