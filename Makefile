# casesvc: `make run` serves it, `make test` proves it. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
# Two virtualenvs: .venv-run holds only what casesvc needs at run time (requirements.lock);
# .venv adds the test and lint tools (requirements-dev.lock, a superset with the same pins).
RUN_VENV := .venv-run
VENV := .venv
BIN := $(VENV)/bin
PIP_INSTALL = python -m pip install --quiet --disable-pip-version-check
RUN_STAMP := $(RUN_VENV)/.installed-$(shell cat pyproject.toml requirements.lock | sha1sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements-dev.lock | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help setup run bench test test-fast test-sqlite test-postgres lint format lock clean screenshots

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' \
		'{ name[NR] = $$1; text[NR] = $$2; if (length($$1) > width) width = length($$1) } \
		END { for (i = 1; i <= NR; i++) printf "  %-*s  %s\n", width, name[i], text[i] }'

$(RUN_STAMP): pyproject.toml requirements.lock
	@test -x $(RUN_VENV)/bin/python || $(PYTHON) -m venv $(RUN_VENV)
	$(RUN_VENV)/bin/$(PIP_INSTALL) -c requirements.lock -e .
	@rm -f $(RUN_VENV)/.installed-*; touch $@

$(STAMP): pyproject.toml requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/$(PIP_INSTALL) -c requirements-dev.lock -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $@

setup: $(STAMP)  ## Create .venv with the pinned runtime, test and lint dependencies

run: $(RUN_STAMP)  ## Migrate the embedded SQLite database and serve on http://127.0.0.1:8000
	$(RUN_VENV)/bin/casesvc db upgrade
	$(RUN_VENV)/bin/casesvc serve --host $(HOST) --port $(PORT)

lint: setup  ## ruff (lint, import order, format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy casesvc

format: setup  ## Fix import order and formatting
	$(BIN)/ruff check --fix --select I .
	$(BIN)/ruff format .

# Each pass runs on two pytest-xdist workers, a file per worker at a time (a file's fixtures,
# such as a built wheel or a generated client, are made once); on PostgreSQL each worker has
# a database of its own (tests/conftest.py).
PARALLEL ?= -n 2 --dist loadfile

test: setup lint  ## Lint, then every layer on SQLite and on a throwaway PostgreSQL
	@echo "=== test suite on SQLite ==="
	$(BIN)/pytest $(PARALLEL)
	@echo "=== test suite on PostgreSQL ==="
	scripts/with-postgres $(BIN)/pytest -p no:cacheprovider $(PARALLEL)

test-fast: setup lint  ## Lint, then the in-process layers (unit, integration, http, cli) on SQLite (the inner loop)
	$(BIN)/pytest $(PARALLEL) tests/unit tests/integration tests/http tests/cli

test-sqlite: setup  ## The suite on SQLite only (no lint)
	$(BIN)/pytest $(ARGS)

test-postgres: setup  ## The suite on a throwaway PostgreSQL cluster only (no lint)
	scripts/with-postgres $(BIN)/pytest -p no:cacheprovider $(ARGS)

screenshots: setup  ## Refresh the web UI screenshots in docs/screenshots (needs /usr/bin/chromium)
	$(BIN)/python scripts/screenshots.py

.PHONY: loadtest
loadtest: setup  ## 20 s, 32 clients of mixed traffic against a fresh `casesvc serve` (loopback)
	$(BIN)/python -m scripts.loadtest $(ARGS)

lock:  ## Re-pin: runtime into requirements.lock, runtime + dev into requirements-dev.lock
	scripts/lock

bench: setup  ## Benchmark against bare-Flask ceilings, on SQLite and PostgreSQL (needs wrk; writes docs/performance.*)
	@command -v wrk >/dev/null || [ "$$(id -u)" != 0 ] || { export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }; }
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install wrk" >&2; exit 1; }
	scripts/with-postgres $(BIN)/python -m scripts.bench $(ARGS)

clean:  ## Remove the virtualenv and caches
	rm -rf $(VENV) $(RUN_VENV) .pytest_cache .mypy_cache .ruff_cache

# The OpenAPI document and the clients generated from it (openapi-generator needs Java 11+).
SPEC ?= docs/openapi.json
GENERATE := $(BIN)/openapi-generator-cli generate -i $(SPEC)
.PHONY: spec client client-python

spec: setup  ## Rewrite docs/openapi.json from the code (commit the result)
	$(BIN)/python -m casesvc.openapi docs/openapi.json

client: setup  ## Generate the TypeScript client into clients/typescript/ (SPEC=file or URL)
	rm -rf clients/typescript
	$(GENERATE) -g typescript-fetch -o clients/typescript

client-python: setup  ## Generate the Python client (casesvc_client) into clients/python/
	rm -rf clients/python
	$(GENERATE) -g python -o clients/python --additional-properties=packageName=casesvc_client
