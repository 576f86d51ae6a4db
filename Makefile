# Fynlo POS. `make help` lists the targets; `make run` and `make test` are all a newcomer needs.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
SWIFT_PACKAGES := $(wildcard ios/*/Package.swift)

export PICCOLO_CONF := server.db.piccolo_conf
export PYTHONPATH := $(CURDIR)

.PHONY: help run test test-python test-swift lint format bench bench-quick migrations openapi clean \
	system-run system-test

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

# The machine's packages first (installed as root, else the exact command is printed).
system-run:
	@PYTHON=$(PYTHON) scripts/system-packages run

system-test:
	@PYTHON=$(PYTHON) scripts/system-packages test

$(BIN)/fynlo: pyproject.toml | system-run
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: system-run $(BIN)/fynlo ## Start PostgreSQL, migrate, load demo data and serve on 127.0.0.1:$(PORT)
	FYNLO_PORT=$(PORT) exec $(BIN)/fynlo dev

test: test-python test-swift ## Run every test (Python on a throwaway PostgreSQL, then Swift)

test-python: system-test $(BIN)/fynlo ## Run the Python tests
	$(BIN)/pytest

test-swift: system-test $(BIN)/fynlo ## Run every ios/*/Package.swift's tests, the live ones against a throwaway server
	$(BIN)/python -m tests.swift_harness $(patsubst %/Package.swift,%,$(SWIFT_PACKAGES))

# Before a release: the fuzzer, the convergence property and the crash test at full size.
test-release: system-test $(BIN)/fynlo ## The long runs: 1,000 fuzz examples per operation and 1,000 link scenarios, 1,000 convergence examples, 100 crash runs
	FUZZ_EXAMPLES=1000 FUZZ_STATEFUL_EXAMPLES=1000 SYNC_CONVERGENCE_EXAMPLES=1000 SYNC_CRASH_RUNS=100 \
		$(BIN)/pytest tests/integration/test_schemathesis.py tests/integration/sync/test_convergence.py \
		tests/e2e/test_sync_crash.py

lint: $(BIN)/fynlo ## Ruff (lint and format) and mypy on server/
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(BIN)/fynlo ## Reformat the code and fix what ruff can
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Every benchmark, in this order; one absent from the tree is skipped with a message.
BENCHES := load.bench load.reads_bench load.sync_bench load.payments_bench load.realtime_bench \
	load.signin_bench
BENCH_RESULTS_DIR := bench-results

bench: $(BIN)/fynlo ## Run every benchmark, then one summary table of every target (results in bench-results/)
	FYNLO_BENCH_RESULTS=$(BENCH_RESULTS_DIR)/$$(date -u +%Y%m%dT%H%M%SZ).jsonl \
		$(BIN)/python -m load.run_benches $(BENCHES)

bench-quick: $(BIN)/fynlo ## The same, smaller (under two minutes); fails only if a benchmark breaks
	BENCH_QUICK=1 FYNLO_BENCH_RESULTS=$(BENCH_RESULTS_DIR)/$$(date -u +%Y%m%dT%H%M%SZ)-quick.jsonl \
		$(BIN)/python -m load.run_benches $(BENCHES)

migrations: $(BIN)/fynlo ## Generate migrations for model changes: make migrations APP=orders
	$(BIN)/piccolo migrations new $(APP) --auto --desc="$(or $(DESC),schema change)"

openapi: $(BIN)/fynlo ## Regenerate shared/schema/openapi.json from the code
	$(BIN)/python -m server.openapi_export shared/schema/openapi.json
	$(BIN)/python -m server.sync.schema_export shared/schema/sync
	$(BIN)/python -m server.realtime.schema_export shared/schema/realtime

clean: ## Remove the virtualenv (keeps .fynlo/, the dev database)
	rm -rf $(VENV)
