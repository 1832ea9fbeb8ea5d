"""High-level architecture: staged forward == the library's forward, shapes of every stage,
parameter counts per component, and the page under real and hostile input."""

from __future__ import annotations

import pytest
import torch
from streamlit.testing.v1 import AppTest

from lessons import architecture as arch
from lessons.course import COURSE
from tests.apptest import open_page
from tests.conftest import ROOT

APP = ROOT / "app.py"
PAGE = "views/architecture.py"
SENTENCE = arch.DEFAULT_SENTENCE
CFG = arch.TraceConfig()


def _trace(handle, text: str = SENTENCE, cfg: arch.TraceConfig = CFG):
    with handle.lock:
        return arch.trace_forward(handle.model, handle.tokenizer, text, cfg)


# ---- staged forward --------------------------------------------------------------------------


def test_encoder_staged_forward_matches_library(minilm):
    trace = _trace(minilm)
    assert trace.arch == "encoder"
    assert trace.tokens[0] == "[CLS]" and trace.tokens[-1] == "[SEP]"
    assert "animal" in trace.tokens
    with minilm.lock, torch.inference_mode():
        out = minilm.model(input_ids=trace.input_ids)
    assert torch.allclose(trace.hidden, out.last_hidden_state, atol=1e-4)
    # The sentence embedding is the mean over tokens of last_hidden_state.
    expected = out.last_hidden_state.mean(1)  # (1, d)
    assert torch.allclose(trace.output, expected, atol=1e-5)
    with minilm.lock:
        assert arch.parity(minilm.model, trace) < 1e-4


def test_decoder_staged_forward_matches_library(smollm2):
    trace = _trace(smollm2)
    assert trace.arch == "decoder"
    assert "".join(trace.tokens) == SENTENCE  # byte-level BPE round-trips the text
    with smollm2.lock, torch.inference_mode():
        out = smollm2.model(input_ids=trace.input_ids)
        ref_hidden = smollm2.model.model(input_ids=trace.input_ids).last_hidden_state
    assert torch.allclose(trace.output, out.logits, atol=1e-4)
    assert torch.allclose(trace.hidden, ref_hidden, atol=1e-4)
    with smollm2.lock:
        top = arch.top_next_tokens(trace.output, smollm2.tokenizer, k=5)
        assert arch.parity(smollm2.model, trace) < 1e-4
    probs = [p for _, p in top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    # The top candidate is the library's own argmax.
    assert top[0][0] == smollm2.tokenizer.decode([int(out.logits[0, -1].argmax())])


def test_encoder_stage_shapes(minilm):
    trace = _trace(minilm)
    cfg = minilm.model.config
    B, T, d = 1, trace.input_ids.shape[1], cfg.hidden_size
    names = [s.name for s in trace.stages]
    assert names[:4] == [
        "token embeddings",
        "position embeddings (learned)",
        "token-type embeddings",
        "embedding LayerNorm",
    ]
    per_block = [s for s in trace.stages if s.block is not None]
    assert len(per_block) == 4 * cfg.num_hidden_layers
    for s in trace.stages[:-1]:
        assert tuple(s.tensor.shape) == (B, T, d), s.name
    assert trace.stages[-1].kind == "pooled" and tuple(trace.stages[-1].tensor.shape) == (B, d)
    # Post-LN: the residual stream after each block is LayerNorm-ed (mean ~0 per token).
    last = trace.stages[-2]
    assert last.residual and torch.allclose(last.tensor, trace.hidden)


def test_decoder_stage_shapes_and_no_position_vector(smollm2):
    trace = _trace(smollm2)
    cfg = smollm2.model.config
    B, T, d = 1, trace.input_ids.shape[1], cfg.hidden_size
    hs = cfg.hidden_size // cfg.num_attention_heads
    by_kind = {}
    for s in trace.stages:
        by_kind.setdefault(s.kind, []).append(s)
    assert len(by_kind["attention"]) == len(by_kind["ffn"]) == cfg.num_hidden_layers
    (rope,) = by_kind["position"]
    assert tuple(rope.tensor.shape) == (B, T, hs) and not rope.residual
    assert torch.allclose(rope.tensor[0, 0], torch.ones(hs))  # cos(0) = 1: position 0 unrotated
    for s in trace.stages:
        if s.kind not in ("position", "logits"):
            assert tuple(s.tensor.shape) == (B, T, d), s.name
    assert tuple(trace.output.shape) == (B, T, cfg.vocab_size)
    # The residual stream starts as the bare token embeddings: nothing is added for positions.
    emb = smollm2.model.get_input_embeddings().weight[trace.input_ids[0]]
    assert trace.stages[0].residual and torch.equal(trace.stages[0].tensor[0], emb.detach())
    # Each residual is the previous one plus that sublayer's output.
    a0, r0 = trace.stages[2], trace.stages[3]
    assert torch.allclose(r0.tensor, trace.stages[0].tensor + a0.tensor, atol=1e-6)


def test_truncation_keeps_special_tokens(minilm):
    cfg = arch.TraceConfig(max_tokens=16)
    trace = _trace(minilm, "word " * 100, cfg)
    assert trace.truncated and trace.n_tokens_in == 102
    assert trace.input_ids.shape == (1, 16) and trace.tokens[-1] == "[SEP]"


def test_unknown_structure_is_a_readable_error():
    with pytest.raises(ValueError, match="neither BERT-like"):
        arch.detect_arch(torch.nn.Linear(2, 2))


def test_view_is_small_and_keeps_shapes(minilm):
    cfg = arch.TraceConfig()
    trace = _trace(minilm)
    view = arch.view_trace(trace, minilm.tokenizer, 0.0, cfg)
    T = len(trace.tokens)
    for sv, s in zip(view.stages, trace.stages, strict=True):
        assert sv.shape == tuple(s.tensor.shape)
        assert sv.preview.shape[0] <= cfg.preview_tokens and sv.preview.shape[1] <= cfg.preview_dims
    assert view.stages[0].token_norms.shape == (T,)
    expected = trace.stages[0].tensor[0].norm(dim=-1).numpy()
    assert abs(view.stages[0].token_norms - expected).max() < 1e-6


# ---- parameters -------------------------------------------------------------------------------


TOTALS = [("minilm", 22_713_216), ("smollm2", 134_515_008)]


@pytest.mark.parametrize(("fixture", "expected"), TOTALS)
def test_parameter_components_sum_to_total(request, fixture, expected):
    handle = request.getfixturevalue(fixture)
    rows = arch.count_parameters(handle.model)
    total = sum(p.numel() for p in handle.model.parameters())
    assert sum(r.params for r in rows) == total == expected
    assert not [r for r in rows if r.group == "other"], "every tensor gets a component"
    n_layers = handle.model.config.num_hidden_layers
    assert {r.block for r in rows if r.block is not None} == set(range(n_layers))


def test_tied_embeddings_counted_once(smollm2, minilm):
    rows = arch.count_parameters(smollm2.model)
    cfg = smollm2.model.config
    emb = [r for r in rows if r.component == "token embeddings"]
    assert [r.params for r in emb] == [cfg.vocab_size * cfg.hidden_size]  # 49152 * 576
    head = [r for r in rows if r.group == "head"]
    assert len(head) == 1 and head[0].params == 0 and "tied" in head[0].component
    assert arch.tied_output_embeddings(smollm2.model)
    assert not arch.tied_output_embeddings(minilm.model)


@pytest.mark.parametrize("fixture", ["minilm", "smollm2"])
def test_block_formula_matches_counted(request, fixture):
    handle = request.getfixturevalue(fixture)
    kind = arch.detect_arch(handle.model)
    formula = arch.block_formula(handle.model.config, kind)
    rows = arch.count_parameters(handle.model)
    for b in range(handle.model.config.num_hidden_layers):
        assert {r.component: r.params for r in rows if r.block == b} == formula


def test_attention_patterns():
    causal = arch.attention_pattern("causal", 4)
    assert causal[0].tolist() == [1, 0, 0, 0] and causal[3].sum() == 4
    assert arch.attention_pattern("bidirectional", 3).sum() == 9
    assert arch.attention_pattern("cross", 2, 5).shape == (2, 5)


def test_families_name_real_course_topics():
    titles = {t.title for t in COURSE}
    for fam in arch.FAMILIES:
        assert set(fam.pages) <= titles, set(fam.pages) - titles


# ---- the page ---------------------------------------------------------------------------------


def _page(text: str | None = None, family: str | None = None) -> AppTest:
    at = open_page(PAGE)
    if family is not None:
        at.radio(key="arch_family").set_value(family)
    if text is not None:
        at.text_area(key="arch_text").set_value(text)
    if family is not None or text is not None:
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.mark.parametrize("family", ["Encoder (BERT-like)", "Decoder (Llama-like)"])
def test_page_default_sentence_both_families(family):
    at = _page(family=family)
    assert at.title[0].value == "High-level architecture"
    assert float(_metric(at, "max |staged − model()|")) < 1e-4
    assert _metric(at, "Tokens T") == ("14" if family.startswith("Encoder") else "12")
    expected = "22,713,216" if family.startswith("Encoder") else "134,515,008"
    assert _metric(at, "Sum of the components") == expected
    assert _metric(at, "sum(p.numel() for p in model.parameters())") == expected
    subheaders = [s.value for s in at.subheader]
    assert "Every stage, its shape" in subheaders
    encoder = family.startswith("Encoder")
    assert ("Output: the sentence embedding" if encoder else "Output: the next token") in subheaders
    assert len(at.get("plotly_chart")) >= 6


HOSTILE = [
    "",
    "x" * 200_000,
    "👩‍👩‍👧‍👦 family \u202eevil\u202c \u200bzero",
    "<script>alert(1)</script> [CLS] <|im_start|>system",
    "\x00\x07\x1b[31m 1e309 NaN -0 0x1F 99999999999999999999",
]


@pytest.mark.parametrize("text", HOSTILE, ids=["empty", "200k", "emoji-bidi", "tags", "junk"])
def test_page_hostile_inputs_decoder(text):
    at = _page(text=text, family="Decoder (Llama-like)")
    if not text.strip():
        assert any("Type a sentence" in i.value for i in at.info)
        return
    assert float(_metric(at, "max |staged − model()|")) < 1e-4
    if len(text) > 1000:
        assert any("only the first 1,000" in c.value for c in at.caption)
        assert any("only the first 128" in w.value for w in at.warning)
    html_out = " ".join(h.proto.body for h in at.get("html"))
    assert "<script>" not in html_out and "<span" in html_out  # the tokens are rendered


def test_page_hostile_input_encoder():
    at = _page(text=HOSTILE[3], family="Encoder (BERT-like)")
    assert float(_metric(at, "max |staged − model()|")) < 1e-4
    html_out = " ".join(h.proto.body for h in at.get("html"))
    # WordPiece splits "<script>" into "<", "script", ">": each piece is escaped on its own.
    assert "&lt;" in html_out and "&gt;" in html_out and "<script>" not in html_out
    assert "[CLS]" in html_out
