# wtg — two commands on a fresh machine:
#   make demo   creates the venv, installs, runs the whole season end to end (embedded default)
#               options go through ARGS, e.g.  make demo ARGS=--web
#   make test   the whole suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: venv demo test test-fast lint bench browser speech services clean

$(STAMP): pyproject.toml
	@$(PY) -c 'import sys; assert sys.version_info >= (3, 11), "wtg needs Python 3.11+"'
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@# setuptools says "Editable installation … be careful with folders …" for every editable
	@# install (information, not a problem); every other warning stays visible
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

ARGS ?=
demo: venv
	@$(BIN)/wtg demo $(ARGS)

# Headless Chromium for the dashboard's browser tests (Debian's package; never a download).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	  else echo "Bitte 'sudo apt-get install chromium' ausführen (für die Browsertests)."; exit 1; fi; \
	fi

# German speech synthesis for the realistic test media (tests/media/corpus.py; Debian's package).
speech:
	@if ! command -v espeak-ng >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null); \
	  else echo "Bitte 'sudo apt-get install espeak-ng' ausführen (für die Medientests)."; exit 1; fi; \
	fi

# PostgreSQL and Redis for the integration tests: start them if this machine has them but
# they are not running (CI machines start them already).
services:
	@bash scripts/ensure-services.sh

test: venv browser speech services
	$(BIN)/pytest -q -p no:cacheprovider --durations=15

test-fast: venv speech
	$(BIN)/pytest -q -m "not browser"

lint: venv
	$(BIN)/ruff check .

bench: venv
	$(BIN)/python bench/run_all.py

clean:
	rm -rf var/demo .pytest_cache
