"""Data contracts: what a column does when upstream changes, and the record of each change seen.

Three kinds of change (``KINDS``), each governed by a mode (``MODES``, as dlt's schema
contracts name them):

- ``new_fields``: a field the config does not declare appears in a source's records;
- ``data_type``: a value does not convert to its field's or column's declared type;
- ``enum_values``: an enumerated warehouse column receives a value its type does not hold.

Modes: ``evolve`` (take the change in: land the new field, grow the enumerated type),
``discard_value`` (drop the field or set the value to NULL, keep the record), ``discard_row``
(set the record aside in a quarantine with its reason, keep the rest), ``freeze`` (fail the
task, as without a contract). Every change, whatever the mode, is recorded as a ``Change`` in
``dw.schema_changes`` (Alembic 0010) by the task that saw it, for its day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

KINDS = ("new_fields", "data_type", "enum_values")
MODES = ("evolve", "discard_value", "discard_row", "freeze")
# dw.schema_changes.change for each kind
CHANGE_OF_KIND = {"new_fields": "new_field", "data_type": "type_mismatch", "enum_values": "new_enum_value"}
# dw.schema_changes.action for each mode (a discarded row is quarantined, never dropped silently)
ACTION_OF_MODE = {"evolve": "evolve", "discard_value": "discard_value", "discard_row": "quarantine",
                  "freeze": "freeze"}
SCHEMA_CHANGES = ("dw", "schema_changes")


class ContractError(ValueError):
    """A contract in a config names an unknown kind or mode."""


def check_contract(contract: dict | None, where: str) -> dict[str, str]:
    """``contract`` (a config mapping ``kind: mode``) checked: unknown kinds or modes raise
    ``ContractError`` naming ``where`` (the file and key)."""
    if contract is None:
        return {}
    if not isinstance(contract, dict):
        raise ContractError(f"{where}: contract must be a mapping of {', '.join(KINDS)} to a mode")
    for kind, mode in contract.items():
        if kind not in KINDS:
            raise ContractError(f"{where}: unknown contract kind {kind!r} (one of {', '.join(KINDS)})")
        if mode not in MODES:
            raise ContractError(f"{where}: contract {kind}: unknown mode {mode!r} (one of {', '.join(MODES)})")
    return dict(contract)


def resolve_mode(kind: str, *levels: dict[str, str] | None, default: str) -> str:
    """The mode of ``kind`` from the most specific level that sets it (``levels`` from the most
    general, e.g. source, entity, column), else ``default``."""
    mode = default
    for level in levels:
        if level and kind in level:
            mode = level[kind]
    return mode


@dataclass(frozen=True)
class Change:
    """One kind of change seen in one place on one day, with how many rows showed it."""

    source: str        # mongo, stripe, amplitude, chargify, or warehouse
    entity: str        # the collection, vendor table or warehouse table
    column_name: str   # the field or column
    kind: str          # one of KINDS
    detail: str        # the observed type or the new enumerated value (never a record's value)
    row_count: int
    mode: str          # the mode that applied, one of MODES

    @property
    def change(self) -> str:
        return CHANGE_OF_KIND[self.kind]

    @property
    def action(self) -> str:
        return ACTION_OF_MODE[self.mode]

    def describe(self) -> str:
        what = {"new_fields": "new field", "data_type": "value(s) not converting",
                "enum_values": "new value"}[self.kind]
        detail = f" {self.detail!r}" if self.detail else ""
        return (f"{self.source}.{self.entity}.{self.column_name}: {what}{detail} in {self.row_count} row(s) "
                f"→ {self.action}")


def record_changes(cur, day: dt.date, source: str, entity: str, recorded_by: str, changes: list[Change]) -> int:
    """Replace the rows of ``dw.schema_changes`` that ``recorded_by`` wrote for ``day``, ``source``
    and ``entity`` with ``changes`` (in the caller's transaction, so a re-run writes the same
    rows). Returns the number of rows written."""
    from psycopg import sql

    table = sql.Identifier(*SCHEMA_CHANGES)
    cur.execute(sql.SQL("DELETE FROM {} WHERE dt = %s AND source = %s AND entity = %s AND recorded_by = %s").format(table),
                (day, source, entity, recorded_by))
    rows = [(day, c.source, c.entity, c.column_name, c.change, c.detail, c.row_count, c.action, recorded_by)
            for c in changes]
    if rows:
        cur.executemany(sql.SQL("INSERT INTO {} (dt, source, entity, column_name, change, detail, row_count, action, "
                                "recorded_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)").format(table), rows)
    return len(rows)
