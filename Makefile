# fleettop: two commands from a fresh clone.
#   make demo   runs the console on the built-in demo (creates .venv on first use)
#   make test   runs the whole test suite (in parallel), ruff, import-linter and mypy
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | cksum | cut -d' ' -f1)
# Recordings of real devices for the tests (tests/snmpsim_peers.py), installed without
# their dependencies (they pin pysmi < 2; fleettop uses pysmi 2).
RECORDINGS := snmpsim-data>=1.0,<2

.PHONY: demo test lint typecheck bench peers snapshots clean

# uv (Astral's installer, from PyPI) installs the project and its dependencies: 2 s
# where pip takes 37 s on a clean clone here (with the bytecode compiled in parallel, so
# the test workers do not each compile the same modules at start).
# pip is the fallback when uv cannot be installed or fails.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	{ $(BIN)/pip install --quiet --disable-pip-version-check uv && \
	  $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev]' && \
	  $(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps '$(RECORDINGS)'; } || \
	  { $(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]' && \
	    $(BIN)/pip install --quiet --disable-pip-version-check --no-deps '$(RECORDINGS)'; }
	rm -f $(VENV)/.installed-*
	touch $@

# The project's bytecode is written first (only what changed: ~70 ms when nothing did),
# so the console starts from it even where PYTHONDONTWRITEBYTECODE is set (every start
# would compile fleettop's modules from source again: ~0.3 s of a 1.3 s start).
demo: $(STAMP)
	@$(BIN)/python -m compileall -q console widgets screens themes >/dev/null
	$(BIN)/fleettop demo

# The suite runs on $(WORKERS) pytest-xdist workers (peers listen on free ports,
# every test has its own data directory); `--dist worksteal` hands out single tests and
# lets an idle worker take over another's queue, so no long module runs alone at the
# end (a module-scoped fixture, snmpd or the demo fleet, may start once per worker
# that runs its module: ~50 ms each; 170 s against loadfile's 178 s here).
# mypy and the linters (ruff, import-linter) run beside pytest (CPU work while the
# tests wait on peers); their output follows the tests'.
# The project's bytecode is compiled first (in parallel, only what changed), so the
# workers do not each compile the same modules as they start.
# `make test PYTEST_ARGS='-m "not peer"'` runs the fast set.
# Four workers on this 2-core machine: the tests wait on peers and polls a fifth of
# the time, so a third worker left a core idle (make test: 205 s with 3, 178 s with 4).
WORKERS ?= 4

test: $(STAMP)
	@$(BIN)/mypy >$(VENV)/mypy.out 2>&1 & mypy=$$!; \
	{ $(BIN)/ruff check . && $(BIN)/ruff format --check . && \
	  $(BIN)/lint-imports --no-cache --no-logo; } >$(VENV)/lint.out 2>&1 & lint=$$!; \
	$(BIN)/python -m compileall -q -j 0 console widgets screens themes tests bench >/dev/null; \
	$(BIN)/pytest -q -p no:cacheprovider -n $(WORKERS) --dist worksteal $(PYTEST_ARGS); rc=$$?; \
	wait $$lint || rc=1; cat $(VENV)/lint.out; \
	wait $$mypy || rc=1; cat $(VENV)/mypy.out; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache --no-logo

typecheck: $(STAMP)
	$(BIN)/mypy

snapshots: $(STAMP)
	$(BIN)/pytest -q tests/test_snapshots.py --snapshot-update

# The baselines some benchmarks compare against (hat-drivers) live in the bench extra.
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench

# Debian peers the network tests run against (needs root; CI runs it); chromium is the
# browser tests/test_serve_browser.py drives with Playwright (by its path: no download).
peers:
	@command -v snmpd >/dev/null && command -v snmpget >/dev/null && command -v mosquitto >/dev/null && \
	  command -v tmux >/dev/null && command -v chromium >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq snmpd snmp mosquitto mosquitto-clients tmux chromium; }

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
