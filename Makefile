# IEC on Dagster. Every target runs `setup` first; `setup` is idempotent.
SHELL := /bin/bash
VENV := .venv
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.iec/dagster_home
PORT ?= 3000

.PHONY: setup demo demo-ui test test-fast ui bench lint postgres chromium redis cluster-demo clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/find-python
	@py=$$(scripts/find-python) || exit 1; \
	if [ ! -x $(VENV)/bin/python ] || ! $(VENV)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then \
	  rm -rf $(VENV); "$$py" -m venv $(VENV) || exit 1; \
	fi
	@$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
	@$(VENV)/bin/uv pip install --quiet --python $(VENV)/bin/python --compile-bytecode -c constraints.txt -e '.[dev]'
	@$(VENV)/bin/python -m compileall -q iec_pipeline drivers bench >/dev/null
	@touch $(STAMP)
	@echo "setup: $(VENV) ready ($$($(VENV)/bin/python --version)); run .venv/bin/iec --help"

postgres: setup
	@scripts/ensure-postgres

demo: setup postgres
	@$(VENV)/bin/python -m devtools.demo

# After `make demo`: its Akeneo (mock) and Magento sandbox again, and the Dagster UI on them (Ctrl-C stops all).
demo-ui: setup postgres
	@$(VENV)/bin/python -m devtools.demo_ui --port $(PORT)

# Headless Chromium for the browser test (Debian's package, installed with apt when missing).
chromium:
	@scripts/ensure-chromium >/dev/null

# redis-server (Debian's package) for the Celery tests; they start their own on a free loopback port.
redis:
	@scripts/ensure-redis >/dev/null

# deploy/'s topology on one machine: PostgreSQL, Redis, the daemon, the webserver, two Celery workers;
# 2,000 products delivered through it, then everything it started stopped. PRODUCTS=N to change.
cluster-demo: setup postgres redis
	@$(VENV)/bin/python -m devtools.cluster --products $${PRODUCTS:-2000}

test: setup postgres chromium redis
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/pytest -q $(PYTEST_ARGS)

# The fast layer: pure functions, the definitions, SQLite stores and the in-memory driver; no peer needed.
test-fast: setup
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/pytest -q -m fast $(PYTEST_ARGS)

ui: setup
	@$(VENV)/bin/iec db upgrade
	@$(VENV)/bin/iec ui --port $(PORT)

bench: setup postgres
	@$(VENV)/bin/python -m bench

lint: setup
	@$(VENV)/bin/ruff check .

clean:
	rm -rf .iec
