# SafePassage: `make demo` and `make test` are the whole set-up; the rest are helpers.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# `make airflow AIRFLOW_PORT=8081` runs it beside another Airflow
AIRFLOW_PORT ?= 8080
# Three pytest workers on two cores: the third fills the time the others wait on Airflow or a platform.
TEST_WORKERS ?= 3
# Two tests at a time per worker at most, handed out as workers free up: the longest tests, sorted
# first (tests/conftest.py), then run side by side instead of queueing behind each other.
PARALLEL = -n $(TEST_WORKERS) --maxschedchunk=1

.PHONY: demo demo-ui test proof lint typecheck pytest bench chaos fmt lock venv clean airflow cluster

# The product, then beside it (never in its image) the ad-platform emulators and the development helpers.
$(STAMP): pyproject.toml requirements.lock emulators/pyproject.toml dev/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e . -e emulators -e dev
	touch $@

venv: $(STAMP)

demo: $(STAMP)  ## replays 2022 through its own Airflow in data/demo/ (scheduler, events, reviews)
	$(BIN)/safepassage demo

demo-ui: $(STAMP)  ## the last demo's runs, plans and pages on http://127.0.0.1:8080
	$(BIN)/safepassage demo ui

test: lint  ## every feature proved at least once, in minutes (docs/testing.md)
	@# mypy (one process, ~25 s cold) runs beside the tests, which spend part of their time waiting
	@$(MAKE) --no-print-directory -j2 typecheck pytest

proof: $(STAMP)  ## the long forms (all of 2022, 3 re-runs of every task, full properties, Celery), then chaos
	SAFEPASSAGE_TIER=proof $(BIN)/pytest -m "proof or cluster or hypothesis" $(PARALLEL) --durations=30 $(PYTEST_ARGS)
	$(BIN)/python -m bench chaos

airflow: $(STAMP)  ## Airflow on http://127.0.0.1:$(AIRFLOW_PORT), pools and warehouse ready; prints what would make a task wait
	$(BIN)/safepassage up --port $(AIRFLOW_PORT)

cluster: $(STAMP)  ## the production shape here: 2 Celery workers run the judgement chain, one is lost; prints the time
	$(BIN)/pytest -m cluster tests/e2e/test_celery_cluster.py -s -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -m "not cluster and not proof" $(PARALLEL) --durations=30 $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

chaos: $(STAMP)  ## the whole chain under 500+ sandbox faults and killed tasks equals the fault-free run; figures in bench/results/chaos.json
	$(BIN)/python -m bench chaos

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --quiet -o requirements.lock

clean:
	rm -rf $(VENV) .airflow data
