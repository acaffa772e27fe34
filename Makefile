# Gazer: set up, run, test. PostgreSQL and Redis are the ones DATABASE_URL and REDIS_URL
# point at; at a local address where none answers, private ones are started from
# .services/ (scripts/services.py): demo, run, test and bench stop them when they end
# unless KEEP_SERVICES=1, setup leaves them running, services-stop stops what is left.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
SERVICES := $(PYTHON) scripts/services.py

.PHONY: setup run demo test bench lint format clean browser-setup
.PHONY: services-up services-stop services-status _run _demo _test _bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --progress-bar on -r requirements.txt
	touch $@

services-up:  ## PostgreSQL and Redis where DATABASE_URL/REDIS_URL point: started from .services/ when silent
	$(SERVICES) up

services-stop:  ## stop the PostgreSQL and Redis this checkout started (kept by KEEP_SERVICES=1 or setup)
	$(SERVICES) down

services-status:  ## whether each configured service answers, and whether this checkout started it
	$(SERVICES) status

setup: $(VENV)/.installed services-up  ## venv, pinned install, services, .env secrets, database, migrations, periodic tasks
	$(BIN)/python config/envfile.py
	$(MANAGE) ensure_database
	$(MANAGE) migrate --noinput
	$(MANAGE) setup_periodic_tasks
	$(MANAGE) collectstatic --noinput --verbosity 0

run: $(VENV)/.installed  ## web :8000, worker, LLM worker, beat and Flower :5555 under honcho (Ctrl+C stops all)
	$(SERVICES) run -- $(MAKE) --no-print-directory _run

_run: setup
	$(BIN)/honcho start -f Procfile

demo: $(VENV)/.installed  ## the whole system against the GitHub simulator (:9100): no tokens, no internet (ARGS=-v: all logs here)
	$(SERVICES) run -- $(MAKE) --no-print-directory _demo

_demo: setup
	$(BIN)/python -m workers.demo $(ARGS)

.PHONY: manage
manage: $(VENV)/.installed  ## a management command on the running system: make manage ARGS="doctor" (the demo's while it runs)
	$(if $(wildcard .env.demo),GAZER_ENV_FILE=.env.demo )$(MANAGE) $(ARGS)

browser-setup:  ## Debian's chromium and wrk (browser tests, page bench): apt-get as root, else the command
	bash scripts/browser-setup.sh

# The test settings read no .env (GAZER_DOTENV=false), so neither do the services they use.
test: $(VENV)/.installed browser-setup  ## the whole suite against real Postgres, Redis and Celery workers (ARGS: pytest's)
	GAZER_DOTENV=false $(SERVICES) run -- $(MAKE) --no-print-directory _test

_test:
	DJANGO_SETTINGS_MODULE=config.test_settings $(MANAGE) ensure_database
	$(BIN)/python -m pytest $(ARGS)

bench: $(VENV)/.installed browser-setup  ## every bench/bench_*.py (or: make bench ARGS="ghsim gateway"); writes BENCHMARKS.md
	$(SERVICES) run -- $(MAKE) --no-print-directory _bench

_bench:
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
