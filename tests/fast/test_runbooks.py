"""Runbook rendering, without servers: every DAG's runbooks render from include/runbooks/, and
each task's runbook names exactly the tasks it waits for (its upstream tasks in the built DAG)."""

from __future__ import annotations

import re

import pytest

from tests.helpers import build_dag

SECTIONS = ("**Reads**", "**Writes**", "**Clear**", "**When it fails**", "**Backfill**")
DAG_IDS = ("ingest_mongo", "ingest_stripe", "ingest_amplitude", "ingest_chargify", "warehouse")


def _waits_for(doc: str) -> set[str]:
    m = re.search(r"^- \*\*Waits for\*\*: (.*)$", doc, re.M)
    assert m, "no Waits for line"
    return set(re.findall(r"`([^`]+)`", m.group(1)))


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_every_runbook_renders_with_its_sections(dag_id):
    dag = build_dag(dag_id)
    docs = {dag_id: dag.doc_md}
    docs.update({t.task_id: t.doc_md for t in dag.tasks})
    docs.update({g: tg.doc_md for g, tg in dag.task_group_dict.items()})
    for where, doc in docs.items():
        assert doc, where
        assert all(s in doc for s in SECTIONS), where
        assert "{{" not in doc and "{%" not in doc, where


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_each_tasks_runbook_names_exactly_its_upstream_tasks(dag_id):
    dag = build_dag(dag_id)
    for t in dag.tasks:
        assert _waits_for(t.doc_md) == set(t.upstream_task_ids), t.task_id


def test_an_extract_waits_for_the_sensors_of_the_raw_tables_it_reads_only():
    from dw.config import warehouse_tables

    dag = build_dag("warehouse")
    for name, cfg in warehouse_tables().items():
        if not cfg.loaded:
            continue
        group = "dimensions" if cfg.kind == "dimension" else "facts"
        sensors = {u for u in _waits_for(dag.get_task(f"{group}.{name}.extract").doc_md) if u.startswith("lake_ready.")}
        assert sensors == {f"lake_ready.{t}" for t in cfg.lake_tables}, name
    assert "waits for the whole" not in dag.task_group_dict["lake_ready"].doc_md
