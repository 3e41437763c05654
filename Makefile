# The front door: `make demo` and `make test` set everything up on a fresh clone (only python3 needed).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PLUGINS := $(wildcard plugins/*/pyproject.toml)
STAMP := $(VENV)/.installed

.PHONY: install demo test agents test-clients lint typecheck format bench tox clean

install: $(STAMP)

$(STAMP): pyproject.toml $(PLUGINS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]" $(foreach p,$(PLUGINS),-e "$(dir $(p))[test]")
	@# bytecode now, so that no command compiles its modules at start-up (PYTHONDONTWRITEBYTECODE may be set)
	$(PY) -m compileall -q streamkit $(dir $(PLUGINS)) >/dev/null
	@touch $(STAMP)

demo: install
	@PATH="$(CURDIR)/$(BIN):$$PATH" sh examples/demo.sh

test: install
	$(BIN)/pytest -q -n auto

# Opt-in: real coding agents (Claude Code, the Codex CLI) from npm, in a cache folder, through the
# gateway, headless, with dummy keys and no network beyond loopback. Needs node and npm.
# Versions pinned: a new release of either is tried on purpose, not by a CI run.
AGENTS_DIR ?= .cache/agents
AGENTS := @anthropic-ai/claude-code@2.1.197 @openai/codex@0.171.0
agents:
	@mkdir -p $(AGENTS_DIR)
	cd $(AGENTS_DIR) && npm install --silent --no-audit --no-fund $(AGENTS)

test-clients: install agents
	@$(AGENTS_DIR)/node_modules/.bin/claude --version; $(AGENTS_DIR)/node_modules/.bin/codex --version
	STREAMKIT_AGENTS=$(CURDIR)/$(AGENTS_DIR)/node_modules/.bin $(BIN)/pytest -q tests/serve/test_coding_agents.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(PY) bench/run.py

tox: install
	$(BIN)/tox

clean:
	rm -rf $(VENV) .cache .tox .pytest_cache .mypy_cache .ruff_cache build *.egg-info plugins/*/*.egg-info
