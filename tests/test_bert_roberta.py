"""BERT & RoBERTa page: masking statistics, contextual embeddings, fill-mask (offline stand-in and
the Hub path on tiny models), the built-in sample's held-out wording, pre-trained vs scratch on
the prepared runs, and the page itself."""

from __future__ import annotations

import json
import time

import pytest
import torch

from figures import bert_roberta as fig
from lessons import embeddings as emb
from lessons import fill_mask as fm
from lessons import masking
from models import sentiment as sent
from models.handle import Handle
from models.registry import MINILM
from models.sentiment_data import DataError, parse_bytes, read_rows, split, unseen_words
from models.sentiment_data import test_rows as held_out_rows
from models.sentiment_infer import compare_runs, spread
from models.sentiment_model import load as load_model
from tests.apptest import assert_ok, click, open_page, texts
from tests.conftest import ROOT

VOCAB, MASK_ID = 30_522, 103
SAMPLE = ROOT / "assets" / "sentiment" / "sample.jsonl"


def _sequence(n: int = 200, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """[CLS] + n random ids + [SEP] + 3 padding ids; specials flagged."""
    g = torch.Generator().manual_seed(seed)
    body = torch.randint(1_000, VOCAB, (n,), generator=g)
    ids = torch.cat([torch.tensor([101]), body, torch.tensor([102, 0, 0, 0])])
    special = torch.ones_like(ids, dtype=torch.bool)
    special[1 : n + 1] = False
    return ids, special


# ---------------------------------------------------------------- masking


def test_bernoulli_masking_statistics_match_bert():
    ids, special = _sequence()
    cfg = masking.MaskConfig(selection="bernoulli")
    s = masking.measure(ids, special, VOCAB, MASK_ID, draws=400, seed=1, cfg=cfg)
    assert abs(s.selected - 0.15) < 0.015, s
    assert abs(s.masked - 0.80) < 0.03 and abs(s.random - 0.10) < 0.03, s
    assert abs(s.unchanged - 0.10) < 0.03, s
    assert s.special_selected == 0


def test_exact_selection_picks_round_15_percent_and_never_specials():
    ids, special = _sequence(n=60)
    gen = torch.Generator().manual_seed(0)
    for _ in range(50):
        m = masking.mask_tokens(ids, special, VOCAB, MASK_ID, gen)
        assert int(m.targets.sum()) == 9  # round(0.15 * 60)
        assert not (m.targets & special).any()
        # Inputs only change at targets; labels keep the original id there and -100 elsewhere.
        assert torch.equal(m.input_ids[~m.targets], ids[~m.targets])
        assert torch.equal(m.labels[m.targets], ids[m.targets])
        assert (m.labels[~m.targets] == -100).all()
        assert (m.input_ids[m.action == masking.MASKED] == MASK_ID).all()
        same = m.action == masking.UNCHANGED
        assert torch.equal(m.input_ids[same], ids[same])


def test_statistics_agree_with_the_transformers_collator(minilm):
    from transformers import DataCollatorForLanguageModeling

    tok = minilm.tokenizer
    enc = tok("the quick brown fox jumps over the lazy dog " * 12, return_special_tokens_mask=True)
    ids = torch.tensor(enc["input_ids"])
    special = torch.tensor(enc["special_tokens_mask"]).bool()
    collator = DataCollatorForLanguageModeling(tok, mlm_probability=0.15, seed=0)
    ours = masking.measure(
        ids, special, len(tok), tok.mask_token_id, 300, 0, masking.MaskConfig(selection="bernoulli")
    )
    batch = ids.repeat(300, 1)  # (300, T)
    inputs, labels = collator.torch_mask_tokens(batch.clone(), special.repeat(300, 1).long())
    targets = labels != -100
    assert not targets[:, special].any()
    lib_selected = targets.float().sum() / ((~special).sum() * 300)
    lib_masked = (inputs[targets] == tok.mask_token_id).float().mean()
    assert abs(ours.selected - lib_selected.item()) < 0.015
    assert abs(ours.masked - lib_masked.item()) < 0.03


def test_static_masks_repeat_and_dynamic_ones_change():
    ids, special = _sequence(n=30)
    sched = masking.ScheduleConfig
    static = masking.epoch_masks(ids, special, VOCAB, MASK_ID, sched("static", 8, 1))
    assert all(torch.equal(m.action, static[0].action) for m in static)
    assert masking.coverage(static, special).distinct_masks == 1
    four = masking.epoch_masks(ids, special, VOCAB, MASK_ID, sched("static", 8, 4))
    assert all(torch.equal(four[e].action, four[e + 4].action) for e in range(4))
    assert masking.coverage(four, special).distinct_masks == 4
    dynamic = masking.epoch_masks(ids, special, VOCAB, MASK_ID, sched("dynamic", 8))
    cov_d, cov_s = masking.coverage(dynamic, special), masking.coverage(static, special)
    assert cov_d.distinct_masks == 8
    assert cov_d.ever_target > 2 * cov_s.ever_target  # far more positions get trained
    assert sum(cov_d.times_target) == sum(cov_s.times_target) == 8 * 4  # round(0.15*30)=4


def test_the_pages_mask_demo_numbers(minilm):
    text = "The quick brown fox jumps over the lazy dog while the farmer sleeps under a tree."
    demo = masking.demo(minilm.tokenizer, text, masking.ScheduleConfig("static", 6, 2, 0))
    n = len(demo.original) - 2  # without [CLS] and [SEP]
    assert demo.original[0] == "[CLS]" and demo.original[-1] == "[SEP]" and n == 17
    assert len(demo.static.rows) == len(demo.dynamic.rows) == 6
    assert demo.static.coverage.distinct_masks == 2 and demo.dynamic.coverage.distinct_masks == 6
    for pieces, action in demo.static.rows + demo.dynamic.rows:
        assert sum(a != masking.NOT_SELECTED for a in action) == round(0.15 * n)  # 3 of 17
        assert action[0] == action[-1] == masking.NOT_SELECTED
        assert pieces.count("[MASK]") == action.count(masking.MASKED)
    assert demo.dynamic.coverage.ever_target > demo.static.coverage.ever_target
    s = demo.stats
    assert s.draws == 2_000 and s.special_selected == 0
    assert s.selected == pytest.approx(3 / 17, abs=1e-9)  # exact selection: round(15% of 17)
    assert abs(s.masked - 0.8) < 0.03 and abs(s.random - 0.1) < 0.02


# ---------------------------------------------------------------- embeddings

BANK = [
    "We had a picnic on the river bank.",
    "I opened a savings account at the bank.",
    "You can bank on me.",
]


def test_context_changes_the_word_vector_but_not_the_input_embedding(minilm):
    wv = emb.word_vectors(minilm, [*BANK, "No such word in this one (banker)."], "bank")
    assert wv.pieces == [["bank"]] * 3
    assert wv.missing == ["No such word in this one (banker)."]
    ctx, static = emb.cosine_matrix(wv.contextual), emb.cosine_matrix(wv.static)
    lo, hi = emb.off_diagonal_range(ctx)
    assert hi < 0.95 and lo < hi, ctx
    assert torch.allclose(static, torch.ones(3, 3), atol=1e-5)
    row = minilm.model.get_input_embeddings().weight[minilm.tokenizer.convert_tokens_to_ids("bank")]
    assert torch.allclose(wv.static[0], row, atol=1e-6)  # the table's row for "bank"
    assert emb.off_diagonal_range(torch.ones(1, 1)) is None


def test_word_vector_does_not_depend_on_batch_padding(minilm):
    together = emb.word_vectors(minilm, BANK, "bank")
    alone = emb.word_vectors(minilm, [BANK[0]], "bank")
    assert torch.allclose(together.contextual[0], alone.contextual[0], atol=1e-4)


def test_multi_piece_word_is_averaged_over_its_pieces(minilm):
    wv = emb.word_vectors(minilm, ["Tokenizers split text.", "I like tokenizers"], "tokenizers")
    assert wv.pieces == [["token", "##izer", "##s"]] * 2
    assert emb.find_word("Ask the banker", "bank") is None
    assert emb.find_word("I ❤️ 🚀 rockets", "🚀") == (5, 6)
    sim = emb.sentence_similarity(
        minilm, ["A man is playing a guitar.", "Someone strums a guitar.", "The stock market fell."]
    )
    assert torch.allclose(sim.diagonal(), torch.ones(3), atol=1e-5)
    assert sim[0, 1] > sim[0, 2] + 0.3


# ---------------------------------------------------------------- fill-mask


def _tiny_mlm(tokenizer) -> Handle:
    import threading

    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1,
                     num_attention_heads=2)  # fmt: skip
    return Handle(MINILM, tokenizer, BertForMaskedLM(cfg).eval(), threading.RLock(), "cpu")


def test_fill_mask_matches_the_transformers_pipeline(minilm):
    from transformers import pipeline

    handle = _tiny_mlm(minilm.tokenizer)
    text = "the capital of france is [MASK]."
    ours = fm.fill_mask(handle, text, top_k=5)
    lib = pipeline("fill-mask", model=handle.model, tokenizer=handle.tokenizer, top_k=5)(text)
    assert [g.token_id for g in ours[0]] == [r["token"] for r in lib]
    assert [g.prob for g in ours[0]] == pytest.approx([r["score"] for r in lib], abs=1e-5)
    two = fm.fill_mask(handle, "a [MASK] and a [MASK].", top_k=3)
    assert len(two) == 2 and all(len(row) == 3 for row in two)
    with pytest.raises(fm.FillMaskError, match="Put"):
        fm.fill_mask(handle, "no placeholder here")
    with pytest.raises(fm.FillMaskError, match="At most"):
        fm.fill_mask(handle, "[MASK] " * 6)


def test_smollm2_stand_in_reads_only_the_text_before_the_mask(smollm2):
    out = fm.next_token_view(smollm2, "The capital of France is [MASK]. It is lovely.")
    assert out.prefix == "The capital of France is" and not out.cut
    assert out.guesses[0].token == "Paris", out.guesses[:3]
    assert sum(g.prob for g in out.guesses) <= 1.0 + 1e-6
    assert out.guesses == sorted(out.guesses, key=lambda g: -g.prob)
    # The words after the gap never reach it: the same guesses whatever follows.
    other = fm.next_token_view(smollm2, "The capital of France is [MASK] and so on.")
    assert [g.token_id for g in other.guesses] == [g.token_id for g in out.guesses]
    with pytest.raises(fm.FillMaskError, match="very start"):
        fm.next_token_view(smollm2, "[MASK] is the capital of France.")


# ---------------------------------------------------------------- the sample's held-out wording


def test_sample_test_rows_use_words_the_training_rows_never_do():
    rows = read_rows(SAMPLE)
    train, val = split(rows, 0.1, seed=7)  # the file's own split, whatever the seed
    held = held_out_rows(rows)
    assert (len(rows), len(train), len(val), len(held)) == (300, 160, 40, 100)
    assert sum(r.label for r in held) == 50 and sum(r.label for r in val) == 20
    new = set(unseen_words(rows))
    assert {"riveting", "sublime", "dreadful", "insipid", "hardly", "although", "yet"} <= new
    seen = set().union(*(set(r.text.split()) for r in train + val))
    for r in held:  # every held-out review has a word the training reviews never use
        assert set(r.text.replace(",", "").split()) - seen, r.text
    assert not {r.text for r in held} & {r.text for r in train + val}


def test_split_field_is_validated():
    with pytest.raises(DataError, match="'split' must be one of"):
        parse_bytes(b'{"text": "ok", "label": 1, "split": "holdout"}\n', "a.jsonl")
    with pytest.raises(DataError, match="validation rows need both labels"):
        data = b'{"text": "a", "label": 1, "split": "val"}\n' + b'{"text": "b", "label": 0}\n' * 2
        split(parse_bytes(data + b'{"text": "c", "label": 1}\n', "b.jsonl"), 0.1, 0)


def test_compare_cli_on_a_tiny_budget(tmp_path, capsys):
    rows = read_rows(SAMPLE)
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"text": r.text, "label": r.label, "split": r.split}) + "\n"
                            for r in rows[::3]))  # fmt: skip
    sent.main(["compare", "--data", str(data), "--out", str(tmp_path / "c"), "--minutes", "0.04",
               "--seeds", "0,1", "--archs", "scratch", "--size", "tiny"])  # fmt: skip
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["seeds"] == 2 and 0 <= last["scratch_test_acc_min"] <= 1
    runs = json.loads((tmp_path / "c" / "compare.json").read_text())["runs"]
    assert [(r["arch"], r["seed"]) for r in runs] == [("scratch", 0), ("scratch", 1)]
    assert all(r["history"] and "test_acc" in r["history"][-1] for r in runs)
    assert (tmp_path / "c" / "scratch" / "model.safetensors").exists()
    assert spread(runs, "scratch")["n"] == 2 and spread(runs, "minilm") is None


# ---------------------------------------------------------------- pre-training, prepared


@pytest.fixture(scope="module")
def compare_state(prepared_states):
    """`make prepare`'s comparison (3 seeds × 30 s per model) when it was built here; otherwise
    the same command reduced to 2 seeds × 15 s (about 70 s) into a temporary cache."""
    steps = {"pretraining-compare": {"--seeds": "0,1", "--minutes": "0.25"}}
    return prepared_states(steps)["pretraining-compare"]


def test_pretrained_beats_scratch_on_new_wording_every_seed(compare_state):
    runs = compare_runs()
    by = {(r["arch"], r["seed"]): r for r in runs}
    seeds = sorted({r["seed"] for r in runs})
    assert len(seeds) >= 2
    for seed in seeds:
        mini, scratch = by["minilm", seed]["test_acc"], by["scratch", seed]["test_acc"]
        assert mini >= scratch + 0.15, (seed, mini, scratch)
    mini, scratch = spread(runs, "minilm"), spread(runs, "scratch")
    assert mini["min"] > scratch["max"] + 0.1  # the ranges do not even touch
    assert scratch["mean"] < 0.62  # words it never read: near chance
    # On familiar wording the scratch model did learn: the gap is what pre-training buys.
    assert spread(runs, "scratch", "best_val_acc")["mean"] > 0.65


def test_the_prepared_models_give_the_recorded_accuracy(compare_state):
    rows = read_rows(SAMPLE)
    held = held_out_rows(rows)
    runs = {r["arch"]: r for r in compare_runs() if r["seed"] == compare_runs()[0]["seed"]}
    got = {}
    for arch in ("scratch", "minilm"):
        model, tok, _ = load_model(compare_state / arch)
        got[arch] = sent.evaluate(model, sent.encode(tok, held, 64))["accuracy"]
        assert got[arch] == pytest.approx(runs[arch]["test_acc"], abs=1e-4)
    assert got["minilm"] > got["scratch"] + 0.15


# ---------------------------------------------------------------- the page


def _open(tab: str | None = None):
    at = open_page("views/bert_roberta.py")
    if tab:
        at.session_state["bert::tabs"] = tab
        at.run()
        assert_ok(at)
    return at


def test_page_tokenizers_tab_takes_real_and_hostile_text():
    at = _open()
    assert at.title[0].value == "BERT & RoBERTa"
    at.text_area(key="bert::tok_text").input("Emoji 🚀🤗 and <script>alert(1)</script>").run()
    assert_ok(at)
    unk = [m.value for m in at.metric if m.label == "Unknown [UNK]"]
    assert unk[0] != "0" and unk[1] == "0"  # WordPiece loses the emoji; byte-level BPE never
    assert "<script>" not in " ".join(h.proto.body for h in at.get("html"))


def test_page_embeddings_and_masking_tabs():
    at = _open("Contextual embeddings")
    assert len(at.get("plotly_chart")) == 3  # contextual, static, sentence similarity
    assert any("Contextual cosine between sentences" in c.value for c in at.caption)
    at.text_input(key="bert::word").input("").run()
    assert_ok(at)
    assert any("Type a word" in i.value for i in at.info)
    at.session_state["bert::tabs"] = "Masking"
    at.run()
    assert_ok(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Targets"] == "17.6%"  # round(15% of 17) = 3 targets of 17 tokens, exactly
    at.text_area(key="bert::mask_text").input("\u202eabc [MASK] [CLS] " + "x" * 5_000).run()
    assert_ok(at)
    assert any("only the first" in c.value.lower() for c in at.caption)  # visible truncation


def test_page_fill_mask_offline_says_why_and_shows_the_stand_in():
    at = _open("Fill-mask")
    assert any("no masked-LM head" in i.value for i in at.info)
    frame = at.dataframe[0].value
    assert frame["guess"].iloc[0] == "Paris"
    assert any("Not a fill-mask" in c.value for c in at.caption)
    at.text_input(key="bert::fill_text").input("[MASK] first").run()
    assert_ok(at)
    assert any("very start" in w.value for w in at.warning)


def test_page_fill_mask_with_hub_masked_lms(monkeypatch, tmp_path):
    from tests.fakehub import fake_hub

    fake_hub(monkeypatch, tmp_path, {"google-bert/bert-base-uncased": "masked-lm",
                                     "FacebookAI/roberta-base": "masked-lm"})  # fmt: skip
    at = _open("Fill-mask")
    assert not any("no masked-LM head" in i.value for i in at.info)
    shown = texts(at)
    assert "BERT base uncased (Hub)" in shown and "RoBERTa base (Hub)" in shown
    tables = [d.value for d in at.dataframe]
    assert len(tables) == 3  # one per masked LM, then the stand-in
    assert all(len(t) == 5 and (t["probability"] > 0).all() for t in tables[:2])


def test_page_pretraining_tab_opens_on_the_prepared_runs(compare_state):
    at = _open("Why pre-training matters")
    assert any("Opened on" in c.value for c in at.caption)
    metrics = {m.label: m.value for m in at.metric}
    mini = float(metrics["MiniLM fine-tune: new wording"].rstrip("%"))
    scratch = float(metrics["from scratch: new wording"].rstrip("%"))
    assert mini > scratch + 15
    assert any("costs" in c.value and "measured here" in c.value for c in at.caption)
    probs = {m.label: float(m.value.split("=")[1]) for m in at.metric if "P(positive)" in m.value}
    assert len(probs) == 2
    mini_p = next(v for name, v in probs.items() if "MiniLM" in name)
    assert mini_p > 0.7  # "a riveting story with a sublime score": only MiniLM knows the words


def test_page_trains_both_live():
    """One button, one training panel: from scratch, then MiniLM, each for the budget."""
    at = _open("Why pre-training matters")
    at.slider(key="bert::budget").set_value(10)
    click(at, "go::bert::both")
    job = at.session_state["job::bert::both"]
    assert job.budget_s == 40
    deadline = time.monotonic() + 120
    while not job.finished:  # both runs end on their own within their budgets
        assert time.monotonic() < deadline, (job.state, job.error)
        job.beat()
        time.sleep(0.2)
    assert job.state == "done", (job.state, job.error)
    assert set(job.result) == {"scratch", "minilm"}
    for trained in job.result.values():
        assert trained.fit.steps > 0 and trained.test_acc is not None
    assert {r["arch"] for r in job.snapshot() if "val_acc" in r} == {"scratch", "minilm"}
    at.run()
    assert_ok(at)
    assert any("this run" in m.label for m in at.metric)
    assert fig.runs_caption(job.snapshot()).startswith("MiniLM fine-tune: step ")


# ---------------------------------------------------------------- figures


def test_figures_draw_what_the_runs_logged():
    accs = (("scratch", 0, 0.5), ("scratch", 1, 0.55), ("minilm", 0, 0.8), ("minilm", 1, 0.78))
    runs = [{"arch": a, "seed": s, "test_acc": acc} for a, s, acc in accs]
    dots = fig.seed_results(runs)
    scatter = [t for t in dots.data if t.type == "scatter"]
    assert [list(t.y) for t in scatter] == [[0.5, 0.55], [0.8, 0.78]]
    assert [t.y[0] for t in dots.data if t.type == "bar"] == pytest.approx([0.525, 0.79])
    rows = [{"arch": "minilm", "elapsed_s": t, "step": t, "val_acc": 0.9, "test_acc": 0.7,
             "examples_per_s": 160.0} for t in (1, 2)]  # fmt: skip
    curves = fig.runs_curves(rows)
    assert {t.name for t in curves.data} == {"MiniLM fine-tune · familiar wording (val)",
                                             "MiniLM fine-tune · new wording (test)"}  # fmt: skip
    assert fig.runs_curves([{"t": 0}]) is None
    assert fig.mask_positions([1, 0, 2], [1, 1, 1]).data[1].name == "dynamic"


@pytest.mark.parametrize("tab", ["Contextual embeddings", "Masking", "Fill-mask",
                                 "Why pre-training matters"])  # fmt: skip
def test_text_boxes_of_the_later_tabs_survive_hostile_values(tab):
    """test_hostile_inputs.py reaches the first tab only; these tabs compute on typed text too."""
    from tests.test_hostile_inputs import HOSTILE

    at = _open(tab)
    n = len([*at.main.text_area, *at.main.text_input])
    for name in ("empty", "huge", "emoji_zwj", "rtl_override", "html_script", "special_tokens"):
        for i in range(n):
            box = [*at.main.text_area, *at.main.text_input][i]
            box.input(HOSTILE[name]).run()
            assert not at.exception, (tab, name, [e.value for e in at.exception])
            assert "<script>" not in " ".join(h.proto.body for h in at.get("html")), (tab, name)
