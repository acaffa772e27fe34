# Gazer: set up, run, test. Needs PostgreSQL and Redis reachable (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py

.PHONY: setup run demo test bench lint format clean browser-setup

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --progress-bar on -r requirements.txt
	touch $@

setup: $(VENV)/.installed  ## venv, pinned install, .env secrets, database, migrations, periodic tasks
	$(BIN)/python config/envfile.py
	$(MANAGE) ensure_database
	$(MANAGE) migrate --noinput
	$(MANAGE) setup_periodic_tasks
	$(MANAGE) collectstatic --noinput --verbosity 0

run: setup  ## web :8000, worker, LLM worker, beat and Flower :5555 under honcho (Ctrl+C stops all)
	$(BIN)/honcho start -f Procfile

demo: setup  ## the whole system against the GitHub simulator (:9100): no tokens, no internet (ARGS=-v: all logs here)
	$(BIN)/python -m workers.demo $(ARGS)

.PHONY: manage
manage: $(VENV)/.installed  ## a management command on the running system: make manage ARGS="doctor" (the demo's while it runs)
	$(if $(wildcard .env.demo),GAZER_ENV_FILE=.env.demo )$(MANAGE) $(ARGS)

browser-setup:  ## Debian's chromium and wrk (browser tests, page bench): apt-get as root, else the command
	bash scripts/browser-setup.sh

test: $(VENV)/.installed browser-setup  ## the whole suite against real Postgres, Redis and Celery workers
	DJANGO_SETTINGS_MODULE=config.test_settings $(MANAGE) ensure_database
	$(BIN)/python -m pytest

bench: $(VENV)/.installed browser-setup  ## every bench/bench_*.py (or: make bench ARGS="ghsim gateway"); writes BENCHMARKS.md
	$(BIN)/python config/envfile.py
	$(BIN)/python -m bench $(ARGS)

lint: $(VENV)/.installed  ## ruff, and the app graph's import contracts (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
