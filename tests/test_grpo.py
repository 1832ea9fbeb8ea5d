"""GRPO with TRL on a private copy: the logged groups agree with TRL's own statistics, the shared
model is untouched, and the command line trains and evaluates."""

from __future__ import annotations

import json

import pytest
import torch

from lessons import grpo as L
from models import alignment as A
from models import grpo as G
from tests.alignment_tiny import StopAfter, checksum, tiny_handle

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = G.Settings(num_generations=4, prompts_per_step=2, max_completion_length=4,
                  temperature=1.0, lora_r=4, train_questions=40)  # fmt: skip


@pytest.fixture(scope="module")
def tokenizer():
    from models import loader

    return loader.load("smollm2-embedded", tokenizer_only=True).tokenizer


def test_groups_agree_with_trls_logs_and_the_shared_model_is_untouched(tokenizer, monkeypatch):
    # A random tiny model never writes a number: score the parity of the length instead, so
    # that groups have a spread and the statistics below are not all zero.
    monkeypatch.setattr(L, "format_reward", lambda text: float(len(text) % 2))
    shared = tiny_handle(tokenizer)
    before = checksum(shared.model)
    rep = StopAfter(2, "reward")
    held = [L.Question("What is 1 + 1?", 2)]
    trained = G.train(shared, TINY, rep, budget_s=120, exclude=held)
    metrics = [r for r in rep.rows if "reward" in r]
    assert len(trained.steps) == len(metrics) == trained.record.steps >= 2
    assert any(r["reward_std"] > 0 for r in metrics)
    for step, row in zip(trained.steps, metrics, strict=True):
        groups = step["groups"]
        assert len(groups) == TINY.prompts_per_step and step["step"] == row["step"]
        totals = [
            c + 0.5 * f for g in groups for c, f in zip(g["correct"], g["format"], strict=True)
        ]
        assert sum(totals) / len(totals) == pytest.approx(row["reward"], abs=1e-5)
        fmt = [f for g in groups for f in g["format"]]
        assert sum(fmt) / len(fmt) == pytest.approx(row["rewards/format/mean"], abs=1e-5)
        assert torch.tensor(totals).std().item() == pytest.approx(row["reward_std"], abs=1e-4)
        dead = sum(g["zero_spread"] for g in groups) / len(groups)
        assert dead == pytest.approx(row["frac_reward_zero_std"], abs=1e-6)
        for g in groups:
            assert len(g["completions"]) == 4 and "What is 1 + 1?" not in g["prompt"]
            assert g["zero_spread"] == (max(g["advantage"]) == min(g["advantage"]) == 0)
    assert checksum(shared.model) == before and not hasattr(shared.model, "peft_config")
    assert hasattr(trained.policy.model, "peft_config")


def test_command_line_trains_and_evaluates(tokenizer, tmp_path, monkeypatch, capsys):
    from models import loader

    monkeypatch.setattr(loader, "load", lambda key, *a, **k: tiny_handle(tokenizer))
    data = tmp_path / "q.jsonl"
    data.write_text('{"question": "What is 2 + 2?", "answer": 4}\n'
                    '{"question": "What is 9 - 3?", "answer": 6}\n')  # fmt: skip
    out = tmp_path / "adapter"
    G.main(["train", "--out", str(out), "--minutes", "0.01", "--data", str(data)])
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["steps"] >= 1 and {"accuracy", "reward", "format_rate"} <= set(last)
    assert A.read_record(out).method == "grpo"
    for adapter in (str(out), "none"):
        G.main(["evaluate", "--adapter", adapter, "--data", str(data)])
        row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert row["questions"] == 2 and 0 <= row["accuracy"] <= 1
    data.write_text('{"question": "What is 2 + 2?", "answer": "four"}\n')
    with pytest.raises(SystemExit):
        G.main(["evaluate", "--adapter", "none", "--data", str(data)])
    assert "'answer' must be int" in capsys.readouterr().err
