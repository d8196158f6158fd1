"""A full Airflow 3 on the local stack: ``AirflowServer`` starts, checks and stops it.

- metadata DB: database ``airflow`` on the stack's PostgreSQL (the LocalExecutor runs tasks in
  parallel);
- ``airflow api-server`` (UI, REST API ``/api/v2``, execution API), ``scheduler`` (LocalExecutor),
  ``dag-processor`` and ``triggerer``: four processes, each in its own session, logs in
  ``<state>/airflow-server/logs/<component>.log``;
- the SIMPLE auth manager with one user, ``admin``; Airflow generates its password into
  ``<state>/airflow-server/simple_auth_manager_passwords.json.generated``;
- connections: the stack's are written into the metadata DB through the REST API on every ``up``
  (the stack's ports change when it restarts); so are the pools of include/config/airflow.yaml.
  The Airflow processes get no ``AIRFLOW_CONN_*`` variables, so the connection the UI shows is
  the one tasks use.

``stop`` (run by ``Stack.down``) stops the four processes and everything they started.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from dw.paths import REPO_ROOT

from devstack.process import DEFAULT_STATE, alive, binary, python_path, wait_until, with_database, write_private



class Stack(Protocol):
    """What Airflow needs of a running ``devstack.stack.Stack``."""

    info: dict

    def connections(self) -> dict[str, str]: ...

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
METADATA_DB = "airflow"
USER = "admin"
# Health keys of GET /api/v2/monitor/health, per component.
_HEALTH = {"metadatabase": "api-server", "scheduler": "scheduler", "dag_processor": "dag-processor",
           "triggerer": "triggerer"}


def _descendants(pids: list[int]) -> list[int]:
    """Every live process whose ancestry includes one of ``pids`` (read from /proc)."""
    parent: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found: list[int] = []
    frontier = set(pids)
    while frontier:
        children = {p for p, pp in parent.items() if pp in frontier and p not in found}
        found.extend(children)
        frontier = children
    return found


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class AirflowAPI:
    """A small client of the REST API (``/api/v2``) with a JWT from ``/auth/token``."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30.0):
        import requests

        self.base_url = base_url.rstrip("/")
        self.username, self.password, self.timeout = username, password, timeout
        self.session = requests.Session()
        self._token: str | None = None

    def _login(self) -> None:
        r = self.session.post(f"{self.base_url}/auth/token", json={"username": self.username, "password": self.password},
                              timeout=self.timeout)
        r.raise_for_status()
        self._token = r.json()["access_token"]

    def request(self, method: str, path: str, **kwargs):
        """``path`` below /api/v2 (``/dags``) or absolute (``/auth/...``); the decoded JSON answer
        (text for non-JSON). Raises on an HTTP error, quoting Airflow's answer."""
        url = self.base_url + (path if path.startswith(("/api/", "/auth/")) else "/api/v2" + path)
        headers = kwargs.pop("headers", {})
        for attempt in (1, 2):
            if self._token is None:
                self._login()
            r = self.session.request(method, url, headers={**headers, "Authorization": f"Bearer {self._token}"},
                                     timeout=self.timeout, **kwargs)
            if r.status_code == 401 and attempt == 1:  # expired token
                self._token = None
                continue
            break
        if r.status_code >= 400:
            raise RuntimeError(f"{method} {path}: HTTP {r.status_code}: {r.text[:2000]}")
        if "json" in r.headers.get("content-type", ""):
            return r.json()
        return r.text

    def get(self, path: str, **params):
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: dict):
        return self.request("POST", path, json=body)

    def patch(self, path: str, body: dict, **params):
        return self.request("PATCH", path, json=body, params=params or None)


@dataclass
class AirflowServer:
    """The Airflow of a stack's state directory (``<state>/airflow-server``)."""

    state: Path = DEFAULT_STATE
    port: int = 8080
    host: str = "127.0.0.1"
    schedules: bool = True  # False: no scheduled runs (only triggered runs and backfills): tests
    parallelism: int = 8
    info: dict = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.state / "airflow-server"

    @property
    def info_file(self) -> Path:
        return self.home / "server.json"

    @property
    def base_url(self) -> str:
        return f"http://localhost:{self.info.get('port', self.port)}"

    @property
    def passwords_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json.generated"

    # ------------------------------------------------------------------ state

    def load(self) -> dict:
        """The recorded state (port, component pids), if this Airflow was ever started."""
        try:
            self.info = json.loads(self.info_file.read_text())
        except FileNotFoundError:
            pass
        return self.info

    def running(self) -> bool:
        pids = (self.load().get("pids") or {}).values()
        return bool(pids) and all(alive(p) for p in pids)

    def password(self) -> str:
        return json.loads(self.passwords_file.read_text())[USER]

    def api(self) -> AirflowAPI:
        return AirflowAPI(self.base_url, USER, self.password())

    def _secrets(self) -> dict:
        """Keys that must stay the same across restarts (encrypted connections, JWTs)."""
        path = self.home / "secrets.json"
        if path.exists():
            return json.loads(path.read_text())
        from cryptography.fernet import Fernet

        keys = {"fernet_key": Fernet.generate_key().decode(), "jwt_secret": secrets.token_urlsafe(32),
                "api_secret_key": secrets.token_urlsafe(32)}
        write_private(path, json.dumps(keys))
        return keys

    def metadata_uri(self, stack: Stack) -> str:
        return with_database(stack.info["pg_uri"], METADATA_DB)

    def environ(self, stack: Stack) -> dict[str, str]:
        """The environment of every Airflow process. Inherited AIRFLOW_* settings are dropped (a
        test session's or a sourced stack.env's would leak in); connections live in the DB."""
        keys = self._secrets()
        port = self.info.get("port", self.port)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
        env.update({
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__FERNET_KEY": keys["fernet_key"],
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_uri(stack).replace("postgresql://", "postgresql+psycopg2://", 1),
            "AIRFLOW__API__HOST": self.host,
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
            "AIRFLOW__API__SECRET_KEY": keys["api_secret_key"],
            "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(self.schedules),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "PYTHONPATH": python_path(),
            "DW_REPO_ROOT": str(REPO_ROOT),
        })
        return env

    # ------------------------------------------------------------------ lifecycle

    def up(self, stack: Stack, timeout: float = 300.0) -> dict:
        """Start Airflow on ``stack`` (which must be up), or find it running; load the stack's
        connections; wait until every component reports healthy and the DAGs are parsed."""
        self.home.mkdir(parents=True, exist_ok=True)
        if not self.running():
            self.down(quiet=True)
            self.info = {"port": self.port}
            if not _port_free(self.host, self.port):
                raise RuntimeError(f"port {self.port} is in use: stop what listens there or pick another (--port)")
            self._ensure_database(stack)
            env = self.environ(stack)
            self._migrate(env)
            logs = self.home / "logs"
            logs.mkdir(exist_ok=True)
            pids = {}
            for c in COMPONENTS:
                out = open(logs / f"{c}.log", "ab")
                argv = [binary("airflow"), c] + (["--port", str(self.port), "--host", self.host] if c == "api-server" else [])
                p = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=self.home, start_new_session=True)
                pids[c] = p.pid
            self.info = {"port": self.port, "pids": pids, "base_url": self.base_url, "user": USER,
                         "metadata_db": self.metadata_uri(stack), "schedules": self.schedules}
            write_private(self.info_file, json.dumps(self.info, indent=2))
        self.wait_healthy(timeout)
        self.load_connections(stack)
        self.load_pools()
        self.wait_dags(timeout)
        return self.info

    def _ensure_database(self, stack: Stack) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(stack.info["pg_uri"], autocommit=True) as con:
            if not con.execute("select 1 from pg_database where datname = %s", (METADATA_DB,)).fetchone():
                con.execute(sql.SQL("create database {}").format(sql.Identifier(METADATA_DB)))

    def _migrate(self, env: dict[str, str]) -> None:
        """``airflow db migrate`` (idempotent), skipped when this database was migrated by this
        Airflow version already."""
        import importlib.metadata

        mark = self.home / ".db-migrated"
        stamp = f"{importlib.metadata.version('apache-airflow-core')} {env['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN']}"
        if mark.exists() and mark.read_text() == stamp:
            return
        r = subprocess.run([binary("airflow"), "db", "migrate"], env=env, capture_output=True, text=True, cwd=self.home)
        if r.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
        mark.write_text(stamp)

    def health(self) -> dict[str, str]:
        import requests

        body = requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
        return {c: (body.get(k) or {}).get("status", "unknown") for k, c in _HEALTH.items()}

    def _check_alive(self) -> None:
        for c, pid in (self.info.get("pids") or {}).items():
            if not alive(pid):
                log = self.home / "logs" / f"{c}.log"
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log.exists() else ""
                raise RuntimeError(f"airflow {c} exited (log {log}):\n{tail}")

    def wait_healthy(self, timeout: float = 300.0) -> None:
        def probe() -> bool:
            self._check_alive()
            return set(self.health().values()) == {"healthy"}

        try:
            wait_until("Airflow (api-server, scheduler, dag-processor, triggerer)", probe, timeout=timeout,
                  log=self.home / "logs" / "api-server.log")
        except RuntimeError:
            self._check_alive()
            raise

    def wait_dags(self, timeout: float = 300.0) -> list[str]:
        """Wait until every DAG file in dags/ is parsed; raise on import errors."""
        api = self.api()
        expected = {p.stem for p in (REPO_ROOT / "dags").glob("*.py")}
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            errors = api.get("/importErrors").get("import_errors") or []
            if errors:
                raise RuntimeError("DAG import errors: " + "; ".join(f"{e['filename']}: {e['stack_trace'][-800:]}" for e in errors))
            dags = {d["dag_id"] for d in api.get("/dags", limit=100).get("dags", [])}
            if expected <= dags:
                return sorted(dags)
            if time.monotonic() > deadline:
                raise RuntimeError(f"DAGs not parsed within {timeout:.0f}s: missing {sorted(expected - dags)}")
            time.sleep(1)

    def load_connections(self, stack: Stack) -> list[str]:
        """Create or overwrite the stack's connections in the metadata DB (REST API, bulk)."""
        entities = []
        for conn_id, value in stack.connections().items():
            c = json.loads(value)
            extra = c.pop("extra", None)
            entities.append({"connection_id": conn_id, **{k: v for k, v in c.items() if v is not None},
                             **({"extra": json.dumps(extra)} if extra else {})})
        out = self.api().patch("/connections", {"actions": [
            {"action": "create", "entities": entities, "action_on_existence": "overwrite"}]})
        errors = (out.get("create") or {}).get("errors") or []
        if errors:
            raise RuntimeError(f"could not load connections: {errors}")
        return sorted(e["connection_id"] for e in entities)

    def load_pools(self) -> list[str]:
        """Create or overwrite the pools of include/config/airflow.yaml (REST API, bulk), as a
        deployment does with ``airflow pools set`` (README, Production)."""
        from dw.config import airflow_config

        entities = [{"name": p.name, "slots": p.slots, "description": p.description,
                     "include_deferred": p.include_deferred} for p in airflow_config().pools.values()]
        out = self.api().patch("/pools", {"actions": [
            {"action": "create", "entities": entities, "action_on_existence": "overwrite"}]})
        errors = (out.get("create") or {}).get("errors") or []
        if errors:
            raise RuntimeError(f"could not create the pools: {errors}")
        return sorted(e["name"] for e in entities)

    def down(self, quiet: bool = False) -> None:
        """SIGTERM the components and everything they started (by pid), SIGKILL what is left."""
        self.load()
        pids = [p for p in (self.info.get("pids") or {}).values() if alive(p)]
        if not pids:
            return
        targets = pids + _descendants(pids)
        for pid in targets:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(alive(p) for p in targets):
            time.sleep(0.2)
        for pid in targets + _descendants(pids):
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        self.info["pids"] = {}
        write_private(self.info_file, json.dumps(self.info, indent=2))
        if not quiet:
            print(f"airflow in {self.home} stopped")


def stop(state: Path, quiet: bool = False) -> None:
    """Stop the Airflow of a stack's state directory, if one runs."""
    AirflowServer(state).down(quiet=quiet)
