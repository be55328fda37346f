# fleettop: two commands from a fresh clone.
#   make demo   runs the console on the built-in demo (creates .venv on first use)
#   make test   runs the whole test suite, then ruff and mypy
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint typecheck bench peers snapshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(BIN)/fleettop demo

test: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

snapshots: $(STAMP)
	$(BIN)/pytest -q tests/test_snapshots.py --snapshot-update

# The baselines some benchmarks compare against (hat-drivers) live in the bench extra.
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench

# Debian peers the network tests run against (needs root; CI runs it).
peers:
	@command -v snmpd >/dev/null && command -v snmpget >/dev/null && command -v mosquitto >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq snmpd snmp mosquitto mosquitto-clients; }

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
