"""Validated config models kept on disk between processes (docs/decisions/0016-dag-parse-time.md).

The dag-processor parses every DAG file in a fresh process, which would read the YAML and build
and run the pydantic validators each time. ``load`` keeps a config file's validated model as a
pickle named by the SHA-256 of the file's bytes, the source files of the model classes it is
built from, the pydantic and Python versions and the ``variant`` (any override applied), as
Python keeps bytecode in ``__pycache__``: a changed file, model or version is validated anew.
The directory must be the process owner's own (0700, checked before reading); any error falls
back to validating. ``DW_CONFIG_CACHE`` names another directory, or ``off``.
"""

import functools
import hashlib
import os
import pickle
import sys
import typing
from pathlib import Path
from typing import Callable, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def cache_dir() -> Path | None:
    """Where the entries are (``None``: the cache is off)."""
    where = os.environ.get("DW_CONFIG_CACHE", "")
    if where == "off":
        return None
    if where:
        return Path(where)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dw-etl" / "config"


def model_files(model: type[BaseModel]) -> list[str]:
    """The source files of ``model``, its bases and every model class its fields use."""
    files: set[str] = set()
    seen: set = set()
    todo: list = [model]
    while todo:
        t = todo.pop()
        try:
            if t in seen:
                continue
            seen.add(t)
        except TypeError:  # an unhashable annotation argument: no model in it
            continue
        if isinstance(t, type) and issubclass(t, BaseModel):
            for cls in t.__mro__:
                f = getattr(sys.modules.get(cls.__module__), "__file__", None)
                if f and not cls.__module__.startswith("pydantic"):
                    files.add(f)
            todo += [f.annotation for f in t.model_fields.values()]
        else:
            todo += list(typing.get_args(t))
    return sorted(files)


@functools.lru_cache(maxsize=None)
def _code_digest(model: type[BaseModel]) -> bytes:
    import pydantic

    h = hashlib.sha256()
    for f in model_files(model):
        h.update(Path(f).read_bytes())
    h.update(f"|{model.__module__}.{model.__qualname__}|{pydantic.VERSION}|{sys.version}".encode())
    return h.digest()


def _own_dir(d: Path) -> bool:
    try:
        st = d.stat()
    except OSError:
        return False
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def load(model: type[M], path: Path, validate: Callable[[bytes], M], variant: str = "") -> M:
    """``validate(bytes of path)``, or the model it returned before for these exact inputs."""
    raw = path.read_bytes()
    h = hashlib.sha256(_code_digest(model))
    h.update(f"|{variant}|".encode())
    h.update(raw)
    d = cache_dir()
    entry = d / f"{h.hexdigest()}.pickle" if d else None
    if entry and _own_dir(d):
        try:
            obj = pickle.loads(entry.read_bytes())
            if type(obj) is model:
                return obj
        except Exception:  # noqa: BLE001 - no entry, or an unreadable one: validate
            pass
    obj = validate(raw)
    if entry:
        try:
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
            if _own_dir(d):
                tmp = d / f".{entry.name}.{os.getpid()}"
                tmp.write_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
                os.replace(tmp, entry)
        except OSError:
            pass
    return obj
