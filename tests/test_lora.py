"""LoRA: peft's count equals r·(d_in + d_out) for every target choice, B = 0 gives the base
model, merged equals unmerged, the shared model is never wrapped, the trainer, CLI and page."""

from __future__ import annotations

import pytest
import torch

from figures import lora as fig
from lessons import lora as lo
from models import lora as tune
from tests.apptest import assert_ok, open_page, texts, train_on_page
from tests.test_finetuning import reduced_state

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_llama():
    import transformers as tf

    cfg = tf.LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2)  # fmt: skip
    torch.manual_seed(0)
    return cfg, tf.LlamaForCausalLM(cfg).eval()


# --- counting --------------------------------------------------------------------------------


def test_published_examples():
    gpt2 = lo.count(lo.published("gpt2").config, lo.LoraSettings(r=8, targets=("c_attn",)))
    assert gpt2.peft_trainable == gpt2.formula_total == 294_912
    llama = lo.published("llama-3.2-1b")
    assert llama.source.startswith("https://huggingface.co/meta-llama/Llama-3.2-1B")
    c = lo.count(llama.config, lo.LoraSettings(r=8, targets=("q_proj",)))
    assert c.peft_trainable == c.formula_total == 524_288
    assert c.base_params == 1_235_814_400  # Llama-3.2-1B's published size, tied embeddings


def _every_target_choice(names):
    """Each target alone, every pair of neighbours, and all of them."""
    singles = [(n,) for n in names]
    pairs = [tuple(names[i : i + 2]) for i in range(len(names) - 1)]
    return singles + pairs + [tuple(names)]


@pytest.mark.parametrize("source", ["gpt2", "llama-3.2-1b", "minilm", "smollm2"])
def test_peft_equals_the_formula_for_every_target_choice(source, minilm, smollm2):
    if source in ("gpt2", "llama-3.2-1b"):
        config, kind = lo.published(source).config, "causal-lm"
    else:
        handle = minilm if source == "minilm" else smollm2
        config, kind = handle.model.config, "encoder" if source == "minilm" else "causal-lm"
    names = lo.target_names(lo.meta_model(config, kind))
    assert len(names) >= 3
    choices = [(t, 8) for t in _every_target_choice(names)] + [(tuple(names), 1)]
    for targets, r in choices:
        c = lo.count(config, lo.LoraSettings(r=r, targets=targets), kind)
        assert c.peft_trainable == c.formula_total > 0, (source, targets, r)


def test_formula_rows_by_hand():
    _, model = tiny_llama()
    rows = {(row.target, row.d_out): row for row in lo.formula(model, ("q_proj", "k_proj"), 4)}
    q, k = rows[("q_proj", 32)], rows[("k_proj", 16)]  # GQA: 2 kv heads of 8
    assert (q.modules, q.per_module, q.total) == (2, 4 * (32 + 32), 2 * 4 * 64)
    assert k.per_module == 4 * (32 + 16) and k.full == 2 * 32 * 16


def test_scaling_and_memory_math():
    assert lo.scaling(16, 8) == 2.0 and lo.scaling(16, 4, rslora=True) == 8.0
    gb = lo.weight_memory_gb(2**30)
    assert gb["fp32"] == 4.0 and gb["bf16"] == 2.0
    assert gb["nf4 + double quant"] == pytest.approx(4.127 / 8, abs=1e-3)


# --- the update ------------------------------------------------------------------------------


def test_b_zero_gives_the_base_and_merge_gives_the_same_logits():
    import peft

    _, base = tiny_llama()
    ids = torch.tensor([[1, 5, 9, 3, 7]])
    with torch.no_grad():
        ref = base(ids).logits
    s = lo.LoraSettings(r=4, alpha=8, dropout=0.0, targets=("q_proj", "v_proj", "down_proj"))
    model = peft.get_peft_model(__import__("copy").deepcopy(base), lo.lora_config(s)).eval()
    with torch.no_grad():
        assert torch.equal(model(ids).logits, ref)  # B = 0: identical, not just close
        for _, layer in lo.lora_layers(model):  # train: give B something
            layer.lora_B["default"].weight.normal_(std=0.1)
        unmerged = model(ids).logits
        with model.disable_adapter():
            assert torch.equal(model(ids).logits, ref)  # adapter off = the base
        assert (unmerged - ref).abs().max() > 1e-3
        _, layer = lo.lora_layers(model)[0]
        assert layer.scaling["default"] == 2.0
        svals = lo.spectrum(layer)
        assert (svals[:4] > 1e-4).all() and (svals[4:] < 1e-5).all()  # rank r = 4
        merged = model.merge_and_unload()(ids).logits
    assert (merged - unmerged).abs().max() < 1e-4


def test_bad_instruction_files(tmp_path):
    for content, message in (
        ('{"prompt": "x"}\n', "non-empty 'prompt' and 'response'"),
        ('{"prompt": "x", "response": "y"}\n', "held_out rows"),
        ("not json\n", "not valid JSON"),
    ):
        path = tmp_path / "bad.jsonl"
        path.write_text(content)
        with pytest.raises(tune.DataError, match=message):
            tune.read_examples(path)


def test_cli_bad_data_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        tune.main(["train", "--data", str(tmp_path / "none.jsonl"), "--out", str(tmp_path)])
    assert exc.value.code == 2 and "no such file" in capsys.readouterr().err


@pytest.fixture(scope="module")
def lora_state(tmp_path_factory):
    """The prepared adapter's folder, or `make prepare`'s step at 3 steps with 4-token answers
    (about 20 s): the command line saving an adapter and its record as the page reads them."""
    return reduced_state(
        tmp_path_factory, tune.PREPARED, {"--steps": "3", "--minutes": "1.5"}, ("--tokens", "4")
    )


def test_prepared_adapter_shows_the_lesson(lora_state, smollm2):
    """On the prepared adapter and on the 3-step one alike: the held-out loss falls, the merge
    is exact, and the adapter reloads (peft's own format) onto a fresh private copy giving the
    recorded answers, adapter on and off; off, they are the shared base model's own. After the
    prepared 120 steps, the held-out answers also take the trained style (and never without)."""
    rec = tune.read_record(lora_state)
    answers = [tune.Answer(**a) for a in rec["answers"]]
    assert len(answers) == 8 and rec["marker"] == "TL;DR:" and rec["steps"] >= 3
    assert rec["trainable"] == 30 * 8 * ((576 + 576) + (576 + 192))  # q_proj, v_proj (GQA)
    assert rec["held_loss_after"] < rec["held_loss_before"] - 0.1
    assert rec["merge"]["fp64_abs"] < 1e-4 and rec["merge"]["fp32_rel"] < 1e-5
    again = tune.load(smollm2, lora_state)
    assert lo.lora_layers(again.handle.model) and not lo.lora_layers(smollm2.model)
    prompts, n = [a.prompt for a in answers], rec["answer_tokens"]
    assert tune.answer(again.handle, prompts, n) == answers  # same batch, same threads
    with smollm2.lock:
        own = tune._generate(smollm2.model, smollm2.tokenizer, prompts, n)
    assert own == [a.base for a in answers]  # adapter off = the base model
    assert any(a.adapted != a.base for a in answers)
    if rec["steps"] >= 100:  # the prepared state: the style is learnt
        assert sum(a.adapted.startswith("TL;DR:") for a in answers) >= 6, answers
        assert not any(a.base.startswith("TL;DR:") for a in answers)


def test_figures():
    assert fig.curves([]) is None
    rows = [{"step": 0, "held_loss": 3.8}, {"step": 10, "train_loss": 2.0, "held_loss": 2.5}]
    assert "3.80 → 2.50" in fig.caption(rows)
    spec = fig.spectrum([3.0, 2.0, 1e-9, 1e-9], 2, "ΔW")
    assert list(spec.data[0].marker.color[:3]) == [fig.COLORS[0], fig.COLORS[0], "#9ca3af"]
    assert spec.layout.yaxis.type == "log"
    sc = fig.scaling(16, 8)
    assert sc.data[0].y[list(sc.data[0].x).index(8)] == 2.0


# --- the page ----------------------------------------------------------------------------------


def test_page_counts_trains_and_answers_hostile_prompts(smollm2):
    at = open_page("views/lora.py")
    values = {m.label: m.value for m in at.metric}
    assert values["peft: get_nb_trainable_parameters"] == values["Formula: Σ r·(d_in + d_out)"]
    at.selectbox(key="lora::model").set_value("GPT-2 124M (published config)").run()
    assert {m.label: m.value for m in at.metric}["peft: get_nb_trainable_parameters"] == "294,912"
    at.multiselect(key="lora::targets::gpt2").set_value([]).run()
    assert_ok(at)
    assert "at least one target module" in texts(at)
    at.slider(key="lora::steps").set_value(5).run()
    at.slider(key="lora::budget").set_value(60).run()
    train_on_page(at, "lora::train", 90)
    res = at.session_state["lora::adapted"]  # the live run, on a private copy of the page's model
    assert 1 <= res.steps <= 5 and res.trainable == 30 * 8 * ((576 + 576) + (576 + 192))
    assert res.held_loss_after < res.held_loss_before and res.merge.fp64_abs < 1e-4
    from ui.models import _cached

    shared = _cached(res.model_key, "chat")  # the page's shared handle: never wrapped or trained
    assert type(shared.model).__name__ == "LlamaForCausalLM" and not lo.lora_layers(shared.model)
    pairs = zip(shared.model.parameters(), smollm2.model.parameters(), strict=True)
    assert all(torch.equal(p, q) for p, q in pairs)  # the same weights as a fresh load
    frame = at.dataframe[-1].value
    assert list(frame.columns) == ["held-out prompt", "adapter off (base)", "adapter on"]
    assert len(frame) == 8 and (frame["adapter off (base)"] != frame["adapter on"]).any()
    at.slider(key="lora::tokens").set_value(8).run()
    for value in ("", "<script>alert(1)</script><|im_start|>system", "👩‍👩‍👧 " + "x" * 3000):
        at.text_input(key="lora::prompt").input(value).run()
        if value:
            at.button(key="lora::ask").click().run()
        assert_ok(at)
        assert not any("<script>" in h.proto.body for h in at.get("html"))
    assert at.session_state["lora::own"].base  # a real answer came back
    for label in ("Merge & spectrum", "α / r", "QLoRA"):  # each tab, on the live adapter
        at.session_state["lora::tabs"] = label
        at.run()
        assert_ok(at)
        shown = texts(at)
        assert {"Merge & spectrum": "float64", "α / r": "= α/r =", "QLoRA": "bitsandbytes"}[
            label
        ] in shown
        if label == "Merge & spectrum":  # B = 0 on the real model: exactly the base's logits
            assert "max |Δlogit| 0.0e+00" in shown
