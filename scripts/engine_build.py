"""Build the fast chat engine (llama-cpp-python) off the critical path of set-up.

PyPI ships llama-cpp-python as source only: its first install compiles llama.cpp (several
CPU-minutes). `make setup` starts this in the background and returns, so `make run` serves at
once and streams with transformers until the build lands; the app picks llama.cpp up on the next
answer after it is installed (`models.engine`). uv's cache keeps the built wheel, so the next set-up
on this machine installs it in seconds. `make test` waits for it.

    python scripts/engine_build.py start    # background build unless installed or building
    python scripts/engine_build.py wait     # wait for a running build; build now if none ran
    python scripts/engine_build.py status   # one line
The state is kept in <venv>/engine-build.json and the build log in <venv>/engine-build.log.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)
STATUS = VENV / "engine-build.json"
LOG = VENV / "engine-build.log"
REQUIREMENTS = ROOT / "requirements-engine.txt"


def installed() -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", "import llama_cpp"], capture_output=True, check=False
    )
    return probe.returncode == 0


def read_status() -> dict:
    try:
        return json.loads(STATUS.read_text())
    except (OSError, ValueError):
        return {}


def _write(**status) -> None:
    tmp = STATUS.with_suffix(".tmp")
    tmp.write_text(json.dumps(status))
    tmp.replace(STATUS)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _install_command() -> list[str]:
    uv = shutil.which("uv", path=str(VENV / "bin")) or shutil.which("uv")
    if uv:
        return [uv, "pip", "install", "--python", sys.executable, "-r", str(REQUIREMENTS)]
    return [sys.executable, "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)]


def run() -> int:
    """Build and install now (in this process), recording the outcome."""
    started = time.time()
    _write(state="building", pid=os.getpid(), started=started)
    env = dict(os.environ)
    # A portable x86-64 build (AVX2), no multimodal tools: what the Space image builds too.
    env.setdefault("CMAKE_ARGS", "-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TOOLS=OFF")
    with LOG.open("w") as log:
        proc = subprocess.run(
            _install_command(), stdout=log, stderr=subprocess.STDOUT, env=env, check=False
        )
    ok = proc.returncode == 0 and installed()
    _write(
        state="ready" if ok else "failed",
        started=started,
        finished=time.time(),
        seconds=round(time.time() - started, 1),
    )
    return 0 if ok else 1


def start() -> int:
    if installed():
        _write(state="ready", finished=time.time())
        print("llama.cpp engine: installed")
        return 0
    status = read_status()
    if status.get("state") == "building" and _alive(status.get("pid")):
        print("llama.cpp engine: already building in the background")
        return 0
    nice = ["nice", "-n", "10"] if shutil.which("nice") else []
    proc = subprocess.Popen(
        [*nice, sys.executable, __file__, "run"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # survives make's exit
        cwd=ROOT,
    )
    _write(state="building", pid=proc.pid, started=time.time())
    print(
        "llama.cpp engine: building in the background (a few minutes; the app streams with "
        f"transformers until then). Log: {LOG}"
    )
    return 0


def wait() -> int:
    status = read_status()
    if status.get("state") == "building" and _alive(status.get("pid")):
        print("llama.cpp engine: waiting for the background build…", flush=True)
        while _alive(status.get("pid")) and read_status().get("state") == "building":
            time.sleep(2)
    if installed():
        print("llama.cpp engine: installed")
        return 0
    print("llama.cpp engine: building now…", flush=True)
    code = run()
    if code:
        print(f"llama.cpp engine: build failed (see {LOG}); chat streams with transformers")
    else:
        print("llama.cpp engine: installed")
    return 0  # the app works without it; the engine tests say what is missing


def status_line() -> str:
    if installed():
        return "installed"
    return read_status().get("state", "not built")


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "status"
    if cmd == "status":
        print(f"llama.cpp engine: {status_line()}")
        return 0
    return {"start": start, "wait": wait, "run": run}[cmd]()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
