"""The Space image, checked without Docker: the Dockerfile's install and start steps
(`scripts/space.sh`) run as UID 1000 in a fresh folder, then `/_stcore/health` must answer ok.

    python -m scripts.space_check [--keep] [--engine skip|background|foreground]

What it catches: a file the image needs that git does not track, an install step that only works
with this machine's caches, the app writing where UID 1000 cannot, a start command that does not
serve. It copies the checkout's files (tracked plus untracked-but-not-ignored: what `docker build`
would see, minus .dockerignore), creates a fresh HOME, venv and uv cache, and runs as UID 1000
(when run as root; otherwise as the current user, and says so). The llama.cpp build is skipped by
default (`--engine skip`): it is the same code path as `make setup` and takes minutes. Prints one
JSON line: install_s, health_s, uid, ok.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UID = 1000


def _files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    ignored = [
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return [f for f in out if (ROOT / f).is_file() and f.split("/")[0] not in ignored]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user(uid: int | None) -> list[str]:
    if uid is None:
        return []
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]


def _health(port: int, timeout: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.5)
    return None


def check(engine: str = "skip", keep: bool = False, health_timeout: float = 180) -> dict:
    uid = UID if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="space-check-"))
    app, home = base / "app", base / "home"
    for rel in _files():
        dst = app / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dst)
    home.mkdir()
    if uid is not None:
        for p in [base, *base.rglob("*")]:
            os.chown(p, uid, uid)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "GALLERY_CACHE": str(home / ".cache" / "transformer-gallery"),
        "UV_CACHE_DIR": str(home / ".cache" / "uv"),
        "PIP_NO_CACHE_DIR": "1",
        "ENGINE": engine,
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("PIP_FIND_LINKS", "TORCH_INDEX", "PIP_INDEX_URL", "UV_INDEX_URL"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    result: dict = {"uid": uid if uid is not None else os.geteuid(), "folder": str(base)}
    t0 = time.monotonic()
    install = subprocess.run(
        [*_as_user(uid), "sh", "scripts/space.sh", "install"],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    result["install_s"] = round(time.monotonic() - t0, 1)
    if install.returncode != 0:
        result.update(ok=False, error=(install.stderr or install.stdout)[-2000:])
        return result
    # The user can import the stack and load an embedded model (a quick stand-in for `prepare`).
    probe = subprocess.run(
        [*_as_user(uid), ".venv/bin/python", "-c",
         "from models import loader; h = loader.load('minilm-embedded'); print(h.params)"],
        cwd=app, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    result["embedded_params"] = int(probe.stdout.strip() or 0) if probe.returncode == 0 else None
    port = _free_port()
    server = subprocess.Popen(
        [*_as_user(uid), "sh", "scripts/space.sh", "start"],
        cwd=app,
        env={**env, "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        took = _health(port, health_timeout)
        result["health_s"] = round(took, 1) if took is not None else None
        result["ok"] = took is not None and result["embedded_params"] == 22_713_216
        if took is not None:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
                result["index_status"] = r.status
    finally:
        server.terminate()
        try:
            out, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            out, _ = server.communicate()
        if not result.get("ok"):
            result["server_log"] = (out or "")[-2000:]
    if not keep:
        shutil.rmtree(base, ignore_errors=True)
    return result


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.space_check", description=__doc__)
    p.add_argument("--engine", choices=("skip", "background", "foreground"), default="skip")
    p.add_argument("--keep", action="store_true", help="keep the fresh folder")
    args = p.parse_args(argv)
    res = check(args.engine, args.keep)
    print(json.dumps(res), flush=True)
    return 0 if res.get("ok") else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
