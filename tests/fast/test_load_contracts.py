"""Warehouse contracts without a server (docs/decisions/0043): the ``contract`` keys of
include/config/warehouse/*.yaml parsed and resolved, and how a load classifies what its
untyped stage shows (``dw.warehouse.quarantine.findings``) and names it."""

from __future__ import annotations

import pytest

from tests.fast.test_config_errors import _column, _edit, _load_error, include  # noqa: F401


def _tables(include):
    from dw.config import warehouse_tables

    return warehouse_tables(include / "config")


def test_contracts_resolve_column_then_table_then_default(include):
    def edit(d):
        d["contract"] = {"data_type": "freeze"}
        _column(d, "operating_system")["contract"] = {"enum_values": "discard_row"}

    _edit(include, "resource_dim", edit)
    r = _tables(include)["resource_dim"]
    assert r.contract_mode("enum_values", "operating_system") == "discard_row"
    assert r.contract_mode("enum_values", "executor") == "evolve"  # the default
    assert r.contract_mode("data_type", "executor") == "freeze"  # the table's
    f = _tables(include)["job_ran_fact"]
    assert f.contract_mode("data_type", "credits_used") == "discard_row"  # the default: quarantine


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(contract={"enum_values": "grow"}), r"resource_dim.yaml.*unknown mode 'grow'"),
    (lambda d: d.update(contract={"new_fields": "evolve"}), r"resource_dim.yaml.*new_fields does not apply"),
    (lambda d: d.update(contract={"data_type": "evolve"}), r"resource_dim.yaml.*data_type: evolve does not apply"),
    (lambda d: _column(d, "resource_class").update(contract={"enum_values": "evolve"}),
     r"resource_dim.yaml.*enum_values applies to a dw.<enum> column only"),
])
def test_a_bad_contract_fails_naming_the_file(include, edit, message):
    import re

    _edit(include, "resource_dim", edit)
    assert re.search(message, _load_error(include), re.S)


class Answers:
    """Stands in for a cursor over ``stage_raw``: the counts, then each enum column's labels."""

    def __init__(self, counts, labels):
        self.counts, self.labels, self.rows = counts, labels, None

    def execute(self, stmt, params=None):
        text = stmt.as_string(None)
        self.rows = ([tuple(self.counts)] if text.startswith("SELECT count(*)")
                     else self.labels[next(c for c in self.labels if f'SELECT "{c}"' in text)])
        return self

    def fetchone(self):
        return self.rows[0]

    def fetchall(self):
        return self.rows


def test_findings_name_new_labels_and_never_a_value_that_is_not_a_label(include):
    from dw.warehouse.quarantine import counts, findings, frozen_message

    r = _tables(include)["resource_dim"]
    labels = counts(r)[1]
    assert labels == [("operating_system", "null"), ("operating_system", "invalid"), ("executor", "null"),
                      ("executor", "invalid")]
    secret = "alice@example.com"
    cur = Answers([0, 3, 1, 0], {"operating_system": [("freebsd", 2), (secret, 1)]})
    got = findings(cur, r)
    assert [(c.column_name, c.kind, c.detail, c.row_count, c.mode) for c in got] == [
        ("operating_system", "enum_values", "freebsd", 2, "evolve"),
        ("operating_system", "data_type", "dw.operating_system_type", 1, "discard_row"),
        ("executor", "data_type", "NULL", 1, "discard_row"),
    ]
    frozen = [c.__class__(**{**c.__dict__, "mode": "freeze"}) for c in got]
    msg = frozen_message(frozen)
    assert secret not in msg and "freebsd" not in msg
    assert msg.startswith("column operating_system: 2 row(s) with a new value of its enumerated type (contract "
                          "enum_values: freeze)")


def test_discard_value_on_a_not_null_column_quarantines(include):
    from dw.warehouse.quarantine import findings

    _edit(include, "resource_dim", lambda d: d.update(contract={"enum_values": "discard_value"}))
    r = _tables(include)["resource_dim"]
    got = findings(Answers([0, 1, 0, 0], {"operating_system": [("freebsd", 1)]}), r)
    assert [(c.kind, c.mode, c.action) for c in got] == [("enum_values", "discard_row", "quarantine")]
