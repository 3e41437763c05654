# The front door: `make demo` and `make test` set everything up on a fresh clone (only python3 needed).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PLUGINS := $(wildcard plugins/*/pyproject.toml)

.PHONY: install install-ray native demo test agents test-clients lint typecheck format bench bench-scale tox clean

# Three levels, each a stamp in the venv, each adding to the one before:
#   run  - streamkit itself, `serve` included: what `make demo` needs (about 20 packages)
#   test - the test extras, the speed extra, psycopg (the store's PostgreSQL tests) and the
#          first-party plugins with theirs: `make test`
#   dev  - ruff, mypy and tox on top: `make install`, lint, typecheck, tox
RUN := $(VENV)/.installed-run
TEST := $(VENV)/.installed-test
DEV := $(VENV)/.installed-dev
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
# mypyc's build of the hot modules (the `native` target below)
NATIVE := streamkit/_native.stamp
NATIVE_SOURCES := streamkit/_native.py streamkit/_native_build.py streamkit/dialects/native_normalizer.py \
	streamkit/dialects/gemini/partial_args.py \
	streamkit/dialects/gemini/normalize_server.py streamkit/dialects/gemini/normalize.py streamkit/stages/normalize.py \
	streamkit/dialects/anthropic/normalize.py streamkit/dialects/openai_chat/normalize_rare.py \
	streamkit/dialects/openai_chat/normalize.py streamkit/dialects/openai_responses/normalize_blocks.py \
	streamkit/dialects/openai_responses/normalize_tools.py streamkit/dialects/openai_responses/normalize.py \
	streamkit/dialects/ollama/normalize.py
# bytecode now, so that no command compiles its modules at start-up (PYTHONDONTWRITEBYTECODE may be set)
COMPILE := $(PY) -m compileall -q

install: $(DEV) $(NATIVE)

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
	$(PIP) -e ".[test,serve,bench,postgres,native]" $(foreach p,$(PLUGINS),-e "$(dir $(p))[test]")
	@$(COMPILE) streamkit $(dir $(PLUGINS)) >/dev/null
	@touch $@

$(DEV): $(TEST)
	$(PIP) -e ".[dev]"
	@touch $@

# The hot modules compiled with mypyc, beside their sources (streamkit/_native.py lists them): made
# again when one of them changes. Where it cannot be made (no C compiler), it says why and the
# modules run as Python; the next make tries again. `make demo` does not build it.
native: $(NATIVE)
$(NATIVE): $(NATIVE_SOURCES) | $(TEST)
	@$(PY) -m streamkit._native_build || true

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
# With a compiled build, the compiled modules' own tests run once more as Python: mypyc checks
# annotations at run time, so the two forms can differ (STREAMKIT_PURE_PYTHON, streamkit/_native.py).
PURE_TESTS := tests/test_native.py tests/dialects/gemini tests/dialects/anthropic tests/dialects/openai_chat tests/dialects/openai_responses tests/dialects/ollama tests/dialects/test_base.py tests/stages/test_normalize.py \
	tests/stages/test_normalize_wire_types.py tests/stages/test_normalize_live_pipe.py tests/test_bad_input.py
test: $(TEST) $(NATIVE)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadgroup --durations=10
	@if $(PY) -c "import sys, streamkit._native as n; sys.exit(not n.compiled())"; then \
		echo "make test: the compiled modules' tests, as Python (STREAMKIT_PURE_PYTHON=1)"; \
		STREAMKIT_PURE_PYTHON=1 $(BIN)/pytest -q -n $(TEST_WORKERS) $(PURE_TESTS); fi

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

bench: $(TEST) $(NATIVE)
	$(PY) bench/run.py

# -j 1, -j 2 and a local Ray of 2 CPUs on the same 10,000 generated recordings
bench-scale: install-ray
	$(PY) bench/scale.py

tox: $(DEV)
	$(BIN)/tox

clean:
	rm -rf $(VENV) .cache .tox .pytest_cache .mypy_cache .ruff_cache build *.egg-info plugins/*/*.egg-info
	rm -f $(NATIVE) *.so; find streamkit -name '*.so' -delete
