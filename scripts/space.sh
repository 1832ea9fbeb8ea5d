#!/bin/sh
# The Hugging Face Space image's steps, in one place: the Dockerfile runs them, and
# scripts/space_check.py runs the same steps as UID 1000 in a fresh folder (no Docker needed).
#   sh scripts/space.sh install   # venv + uv + pinned requirements + embedded models (+ engine)
#   sh scripts/space.sh prepare   # convert the embedded chat model, train the prepared states
#   sh scripts/space.sh start     # serve on $PORT
# ENGINE=foreground (default: build llama.cpp now), background, or skip.
set -eu
VENV=${VENV:-.venv}
UV_VERSION=0.13.9
export UV_SYSTEM_CERTS=1  # trust the system's CA store, as pip does
case "${1:-}" in
  install)
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -qq --disable-pip-version-check "uv==$UV_VERSION"
    set -- --quiet --python "$VENV/bin/python"
    # The CPU build of torch: the default Linux wheel pulls several GB of CUDA libraries.
    if [ -n "${TORCH_INDEX:-}" ]; then
      set -- "$@" --extra-index-url "$TORCH_INDEX" --index-strategy unsafe-best-match
    fi
    if [ -n "${PIP_FIND_LINKS:-}" ]; then set -- "$@" --find-links "$PIP_FIND_LINKS"; fi
    "$VENV/bin/uv" pip install "$@" -r requirements.txt
    "$VENV/bin/uv" pip install "$@" --no-deps -r requirements-embedded.txt
    case "${ENGINE:-foreground}" in
      foreground)
        # A portable x86-64 (AVX2) build, not one tuned to the build host's CPU.
        CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAVA_BUILD=OFF" \
          "$VENV/bin/python" scripts/engine_build.py wait ;;
      background) "$VENV/bin/python" scripts/engine_build.py start ;;
      skip) echo "llama.cpp engine: skipped (ENGINE=skip); chat streams with transformers" ;;
      *) echo "ENGINE must be foreground, background or skip" >&2; exit 2 ;;
    esac ;;
  prepare)
    HF_HUB_OFFLINE=1 "$VENV/bin/python" -m models prepare ;;
  start)
    exec "$VENV/bin/streamlit" run app.py --server.port "${PORT:-8501}" --server.address 0.0.0.0 ;;
  *)
    echo "usage: sh scripts/space.sh install|prepare|start" >&2; exit 2 ;;
esac
