# dw-etl — everything runs from a fresh clone: the first target that needs the venv builds it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DATE ?= 2024-01-15
DAYS ?= 1
SCALE ?= 1.0
BENCH_SCALE ?= 1.0
export PYTHONPATH := $(CURDIR)/plugins
export DW_REPO_ROOT := $(CURDIR)

.PHONY: help venv up down status psql demo test test-fast bench lint clean

help:
	@echo "make demo [DATE=YYYY-MM-DD DAYS=1 SCALE=1.0]  whole daily pipeline on the embedded stack"
	@echo "make test                                      the test suite (starts its own stack)"
	@echo "make up | down | status | psql                 the embedded stack"
	@echo "make bench [BENCH_SCALE=1.0]                   benchmarks (bench/), figures in BENCHMARKS.md"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

up: venv
	$(PY) -m dw.local.stack up

down: venv
	$(PY) -m dw.local.stack down

status: venv
	$(PY) -m dw.local.stack status

# psql from the PostgreSQL that pgserver ships, so no client install is needed.
psql: up
	@set -a; . .local/stack.env; set +a; \
	PSQL=$$(ls $(VENV)/lib/python3*/site-packages/pgserver/pginstall/bin/psql 2>/dev/null | head -1); \
	exec $${PSQL:-psql} "$$DW_POSTGRES_URI"

demo: venv
	$(PY) -m dw.local.demo --date $(DATE) --days $(DAYS) --scale $(SCALE)

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

bench: venv
	BENCH_SCALE=$(BENCH_SCALE) $(PY) -m bench

clean: down
	rm -rf .local
