# Two commands: `make run` and `make test`. Both create .venv/ and install pinned dependencies.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
# uv installs the pinned requirements in seconds; torch comes from the machine's local wheels
# when PIP_FIND_LINKS names them (pip's own variable, passed through to uv).
UV_VERSION := 0.13.9
FIND_LINKS := $(if $(PIP_FIND_LINKS),--find-links $(PIP_FIND_LINKS),)
UV_INSTALL := $(BIN)/uv pip install --quiet --python $(BIN)/python $(FIND_LINKS)
# Trust the system's CA store (pip does; uv's bundled roots miss proxies' certificates).
export UV_SYSTEM_CERTS := 1

.PHONY: setup run test lint format bench browser-deps prepare preflight space-check engine clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-embedded.txt requirements-engine.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/python -m pip install -qq --disable-pip-version-check uv==$(UV_VERSION)
	$(UV_INSTALL) -r requirements.txt -r requirements-dev.txt
	$(UV_INSTALL) --no-deps -r requirements-embedded.txt
	touch $@
	@# llama.cpp compiles for minutes: off the critical path (the app picks it up when ready).
	@$(BIN)/python scripts/engine_build.py start

# Wait for (or run) the llama.cpp build.
engine: setup
	@$(BIN)/python scripts/engine_build.py wait

# Train/convert every prepared state once (cached in ~/.cache/transformer-gallery).
prepare: setup
	HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-1} $(BIN)/python -m models prepare

# Before a talk: load every model, build every prepared state, warm every page; green/red list.
preflight: setup
	$(BIN)/python -m scripts.preflight

run: setup
	$(BIN)/streamlit run app.py --server.port $${PORT:-$(PORT)} --server.address $${ADDRESS:-0.0.0.0}

# Debian's Chromium for the browser tests (Playwright's own browser download is not used).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The llama.cpp build `make setup` started goes on (niced) while the tests run; the fast
# engine's tests wait for it (tests/test_engine.py).
test: setup browser-deps lint
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q --durations=30

bench: setup browser-deps engine
	HF_HUB_OFFLINE=1 $(BIN)/python -m scripts.bench

# The Space image's install and start steps as UID 1000 in a fresh folder, then /_stcore/health.
space-check: setup
	$(BIN)/python -m scripts.space_check

clean:
	rm -rf $(VENV) .pytest_cache
