"""docker-compose.yaml is safe to start (issue 15): ports on 127.0.0.1 only, every secret from the
generated .env (never in the file, never committed), one Fernet key for every Airflow container,
the warehouse through the loader and migrator logins, MongoDB with auth, pinned images."""

from __future__ import annotations

import json
import re
import stat
import subprocess

import pytest
import yaml

from dw.paths import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yaml"
VAR = re.compile(r"\$\{(\w+)(?::?[?-][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {k: str(v) for k, v in env.items()}


def test_ports_are_published_on_loopback_only(compose):
    published = 0
    for name, svc in compose["services"].items():
        for p in svc.get("ports", []):
            published += 1
            spec = p if isinstance(p, str) else f"{p.get('host_ip', '')}:{p.get('published')}:{p.get('target')}"
            assert spec.startswith("127.0.0.1:"), (name, p)
    assert published >= 4


def test_images_are_pinned(compose):
    images = [svc["image"] for svc in compose["services"].values() if "image" in svc and "build" not in svc]
    assert len(images) >= 6
    for image in images:
        name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
        assert tag and tag != "latest" and re.search(r"\d", tag), image
        assert re.fullmatch(r"\d+", tag) is None, f"{image}: a major version only is not pinned"
    build = compose["x-airflow"]["build"]["dockerfile_inline"]
    assert re.search(r"FROM apache/airflow:\d+\.\d+\.\d+", build)


SECRET_NAME = re.compile(r"(password|secret|key|token|fernet)", re.I)


def test_every_secret_comes_from_the_generated_env_file(compose):
    """No secret literal: every password/secret/key value (top level or inside a connection's JSON)
    is a ${VAR} that `make compose-env` generates."""
    from devstack.compose_env import GENERATED

    text = COMPOSE.read_text()
    used = set(VAR.findall(text)) | {m for m in re.findall(r"\$\$(\w+)", text)}
    assert used and used <= set(GENERATED) | {"POSTGRES_USER", "POSTGRES_DB"}, used - set(GENERATED)
    for name in ("dw-etl-local-jwt-secret", "change-me-local-only", "minio-secret", '"password": "dw"', "sk_test_compose"):
        assert name not in text, name

    def check(where: str, key: str, value) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                check(where, k, v)
        elif SECRET_NAME.search(key) and value not in (None, ""):
            assert VAR.fullmatch(str(value)) or str(value).startswith("/"), (where, key, value)

    for name, svc in compose["services"].items():
        for k, v in _env(svc).items():
            if k.startswith("AIRFLOW_CONN_"):
                check(f"{name}.{k}", k, json.loads(v))
            elif k.endswith("SQL_ALCHEMY_CONN") or k.endswith("RESULT_BACKEND"):
                assert "${AIRFLOW_DB_PASSWORD" in v, (name, k)
            else:
                check(f"{name}.{k}", k, v)


def test_one_fernet_key_for_every_airflow_container(compose):
    airflow = {n: s for n, s in compose["services"].items() if s.get("image") == "dw-etl-airflow:local"}
    assert {"airflow-apiserver", "airflow-scheduler", "airflow-worker", "airflow-triggerer", "airflow-dag-processor"} <= set(airflow)
    keys = {_env(s).get("AIRFLOW__CORE__FERNET_KEY") for s in airflow.values()}
    assert keys == {"${AIRFLOW_FERNET_KEY:?run make compose-env}"}


def test_the_warehouse_is_used_through_the_loader_and_migrator_logins_and_mongo_requires_auth(compose):
    env = _env(compose["services"]["airflow-worker"])
    dw = json.loads(env["AIRFLOW_CONN_POSTGRES_DW"])
    migrate = json.loads(env["AIRFLOW_CONN_POSTGRES_DW_MIGRATE"])
    wh = _env(compose["services"]["warehouse-db"])
    assert dw["login"] == "dw_etl_loader" and migrate["login"] == "dw_etl_migrator"
    assert wh["POSTGRES_USER"] not in (dw["login"], migrate["login"])
    init = (REPO_ROOT / "devstack/compose/warehouse-init.sh").read_text()
    assert "GRANT dw_loader TO dw_etl_loader;" in init and "SUPERUSER" not in init.upper().replace("SUPERUSER_PASSWORD", "")
    assert not re.search(r"GRANT [^;]*dw_owner[^;]* TO dw_etl_loader", init)
    mongo = _env(compose["services"]["mongodb"])
    assert VAR.fullmatch(mongo["MONGO_INITDB_ROOT_PASSWORD"]) and VAR.fullmatch(mongo["MONGO_INITDB_ROOT_USERNAME"])
    conn = json.loads(env["AIRFLOW_CONN_MONGO_APP"])
    assert conn["login"] and conn["password"] and conn["extra"]["authSource"] == "admin"
    for conn_id in ("STRIPE_API", "AMPLITUDE_API", "CHARGIFY_API"):  # plain http on loopback only
        assert json.loads(env[f"AIRFLOW_CONN_{conn_id}"])["host"] == "127.0.0.1"
    assert compose["services"]["vendor-standins"]["network_mode"] == "service:airflow-worker"


def test_make_generates_the_env_file_0600_and_git_ignores_it(tmp_path):
    from devstack.compose_env import GENERATED, read_env, write_env

    path = tmp_path / ".env"
    first = write_env(path)
    assert set(first) == set(GENERATED) and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert write_env(path) == first == read_env(path)  # generated once, then kept
    assert "compose-env:" in (REPO_ROOT / "Makefile").read_text()
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO_ROOT)
    assert ignored.returncode == 0
    tracked = subprocess.run(["git", "ls-files", ".env"], cwd=REPO_ROOT, capture_output=True, text=True).stdout
    assert tracked == ""


def test_the_init_container_creates_the_pools_the_dags_use(compose):
    """A task whose pool does not exist is never scheduled: airflow-init creates every pool of
    include/config/airflow.yaml with its slots (docs/decisions/0021)."""
    from dw.config import airflow_config

    steps = [s.strip() for s in compose["services"]["airflow-init"]["command"][-1].split("&&")]
    for p in airflow_config().pools.values():
        (step,) = [s for s in steps if s.startswith(f"airflow pools set {p.name} {p.slots} ")]
        assert step.endswith("--include-deferred") == p.include_deferred, step
