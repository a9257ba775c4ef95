# make run   - install, migrate, load demo data once, serve web + Celery worker + beat
# make test  - ruff + the whole test suite against PostgreSQL and Redis (see README)
# make drill - the fault drills alone (tests/drills; also part of make test)
# make bench - the purchase-path benchmark (real mode; BENCH_QUICK=1 for a ~1 min smoke run of the harness)
# make api-docs - regenerate docs/API.md from the OpenAPI schema
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT
# `make run`: every process (gunicorn workers, Celery's pool) writes its metrics here; emptied at each start.
run: export PROMETHEUS_MULTIPROC_DIR ?= $(or $(DATA_DIR),var)/prometheus

.PHONY: run test drill lint bench install install-dev messages clean api-docs

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	rm -rf "$$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$$PROMETHEUS_MULTIPROC_DIR"
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@$(PY) manage.py show_urls_banner
	$(VENV)/bin/honcho start -f Procfile

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

drill: install-dev
	$(VENV)/bin/pytest -m drill -v

bench: install-dev
	$(PY) tests/perf/bench.py

api-docs: install
	$(PY) manage.py api_docs

messages: install
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore ".venv/*" --ignore "staticfiles/*" --ignore "tests/*"
	$(PY) locale/translate.py

clean:
	rm -rf var staticfiles
