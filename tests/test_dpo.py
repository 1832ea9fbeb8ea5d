"""Project 5: DPO with TRL on a private copy — parity with TRL's own numbers, training that moves
the margins, the command line, and the shared model left untouched."""

from __future__ import annotations

import json

import pytest
import torch

from lessons import dpo as L
from models import alignment as A
from models import dpo as D
from tests.alignment_tiny import StopAfter, checksum, tiny_handle

pytestmark = pytest.mark.usefixtures("one_thread")

PAIRS = [
    D.Pair("What is the capital of France?", "Paris.", "Ugh, look it up yourself.", "rude"),
    D.Pair("How many legs does a cat have?", "Four.", "Nobody knows, really.", "evasive"),
    D.Pair("What colour is grass?", "Green.", "Green. Green. Green. Green. Green.", "ramble"),
    D.Pair("What is 2 + 3?", "5.", "7.", "wrong"),
]


@pytest.fixture(scope="module")
def tokenizer():
    from models import loader

    return loader.load("smollm2-embedded", tokenizer_only=True).tokenizer


def test_logps_and_loss_match_trls_own(tokenizer):
    """Our sequence log-probabilities and loss equal what DPOTrainer computes on the same batch."""
    from trl import DPOConfig, DPOTrainer

    policy, ref = tiny_handle(tokenizer, 0), tiny_handle(tokenizer, 1)
    args = DPOConfig(output_dir="/tmp/dpo-parity", per_device_train_batch_size=4, beta=0.1,
                     max_length=128, **A.trl_args())  # fmt: skip
    trainer = DPOTrainer(model=policy.model, ref_model=ref.model, args=args,
                         train_dataset=D._dataset(PAIRS), processing_class=tokenizer)  # fmt: skip
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])
    with torch.no_grad():
        loss = trainer.compute_loss(trainer.model.eval(), batch)
    logged = {k: v[-1] for k, v in trainer._metrics["eval"].items()}
    prompts = [p.prompt for p in PAIRS]
    pc = L.answer_logps(policy.model, tokenizer, prompts, [p.chosen for p in PAIRS])
    pr = L.answer_logps(policy.model, tokenizer, prompts, [p.rejected for p in PAIRS])
    rc = L.answer_logps(ref.model, tokenizer, prompts, [p.chosen for p in PAIRS])
    rr = L.answer_logps(ref.model, tokenizer, prompts, [p.rejected for p in PAIRS])
    assert pc.mean().item() == pytest.approx(logged["logps/chosen"], abs=1e-3)
    assert pr.mean().item() == pytest.approx(logged["logps/rejected"], abs=1e-3)
    assert L.dpo_loss(pc, rc, pr, rr, 0.1).item() == pytest.approx(loss.item(), abs=1e-4)
    m = L.pair_metrics(L.PairScores(pc, pr, rc, rr), 0.1)
    assert m["reward_chosen"] == pytest.approx(logged["rewards/chosen"], abs=1e-3)
    assert m["mean_margin"] == pytest.approx(logged["rewards/margins"], abs=1e-3)


def test_training_raises_the_margin_and_leaves_the_shared_model_alone(tokenizer, tmp_path):
    shared = tiny_handle(tokenizer)
    before = checksum(shared.model)
    rep = StopAfter(6, "rewards/margins")
    plain = D.Settings(learning_rate=5e-3, lora_r=4, sft_weight=0.0)
    trained = D.train(shared, PAIRS, plain, rep, budget_s=120)
    rows = [r for r in rep.rows if "rewards/margins" in r]
    assert trained.record.steps == len(rows) >= 6 and trained.record.seconds_per_step > 0
    assert rows[-1]["rewards/margins"] > rows[0]["rewards/margins"] + 0.05, rows
    assert rows[0]["rewards/margins"] == pytest.approx(0.0, abs=1e-6)  # policy starts at the ref
    assert checksum(shared.model) == before and not hasattr(shared.model, "peft_config")
    after = D.evaluate(trained.policy, PAIRS, D.Settings())
    assert after["mean_margin"] > 0.05 and set(after["by_style"]) == {"rude", "evasive", "ramble",
                                                                        "wrong"}  # fmt: skip
    A.save_adapter(trained.policy.model, tmp_path / "a", trained.record)
    again = D.evaluate(A.policy(shared, tmp_path / "a"), PAIRS, D.Settings())
    assert again["mean_margin"] == pytest.approx(after["mean_margin"], abs=1e-4)
    assert A.read_record(tmp_path / "a").steps == len(rows)
    # Continuing from the saved adapter keeps the base model as the reference: margins start > 0.
    rep2 = StopAfter(1, "rewards/margins")
    D.train(shared, PAIRS, D.Settings(lora_r=4), rep2, 0, init_adapter=tmp_path / "a")
    assert rep2.rows[0]["rewards/margins"] > 0.05
    assert rep2.rows[0]["loss"] > 2.0  # the default adds the SFT term (the chosen answers' NLL)
    base, pol = D.evaluate_both(trained.policy, PAIRS, D.Settings())
    assert base["reward_accuracy"] == 0.0 and base["mean_margin"] == 0.0
    assert pol["mean_margin"] == pytest.approx(after["mean_margin"], abs=1e-4)


def test_command_line_trains_and_evaluates(tokenizer, tmp_path, monkeypatch, capsys):
    from models import loader

    monkeypatch.setattr(loader, "load", lambda key, *a, **k: tiny_handle(tokenizer))
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(json.dumps(vars(p)) for p in PAIRS))
    out = tmp_path / "adapter"
    D.main(["train", "--out", str(out), "--minutes", "1", "--max-steps", "2", "--pairs",
            str(pairs), "--heldout", str(pairs)])  # fmt: skip
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["steps"] == 2 and (out / "adapter_config.json").exists()
    for adapter in (str(out), "none"):
        D.main(["evaluate", "--adapter", adapter, "--pairs", str(pairs)])
        row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert {"reward_accuracy", "logp_accuracy", "mean_margin"} <= set(row)
    assert row["reward_accuracy"] == 0.0  # the base against itself: no margin
    with pytest.raises(SystemExit):
        D.main(["evaluate", "--adapter", str(tmp_path / "missing"), "--pairs", str(pairs)])
    assert "no LoRA adapter here" in capsys.readouterr().err


def test_one_real_step_on_smollm2_keeps_the_shared_model(smollm2):
    """The page's path on the real model: a private copy trains, the cached model stays as it
    was (weights, class, no adapter)."""
    first = smollm2.model.model.layers[0].self_attn.q_proj.weight.detach().clone()
    forward = smollm2.model.forward
    rep = StopAfter(1, "loss")
    trained = D.train(
        smollm2, PAIRS, D.Settings(sft_weight=0.0), rep, budget_s=0
    )  # the clock stops it
    assert trained.record.steps == 1 and rep.rows[0]["loss"] == pytest.approx(0.6931, abs=1e-3)
    assert torch.equal(smollm2.model.model.layers[0].self_attn.q_proj.weight, first)
    assert smollm2.model.forward == forward and not hasattr(smollm2.model, "peft_config")
    assert hasattr(trained.policy.model, "peft_config")
    lora = sum(p.numel() for p in trained.policy.model.parameters() if p.requires_grad)
    assert lora == A.lora_size(smollm2.model.config, D.Settings.lora_r) == 1_843_200
