# `make run` and `make test` set everything up on a fresh machine (a virtual environment in .venv).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi

.PHONY: install run test lint format screenshots bench soak faults deploy-smoke

# axe-core for the browser tests' accessibility checks (npm; skipped when npm is missing).
node_modules/.installed: package.json package-lock.json
	if command -v npm >/dev/null; then npm ci --no-audit --no-fund --silent && touch $@; fi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The embedded defaults: SQLite under instance/, the development mailbox, demo data. `.flaskenv`
# (git-ignored, written only here) lets `.venv/bin/flask --app wsgi …` run against the same local setup;
# a production checkout never has one, so outside it every setting must be given.
run: export FLASK_DEVELOPMENT ?= true
run: export FLASK_PUBLIC_URL ?= http://$(HOST):$(PORT)
run: $(STAMP)
	printf '# Written by `make run` for local development; never used in production.\nFLASK_DEVELOPMENT=%s\nFLASK_PUBLIC_URL=%s\n' "$$FLASK_DEVELOPMENT" "$$FLASK_PUBLIC_URL" > .flaskenv
	$(FLASK) db upgrade
	$(FLASK) demo seed
	$(FLASK) run --host $(HOST) --port $(PORT)

# The suite in TEST_WORKERS processes (pytest-xdist): each has its own PostgreSQL cluster, Chromium and
# servers on free ports. TEST_WORKERS=0 runs it in this process (what a failing test is easier to read in).
TEST_WORKERS ?= 2
test: $(STAMP) node_modules/.installed
	$(BIN)/pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS))

# Re-take the README's screenshots (docs/screenshots) with the browser tests.
screenshots: $(STAMP) node_modules/.installed
	SCREENSHOTS=1 $(BIN)/pytest tests/browser

# National scale (docs/performance.md): not part of `make test`. Each starts a throwaway PostgreSQL
# cluster unless DATABASE_URL is set; see bench/run.py, bench/soak.py and bench/faults.py for settings.
bench: $(STAMP)
	$(BIN)/python -m bench.run

soak: $(STAMP)
	$(BIN)/python -m bench.soak

faults: $(STAMP)
	$(BIN)/python -m bench.faults

# docs/deploy.md tried as written on loopback: two app servers, PostgreSQL, Redis, the workers, nginx
# (also run by `make test`, tests/deploy).
deploy-smoke: $(STAMP)
	$(BIN)/python -m bench.deploy_smoke

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
