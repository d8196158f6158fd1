# dw-etl — everything runs from a fresh clone: the first target that needs the venv builds it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
UI_ASSETS := plugins/dw/ui/node_modules/.package-lock.json
PY := $(VENV)/bin/python
DATE ?= 2024-01-15
DAYS ?= 1
SCALE ?= 1.0
BENCH_SCALE ?= 1.0
# plugins/ holds the dw package (what Airflow deploys); the repository root holds devstack/ and bench/.
export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)
export DW_REPO_ROOT := $(CURDIR)

.PHONY: help venv up down status psql demo migration test test-fast test-airflow airflow bench clean compose-env

help:
	@echo "make demo [DATE=YYYY-MM-DD DAYS=1 SCALE=1.0]  whole daily pipeline on the embedded stack"
	@echo "make migration NAME=add_x                      the Alembic revision the config needs (docs/decisions/0045)"
	@echo "make test                                      the test suite (starts its own stack), fast tier included"
	@echo "make test-fast                                 the server-free tier (tests/fast): no stack, under a minute"
	@echo "make up | down | status | psql                 the embedded stack"
	@echo "make airflow [DATE=... DAYS=1 SCALE=1.0]       a full Airflow 3 on the stack: http://localhost:8080 (make down stops it)"
	@echo "make test-airflow                              tests that drive that running Airflow (REST API, headless Chromium)"
	@echo "make bench [BENCH_SCALE=1.0]                   benchmarks (bench/), figures in BENCHMARKS.md"
	@echo "make compose-env                               .env for docker compose: random secrets, 0600, never committed"

venv: $(VENV)/.installed $(UI_ASSETS)

$(VENV)/.installed: requirements.txt requirements-duckdb.txt requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

# the Warehouse view's browser assets (Chart.js) from the npm registry, as package-lock.json pins
# them; without npm the view works but draws no charts
$(UI_ASSETS): plugins/dw/ui/package.json plugins/dw/ui/package-lock.json
	@if command -v npm >/dev/null; then cd plugins/dw/ui && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.package-lock.json; \
	else echo "npm not found: the Warehouse view will draw no charts (install Node.js and npm, then make venv)"; fi

up: venv
	$(PY) -m devstack.stack up

down: venv
	$(PY) -m devstack.stack down

status: venv
	$(PY) -m devstack.stack status

# psql from the PostgreSQL that pgserver ships, so no client install is needed.
psql: up
	@set -a; . .local/stack.env; set +a; \
	PSQL=$$(ls $(VENV)/lib/python3*/site-packages/pgserver/pginstall/bin/psql 2>/dev/null | head -1); \
	exec $${PSQL:-psql} "$$DW_POSTGRES_URI"

demo: venv
	$(PY) -m devstack.demo --date $(DATE) --days $(DAYS) --scale $(SCALE)

# the revision that makes what include/config/warehouse/ declares and the migrations do not
migration: venv
	@test -n "$(NAME)" || { echo "usage: make migration NAME=<what_it_does>"; exit 2; }
	$(PY) -m devstack.make_migration --name $(NAME)

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

# No servers: import contract, SQL generation, config errors, type mapping, runbook rendering.
test-fast: venv
	$(PY) -m pytest tests/fast $(PYTEST_ARGS)

# api-server, scheduler (LocalExecutor), dag-processor and triggerer on the embedded stack, its
# connections loaded, MongoDB and the vendor stand-ins seeded for DAYS days ending at DATE.
airflow: venv
	$(PY) -m devstack.airflow up --date $(DATE) --days $(DAYS) --scale $(SCALE)

# Minutes, not seconds: starts its own stack and Airflow on free ports (tests/airflow/).
test-airflow: venv
	$(PY) -m pytest -m airflow tests/airflow $(PYTEST_ARGS)

bench: venv
	BENCH_SCALE=$(BENCH_SCALE) $(PY) -m bench

compose-env:
	$(PYTHON) -m devstack.compose_env --path .env

clean: down
	rm -rf .local
