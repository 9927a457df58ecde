# twinmesh — `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SERVE_ARGS ?= --demo

.PHONY: help serve test lint typecheck pytest neo4j neo4j-provision bench clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

serve: $(STAMP) ## Set up and run the demo server on the embedded store at http://127.0.0.1:8080
	$(BIN)/twinmesh serve $(SERVE_ARGS)

neo4j-provision: $(STAMP) ## Resolve the Neo4j 5.26 jars with Maven into .cache/ (idempotent)
	$(BIN)/python -m twinmesh.devtools.neo4j_server provision

neo4j: neo4j-provision ## Run the provisioned Neo4j in the foreground (for `serve --store neo4j`)
	$(BIN)/python -m twinmesh.devtools.neo4j_server run

lint: $(STAMP) ## ruff check and ruff format --check
	$(BIN)/ruff check server tests bench
	$(BIN)/ruff format --check server tests bench

typecheck: $(STAMP) ## mypy --strict on server/
	$(BIN)/mypy --strict server/twinmesh

pytest: $(STAMP) neo4j-provision ## Run the test suite (JUnit report in build/test-results.xml)
	@mkdir -p build
	$(BIN)/pytest --junitxml=build/test-results.xml

test: lint typecheck pytest ## Everything CI runs: lint, types, tests against embedded and a real Neo4j

bench: $(STAMP) ## Run the benchmarks; results in bench/results/*.json and a table
	$(BIN)/python -m bench

clean: ## Remove the virtualenv, caches and build output (keeps the Maven cache in ~/.m2)
	rm -rf $(VENV) .cache build .mypy_cache .ruff_cache .pytest_cache
