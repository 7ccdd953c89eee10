# QualityGov: `make run` serves the app with demo data, `make test` runs the whole suite.
# Only Python 3.11+ is needed; everything else goes into .venv (see scripts/setup.sh).
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
DOCS_PORT ?= 8001
# The whole suite runs in one pytest-xdist process per core, each with a test database and a Redis database of its
# own (qualitygov/settings/test.py); PYTEST_WORKERS=0 runs it in this one process. A worker that runs out of tests
# takes half of another's queue (--dist worksteal), and the slowest modules run first (tests/conftest.py).
PYTEST_WORKERS ?= auto

.PHONY: help run test setup lint format worker beat docs docs-build corpus

help:
	@echo "make run     install, migrate, seed demo data once, backfill metrics, evaluate gates, serve on http://$(HOST):$(PORT)"
	@echo "make test    install test extras and headless Chromium, run the whole suite (PYTEST_ARGS=... to narrow)"
	@echo "make setup   the same installs as make test, plus migrations, without running anything"
	@echo "make lint    ruff check"
	@echo "make worker  a Celery worker (needs REDIS_URL)"
	@echo "make beat    Celery beat, the scheduler (needs REDIS_URL)"
	@echo "make docs    serve the documentation site (MkDocs) on http://$(HOST):$(DOCS_PORT)"
	@echo "make docs-build  build the documentation into site/ with mkdocs build --strict (CI does)"
	@echo "make corpus  run real test runners on corpus/ suites, refresh corpus/reports (RUNNERS=\"pytest go\" for some)"

run:
	@scripts/setup.sh venv run
	@scripts/setup.sh app
	$(PY) manage.py backfill_metrics --days 30 --if-empty
	$(PY) manage.py evaluate_gates --if-never
	@echo "QualityGov on http://$(HOST):$(PORT)/  (demo users: admin, qa, manager, rm, viewer; password qualitygov-demo)"
	$(PY) manage.py runserver $(HOST):$(PORT)

test:
	@scripts/setup.sh venv test
	@scripts/setup.sh chromium
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

setup:
	@scripts/setup.sh venv test
	@scripts/setup.sh chromium
	$(PY) manage.py migrate --noinput

lint:
	@scripts/setup.sh venv test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format:
	$(VENV)/bin/ruff format .

worker:
	@scripts/setup.sh venv run
	$(VENV)/bin/celery -A qualitygov worker -l info --concurrency 2

beat:
	@scripts/setup.sh venv run
	$(VENV)/bin/celery -A qualitygov beat -l info --schedule $(VENV)/celerybeat-schedule

docs:
	@scripts/setup.sh venv test
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --dev-addr $(HOST):$(DOCS_PORT)

docs-build:
	@scripts/setup.sh venv test
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

corpus:
	scripts/corpus.sh $(RUNNERS)
