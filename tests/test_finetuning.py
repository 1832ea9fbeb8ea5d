"""Fine-tuning techniques: what each trains (peft's count), memory, forgetting, the trainer, its
command line, the prepared state's direction and the page."""

from __future__ import annotations

import peft
import pytest
import torch

from figures import finetuning as fig
from lessons import finetuning as ft
from models import finetune as fine
from models import prepared
from models.sentiment_data import Row, collate, encode, read_rows
from models.training import Recorder, Stopped
from tests.apptest import assert_ok, open_page, texts, train_on_page
from tests.conftest import ROOT

SAMPLE = ROOT / "assets" / "sentiment" / "sample.jsonl"
pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_bert():
    from tests.fakehub import _bert_config

    torch.manual_seed(0)
    from transformers import BertModel

    return BertModel(_bert_config(num_hidden_layers=3))


def batch(tokenizer, n=4):
    rows = [Row("a fresh and funny film", 1), Row("a dull, lifeless story", 0)] * (n // 2)
    enc = encode(tokenizer, rows, 32)
    ids, mask = collate(enc.ids)
    return ids, mask, enc.labels


def expected_trainable(key: str, enc, cfg: ft.TechniqueConfig) -> int:
    """What each technique trains, counted from the architecture by hand."""
    d, n_layers, head = enc.config.hidden_size, enc.config.num_hidden_layers, 0
    head = d * cfg.n_classes + cfg.n_classes
    if key == "full":
        return sum(p.numel() for p in enc.parameters()) + head
    if key == "head":
        return head
    if key == "last_k":
        return head + sum(p.numel() for p in enc.encoder.layer[-cfg.last_k :].parameters())
    if key == "bitfit":
        return head + sum(p.numel() for n, p in enc.named_parameters() if n.endswith(".bias"))
    if key == "lora":  # r·(d_in + d_out) on query and value of every layer
        return head + n_layers * 2 * cfg.lora_r * (d + d)
    if key == "ia3":  # one vector per key, value (d_out) and FFN output input (d_ff)
        return head + n_layers * (d + d + enc.config.intermediate_size)
    return head + cfg.prompt_tokens * d  # prompt tuning: the virtual token embeddings


@pytest.mark.parametrize("key", list(ft.TECHNIQUES))
def test_peft_count_is_what_each_technique_trains(key):
    cfg = ft.TechniqueConfig()
    enc = tiny_bert()
    want = expected_trainable(key, enc, cfg)
    model = ft.apply(key, enc, cfg)
    trainable, total = ft.trainable_parameters(model)
    assert trainable == want, (key, trainable, want)
    assert trainable == sum(p.numel() for p in model.parameters() if p.requires_grad)
    if isinstance(model, peft.PeftModel):
        assert (trainable, total) == model.get_nb_trainable_parameters()


@pytest.mark.parametrize("key", ["lora", "ia3"])
def test_adapters_start_as_the_plain_model(minilm, key):
    """LoRA's B = 0 and (IA)³'s vectors of ones: before training, the same logits."""
    ids, mask, _ = batch(minilm.tokenizer)
    torch.manual_seed(0)
    plain = ft.apply("head", copy_of(minilm)).eval()
    torch.manual_seed(0)
    adapted = ft.apply(key, copy_of(minilm)).eval()
    with torch.no_grad():
        torch.testing.assert_close(
            ft.logits(adapted, ids, mask), ft.logits(plain, ids, mask), atol=1e-5, rtol=0
        )


def copy_of(handle):
    from models.handle import private_copy

    return private_copy(handle).model


def test_memory_parts_show_what_each_saves(minilm):
    ids, mask, y = batch(minilm.tokenizer, 8)
    mem = {k: ft.memory(ft.apply(k, copy_of(minilm)).train(), ids, mask, y) for k in
           ("full", "head", "lora")}  # fmt: skip
    n_bytes = 4 * sum(p.numel() for p in minilm.model.parameters())
    assert mem["full"].gradients >= n_bytes and mem["full"].optimizer == 2 * mem["full"].gradients
    assert mem["lora"].gradients < n_bytes / 100
    # A frozen encoder saves (almost) nothing for backward; adapters in every layer do.
    assert mem["head"].activations < mem["lora"].activations / 20
    assert mem["lora"].activations > 0.5 * mem["full"].activations
    assert mem["full"].total > 3 * mem["lora"].total


def test_similarity_score_of_minilm_and_spearman():
    assert ft.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert ft.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    pairs = ft.read_pairs()
    assert len(pairs) >= 40 and all(0 <= p.score <= 5 for p in pairs)


def test_minilm_scores_the_pairs_well_and_a_random_encoder_does_not(minilm):
    pairs = ft.read_pairs()
    assert ft.similarity_score(minilm.model, minilm.tokenizer, pairs) > 75
    assert ft.similarity_score(tiny_bert(), minilm.tokenizer, pairs) < 50


def reduced_state(factory, name: str, changes: dict[str, str], extra: tuple[str, ...] = ()):
    """The folder of the prepared state `name` when `make prepare` built it here; else the same
    step's own command with smaller numbers (`changes`: flag -> value; `extra` appended), built
    into a temporary prepared folder, so a clean clone tests the same code path."""
    from dataclasses import replace

    if prepared.ready(name):
        return prepared.path(name)
    step = prepared.step(name)
    argv = list(step.argv)
    for flag, value in changes.items():
        argv[argv.index(flag) + 1] = value
    tmp = factory.mktemp(name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(prepared, "root", lambda: tmp)
        mp.setenv("OMP_NUM_THREADS", "1")  # as the tests run: the same numbers, no contention
        prepared.run_step(replace(step, argv=(*argv, *extra)), log=lambda _: None)
    return tmp / name


@pytest.fixture(scope="module")
def compare_state(tmp_path_factory) -> fine.Comparison:
    """The prepared comparison, or `make prepare`'s step at 16 steps, one seed, four techniques
    (about 20 s): the command line writing comparison.json as the page reads it."""
    folder = reduced_state(
        tmp_path_factory,
        fine.PREPARED,
        {"--steps": "16", "--seeds": "1", "--minutes": "2"},
        ("--evals", "2", "--techniques", "full", "head", "lora", "prompt"),
    )
    res = fine.load(folder)
    assert res is not None, folder
    return res


def test_compare_trains_a_private_copy(minilm):
    before = {n: p.detach().clone() for n, p in minilm.model.named_parameters()}
    cfg = fine.CompareConfig(techniques=("full",), steps=2, evals=1)
    res = fine.compare(minilm, read_rows(SAMPLE), cfg, reporter=Recorder())
    assert res.rows[0]["steps"] == 2 and res.history
    assert all(torch.equal(p, before[n]) for n, p in minilm.model.named_parameters())


def test_the_comparison_the_page_opens_on(compare_state):
    """What holds on the prepared state and on the 16-step one alike: each technique trains what
    it says (peft's count), frozen weights keep the similarity score exactly, a full fine-tune
    moves it, the cheap techniques cost less memory, and every technique learns the task (well
    above the 50% of chance on the 100 held-out reviews), LoRA about as well as the full one."""
    res = compare_state
    rows = {r["key"]: r for r in res.rows}
    assert {"full", "head", "lora"} <= set(rows) and res.n_val == 100
    full, head, lora = rows["full"], rows["head"], rows["lora"]
    assert full["trainable"] == full["total"] == 22_713_986
    assert lora["trainable"] == 6 * 2 * 8 * (384 + 384) + 770 and head["trainable"] == 770
    for frozen in ("head", "prompt"):  # the encoder's own weights never move
        if frozen in rows:
            assert rows[frozen]["similarity"] == pytest.approx(res.similarity_before, abs=1e-6)
    assert full["similarity"] != pytest.approx(res.similarity_before, abs=1e-3)
    assert head["memory_mb"] < lora["memory_mb"] < full["memory_mb"] / 2
    assert all(r["val_acc"] >= 0.58 for r in rows.values()), {
        k: r["val_acc"] for k, r in rows.items()
    }
    assert lora["val_acc"] >= full["val_acc"] - 0.1
    assert {h["technique"] for h in res.history} == {r["technique"] for r in res.rows}
    table = fine.table_rows(res)
    assert table[[r["key"] for r in res.rows].index("full")]["trainable parameters"] == "22,713,986"
    tk = fine.takeaways(res)
    assert tk.full_acc == full["val_acc"] and tk.lora_pct == pytest.approx(0.327, abs=0.001)


def test_a_stop_keeps_the_techniques_already_trained(minilm):
    class StopSecond(Recorder):
        def check(self):
            if len({r["technique"] for r in self.rows}) > 1:
                raise Stopped("stopped by the user")

    cfg = fine.CompareConfig(techniques=("head", "bitfit"), steps=3, evals=1)
    res = fine.compare(minilm, read_rows(SAMPLE), cfg, reporter=StopSecond())
    assert [r["key"] for r in res.rows] == ["head"] and res.stopped == "stopped by the user"


def test_aggregate_gives_mean_and_spread():
    def one(acc, seed):
        row = {"key": "lora", "val_acc": acc, "similarity": 80.0 + seed, "ms_per_step": 10.0}
        return fine.Comparison("m", "d", 1, 1, 86.0, [row], [], {"seed": seed})

    agg = fine.aggregate([one(0.8, 0), one(0.9, 1)])
    row = agg.rows[0]
    assert row["val_acc"] == pytest.approx(0.85) and row["val_acc_sd"] == pytest.approx(
        0.0707, 1e-3
    )
    assert row["seeds"] == 2 and agg.config["seeds"] == [0, 1]


def test_cli_bad_data_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "label": 7}\n')
    with pytest.raises(SystemExit) as exc:
        fine.main(["compare", "--data", str(bad), "--out", str(tmp_path / "o")])
    assert exc.value.code == 2 and "label must be 0 or 1" in capsys.readouterr().err


def test_figures():
    rows = [{"technique": "LoRA", "step": 0, "val_acc": 0.5},
            {"technique": "Full fine-tune", "step": 5, "val_acc": 0.8}]  # fmt: skip
    curve = fig.curves(rows)
    assert sorted(t.name for t in curve.data) == ["Full fine-tune · held-out accuracy",
                                                  "LoRA · held-out accuracy"]  # fmt: skip
    assert fig.curves([]) is None and "step 5" in fig.caption(rows)
    table = [{"technique": "<b>x</b>", "similarity": 70.0, "trainable": 1000, "val_acc": 0.9,
              "memory_parts_mb": {"weights": 1, "gradients": 1, "optimizer": 2,
                                  "activations": 3}}]  # fmt: skip
    assert fig.forgetting(table, 86.0).data[0].x[0] == "&lt;b&gt;x&lt;/b&gt;"
    assert [t.name for t in fig.memory(table).data][-1] == "saved activations"
    assert fig.cost(table).layout.xaxis.type == "log"


# --- the page ----------------------------------------------------------------------------------


def test_page_trains_live_and_shows_the_table():
    at = open_page("views/finetuning.py")
    at.multiselect(key="ft::techniques").set_value(["Frozen encoder + head", "LoRA"]).run()
    at.slider(key="ft::steps").set_value(10).run()
    at.slider(key="ft::budget").set_value(30).run()
    train_on_page(at, "ft::train", 60)
    table = at.dataframe[0].value
    assert list(table["technique"]) == ["Frozen encoder + head", "LoRA"]
    assert table["trainable parameters"][1] == "74,498"
    assert any("MiniLM-L6" in c.value for c in at.main.caption)
    assert len(at.get("plotly_chart")) >= 1  # the curves of the logged rows
    for label, shown in (("Memory", "saved-tensor hooks"), ("Forgetting", "Spearman")):
        at.session_state["ft::tabs"] = label
        at.run()
        assert_ok(at)
        assert shown in texts(at)


def test_page_bad_choices_give_messages_not_traces():
    at = open_page("views/finetuning.py")
    at.multiselect(key="ft::techniques").set_value([]).run()
    assert_ok(at)
    assert "at least one technique" in texts(at) and at.button(key="go::ft::train").disabled
    at.multiselect(key="ft::techniques").set_value(["LoRA"]).run()
    at.radio(key="ft::source").set_value("Hub: rotten_tomatoes").run()
    assert_ok(at)
    assert "Hub dataset is unavailable" in texts(at) and at.button(key="go::ft::train").disabled
