# pgjobs: development targets. `make help` lists them.
# The PGXS extension build (CREATE EXTENSION pgjobs) is added by the extension issue.

PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTEST_ARGS ?=
# Tests run in parallel on every core; override with `make test XDIST=0`.
XDIST   ?= auto

export PGJOBS_TEST_DSN ?= postgresql://postgres:postgres@127.0.0.1:5432/postgres
# `make run` targets $$PGJOBS_DSN; until the embedded default lands it falls back to the
# local server the tests use.
RUN_DSN := $(or $(PGJOBS_DSN),$(DATABASE_URL),$(PGJOBS_TEST_DSN))

.DEFAULT_GOAL := help
.PHONY: help dev test test-sql test-py test-install lint fmt run clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | sort | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

dev: $(STAMP) ## Create .venv with pgjobs (editable) and the dev tools

test: $(STAMP) ## Run the whole test suite against PostgreSQL ($$PGJOBS_TEST_DSN)
	$(BIN)/pytest -n $(XDIST) $(PYTEST_ARGS) tests

test-sql: $(STAMP) ## Run only the SQL API tests (tests/sql)
	$(BIN)/pytest -n $(XDIST) $(PYTEST_ARGS) tests/sql

test-install: $(STAMP) ## Run only the install-path tests (tests/install)
	$(BIN)/pytest -n $(XDIST) $(PYTEST_ARGS) tests/install

lint: $(STAMP) ## ruff check, ruff format --check, mypy --strict
	$(BIN)/ruff check python tests
	$(BIN)/ruff format --check python tests
	$(BIN)/mypy

fmt: $(STAMP) ## Format the Python code
	$(BIN)/ruff format python tests
	$(BIN)/ruff check --fix python tests

run: $(STAMP) ## Deploy the schema to $$PGJOBS_DSN and run the SQL tour (examples/tour.sql) with psql
	$(BIN)/pgjobs deploy --dsn "$(RUN_DSN)"
	psql -X "$(RUN_DSN)" -f examples/tour.sql

clean: ## Remove the virtualenv and build output
	rm -rf $(VENV) build dist
