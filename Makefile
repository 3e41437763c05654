# The front door: `make demo` and `make test` set everything up on a fresh clone (only python3 needed).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PLUGINS := $(wildcard plugins/*/pyproject.toml)

.PHONY: install install-ray demo test agents test-clients lint typecheck format bench bench-scale tox clean

# Three levels, each a stamp in the venv, each adding to the one before:
#   run  - streamkit itself, `serve` included: what `make demo` needs (about 20 packages)
#   test - the test extras, the speed extra, psycopg (the store's PostgreSQL tests) and the
#          first-party plugins with theirs: `make test`
#   dev  - ruff, mypy and tox on top: `make install`, lint, typecheck, tox
RUN := $(VENV)/.installed-run
TEST := $(VENV)/.installed-test
DEV := $(VENV)/.installed-dev
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
# bytecode now, so that no command compiles its modules at start-up (PYTHONDONTWRITEBYTECODE may be set)
COMPILE := $(PY) -m compileall -q

install: $(DEV)

$(RUN): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# (an editable install of a pyproject.toml project needs pip 21.3: the first Python 3.10 releases
	@# make venvs with an older one)
	@$(PY) -c "import pip, sys; sys.exit(tuple(map(int, pip.__version__.split('.')[:2])) < (21, 3))" \
		|| $(PIP) --upgrade pip
	$(PIP) -e .
	@$(COMPILE) streamkit >/dev/null
	@touch $@

$(TEST): $(RUN) $(PLUGINS)
	$(PIP) -e ".[test,serve,bench,postgres]" $(foreach p,$(PLUGINS),-e "$(dir $(p))[test]")
	@$(COMPILE) streamkit $(dir $(PLUGINS)) >/dev/null
	@touch $@

$(DEV): $(TEST)
	$(PIP) -e ".[dev]"
	@touch $@

# Opt-in: Ray (the streamkit[ray] extra, ~1 min to install) for convert --engine ray and its tests
install-ray: $(TEST)
	$(PIP) -e ".[ray]"

demo: $(RUN)
	@PATH="$(CURDIR)/$(BIN):$$PATH" sh examples/demo.sh

# One xdist worker more than there are cores: a test spends about a quarter of its time waiting
# (on servers starting, timeouts it provokes, child processes), and the extra worker runs then.
# Measured on this project's 2-core machine: 2 workers 278 s, 3 workers 235 s, 4 workers 261-273 s.
# loadgroup: the tests marked xdist_group("ray") share one worker, and so one local Ray.
TEST_WORKERS ?= $(shell $(PYTHON) -c "import os; print(len(os.sched_getaffinity(0)) + 1)")
test: $(TEST)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadgroup --durations=10

# Opt-in: real coding agents (Claude Code, the Codex CLI, the Gemini CLI, OpenCode) from npm, in a
# cache folder, through the gateway, headless, with dummy keys and no network beyond loopback. Needs
# node and npm. Versions pinned: a new release of any is tried on purpose, not by a CI run.
AGENTS_DIR ?= .cache/agents
AGENTS := @anthropic-ai/claude-code@2.1.197 @openai/codex@0.171.0 @google/gemini-cli@0.61.0 opencode-ai@1.18.33
agents:
	@mkdir -p $(AGENTS_DIR)
	cd $(AGENTS_DIR) && npm install --silent --no-audit --no-fund $(AGENTS)

test-clients: $(TEST) agents
	@$(AGENTS_DIR)/node_modules/.bin/claude --version; $(AGENTS_DIR)/node_modules/.bin/codex --version
	@$(AGENTS_DIR)/node_modules/.bin/gemini --version; $(AGENTS_DIR)/node_modules/.bin/opencode --version
	STREAMKIT_AGENTS=$(CURDIR)/$(AGENTS_DIR)/node_modules/.bin $(BIN)/pytest -q tests/serve/test_coding_agents.py

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV)
	$(BIN)/mypy

format: $(DEV)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(TEST)
	$(PY) bench/run.py

# -j 1, -j 2 and a local Ray of 2 CPUs on the same 10,000 generated recordings
bench-scale: install-ray
	$(PY) bench/scale.py

tox: $(DEV)
	$(BIN)/tox

clean:
	rm -rf $(VENV) .cache .tox .pytest_cache .mypy_cache .ruff_cache build *.egg-info plugins/*/*.egg-info
