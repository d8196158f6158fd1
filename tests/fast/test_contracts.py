"""dw.contracts: contract modes from configs, their resolution, and the change message."""

from __future__ import annotations

import pytest

from dw import notify
from dw.contracts import Change, ContractError, check_contract, resolve_mode


def test_unknown_kind_or_mode_is_refused_naming_where():
    assert check_contract({"new_fields": "evolve"}, "x.yaml") == {"new_fields": "evolve"}
    assert check_contract(None, "x.yaml") == {}
    with pytest.raises(ContractError, match=r"mongo.yaml: collections.jobs.*unknown contract kind 'new_field'"):
        check_contract({"new_field": "evolve"}, "mongo.yaml: collections.jobs")
    with pytest.raises(ContractError, match=r"contract data_type: unknown mode 'drop'"):
        check_contract({"data_type": "drop"}, "mongo.yaml")
    with pytest.raises(ContractError, match="must be a mapping"):
        check_contract(["evolve"], "mongo.yaml")


def test_the_most_specific_level_wins():
    source, entity, column = {"data_type": "freeze"}, {"data_type": "discard_value"}, {"new_fields": "freeze"}
    assert resolve_mode("data_type", source, entity, column, default="discard_row") == "discard_value"
    assert resolve_mode("data_type", source, None, None, default="discard_row") == "freeze"
    assert resolve_mode("enum_values", source, entity, column, default="evolve") == "evolve"


def test_change_message_names_each_change_and_where_to_look():
    changes = [Change("mongo", "jobs", "operating_system", "enum_values", "freebsd", 3, "evolve"),
               Change("mongo", "jobs", "minutes_used", "data_type", "string", 2, "discard_row")]
    text = notify.changes_message(dag_id="warehouse", task_id="load", date="2024-01-15", changes=changes,
                                  where="dw.schema_changes")
    assert text.splitlines() == [
        "dw-etl WARNING warehouse › load › date 2024-01-15: 2 upstream change(s)",
        "- mongo.jobs.operating_system: new value 'freebsd' in 3 row(s) → evolve",
        "- mongo.jobs.minutes_used: value(s) not converting 'string' in 2 row(s) → quarantine",
        "where to look: dw.schema_changes",
    ]
    assert changes[0].change == "new_enum_value" and changes[1].action == "quarantine"
