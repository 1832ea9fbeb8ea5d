"""Project 6: the metrics against hand-computed values, LitGPT's conversion of the embedded
SmolLM2 against the transformers model, the LoRA trainer on a tiny LitGPT config (the loss falls,
a stop stops it, the adapter switches off exactly), the command line, and the page on its prepared
adapter (before/after answers, a typed question with hostile text)."""

from __future__ import annotations

import json
import math
import threading

import pytest
import torch

from lessons import medqa as L
from models import medqa as M
from models.training import Recorder, Stopped
from tests.apptest import assert_ok, click, open_page
from tests.tabs import open_tab
from tests.test_hostile_inputs import HOSTILE

PAIRS = [
    {"instruction": "What is a fever?", "input": "", "output": "A temperature of 38 C or more."},
    {"instruction": "What is anaemia?", "input": "", "output": "Too little haemoglobin."},
    {"instruction": "What is gout?", "input": "", "output": "Uric acid crystals in a joint."},
    {"instruction": "What is a sprain?", "input": "", "output": "A stretched ligament."},
]


# --- metrics -------------------------------------------------------------------------------------


def test_answer_nll_matches_a_hand_computation():
    # Position 0 predicts label 1 with logits [0, ln 3] -> p = 3/4; position 1 predicts label 0
    # with logits [0, 0] -> p = 1/2; position 2 predicts nothing; label 0 is the prompt (-100).
    logits = torch.tensor([[[0.0, math.log(3)], [0.0, 0.0], [5.0, -5.0]]])  # (1, 3, 2)
    labels = torch.tensor([[-100, 1, 0]])
    got = L.answer_nll(logits, labels)
    assert got.tokens == 2
    assert got.total == pytest.approx(math.log(4 / 3) + math.log(2), abs=1e-6)
    assert got.mean == pytest.approx(math.log(8 / 3) / 2, abs=1e-6)
    assert (got + L.NLL(1.0, 2)).mean == pytest.approx((math.log(8 / 3) + 1) / 4, abs=1e-6)


def test_rouge_l_matches_a_hand_computation_and_rouge_score():
    # LCS of "the cat sat on the mat" / "the cat is on the mat" = the cat on the mat (5 of 6).
    assert L.rouge_l("the cat sat on the mat", "The cat is on the mat!") == pytest.approx(5 / 6)
    # LCS 2 ("a c"): precision 2/3, recall 2/4 -> F1 = 2·(2/3)(1/2)/(2/3 + 1/2) = 4/7.
    assert L.rouge_l("a b c", "a c d e") == pytest.approx(4 / 7)
    assert L.rouge_l("", "anything") == 0.0 and L.rouge_l("x y", "z") == 0.0
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"])
    for pred, ref in [
        ("Insulin lowers blood glucose.", "Insulin is a hormone that lowers glucose")
    ]:
        assert L.rouge_l(pred, ref) == pytest.approx(scorer.score(ref, pred)["rougeL"].fmeasure)


def test_llama_memory_is_the_calculators_lora_figure():
    mem = L.llama_8b_lora_memory()
    # r 8 on q (4096 -> 4096) and v (4096 -> 1024) in 32 layers: 8 · (8192 + 5120) · 32.
    assert mem.trainable == 8 * (4096 + 4096 + 4096 + 1024) * 32
    assert 15 * 2**30 < mem.total < 24 * 2**30  # bf16 weights (~15 GiB) dominate
    assert L.relative_drop(2.0, 1.5) == pytest.approx(0.25)


def test_parse_pairs_says_what_is_wrong():
    assert M.parse_pairs(json.dumps(PAIRS[:2]))[1]["output"] == "Too little haemoglobin."
    assert len(M.parse_pairs("\n".join(json.dumps(p) for p in PAIRS))) == 4
    for bad, words in [("{not json", "not JSON"), ("[]", "no question"), ("[1]", "object"),
                       ('[{"instruction": "q", "output": ""}]', "non-empty"),
                       ('[{"instruction": 3, "output": "a"}]', "strings")]:  # fmt: skip
        with pytest.raises(M.DataError, match=words):
            M.parse_pairs(bad)
    assert len(M.read_pairs(M.TRAIN)) >= 150 and len(M.read_pairs(M.HELDOUT)) >= 40
    asked = {p["instruction"].lower() for p in M.read_pairs(M.TRAIN)}
    assert not asked & {p["instruction"].lower() for p in M.read_pairs(M.HELDOUT)}


def test_figures_draw_the_logged_rows():
    from figures import medqa as fig

    assert fig.loss_curves([]) is None and fig.caption([{"step": 1, "loss": 2.0}]) is None
    rows = [{"step": 0, "held_nll": 2.0}, {"step": 1, "loss": 3.0},
            {"step": 2, "loss": 2.5, "held_nll": 1.5}]  # fmt: skip
    names = [t.name for t in fig.loss_curves(rows).data]
    assert names == ["train loss (batch)", "held-out answer NLL"]
    assert "2.000 → 1.500 (25.0% lower)" in fig.caption(rows)
    bars = fig.scores({"answer_nll": 2.0, "rouge_l": 0.1}, {"answer_nll": 1.5, "rouge_l": 0.3})
    assert [list(b.y) for b in bars.data] == [[2.0, 1.5], [0.1, 0.3]]


# --- the trainer on a tiny LitGPT config ---------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 2-layer LitGPT LoRA model with SmolLM2's tokenizer (LitGPT's `Tokenizer`)."""
    from litgpt.lora import GPT, Config, mark_only_lora_as_trainable
    from litgpt.tokenizer import Tokenizer

    from models import loader
    from models.handle import Handle
    from models.registry import get_choice

    tok_dir = tmp_path_factory.mktemp("tok") / M.MODEL_NAME
    tok_dir.mkdir()
    for f in loader._smollm2_dir("tokenizer", loader._noop).glob("tokenizer*.json"):
        (tok_dir / f.name).symlink_to(f)
    settings = M.Settings(
        lr=1e-2, batch_size=4, max_seq_length=64, eval_every=5, max_new_tokens=4, max_steps=30
    )
    cfg = Config(n_layer=2, n_head=2, n_embd=32, n_query_groups=1, block_size=128,
                 vocab_size=49152, padded_vocab_size=49152, intermediate_size=64, bias=False,
                 norm_class_name="RMSNorm", mlp_class_name="LLaMAMLP", parallel_residual=False,
                 **settings.lora_config())  # fmt: skip

    def make():
        torch.manual_seed(0)
        model = GPT(cfg)
        model.max_seq_length = 96
        mark_only_lora_as_trainable(model)
        return Handle(get_choice("smollm2-embedded"), Tokenizer(tok_dir), model,
                      threading.RLock(), "cpu", private=True)  # fmt: skip

    return make, settings


def test_lora_training_lowers_the_loss_and_only_trains_the_adapter(tiny):
    make, settings = tiny
    handle = make()
    frozen = handle.model.transformer.h[0].attn.qkv.linear.weight.clone()
    rep = Recorder()
    out = M.train(PAIRS, PAIRS[:2], settings, None, rep, handle=handle, answer_n=1)
    assert out.steps == settings.max_steps or out.steps > 0
    losses = [r["loss"] for r in rep.rows if "loss" in r]
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5, losses  # nats, from ln(49,152)
    assert out.nll_after < out.nll_before
    assert torch.equal(handle.model.transformer.h[0].attn.qkv.linear.weight, frozen)
    assert out.trainable == sum(
        p.numel() for n, p in handle.model.named_parameters() if "lora_" in n
    )
    assert out.answers and set(out.answers[0]) == {"question", "reference", "before", "after"}


def test_a_stop_between_steps_ends_the_run_and_keeps_the_adapter(tiny):
    make, settings = tiny

    class StopAfter(Recorder):
        def check(self):
            if sum("loss" in r for r in self.rows) >= 3:
                raise Stopped("stop pressed")

    out = M.train(PAIRS, PAIRS[:1], settings, None, StopAfter(), handle=make(), answer_n=1)
    assert out.steps == 3 and out.stopped == "stop pressed" and not out.answers
    assert any(p.abs().sum() > 0 for n, p in out.handle.model.named_parameters() if "lora_B" in n)


def test_adapter_off_gives_the_base_logits_exactly(tiny):
    make, _ = tiny
    h = make()
    ids = h.tokenizer.encode("What is a fever?")[None]  # (1, T)
    with torch.no_grad():
        base = h.model(ids)
        for n, p in h.model.named_parameters():
            if "lora_B" in n:
                p.normal_()
        tuned = h.model(ids)
        with M.adapter_off(h.model):
            off = h.model(ids)
    assert not torch.allclose(base, tuned, atol=1e-3)
    assert torch.equal(off, base)


# --- the real SmolLM2 in LitGPT ------------------------------------------------------------------


@pytest.fixture(scope="session")
def lit_smollm2():
    return M.load()


def test_litgpt_conversion_matches_the_transformers_model(lit_smollm2, smollm2):
    prompt = "<|im_start|>user\nWhat is hypertension?<|im_end|>\n<|im_start|>assistant\n"
    hf_ids = smollm2.tokenizer(prompt, return_tensors="pt").input_ids  # (1, T)
    assert lit_smollm2.tokenizer.encode(prompt).tolist() == hf_ids[0].tolist()
    with torch.no_grad(), smollm2.lock:
        want = smollm2.model(hf_ids).logits  # (1, T, V)
    with torch.no_grad():
        got = lit_smollm2.model(hf_ids)  # (1, T, V), a fresh adapter: B = 0
    assert (got - want).abs().max().item() < 1e-3 * want.abs().max().item()
    assert torch.equal(got.argmax(-1), want.argmax(-1))


# --- the page on its prepared adapter ------------------------------------------------------------

REDUCED = {"--minutes": "3", "--steps": "2", "--show": "1", "--eval-n": "2", "--rouge-n": "1",
           "--max-new-tokens": "6"}  # fmt: skip


@pytest.fixture(scope="module")
def state(prepared_states):
    return prepared_states({M.PREPARED: REDUCED})[M.PREPARED]


def test_prepared_adapter_lowers_the_held_out_nll_and_the_page_shows_before_after(
    state, monkeypatch
):
    from models import prepared

    monkeypatch.setattr(M.answer, "__defaults__", (8, False))  # 8 new tokens: speed, not length

    rec = prepared.record(M.PREPARED)
    assert rec.result["answer_nll"] < rec.result["base_answer_nll"], rec.result
    answers = json.loads((state / "answers.json").read_text())
    at = open_page("views/medqa.py")
    assert any("Not medical advice" in w.value for w in at.warning)
    open_tab(at, "medqa::tabs", "Before / after answers")
    table = next(df.value for df in at.dataframe if "before" in df.value.columns)
    assert list(table["after"]) == [a["after"] for a in answers]
    assert list(table["question"]) == [a["question"] for a in answers]
    nasty = HOSTILE["html_script"] + HOSTILE["special_tokens"] + HOSTILE["rtl_override"]
    at.text_input(key="medqa::q").set_value(nasty + HOSTILE["huge"]).run()  # cut to 300 chars
    click(at, "medqa::ask")
    assert any("truncated" in c.value.lower() or "300" in c.value for c in at.caption)
    assert len(at.main.text) >= 2  # both answers shown as plain text, never as HTML
    at.text_input(key="medqa::q").set_value("   ").run()
    assert_ok(at)
    assert not any(b.key == "medqa::ask" for b in at.button)
    open_tab(at, "medqa::tabs", "Llama 3.1 8B on a GPU")
    assert "Meta-Llama-3.1-8B-Instruct" in " ".join(c.value for c in at.code)


def test_early_stopping_sets_aside_training_pairs_never_held_out_ones():
    """The adapter kept is picked on a seeded tenth of the *training* pairs: disjoint from the
    rest, the same every run, and none when the set is too small to spare any."""
    from models.medqa.trainer import split_validation

    rows = list(range(191))
    train_rows, val = split_validation(rows, M.Settings())
    assert len(val) == 19 and not set(val) & set(train_rows)
    assert sorted(train_rows + val) == rows
    assert split_validation(rows, M.Settings())[1] == val
    assert split_validation(list(range(12)), M.Settings()) == (list(range(12)), [])
