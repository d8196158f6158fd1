"""Process helpers of the local stack and its Airflow: free ports, liveness, waiting for a
server, executables of this venv, and the default state directory."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from dw.paths import REPO_ROOT

DEFAULT_STATE = REPO_ROOT / ".local"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary(name: str) -> str:
    """The executable ``name`` of this interpreter's venv, else the one on PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else (shutil.which(name) or name)


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


def wait_until(what: str, probe, timeout: float = 60.0, log: Path | None = None) -> None:
    """Call ``probe`` until it returns true; raise after ``timeout`` seconds with the tail of ``log``."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except Exception as e:  # noqa: BLE001 - any failure means "not yet"
            last = e
        time.sleep(0.2)
    tail = ""
    if log and log.exists():
        tail = "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    raise RuntimeError(f"{what} did not come up within {timeout:.0f}s: {last}{tail}")


def with_database(uri: str, db: str) -> str:
    """``uri`` with its database (path) replaced by ``db``."""
    return urlunparse(urlparse(uri)._replace(path="/" + db))


def python_path() -> str:
    """PYTHONPATH for a child process: plugins/ (the ``dw`` package), the repository root (``devstack``),
    then the inherited PYTHONPATH."""
    return os.pathsep.join(filter(None, [str(REPO_ROOT / "plugins"), str(REPO_ROOT), os.environ.get("PYTHONPATH")]))


def write_private(path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), never briefly wider: the
    file is created with that mode, an existing one narrowed before it is rewritten."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
