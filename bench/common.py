"""What every benchmark shares: the scale, the embedded stack, fresh namespaces on it, timing,
and the figures (each one a ratio against a baseline run in the same process, on the same data,
in the same run).

- ``BENCH_SCALE`` (default 1.0) multiplies every size; ``scaled(n)`` applies it.
- ``BENCH_STACK_STATE``: the state directory of a running ``devstack.stack`` to reuse (the test
  suite's smoke test passes its own); otherwise the benchmarks start a stack in a temp directory
  and stop it at the end.
- ``BENCH_OUT``: where ``python -m bench`` writes the figures as JSON (default
  ``bench/results/latest.json``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

REPO = Path(__file__).resolve().parents[1]
SCALE = float(os.environ.get("BENCH_SCALE", "1.0"))


def scaled(n: int, minimum: int = 1) -> int:
    return max(minimum, round(n * SCALE))


def timed(fn: Callable, *args, **kwargs) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def log(msg: str) -> None:
    print(f"  · {msg}", flush=True)


# --------------------------------------------------------------------------- figures


@dataclass
class Figure:
    """``value`` of ``name`` against ``baseline_value`` of ``baseline``: ratio = value / baseline.
    ``goal``: the ratio must be ≤ goal (``goal_min`` False) or ≥ goal (``goal_min`` True)."""

    bench: str
    name: str
    value: float
    baseline: str
    baseline_value: float
    unit: str = "s"
    goal: float | None = None
    goal_min: bool = False
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.value / self.baseline_value if self.baseline_value else float("inf")

    @property
    def met(self) -> bool | None:
        if self.goal is None:
            return None
        return self.ratio >= self.goal if self.goal_min else self.ratio <= self.goal

    def line(self) -> str:
        goal = ""
        if self.goal is not None:
            goal = f"  goal {'≥' if self.goal_min else '≤'} {self.goal:g}× {'MET' if self.met else 'MISSED'}"
        note = f"  ({self.note})" if self.note else ""
        return (f"{self.name:<44} {self.value:10.3f} {self.unit:<4} = {self.ratio:7.2f}× {self.baseline}"
                f" [{self.baseline_value:.3f} {self.unit}]{goal}{note}")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["ratio"] = self.ratio
        d["met"] = self.met
        return d


class Report:
    def __init__(self, bench: str):
        self.bench = bench
        self.figures: list[Figure] = []
        self.facts: dict = {}  # figures that are not ratios (row counts, n_tup_*): printed, kept

    def add(self, name: str, value: float, baseline: str, baseline_value: float, **kw) -> Figure:
        f = Figure(self.bench, name, value, baseline, baseline_value, **kw)
        self.figures.append(f)
        print("  " + f.line(), flush=True)
        return f

    def fact(self, key: str, value) -> None:
        self.facts[key] = value
        print(f"  {key}: {value}", flush=True)

    def as_dict(self) -> dict:
        return {"bench": self.bench, "figures": [f.as_dict() for f in self.figures], "facts": self.facts}


# --------------------------------------------------------------------------- the stack


@contextlib.contextmanager
def stack() -> Iterator:
    """The embedded stack: reused from ``BENCH_STACK_STATE`` if given, else a new one in a temp
    directory (stopped at the end). Its connections are put in ``os.environ``."""
    from devstack.stack import Stack

    given = os.environ.get("BENCH_STACK_STATE")
    tmp = None if given else tempfile.mkdtemp(prefix="dw-bench-stack-")
    st = Stack(state=Path(given or tmp))
    reused = bool(given) and st.running()
    st.up()
    os.environ.update(st.environ())
    try:
        yield st
    finally:
        if not reused:
            st.down(quiet=True)


def airflow_home() -> None:
    """A throw-away AIRFLOW_HOME (the provider hooks read connections from AIRFLOW_CONN_*)."""
    if "AIRFLOW_HOME" not in os.environ:
        os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="dw-bench-airflow-")
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")


@contextlib.contextmanager
def fresh_database(st) -> Iterator[str]:
    """A new, empty PostgreSQL database on the stack; yields its URI, drops it at the end."""
    import psycopg
    from psycopg import sql

    admin = st.info["pg_uri"]
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@contextlib.contextmanager
def fresh_bucket(st) -> Iterator:
    """A new S3 bucket on moto; yields a boto3 client with ``.bucket`` set, empties it at the end."""
    s3 = st.boto3_client()
    bucket = f"bench-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.bucket = bucket  # type: ignore[attr-defined]
    try:
        yield s3
    finally:
        with contextlib.suppress(Exception):
            for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=obj["Key"])
            s3.delete_bucket(Bucket=bucket)


def machine(st=None) -> dict:
    """What the figures ran on: CPU model, cores, memory, Python, PostgreSQL."""
    import platform

    info: dict = {"cores": os.cpu_count(), "python": platform.python_version()}
    with contextlib.suppress(OSError):
        cpu = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in cpu.splitlines() if ln.startswith("model name")), None)
    with contextlib.suppress(OSError, ValueError):
        kb = int(next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")))
        info["memory_gib"] = round(kb / 2**20, 1)
    if st is not None:
        with contextlib.suppress(Exception):
            import psycopg

            with psycopg.connect(st.info["pg_uri"]) as con:
                info["postgresql"] = con.execute("SHOW server_version").fetchone()[0]
    return info


def write_results(reports: list[Report], path: Path, machine_info: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "scale": SCALE,
        "python": sys.version.split()[0],
        "machine": machine_info or {},
        "reports": [r.as_dict() for r in reports],
    }
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
