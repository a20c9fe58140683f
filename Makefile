# clusterqi: the two set-up commands are `make demo` and `make test` (see README.md).
# Both install what they need into .venv/ at the repo root on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help install demo test lab bench chromium axe clean

help:
	@echo "make demo    synthetic Scotland -> every cluster's report in reports/demo/"
	@echo "make test    the test suite (installs chromium for the browser tests when run as root)"
	@echo "make lab     JupyterLab on notebooks/ (the live explorer)"
	@echo "make bench   the benchmarks under benchmarks/"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench,dask]'
	touch $(STAMP)

install: $(STAMP)

# Debian's chromium for the browser tests (playwright cannot download its own browser here).
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation fonts-dejavu-core >/dev/null; \
	else echo "chromium not found and cannot install it (not root): browser tests will skip (fail under CI=true)"; fi

# axe-core for the accessibility test (npm registry; into the gitignored .axe/).
AXE := .axe/node_modules/axe-core/axe.min.js
axe: $(AXE)
$(AXE):
	@if command -v npm >/dev/null; then \
	  npm install --no-save --no-audit --no-fund --prefix .axe axe-core@4 >/dev/null; \
	else echo "npm not found: the axe-core accessibility test will skip (fail under CI=true)"; fi

demo: $(STAMP)
	$(BIN)/clusterqi demo

test: $(STAMP) chromium axe
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/indicators.py
	$(BIN)/python benchmarks/batch.py

clean:
	rm -rf .cache reports .pytest_cache .hypothesis
