# `make run` and `make test` work on a fresh machine with Python >= 3.11.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test install lint migrate demo bench clean contract drills

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py run_scheduler --once   # announces last week's demo summary (one inbox item)

run: demo
	bin/run-dev

test: install
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

contract: install
	npm ci --prefix .ci/node --no-audit --no-fund
	bin/contract-tests

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) var db.sqlite3 db.sqlite3-* staticfiles

# Fault drills on real services (own PostgreSQL + Redis on ports 18131-18133, gunicorn, Celery worker
# and beat, a fake FCM): prints a table and fails on any loss or duplicate. Bounded to 8 minutes.
drills: install
	timeout --signal=TERM 480 $(PY) tests/drills/run.py
