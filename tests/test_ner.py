"""Project 3: entities as text and back, seqeval scores, the constrained T5 decoder, both
trainers, the command line, the prepared taggers (the Use cases page's hook) and the page."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import yaml

from lessons import ner_format as nf
from models import ner
from models.ner import cli as ner_cli
from tests.apptest import assert_ok, html_of, open_page, texts
from tests.conftest import ROOT
from tests.tabs import open_tab
from tests.test_hostile_inputs import HOSTILE
from tests.test_t5 import train_t5_on_page

SAMPLE = ROOT / "assets" / "ner" / "sample.conll"
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def sents():
    return nf.read_conll(SAMPLE)


# ---- the text format -------------------------------------------------------------------------


def test_the_sample_is_conll_with_every_type(sents):
    assert 300 <= len(sents) <= 500
    types = {sp.type for s in sents for sp in nf.spans_of(s.tags)}
    assert types == set(nf.TYPES)


def test_target_text_parses_back_to_the_same_entities(sents):
    s = nf.Sentence(("EU", "rejects", "German", "call"), ("B-ORG", "O", "B-MISC", "O"))
    assert nf.target_text(s) == "EU [ORG] rejects German [MISC] call"
    adj, _ = nf.adjacent_same_type(sents)
    lost = 0
    for s in sents:
        parsed = nf.parse_target(nf.target_text(s), s.words)
        assert parsed.copied and not parsed.problems
        lost += nf.spans_of(nf.types_to_iob2(parsed.types)) != nf.spans_of(s.tags)
    assert lost <= adj  # only adjacent same-type entities can merge


def test_parsing_every_word_tags_aligned_text_and_tag_like_words():
    words = ("Peter", "Blackburn", "visited", "[ORG]")
    assert nf.source_text(words) == "Peter Blackburn visited (ORG)"
    p = nf.parse_target("Peter [PER] Blackburn [PER] visited [O] (ORG) [O]", words)
    assert p.types == ["PER", "PER", None, None] and p.copied
    # A free-running model that drops a word: tags still land on the words that match.
    p = nf.parse_target("Peter [PER] Blackburn [PER] went (ORG)", words)
    assert p.types == ["PER", "PER", None, None] and not p.copied
    assert nf.parse_target("[LOC] Paris", ("Paris",)).problems


def test_conll_reader_converts_iob1_and_refuses_bad_files(tmp_path):
    text = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP I-ORG\nsaid VBD B-VP O\n\nParis NNP B-NP I-LOC\n"
    got = nf.parse_conll(text)
    assert [s.tags for s in got] == [("B-ORG", "O"), ("B-LOC",)]
    with pytest.raises(nf.DataError, match="unknown tag"):
        nf.parse_conll("EU NNP B-NP B-COMPANY\n")
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(nf.DataError, match="no tagged sentences"):
        nf.read_conll(tmp_path / "empty.txt")


def test_scores_are_entity_level():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    assert nf.score(gold, gold)["f1"] == 1.0
    # Half the person (boundary wrong) and the right place: 1 of 2 predicted, 1 of 3 true.
    pred = [["B-PER", "O", "O", "B-LOC"], ["O", "O"]]
    res = nf.score(gold, pred)
    assert res["precision"] == 0.5 and res["recall"] == pytest.approx(1 / 3, abs=1e-4)
    assert res["per_type"]["LOC"]["f1"] == 1.0 and res["per_type"]["PER"]["f1"] == 0.0


def test_lookup_baseline_only_memorises(sents):
    tag = nf.lookup_tagger(sents[:50])
    assert tag(["Harbourline", "Energy", "said"]) == ["B-ORG", "I-ORG", "O"]
    assert tag(["Zorblax", "Quint", "said"]) == ["O", "O", "O"]


def test_user_text_offsets_and_escaped_highlight():
    text = "Dr <b>Ana</b> Lima met UNICEF in São Paulo."
    words, offsets, cut = nf.split_words(text)
    assert [text[a:b] for a, b in offsets] == words and not cut
    types = [None] * len(words)
    i = words.index("Ana")
    types[i] = "PER"
    spans = nf.char_spans(types, offsets)
    assert spans == [(text.index("Ana"), text.index("Ana") + 3, "PER")]
    html = nf.highlight(text, spans)
    assert "<b>" not in html and "&lt;b&gt;" in html


# ---- models -------------------------------------------------------------------------------------

TINY = dict(d_model=32, d_ff=64, num_layers=1, num_decoder_layers=1, num_heads=2,
            vocab_size=600, val_eval=40)  # fmt: skip


def test_constrained_decoding_copies_the_input_and_tags_every_word(sents):
    cfg = ner.default_config("t5", **TINY)
    tagger = ner.build(cfg, sents[:100])
    batch = [list(s.words) for s in sents[:5]] + [[], ["[ORG]", "👩‍👩‍👧"]]
    out = ner.constrained_decode(tagger.model, tagger.codec, batch)
    for words, d in zip(batch, out, strict=True):
        assert len(d.types) == len(words) and d.text.count("[") == len(words)  # a tag per word
        if "<unk>" not in d.text:  # what it wrote is the input, word for word
            parsed = nf.parse_target(d.text, words)
            assert parsed.copied and parsed.types == d.types
        assert all(abs(sum(p.values()) - 1) < 1e-5 for p in d.tag_probs)


# ---- the prepared taggers (`make prepare`'s steps), the command line ---------------------------

# reduced --minutes for a state not built here (ner-minilm as tests/test_use_cases_page.py asks)
STEPS = {"ner-t5": {"--minutes": "0.4"}, "ner-minilm": {"--minutes": "0.5"}}


@pytest.fixture(scope="module")
def prepared_ner(prepared_states):
    """Both prepared taggers as the page opens on them: the states `make prepare` built here, or,
    where one is missing, its own step (`python -m models.ner train ...`) with a 24-30 s budget
    instead of 3 min, in the session's reduced cache (the real one stays clean)."""
    from models import prepared

    prepared_states(STEPS)
    return {name: prepared.record(name) for name in STEPS}


def _logged(name: str) -> list[dict]:
    from models import prepared

    lines = (prepared.path(name) / "train.log").read_text().splitlines()
    return [json.loads(x) for x in lines if x.startswith("{") and "train_loss" in x]


def test_pretrained_minilm_beats_t5_from_scratch_and_memorising(prepared_ner, sents):
    """The lesson of the Prepared taggers tab, on its states: on 312 sentences the pre-trained
    MiniLM tagger scores far above the T5 trained from scratch and the lookup baseline (held-out
    20%). Each state was trained by the CLI (its loss fell) and loads back with the same scores."""
    from models import loader

    train, val = ner.split(sents, ner.default_config("t5", val_frac=0.2))
    lookup = nf.lookup_tagger(train)
    base = nf.score([list(s.tags) for s in val], [lookup(s.words) for s in val])["f1"]
    f1 = {}
    for name, rec in prepared_ner.items():
        rows = _logged(name)
        assert len(rows) >= 2 and rows[-1]["train_loss"] < 0.8 * rows[0]["train_loss"], rows
        handle = loader.load(f"{name}-prepared")
        with handle.lock:
            res = ner.evaluate(ner.tagger_of(handle), val)
        assert res["f1"] == pytest.approx(rec.result["val_f1"], abs=1e-4)  # saved = trained
        assert res["entities"] == 128 and set(res["per_type"]) == set(nf.TYPES)
        f1[name] = res["f1"]
    # 3-min states: 0.88, 0.30, lookup 0.15; reduced (25 s, 15 s): 0.66, 0.27
    assert f1["ner-minilm"] > f1["ner-t5"] + 0.15 and f1["ner-minilm"] > base + 0.3, (f1, base)


def test_command_line_evaluates_predicts_and_refuses_bad_folders(prepared_ner, tmp_path, sents,
                                                                 capsys):  # fmt: skip
    from models import prepared

    data = tmp_path / "small.conll"
    nf.write_conll(sents[:80], data)

    def call(*args):
        ner_cli.main(list(args))
        return json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    for name in STEPS:
        ev = call("evaluate", "--model", str(prepared.path(name)), "--data", str(data))
        assert {"f1", "precision", "recall", "per_type"} <= set(ev) and ev["n"] == 80
        pred = call("predict", "--model", str(prepared.path(name)), "--text",
                    "EU rejects <b>German</b> call")  # fmt: skip
        assert "rejects" in pred["text"] and isinstance(pred["entities"], list)
        assert all(e["text"] == "EU rejects <b>German</b> call"[e["start"] : e["end"]]
                   for e in pred["entities"])  # fmt: skip
    with pytest.raises(SystemExit) as bad:  # a folder without a model: a message, no trace
        ner_cli.main(["evaluate", "--model", str(tmp_path), "--data", str(data)])
    assert bad.value.code == 2 and "no ner.json" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad:
        ner_cli.main(["train", "--data", str(data), "--out", str(tmp_path / "m"), "--minutes", "0"])
    assert bad.value.code == 2


def test_autotrain_project_is_a_seq2seq_config_with_the_data(sents):
    files = ner.autotrain_project(sents, ner.default_config("t5", val_frac=0.2))
    cfg = yaml.safe_load(files["config.yml"])
    assert cfg["task"] == "seq2seq" and cfg["backend"] == "local"
    assert cfg["data"]["column_mapping"] == {"text_column": "text", "target_column": "target"}
    assert cfg["params"]["mixed_precision"] == "none"
    rows = [json.loads(line) for line in files["data/train.jsonl"].splitlines()]
    valid = files["data/valid.jsonl"].splitlines()
    assert len(rows) + len(valid) == len(sents)
    assert all(r["text"].startswith("ner: ") and "[" in r["target"] for r in rows[:20])


def test_prepared_tagger_loads_through_the_registry_and_tags_text(sents, tmp_path, monkeypatch):
    from models import loader, prepared, registry

    monkeypatch.setenv("GALLERY_CACHE", str(tmp_path))
    choice = registry.get_choice("ner-t5-prepared")
    assert choice.kind == "seq2seq" and not choice.available()
    tagger = ner.build(ner.default_config("t5", **TINY), sents[:60])
    ner.save(tagger, prepared.path("ner-t5"))
    (prepared.path("ner-t5") / "record.json").write_text("{}")
    assert choice.available()
    handle = loader.load("ner-t5-prepared")
    spans = ner.handle_entities(handle, "Maria Okafor flew to Lisbon.")
    assert all(isinstance(a, int) and b > a and t in nf.TYPES for a, b, t in spans)
    assert registry.get_choice("ner-minilm-prepared").kind == "token-cls"


# ---- the page -----------------------------------------------------------------------------------


def test_page_trains_a_tagger_live_and_tags_hostile_text():
    at = open_page("views/t5_ner.py")
    assert "EU [ORG]" in " ".join(m.value for m in at.main.markdown)
    open_tab(at, "ner::tabs", "Train live")
    at.radio(key="ner::arch").set_value("T5 from scratch (Seq2SeqTrainer)")
    job = train_t5_on_page(at, "ner")
    assert isinstance(job.result, ner.Trained) and any("val_f1" in r for r in job.snapshot())
    assert at.dataframe[0].value["F1"].notna().all()
    open_tab(at, "ner::tabs", "Your sentence")
    at.radio(key="ner::tagger").set_value("the model trained live on this page").run()
    box = at.text_area(key="ner::text")
    for value in HOSTILE.values():
        box.input(value).run()
        assert_ok(at)
        assert "<script>" not in html_of(at)
    box.input("Maria Okafor flew from Lisbon to Nairobi.").run()
    assert "Maria" in " ".join(c.value for c in at.main.code)
    open_tab(at, "ner::tabs", "AutoTrain")
    assert any("task: seq2seq" in c.value for c in at.main.code)


def test_page_opens_on_the_prepared_taggers_and_tags_with_them(prepared_ner):
    at = open_page("views/t5_ner.py")
    open_tab(at, "ner::tabs", "Prepared taggers")
    assert "Opened on **Project 3's MiniLM tagger**" in texts(at)
    table = at.dataframe[0].value.set_index("model")
    assert list(table.index) == ["T5 from scratch", "MiniLM tagger", "memorising baseline"]
    for name, row in (("ner-t5", "T5 from scratch"), ("ner-minilm", "MiniLM tagger")):
        assert table.loc[row, "F1"] == pytest.approx(prepared_ner[name].result["val_f1"], abs=1e-4)
    open_tab(at, "ner::tabs", "Your sentence")
    at.radio(key="ner::tagger").set_value("MiniLM tagger (prepared)").run()
    at.text_area(key="ner::text").input("<i>Maria Okafor</i> flew from Lisbon to Nairobi.").run()
    assert_ok(at)
    shown = html_of(at)
    assert "&lt;i&gt;" in shown and "<i>" not in shown and "<mark" in shown  # entities found


def test_hub_t5_recipe_adds_tag_tokens(monkeypatch, tmp_path, sents):
    from tests.fakehub import fake_hub

    fake_hub(monkeypatch, tmp_path, {"google-t5/t5-small": "seq2seq"})
    cfg = ner.default_config("t5", base="google-t5/t5-small")
    assert cfg.prefix == "ner: " and cfg.lr < 2e-3
    tagger = ner.build(cfg, sents[:20])
    assert all(tagger.tokenizer.convert_tokens_to_ids(t) != tagger.tokenizer.unk_token_id
               for t in nf.TAG_TOKENS)  # fmt: skip
    d = tagger.explain(["EU", "rejects", "German", "call"])
    assert len(d.types) == 4 and replace(cfg, base=None).base is None


def test_figures_draw_scores_and_choices():
    from figures import ner as fig

    assert fig.training_curves([]) is None
    rows = [{"step": 5, "train_loss": 1.0, "val_f1": 0.5, "val_precision": 0.6,
             "val_recall": 0.4, "examples_per_s": 1234.0}]  # fmt: skip
    assert [t.name for t in fig.training_curves(rows).data] == ["loss", "f1", "precision",
                                                               "recall"]  # fmt: skip
    assert "1,234 training sentences/s" in fig.training_caption(rows)
    score = nf.score([["B-PER", "O"]], [["B-PER", "O"]])
    bars = fig.f1_per_type({"<b>mine</b>": score})
    assert bars.data[0].name == "&lt;b&gt;mine&lt;/b&gt;" and bars.data[0].y[0] == 1.0
    probs = [{"none": 0.9, "PER": 0.1, "ORG": 0.0, "LOC": 0.0, "MISC": 0.0}]
    assert np.asarray(fig.tag_choices(["<i>x</i>"], probs).data[0].z).shape == (5, 1)


def test_both_optimizers_follow_the_clock_schedule_and_step():
    import time

    import torch

    from models import hf_training as hft

    for kind in hft.OPTIMIZERS:
        model = torch.nn.Linear(4, 4)
        opt = hft.optimizer(model, 1e-2, 0.0, kind)
        hft.time_schedule(opt, time.monotonic() + 100, warmup_steps=10)
        assert opt.param_groups[0]["lr"] == pytest.approx(1e-3, rel=0.01)  # warmup step 1 of 10
        before = model.weight.detach().clone()
        model(torch.ones(2, 4)).pow(2).sum().backward()
        opt.step()
        assert not torch.equal(before, model.weight), kind
    with pytest.raises(ValueError, match="unknown optimizer"):
        hft.optimizer(torch.nn.Linear(2, 2), 1e-2, 0.0, "sgd")
