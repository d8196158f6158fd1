"""Where the repository's include/ tree is, for code running from plugins/dw."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(os.environ.get("DW_REPO_ROOT") or Path(__file__).resolve().parents[2])
INCLUDE_DIR = REPO_ROOT / "include"
CONFIG_DIR = INCLUDE_DIR / "config"
SQL_DIR = INCLUDE_DIR / "sql"
MIGRATIONS_DIR = SQL_DIR / "postgres" / "migrations"
