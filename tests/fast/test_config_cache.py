"""``dw.config_cache``: a validated model comes back from disk only for the same file, model
code and variant, from a directory only the process owner can write."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from dw import config_cache
from dw.config import Column, LakeConfig, TableConfig

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("DW_CONFIG_CACHE", str(d))
    return d


def _loader(calls: list):
    def validate(raw: bytes) -> LakeConfig:
        calls.append(raw)
        return LakeConfig(bucket="dw-lake", raw_prefix=raw.decode().strip())

    return validate


def test_hit_miss_and_variant(cache, tmp_path):
    path = tmp_path / "lake.yaml"
    path.write_text("raw\n")
    calls: list = []
    first = config_cache.load(LakeConfig, path, _loader(calls))
    again = config_cache.load(LakeConfig, path, _loader(calls))
    assert again == first and len(calls) == 1
    assert (cache.stat().st_mode & 0o777) == 0o700
    config_cache.load(LakeConfig, path, _loader(calls), variant="bucket=other")
    assert len(calls) == 2
    path.write_text("landed\n")
    assert config_cache.load(LakeConfig, path, _loader(calls)).raw_prefix == "landed"
    assert len(calls) == 3


def test_off(monkeypatch, tmp_path):
    monkeypatch.setenv("DW_CONFIG_CACHE", "off")
    path = tmp_path / "lake.yaml"
    path.write_text("raw\n")
    calls: list = []
    config_cache.load(LakeConfig, path, _loader(calls))
    config_cache.load(LakeConfig, path, _loader(calls))
    assert len(calls) == 2 and config_cache.cache_dir() is None


def test_unsafe_directory_or_broken_entry_validates(cache, tmp_path):
    path = tmp_path / "lake.yaml"
    path.write_text("raw\n")
    calls: list = []
    config_cache.load(LakeConfig, path, _loader(calls))
    cache.chmod(0o770)  # group-writable: not read
    config_cache.load(LakeConfig, path, _loader(calls))
    assert len(calls) == 2
    cache.chmod(0o700)
    for entry in cache.glob("*.pickle"):
        entry.write_bytes(b"not a pickle")
    config_cache.load(LakeConfig, path, _loader(calls))
    assert len(calls) == 3


class Wrapper(BaseModel):
    """A model in another module whose fields use the models of dw.config."""

    tables: dict[str, list[Column]]


def test_digest_covers_every_model_module():
    config_py = str(REPO / "plugins" / "dw" / "config.py")
    assert config_py in config_cache.model_files(TableConfig)
    files = config_cache.model_files(Wrapper)
    assert files == sorted([config_py, __file__]) or files == sorted([config_py, str(Path(__file__).resolve())])
