"""Where the include/ tree is, for code running from plugins/dw.

``DW_INCLUDE_DIR`` points the platform at another include tree (config + SQL), read at
call time; otherwise it is the repository's include/.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(os.environ.get("DW_REPO_ROOT") or Path(__file__).resolve().parents[2])
INCLUDE_DIR = REPO_ROOT / "include"
MIGRATIONS_DIR = INCLUDE_DIR / "sql" / "postgres" / "migrations"


def include_dir() -> Path:
    return Path(os.environ.get("DW_INCLUDE_DIR") or INCLUDE_DIR)


def config_dir() -> Path:
    return include_dir() / "config"


def sql_dir() -> Path:
    return include_dir() / "sql"


# The repository's own trees (defaults; prefer the functions above).
CONFIG_DIR = INCLUDE_DIR / "config"
SQL_DIR = INCLUDE_DIR / "sql"
# The on-call runbook templates (code, not deployment config: always the repository's).
RUNBOOKS_DIR = INCLUDE_DIR / "runbooks"
