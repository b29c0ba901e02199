# Two commands for a fresh machine: `make run` and `make test`. Only Python 3.11+ is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run run-entra test lint check-migrations messages clean

$(STAMP): requirements/base.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $(STAMP)

## Install, migrate, load the demo data and serve on http://127.0.0.1:8000 (admin/admin), with the
## notification worker and the scheduler beside the server; Ctrl-C stops all of them.
run: $(STAMP)
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py quickstart --with-workers

## Like `run`, with "Log in with Microsoft" against the built-in fake Entra ID on port 8400 (offline).
FAKE_ENTRA := ENTRA_TENANT_ID=11111111-2222-3333-4444-555555555555 ENTRA_CLIENT_ID=66666666-7777-8888-9999-000000000000 \
	ENTRA_CLIENT_SECRET=fake-secret ENTRA_AUTHORITY_URL=http://127.0.0.1:8400 GRAPH_URL=http://127.0.0.1:8400
run-entra: $(STAMP)
	trap 'kill 0' EXIT INT TERM; export DEBUG=1 $(FAKE_ENTRA); \
	$(BIN)/python manage.py fake_entra --port 8400 & \
	$(BIN)/python manage.py quickstart --with-workers

## The whole suite (SQLite unless DATABASE_URL is set), browser tests included.
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check-migrations: $(STAMP)
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

## Regenerate the translation catalogues after changing UI text (needs GNU gettext).
messages: $(STAMP)
	DEBUG=1 $(BIN)/python manage.py makemessages --locale de --ignore '.venv/*' --ignore 'static/*'
	DEBUG=1 $(BIN)/python manage.py compilemessages --locale de --ignore '.venv/*'

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles var
