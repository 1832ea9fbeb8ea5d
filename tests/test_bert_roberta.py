"""BERT & RoBERTa page: masking statistics, contextual embeddings, fill-mask, the page itself."""

from __future__ import annotations

import time

import pytest
import torch

from lessons import embeddings as emb
from lessons import fill_mask as fm
from lessons import masking
from tests.apptest import assert_ok, open_page

VOCAB, MASK_ID = 30_522, 103


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
        assert torch.equal(
            m.input_ids[m.action == masking.UNCHANGED], ids[m.action == masking.UNCHANGED]
        )


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
    static = masking.epoch_masks(
        ids, special, VOCAB, MASK_ID, masking.ScheduleConfig("static", epochs=8, copies=1)
    )
    assert all(torch.equal(m.input_ids, static[0].input_ids) for m in static)
    assert all(torch.equal(m.action, static[0].action) for m in static)
    assert masking.coverage(static, special).distinct_masks == 1
    four = masking.epoch_masks(
        ids, special, VOCAB, MASK_ID, masking.ScheduleConfig("static", epochs=8, copies=4)
    )
    assert all(torch.equal(four[e].action, four[e + 4].action) for e in range(4))
    assert masking.coverage(four, special).distinct_masks == 4
    dynamic = masking.epoch_masks(
        ids, special, VOCAB, MASK_ID, masking.ScheduleConfig("dynamic", epochs=8)
    )
    cov_d, cov_s = masking.coverage(dynamic, special), masking.coverage(static, special)
    assert cov_d.distinct_masks == 8
    assert cov_d.ever_target > 2 * cov_s.ever_target  # far more positions get trained
    assert sum(cov_d.times_target) == sum(cov_s.times_target) == 8 * 4  # round(0.15*30)=4


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
    ctx = emb.cosine_matrix(wv.contextual)
    static = emb.cosine_matrix(wv.static)
    off = ~torch.eye(3, dtype=torch.bool)
    assert (ctx[off] < 0.95).all(), ctx
    assert torch.allclose(static, torch.ones(3, 3), atol=1e-5)
    # The static vector is the embedding table's row for "bank".
    row = minilm.model.get_input_embeddings().weight[minilm.tokenizer.convert_tokens_to_ids("bank")]
    assert torch.allclose(wv.static[0], row, atol=1e-6)


def test_word_vector_does_not_depend_on_batch_padding(minilm):
    together = emb.word_vectors(minilm, BANK, "bank")
    alone = emb.word_vectors(minilm, [BANK[0]], "bank")
    assert torch.allclose(together.contextual[0], alone.contextual[0], atol=1e-4)


def test_multi_piece_word_is_averaged_over_its_pieces(minilm):
    wv = emb.word_vectors(minilm, ["Tokenizers split text.", "I like tokenizers"], "tokenizers")
    assert wv.pieces == [["token", "##izer", "##s"]] * 2
    assert emb.find_word("Ask the banker", "bank") is None
    assert emb.find_word("I ❤️ 🚀 rockets", "🚀") == (5, 6)


def test_sentence_similarity_ranks_the_paraphrase_first(minilm):
    sim = emb.sentence_similarity(
        minilm,
        ["A man is playing a guitar.", "Someone strums a guitar.", "The stock market fell."],
    )
    assert torch.allclose(sim.diagonal(), torch.ones(3), atol=1e-5)
    assert sim[0, 1] > sim[0, 2] + 0.3


# ---------------------------------------------------------------- fill-mask


def test_fill_mask_offline_gives_the_clear_note():
    reason = fm.unavailable_reason("bert-base-uncased")
    assert reason is not None and "no masked-LM head" in reason
    with pytest.raises(fm.FillMaskError, match="no masked-LM head"):
        fm.load_mlm("roberta-base")


def test_fill_mask_matches_the_transformers_pipeline(minilm):
    from transformers import BertConfig, BertForMaskedLM, pipeline

    torch.manual_seed(0)
    tok = minilm.tokenizer
    cfg = BertConfig(
        vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2
    )
    model = BertForMaskedLM(cfg).eval()
    ours = fm.fill_mask(tok, model, "the capital of france is [MASK].", top_k=5)
    lib = pipeline("fill-mask", model=model, tokenizer=tok, top_k=5)(
        "the capital of france is [MASK]."
    )
    assert [g.token_id for g in ours[0]] == [r["token"] for r in lib]
    assert [g.prob for g in ours[0]] == pytest.approx([r["score"] for r in lib], abs=1e-5)
    with pytest.raises(fm.FillMaskError, match="Put"):
        fm.fill_mask(tok, model, "no placeholder here")


# ---------------------------------------------------------------- the page


def _page():
    at = open_page("views/bert_roberta.py")
    assert_ok(at)
    return at


def test_page_renders_and_takes_real_and_hostile_text():
    at = _page()
    assert at.title[0].value == "BERT & RoBERTa"
    assert any("no masked-LM head" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) >= 4  # 2 word heatmaps, similarity, mask positions
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["Targets"].rstrip("%")) > 0
    at.text_area(key="bert_tok_text").input("Emoji 🚀🤗 and <script>alert(1)</script>")
    at.text_input(key="bert_word").input("account")
    at.text_area(key="bert_mask_text").input("\u202eabc [MASK] [CLS] " + "x" * 5_000)
    at.text_area(key="bert_sim_sentences").input("<b>bold</b>\n\n\x00\nok")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    unk = [m.value for m in at.metric if m.label == "Unknown [UNK]"]
    assert unk[0] != "0" and unk[1] == "0"  # WordPiece loses the emoji; byte-level BPE never
    assert any("only the first" in c.value for c in at.caption)  # visible truncation
    at.text_input(key="bert_word").input("")
    at.text_area(key="bert_mask_text").input("   ")
    at.run()
    assert not at.exception
    assert len(at.info) >= 2  # the empty-input hints


def test_page_finetune_comparison_starts_and_shows_curves():
    at = _page()
    budget = at.slider(key="bert_ft_budget")
    budget.set_value(budget.min)
    at.button(key="bert_ft_go").click()
    at.run()
    for key in ("job::bert_ft_scratch", "job::bert_ft_minilm"):
        job = at.session_state[key]
        assert job.budget_s == 10
        # Both runs are real; once one has logged an evaluation, stop it early (keeps the test
        # short): a stopped run still hands back its best model.
        deadline = time.monotonic() + 60
        while not any("val_acc" in m for m in job.snapshot()) and not job.finished:
            assert time.monotonic() < deadline, (job.state, job.error)
            job.beat()
            time.sleep(0.2)
        job.stop("enough for the test")
        job.join(30)
        assert job.state in ("done", "timeout", "stopped"), (job.state, job.error)
        assert job.result.fit.steps > 0
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("same split, same budget" in t for t in titles)
    assert any("best val accuracy" in m.label for m in at.metric)
