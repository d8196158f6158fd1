"""The embedded local stack: real servers on 127.0.0.1, free ports, no Docker.

- PostgreSQL: pgserver's bundled PostgreSQL (or the server in DW_POSTGRES_URI if set)
- S3: the moto server
- MongoDB: nx-27017, a MongoDB wire-protocol server
- Stripe, Amplitude, Chargify: the HTTP stand-ins of devstack.vendors (one process each)

``up`` starts them (or finds them running), creates the lake bucket and the warehouse
database, and writes ``<state>/stack.env``: shell-sourceable ``AIRFLOW_CONN_*`` for
``mongo_app``, ``aws_lake``, ``postgres_dw``, ``dw_pii_key``, ``stripe_api``, ``amplitude_api``,
``chargify_api`` and plain ``DW_*`` URIs. ``down`` stops the Airflow of ``make airflow`` first
(its metadata DB is on this stack's PostgreSQL), then the servers.

    python -m devstack.stack up|down|status|env [--state DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from devstack.airflow_server import stop as stop_airflow
from devstack.process import (DEFAULT_STATE, alive, binary, free_port, python_path, wait_until, with_database,
                              write_private)
WAREHOUSE_DB = "warehouse"
S3_KEY = "local-access-key"
S3_SECRET = "local-secret-key"
REGION = "us-east-1"


@dataclass
class Stack:
    state: Path = DEFAULT_STATE
    info: dict = field(default_factory=dict)

    @property
    def info_file(self) -> Path:
        return self.state / "stack.json"

    @property
    def env_file(self) -> Path:
        return self.state / "stack.env"

    # ------------------------------------------------------------------ lifecycle

    def load(self) -> dict:
        if self.info_file.exists():
            self.info = json.loads(self.info_file.read_text())
        return self.info

    def running(self) -> bool:
        self.load()
        if not self.info:
            return False
        pids = [self.info.get("moto_pid"), self.info.get("mongo_pid")]
        pids += [v.get("pid") for v in (self.info.get("vendors") or {"missing": {}}).values()]
        if self.info.get("pg_managed"):
            pids.append(self._pg_pid())
        return all(alive(p) for p in pids)

    def up(self, pii_key: str | None = None) -> dict:
        self.state.mkdir(parents=True, exist_ok=True)
        if self.running():
            self.write_env()
            return self.info
        self.down(quiet=True)
        info: dict = {"state": str(self.state)}
        info.update(self._start_postgres())
        info.update(self._start_moto())
        info.update(self._start_mongo())
        old = {}
        if self.info_file.exists():
            old = json.loads(self.info_file.read_text())
        info["pii_key"] = pii_key or old.get("pii_key") or secrets.token_hex(32)
        info["vendors"] = self._start_vendors(old.get("vendors") or {})
        self.info = info
        write_private(self.info_file, json.dumps(info, indent=2))
        self._create_bucket()
        self.write_env()
        return info

    def down(self, quiet: bool = False) -> None:
        # `make airflow`'s Airflow keeps its metadata DB on this stack's PostgreSQL: stop it first
        stop_airflow(self.state, quiet=quiet)
        self.load()
        vendor_pids = [v.get("pid") for v in (self.info.get("vendors") or {}).values()]
        for pid in [self.info.get("moto_pid"), self.info.get("mongo_pid"), *vendor_pids]:
            if alive(pid):
                try:
                    os.killpg(pid, signal.SIGTERM)
                except OSError:
                    os.kill(pid, signal.SIGTERM)
                for _ in range(50):
                    if not alive(pid):
                        break
                    time.sleep(0.1)
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
        if self.info.get("pg_managed"):
            pgdata = Path(self.info["pgdata"])
            if (pgdata / "postmaster.pid").exists():
                from pgserver import _commands

                try:
                    _commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=self._pg_user())
                except Exception as e:  # noqa: BLE001
                    if not quiet:
                        print(f"pg_ctl stop: {e}", file=sys.stderr)
        if not quiet:
            print(f"stack in {self.state} stopped")

    # ------------------------------------------------------------------ servers

    @staticmethod
    def _pg_user() -> str | None:
        return "pgserver" if os.geteuid() == 0 else None

    def _pg_pid(self) -> int | None:
        pid_file = Path(self.info.get("pgdata", "/nonexistent")) / "postmaster.pid"
        if not pid_file.exists():
            return None
        try:
            return int(pid_file.read_text().split()[0])
        except (ValueError, IndexError):
            return None

    def _start_postgres(self) -> dict:
        external = os.environ.get("DW_POSTGRES_URI")
        if external:
            self._ensure_database(external)
            return {"pg_managed": False, "pg_uri": with_database(external, WAREHOUSE_DB)}
        import pgserver
        from pgserver import _commands

        pgdata = self.state / "pg"
        # pgserver initialises the cluster (as a non-root user when we are root) and
        # starts it on a Unix socket; we restart it listening on 127.0.0.1:<port>.
        srv = pgserver.get_server(pgdata, cleanup_mode=None)
        del srv
        port = free_port()
        conf = pgdata / "postgresql.auto.conf"
        settings = {
            # a throw-away local cluster: durability traded for speed (never in production)
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "shared_buffers": "256MB",
            "work_mem": "64MB",
            "maintenance_work_mem": "256MB",
            "max_wal_size": "4GB",
            "timezone": "UTC",
        }
        lines = [ln for ln in conf.read_text().splitlines() if ln.split("=")[0].strip() not in settings]
        lines += [f"{k} = '{v}'" for k, v in settings.items()]
        conf.write_text("\n".join(lines) + "\n")
        _commands.pg_ctl(
            ["-w", "-m", "fast", "-o", f"-h 127.0.0.1 -p {port} -k {pgdata}", "-l", str(pgdata / "log"), "restart"],
            pgdata=pgdata,
            user=self._pg_user(),
            timeout=60,
        )
        admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        wait_until("postgres", lambda: _pg_ping(admin), log=pgdata / "log")
        self._ensure_database(admin)
        return {"pg_managed": True, "pgdata": str(pgdata), "pg_port": port, "pg_uri": with_database(admin, WAREHOUSE_DB)}

    @staticmethod
    def _ensure_database(admin_uri: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(admin_uri, autocommit=True) as con:
            if not con.execute("select 1 from pg_database where datname = %s", (WAREHOUSE_DB,)).fetchone():
                con.execute(sql.SQL("create database {}").format(sql.Identifier(WAREHOUSE_DB)))

    def _spawn(self, name: str, argv: list[str]) -> int:
        log = open(self.state / f"{name}.log", "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        return p.pid

    def _start_moto(self) -> dict:
        port = free_port()
        pid = self._spawn("moto", [binary("moto_server"), "-H", "127.0.0.1", "-p", str(port)])
        url = f"http://127.0.0.1:{port}"
        wait_until("moto S3", lambda: urllib.request.urlopen(url + "/moto-api/", timeout=2).status == 200,
              log=self.state / "moto.log")
        return {"moto_pid": pid, "s3_endpoint": url}

    def _start_mongo(self) -> dict:
        port = free_port()
        data = self.state / "mongo"
        data.mkdir(parents=True, exist_ok=True)
        pid = self._spawn(
            "mongo",
            [binary("nx-27017"), "--data-dir", str(data), "--host", "127.0.0.1", "-p", str(port),
             "--log-file", str(self.state / "nx-27017.log"), "--pid-file", str(self.state / "nx-27017.pid")],
        )
        uri = f"mongodb://127.0.0.1:{port}"

        def ping() -> bool:
            import pymongo

            with pymongo.MongoClient(uri, serverSelectionTimeoutMS=1000) as c:
                return c.admin.command("ping").get("ok") == 1

        wait_until("nx-27017 MongoDB", ping, log=self.state / "mongo.log")
        return {"mongo_pid": pid, "mongo_uri": uri, "mongo_port": port}

    def _start_vendors(self, old: dict) -> dict:
        """The Stripe, Amplitude and Chargify stand-ins; credentials kept from an earlier ``up``."""
        from devstack.vendors import VENDORS

        out = {}
        for name in VENDORS:
            prev = old.get(name) or {}
            key = prev.get("key") or (("sk_test_" if name == "stripe" else "") + secrets.token_hex(16))
            secret = prev.get("secret") or (secrets.token_hex(16) if name == "amplitude" else "")
            port = free_port()
            log = open(self.state / f"{name}.log", "ab")
            env = dict(os.environ, DW_STANDIN_KEY=key, DW_STANDIN_SECRET=secret, PYTHONPATH=python_path())
            p = subprocess.Popen([sys.executable, "-m", "devstack.vendors", name, "--host", "127.0.0.1", "--port", str(port)],
                                 stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                 start_new_session=True)
            out[name] = {"pid": p.pid, "url": f"http://127.0.0.1:{port}", "port": port, "key": key, "secret": secret}
        for name, v in out.items():
            wait_until(f"{name} stand-in", lambda u=v["url"]: urllib.request.urlopen(u + "/_admin/health", timeout=2).status == 200,
                  log=self.state / f"{name}.log")
        return out

    def vendor_urls(self) -> dict[str, str]:
        return {k: v["url"] for k, v in (self.info.get("vendors") or {}).items()}

    def _create_bucket(self) -> None:
        import boto3

        from dw.config import lake_config

        s3 = self.boto3_client()
        bucket = lake_config().bucket
        try:
            s3.create_bucket(Bucket=bucket)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        del boto3

    def boto3_client(self):
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.info["s3_endpoint"], aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET, region_name=REGION,
        )

    # ------------------------------------------------------------------ connections

    def connections(self) -> dict[str, str]:
        """AIRFLOW_CONN_* values (JSON form) for the stack's servers."""
        from urllib.parse import urlparse

        i = self.info
        pg = urlparse(i["pg_uri"])
        mongo = urlparse(i["mongo_uri"])
        conns = {
            "mongo_app": {"conn_type": "mongo", "host": mongo.hostname, "port": mongo.port, "schema": "app"},
            "aws_lake": {
                "conn_type": "aws", "login": S3_KEY, "password": S3_SECRET,
                "extra": {"endpoint_url": i["s3_endpoint"], "region_name": REGION, "lake_engine": "duckdb"},
            },
            "postgres_dw": {
                "conn_type": "postgres", "host": pg.hostname, "port": pg.port,
                "login": pg.username or "postgres", "password": pg.password or "",
                "schema": pg.path.lstrip("/") or WAREHOUSE_DB,
            },
            "dw_pii_key": {"conn_type": "generic", "password": i["pii_key"]},
        }
        # The migrator (a login in dw_owner): locally the same superuser. Loads still run as
        # dw_loader (SET LOCAL ROLE), the Warehouse view as dw_analyst.
        conns["postgres_dw_migrate"] = dict(conns["postgres_dw"])
        # Vendor APIs (conn_type http: host, port, schema = URL scheme). The secret is always
        # the password (masked in logs): Stripe's secret key; Chargify's API key (sent as the
        # basic-auth user with password "x"); Amplitude's secret key, its API key the login.
        v = i.get("vendors") or {}
        for name, conn_id in (("stripe", "stripe_api"), ("amplitude", "amplitude_api"), ("chargify", "chargify_api")):
            if name in v:
                conns[conn_id] = {"conn_type": "http", "host": "127.0.0.1", "port": v[name]["port"], "schema": "http",
                                  "password": v[name]["secret"] if name == "amplitude" else v[name]["key"]}
                if name == "amplitude":
                    conns[conn_id]["login"] = v[name]["key"]
        return {k: json.dumps(v) for k, v in conns.items()}

    def environ(self) -> dict[str, str]:
        env = {f"AIRFLOW_CONN_{k.upper()}": v for k, v in self.connections().items()}
        env["DW_POSTGRES_URI"] = self.info["pg_uri"]
        env["DW_MONGO_URI"] = self.info["mongo_uri"]
        env["DW_S3_ENDPOINT"] = self.info["s3_endpoint"]
        return env

    def write_env(self) -> Path:
        lines = ["# written by `python -m devstack.stack up`; source it: set -a; . .local/stack.env; set +a"]
        lines += [f"{k}={shlex.quote(v)}" for k, v in self.environ().items()]
        write_private(self.env_file, "\n".join(lines) + "\n")
        return self.env_file


def _pg_ping(uri: str) -> bool:
    import psycopg

    with psycopg.connect(uri, connect_timeout=2) as c:
        return c.execute("select 1").fetchone() == (1,)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m devstack.stack")
    ap.add_argument("command", choices=["up", "down", "status", "env"])
    ap.add_argument("--state", type=Path, default=DEFAULT_STATE)
    a = ap.parse_args(argv)
    st = Stack(a.state.resolve())
    if a.command == "up":
        info = st.up()
        print(f"postgres  {info['pg_uri']}")
        print(f"s3 (moto) {info['s3_endpoint']}")
        print(f"mongodb   {info['mongo_uri']}")
        for name, url in st.vendor_urls().items():
            print(f"{name:<9} {url} (stand-in; /_admin/health)")
        print(f"env       {st.env_file}")
    elif a.command == "down":
        st.down()
    elif a.command == "status":
        print("running" if st.running() else "stopped")
        return 0 if st.running() else 1
    else:
        st.load()
        if not st.info:
            print("no stack: run `make up`", file=sys.stderr)
            return 1
        print(st.env_file.read_text(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
