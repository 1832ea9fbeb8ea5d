"""Project 4 past one machine: `--devices 2 --strategy ddp` trains two CPU processes over gloo.

The loss falls, both ranks end with identical weights (DDP all-reduces the gradients, so every
rank takes the same optimizer step), and only rank zero prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

# Run the real CLI; after training, each rank writes a digest of the weights it holds.
DRIVER = """
import hashlib, sys
from pathlib import Path
import models.gpt.__main__ as cli
from models.training import rank

train = cli.train_lightning
out = Path(sys.argv[sys.argv.index("--out") + 1])

def train_and_digest(*args, **kwargs):
    model = train(*args, **kwargs)
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode()); h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    out.mkdir(parents=True, exist_ok=True)
    (out / f"digest-rank{rank()}.txt").write_text(h.hexdigest())
    return model

cli.train_lightning = train_and_digest
raise SystemExit(cli.main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_two_process_ddp_learns_in_lockstep_and_rank_zero_prints(tmp_path):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    data = tmp_path / "text.txt"
    data.write_text((ROOT / "assets" / "text" / "lamplighters.txt").read_text(encoding="utf-8"))
    out = tmp_path / "ckpt"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    env.pop("RANK", None)
    env.pop("LOCAL_RANK", None)
    proc = subprocess.run(
        [sys.executable, str(driver), "train", "--data", str(data), "--out", str(out),
         "--preset", "tiny", "--max-iters", "40", "--eval-interval", "20", "--eval-iters", "4",
         "--device", "cpu", "--devices", "2", "--strategy", "ddp"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    done = [r for r in rows if r.get("done")]
    evals = [r for r in rows if "val_loss" in r]
    assert len(done) == 1, proc.stdout  # rank zero only
    assert [r["iter"] for r in evals] == [0, 20, 40]  # one set of evaluations, not two
    assert evals[-1]["train_loss"] < evals[0]["train_loss"] - 0.3
    digests = sorted(out.glob("digest-rank*.txt"))
    assert [d.name for d in digests] == ["digest-rank0.txt", "digest-rank1.txt"]
    assert digests[0].read_text() == digests[1].read_text()
    assert (out / "model.safetensors").exists()
