# Hugging Face Space (Docker SDK): non-root UID 1000, port 8501, embedded models baked in.
# The steps live in scripts/space.sh; `make space-check` runs them as UID 1000 without Docker.
FROM python:3.11-slim

# Compilers for llama-cpp-python's source build.
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*

RUN useradd -m -u 1000 user
USER user
ENV HOME=/home/user \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    GALLERY_CACHE=/home/user/.cache/transformer-gallery \
    TORCH_INDEX=https://download.pytorch.org/whl/cpu \
    PORT=8501
WORKDIR /home/user/app

COPY --chown=user requirements.txt requirements-embedded.txt requirements-engine.txt ./
COPY --chown=user scripts/space.sh scripts/engine_build.py scripts/
RUN sh scripts/space.sh install
COPY --chown=user . .
# Convert SmolLM2's GGUF and train the prepared states once, at build time, so the first visitor
# does not wait and every lesson opens on its trained state.
RUN sh scripts/space.sh prepare

EXPOSE 8501
HEALTHCHECK CMD .venv/bin/python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"8501\")}/_stcore/health', timeout=3)"
CMD ["sh", "scripts/space.sh", "start"]
