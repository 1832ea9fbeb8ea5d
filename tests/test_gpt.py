"""Project 4, GPT from scratch: attention parity and causality, learning, the command line,
input validation and the live page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import torch
from torch.nn import functional as F

from models.gpt.__main__ import main
from models.gpt.data import CharData, DataError, decode_text, get_batch, read_text_file
from models.gpt.model import GPT, CausalSelfAttention, CheckpointError, GPTConfig, load_checkpoint
from models.gpt.trainer import TrainConfig, make_optimizer, plain_step
from tests.apptest import open_page
from tests.conftest import ROOT

TINY = GPTConfig(block_size=16, vocab_size=11, n_layer=2, n_head=4, n_embd=32)
TEXT = (ROOT / "assets" / "text" / "lamplighters.txt").read_text(encoding="utf-8")


def _cfg(**kw) -> GPTConfig:
    return GPTConfig(**{**TINY.__dict__, **kw})


def test_manual_attention_matches_sdpa_and_its_own_reference():
    torch.manual_seed(0)
    attn = CausalSelfAttention(_cfg()).eval()
    x = torch.randn(3, 16, 32)  # (B, T, C)
    manual, fast = attn(x, flash=False), attn(x, flash=True)
    torch.testing.assert_close(manual, fast, atol=1e-5, rtol=1e-5)
    # and against an independent spelling: SDPA with an explicit boolean mask
    q, k, v = attn.c_attn(x).split(32, dim=2)
    q, k, v = (t.view(3, 16, 4, 8).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
    mask = torch.ones(16, 16, dtype=torch.bool).tril()
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2).reshape(3, 16, 32)
    torch.testing.assert_close(manual, attn.c_proj(y), atol=1e-5, rtol=1e-5)
    # a shorter sequence uses the top-left corner of the mask
    torch.testing.assert_close(attn(x[:, :5], flash=False), fast[:, :5], atol=1e-5, rtol=1e-5)


def test_whole_model_parity_flash_vs_manual_including_gradients():
    torch.manual_seed(0)
    model = GPT(_cfg())
    idx = torch.randint(0, 11, (2, 16))
    model.set_flash(False)
    logits_m, loss_m = model(idx, idx)
    loss_m.backward()
    grad_m = model.lm_head.weight.grad.clone()
    model.zero_grad()
    model.set_flash(True)
    logits_f, loss_f = model(idx, idx)
    loss_f.backward()
    torch.testing.assert_close(logits_m, logits_f, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(grad_m, model.lm_head.weight.grad, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("flash", [True, False])
def test_future_tokens_do_not_change_past_logits(flash):
    torch.manual_seed(0)
    model = GPT(_cfg(flash=flash)).eval()
    idx = torch.randint(0, 11, (1, 16))
    changed = idx.clone()
    changed[0, 9:] = (changed[0, 9:] + 1 + torch.arange(7)) % 11  # every token after t=8 differs
    a, _ = model(idx)
    b, _ = model(changed)
    torch.testing.assert_close(a[:, :9], b[:, :9], atol=1e-6, rtol=0)
    assert (a[:, 9:] - b[:, 9:]).abs().max() > 1e-3  # and the future positions do see them


def test_weight_tying_and_parameter_count():
    model = GPT(_cfg())
    assert model.lm_head.weight is model.transformer.wte.weight
    n_all = sum(p.numel() for p in model.parameters())
    assert model.num_params() == n_all - 16 * 32  # minus the position table
    # one 11 x 32 matrix, not two
    untied = sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False))
    assert untied - n_all == 11 * 32


def test_a_few_steps_reduce_the_loss_on_a_small_text(one_thread):
    torch.manual_seed(0)
    data = CharData.from_text(TEXT, block_size=32)
    cfg = TrainConfig(batch_size=16, learning_rate=3e-3, max_iters=60, warmup_iters=5,
                      lr_decay_iters=60)  # fmt: skip
    model = GPT(GPTConfig(block_size=32, vocab_size=data.vocab_size, n_layer=2, n_head=2,
                          n_embd=48))  # fmt: skip
    opt, sched = make_optimizer(model, cfg)
    gen = torch.Generator().manual_seed(0)
    eval_x, eval_y = get_batch(data.train, 64, 32, torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = model(eval_x, eval_y)[1].item()
    assert abs(before - torch.log(torch.tensor(data.vocab_size)).item()) < 0.3  # uniform start
    for _ in range(cfg.max_iters):
        plain_step(model, opt, sched, *get_batch(data.train, 16, 32, gen), cfg)
    with torch.no_grad():
        after = model(eval_x, eval_y)[1].item()
    assert after < before - 0.8, (before, after)


def test_generate_is_greedy_at_temperature_zero_and_respects_top_k():
    torch.manual_seed(0)
    model = GPT(_cfg()).eval()
    idx = torch.randint(0, 11, (1, 20))  # longer than block_size: generate crops the context
    out = model.generate(idx, 8, temperature=0)
    again = model.generate(idx, 8, temperature=0)
    assert out.shape == (1, 28) and torch.equal(out, again) and torch.equal(out[:, :20], idx)
    logits, _ = model(idx[:, -16:])  # what generate saw for its first new token
    assert out[0, 20].item() == logits[0, -1].argmax().item()
    # top_k=1 is greedy whatever the temperature
    g = torch.Generator().manual_seed(3)
    assert torch.equal(model.generate(idx, 8, temperature=2.0, top_k=1, generator=g), out)


def test_bad_training_texts_get_clear_messages(tmp_path):
    with pytest.raises(DataError, match="empty"):
        decode_text(b"  \n ")
    with pytest.raises(DataError, match="binary"):
        decode_text(b"hello\x00\x01\x02world" * 10)
    with pytest.raises(DataError, match="not UTF-8"):
        decode_text(b"caf\xe9 " * 50)
    with pytest.raises(DataError, match="one distinct character"):
        CharData.from_text("a" * 5000, block_size=64)
    with pytest.raises(DataError, match="at least"):
        CharData.from_text("to be or not to be", block_size=64)
    with pytest.raises(DataError, match="no such file"):
        read_text_file(tmp_path / "missing.txt")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (bytes(range(256)) * 8, "binary"), (b"z" * 4000, "one distinct")],
)
def test_cli_refuses_bad_files_with_a_message(tmp_path, capsys, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    rc = main(["train", "--data", str(path), "--out", str(tmp_path / "o"), "--max-iters", "2"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error:") and message in err
    assert "Traceback" not in err and not (tmp_path / "o").exists()


def test_cli_trains_with_lightning_saves_and_samples(tmp_path, capsys, one_thread):
    data = tmp_path / "tiny.txt"
    data.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "ckpt"
    rc = main(["train", "--data", str(data), "--out", str(out), "--preset", "baby",
               "--max-iters", "20", "--eval-interval", "10", "--eval-iters", "2",
               "--device", "cpu"])  # fmt: skip
    assert rc == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    evals = [r for r in rows if "val_loss" in r]
    assert [r["iter"] for r in evals] == [0, 10, 20]
    for r in evals[1:]:
        assert {"iter", "train_loss", "val_loss", "ms_per_iter"} <= r.keys()
        assert r["ms_per_iter"] > 0
    assert evals[-1]["train_loss"] < evals[0]["train_loss"]  # it learnt something in 20 steps
    assert rows[-1]["done"] is True
    assert {p.name for p in out.iterdir()} == {"model.safetensors", "config.json", "vocab.json"}

    # reload in-process: the weights round-trip
    model, chars = load_checkpoint(out)
    assert chars == sorted(set(TEXT)) and model.config.n_layer == 4
    assert model.lm_head.weight is model.transformer.wte.weight  # still tied after loading

    # and the `sample` command, as a user runs it
    proc = subprocess.run(
        [sys.executable, "-m", "models.gpt", "sample", "--model", str(out), "--prompt", "MARA:",
         "--tokens", "40", "--temperature", "0.8", "--seed", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.rstrip("\n")
    assert text.startswith("MARA:") and len(text) == len("MARA:") + 40
    assert set(text) <= set(chars)


def test_overhead_times_both_loops_on_the_same_model():
    from models.gpt.overhead import overhead
    from models.gpt.trainer import preset

    data = CharData.from_text(TEXT, block_size=32)
    model_cfg, cfg = preset("tiny", data.vocab_size)
    out = overhead(data, model_cfg, cfg, iters=4, rounds=1, warmup=2)
    assert out["plain_ms_per_iter"] > 0 and out["lightning_ms_per_iter"] > 0
    assert out["ratio"] == pytest.approx(
        out["lightning_ms_per_iter"] / out["plain_ms_per_iter"], rel=0.01
    )
    assert out["cpu_ratio"] > 0


def test_loading_a_directory_that_is_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match=r"missing model\.safetensors"):
        load_checkpoint(tmp_path)


# --- the live page ---------------------------------------------------------------------------


def test_page_trains_live_and_shows_curves_and_a_sample(one_thread):

    at = open_page("views/gpt_scratch.py")
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.startswith("Project 4")
    at.selectbox(key="gpt_preset").set_value("tiny")
    at.slider(key="gpt_budget").set_value(15)
    at.button(key="gpt_start").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    job = at.session_state["job::gpt_scratch"]
    deadline = time.monotonic() + 60
    while not job.finished and time.monotonic() < deadline:
        job.beat()
        time.sleep(0.5)
    assert job.finished and job.state in ("done", "timeout"), (job.state, job.error)
    rows = job.snapshot()
    losses = [r["val_loss"] for r in rows]
    assert len(rows) >= 2 and losses[-1] < losses[0]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.get("vega_lite_chart"), "no loss curve drawn"
    assert any(m.label == "Validation loss" for m in at.metric)
    shown = " ".join(c.value for c in at.code)
    assert any(r.get("sample") and r["sample"].strip()[:20] in shown for r in rows), (
        "no sample shown"
    )
    assert at.get("download_button"), "no checkpoint download"
    # sampling from the trained model, greedy so the output is the model's own argmax path
    n_code = len(at.code)
    at.text_area(key="gpt_prompt").set_value("MARA:")
    at.slider(key="gpt_temp").set_value(0.0)
    at.slider(key="gpt_tokens").set_value(40)
    at.button(key="gpt_sample").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    outs = [c.value for c in at.code if c.value.startswith("MARA:")]
    assert len(at.code) == n_code + 1 and len(outs) == 1
    assert len(outs[0]) == len("MARA:") + 40 and set(outs[0]) <= set(TEXT)
