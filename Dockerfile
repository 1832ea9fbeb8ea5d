# Hugging Face Space (Docker SDK): non-root UID 1000, port 8501, embedded models baked in.
FROM python:3.11-slim

# Compilers for llama-cpp-python's source build.
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    PORT=8501

RUN useradd -m -u 1000 user
WORKDIR /home/user/app

COPY requirements.txt requirements-embedded.txt requirements-engine.txt ./
# The CPU build of torch (the default wheel pulls several GB of CUDA libraries).
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu \
        -r requirements.txt \
 && pip install --no-cache-dir --no-deps -r requirements-embedded.txt
# llama.cpp for fast chat decoding, built for a portable x86-64 (AVX2) CPU, not the build host.
RUN CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAVA_BUILD=OFF" \
    pip install --no-cache-dir -r requirements-engine.txt

USER user
ENV HOME=/home/user \
    GALLERY_CACHE=/home/user/.cache/transformer-gallery
COPY --chown=user . .
# Dequantize SmolLM2's GGUF once at build time so the first visitor does not wait ~15 s.
RUN HF_HUB_OFFLINE=1 python -m models prepare

EXPOSE 8501
HEALTHCHECK CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"8501\")}/_stcore/health', timeout=3)"
CMD ["sh", "-c", "streamlit run app.py --server.port ${PORT} --server.address 0.0.0.0"]
