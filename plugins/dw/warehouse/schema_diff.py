"""Where the warehouse config and a migrated database disagree: ``differences(cur, tables, types)``.

The config is ``include/config/warehouse/<table>.yaml`` (the tables) and
``include/config/warehouse/types.yaml`` (the enumerated types of schema dw and their values).
The database is read from its catalog: the enum types of schema ``dw`` with their values, and
each config table's columns (name, type, NOT NULL). A table of the database that no config
declares (``dw.load_audit``, the ledgers, partitions) and an enum type types.yaml does not
declare are not compared.

Each ``Difference`` names the YAML file, the table, column, type or value; ``generated`` tells
whether ``make migration`` writes the revision for it (a new enum type or value, a new table, a
new nullable column) or it needs a hand-written one (a value, column or type the config dropped or
changed; a new NOT NULL column). docs/decisions/0045-migrations-from-config.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from dw.config import WAREHOUSE_SCHEMA, TableConfig
from dw.warehouse.migrate import COLUMNS_SQL
from dw.warehouse.sql import WColumn, table_columns

TYPES_FILE = "include/config/warehouse/types.yaml"

# format_type() of the config's types where it is not the config's own spelling
_FORMAT = {"timestamptz": "timestamp with time zone"}


def table_file(table: str) -> str:
    return f"include/config/warehouse/{table}.yaml"


@dataclass(frozen=True)
class Difference:
    kind: str  # new_type | new_value | new_table | new_column | dropped_value | dropped_column | changed_column
    file: str
    table: str | None = None
    column: str | None = None
    type_name: str | None = None
    value: str | None = None
    detail: str = ""
    not_null: bool = False  # a new column that is NOT NULL (existing rows would have none)

    @property
    def generated(self) -> bool:
        """Whether ``make migration`` writes this change."""
        return self.kind in ("new_type", "new_value", "new_table") or (self.kind == "new_column" and not self.not_null)

    def message(self) -> str:
        what = {
            "new_type": f"declares enum type dw.{self.type_name}, which the migrations do not create",
            "new_value": f"declares value {self.value!r} of dw.{self.type_name}, which the migrations do not add",
            "dropped_value": f"does not declare value {self.value!r} of dw.{self.type_name}, which the migrations add "
                             f"(PostgreSQL cannot drop an enum value: declare it again)",
            "new_table": f"declares table dw.{self.table}, which the migrations do not create",
            "new_column": f"declares column dw.{self.table}.{self.column} ({self.detail}), which the migrations do not add",
            "dropped_column": f"does not declare column dw.{self.table}.{self.column} ({self.detail}), which the migrations create",
            "changed_column": f"declares column dw.{self.table}.{self.column} as {self.detail}",
        }[self.kind]
        fix = "run `make migration NAME=...`" if self.generated else "write the Alembic revision by hand"
        return f"{self.file}: {what}: {fix}"


def format_type(t: str) -> str:
    """A config column type as ``pg_catalog.format_type`` renders it (search_path pinned to
    pg_catalog, so enum types keep their schema)."""
    return _FORMAT.get(t, t)


def _describe(c: WColumn) -> str:
    return f"{format_type(c.type)}{' not null' if c.not_null else ''}"


_ENUMS_SQL = """
SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid
WHERE t.typnamespace = %s::regnamespace
GROUP BY t.typname
"""


def database_enums(cur) -> dict[str, list[str]]:
    """The enum types of schema dw with their values, in their sort order."""
    return {name: list(values) for name, values in cur.execute(_ENUMS_SQL, (WAREHOUSE_SCHEMA,)).fetchall()}


def database_columns(cur, table: str) -> dict[str, tuple[str, bool]] | None:
    """``{column: (format_type, not null)}`` of ``dw.<table>``; None if it does not exist."""
    name = f"{WAREHOUSE_SCHEMA}.{table}"
    if cur.execute("SELECT to_regclass(%s) IS NULL", (name,)).fetchone()[0]:
        return None
    return {n: (t, nn) for n, t, nn in cur.execute(COLUMNS_SQL, (name,)).fetchall()}


def type_differences(have: dict[str, list[str]], types: dict[str, list[str]]) -> list[Difference]:
    out: list[Difference] = []
    for name, values in types.items():
        if name not in have:
            out.append(Difference("new_type", TYPES_FILE, type_name=name))
            continue
        out += [Difference("new_value", TYPES_FILE, type_name=name, value=v) for v in values if v not in have[name]]
        out += [Difference("dropped_value", TYPES_FILE, type_name=name, value=v) for v in have[name] if v not in values]
    return out


def table_differences(cfg: TableConfig, have: dict[str, tuple[str, bool]] | None) -> list[Difference]:
    f = table_file(cfg.table)
    if have is None:
        return [Difference("new_table", f, table=cfg.table)]
    out: list[Difference] = []
    want = table_columns(cfg)
    for c in want:
        if c.name not in have:
            out.append(Difference("new_column", f, table=cfg.table, column=c.name, detail=_describe(c),
                                  not_null=c.not_null))
        elif have[c.name] != (format_type(c.type), c.not_null):
            t, nn = have[c.name]
            out.append(Difference("changed_column", f, table=cfg.table, column=c.name,
                                  detail=f"{_describe(c)}; the migrations make it {t}{' not null' if nn else ''}"))
    names = {c.name for c in want}
    for n, (t, nn) in have.items():
        if n not in names:
            out.append(Difference("dropped_column", f, table=cfg.table, column=n, detail=f"{t}{' not null' if nn else ''}"))
    return out


def differences(cur, tables: dict[str, TableConfig], types: dict[str, list[str]]) -> list[Difference]:
    """Every way the config (``tables``, ``types``) and the database behind ``cur`` disagree:
    types first, then tables in config order."""
    out = type_differences(database_enums(cur), types)
    for cfg in tables.values():
        out += table_differences(cfg, database_columns(cur, cfg.table))
    return out
