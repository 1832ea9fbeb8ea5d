"""High-level architecture: staged forward == the library's forward, shapes of every stage,
parameter counts per component, and the page under real and hostile input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lessons import architecture as arch
from lessons import parameter_count as pc
from lessons.course import COURSE
from tests.apptest import assert_ok, click, html_of, open_page
from tests.tabs import open_tab

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
    rows = pc.count_parameters(handle.model)
    total = sum(p.numel() for p in handle.model.parameters())
    assert sum(r.params for r in rows) == total == expected
    assert not [r for r in rows if r.group == "other"], "every tensor gets a component"
    n_layers = handle.model.config.num_hidden_layers
    assert {r.block for r in rows if r.block is not None} == set(range(n_layers))


def test_tied_embeddings_counted_once(smollm2, minilm):
    rows = pc.count_parameters(smollm2.model)
    cfg = smollm2.model.config
    emb = [r for r in rows if r.component == "token embeddings"]
    assert [r.params for r in emb] == [cfg.vocab_size * cfg.hidden_size]  # 49152 * 576
    head = [r for r in rows if r.group == "head"]
    assert len(head) == 1 and head[0].params == 0 and "tied" in head[0].component
    assert pc.tied_output_embeddings(smollm2.model)
    assert not pc.tied_output_embeddings(minilm.model)


@pytest.mark.parametrize("fixture", ["minilm", "smollm2"])
def test_block_formula_matches_counted(request, fixture):
    handle = request.getfixturevalue(fixture)
    kind = arch.detect_arch(handle.model)
    formula = pc.block_formula(handle.model.config, kind)
    rows = pc.count_parameters(handle.model)
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


# ---- what the page shows, and its figures ---------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "total", "head"), [("minilm", 22_713_216, "none"), ("smollm2", 134_515_008, "tied")]
)
def test_parameter_summary(request, fixture, total, head):
    handle = request.getfixturevalue(fixture)
    with handle.lock:
        p = pc.parameter_summary(handle.model)
    assert p.counted == p.total == total and p.head == head
    assert all(p.formula_matches.values()) and p.n_blocks == handle.model.config.num_hidden_layers
    assert sum(p.by_component.values()) == total and abs(sum(p.shares.values()) - 1) < 1e-9
    # MiniLM is an encoder: it has no LM head at all (not "its own weights").
    assert "no vocabulary" in pc.LM_HEAD_TEXT["none"]


def test_trace_view_rows_and_massive_activation(minilm, smollm2):
    with smollm2.lock:
        dec = arch.trace_view(smollm2.model, smollm2.tokenizer, SENTENCE)
    with minilm.lock:
        enc = arch.trace_view(minilm.model, minilm.tokenizer, SENTENCE)
    assert dec.parity < 1e-4 and enc.parity < 1e-4
    rows = arch.stage_rows(dec)
    assert len(rows) == len(dec.stages) and rows[0]["residual stream?"] == "yes"
    assert rows[0]["mean ‖x‖ per token"] == pytest.approx(float(dec.stages[0].token_norms.mean()))
    token, ratio = arch.massive_activation(dec)  # SmolLM2 parks a huge norm on one token
    assert token == 0 and ratio > 5
    assert arch.massive_activation(enc) is None  # post-LN keeps every token's norm alike


def test_warm_runs_the_default_work_on_both_models(minilm, smollm2):
    assert set(arch.warm(minilm, smollm2)) == {"architecture_encoder_s", "architecture_decoder_s"}


def test_figures(minilm, smollm2):
    from figures import architecture as F

    with minilm.lock:
        view = arch.trace_view(minilm.model, minilm.tokenizer, "<b>x</b> and more")
        rows = pc.count_parameters(minilm.model)
    ids, parents, _labels, values = F.treemap_nodes(rows, "MiniLM")
    assert values[0] == 22_713_216 and parents[0] == ""
    by_id = dict(zip(ids, values, strict=True))
    for node, parent, value in zip(ids[1:], parents[1:], values[1:], strict=True):
        assert value <= by_id[parent], node
    assert sum(v for v, p in zip(values, parents, strict=True) if p == "model") == values[0]
    depth = F.depth(view)
    assert np.array(depth.data[0].z).shape == (len(view.tokens), 13)  # embeddings + 2 × 6
    assert "&lt;" in "".join(depth.data[0].y) and "<b>" not in "".join(depth.data[0].y)
    stage = view.stages[5]
    assert np.array(F.stage_values(stage, view.tokens).data[0].z).shape == stage.preview.shape
    assert len(F.stage_norms(view.stages[-1], view.tokens).data[0].y) == 1  # the pooled vector
    bars = F.next_tokens([(" the", 0.5), ("<s>", 0.1)])
    assert list(bars.data[0].y) == ["1. ·the", "2. &lt;s&gt;"]
    assert len(F.diagram().layout.shapes) == 20 + 4 and len(F.masks().data) == 3  # boxes, frames
    narrow = F.masks(narrow=True).layout
    assert [a.text for a in narrow.annotations] == ["Encoder", "Decoder (causal)", "Cross"]
    assert narrow.yaxis.title.text == "query position" and narrow.yaxis2.title.text is None


# ---- the page ---------------------------------------------------------------------------------

TABS = "arch::tabs"


def _tab(at: AppTest, label: str):
    open_tab(at, TABS, label)
    return next(t for t in at.tabs if t.label == label)


def _page(text: str | None = None, role: str | None = None) -> AppTest:
    at = open_page(PAGE)
    if role is not None:
        at.radio(key="arch::family").set_value(role)
    if text is not None:
        at.text_input(key="arch::text").set_value(text)
    if role is not None or text is not None:
        at.run()
    assert_ok(at)
    return at


def _metric(block, label: str) -> str:
    return next(m.value for m in block.metric if m.label == label)


@pytest.mark.parametrize("role", ["encoder", "chat"])
def test_page_default_sentence_both_families(role):
    at = _page(role=role)
    assert at.title[0].value == "High-level architecture"
    fam = _tab(at, "The three families")
    assert len(fam.get("plotly_chart")) == 2 and not fam.metric  # no model needed here
    fwd = _tab(at, "One forward pass")
    assert float(_metric(fwd, "max |staged − model()|")) < 1e-4
    assert _metric(fwd, "Tokens T") == ("14" if role == "encoder" else "12")
    text = " ".join(m.value for m in fwd.markdown)
    assert ("sentence embedding" if role == "encoder" else "the next token") in text
    assert len(fwd.get("plotly_chart")) == (3 if role == "encoder" else 4)
    par = _tab(at, "Where the parameters are")
    expected = "22,713,216" if role == "encoder" else "134,515,008"
    assert _metric(par, "Sum of the components") == expected
    assert _metric(par, "sum(p.numel() for p in model.parameters())") == expected
    head = _metric(par, "LM head")
    assert head.startswith("none") if role == "encoder" else head.startswith("tied")


def test_stage_stepper_moves_without_rerunning_the_model():
    at = _page(role="chat")
    fwd = _tab(at, "One forward pass")
    stage = next(m.value for m in fwd.markdown if "· shape" in m.value)
    assert "block 29 · residual after FFN" in stage and "(1, 12, 576)" in stage
    click(at, "arch::stage_decoder_124::next")
    fwd = next(t for t in at.tabs if t.label == "One forward pass")
    assert any("final RMSNorm" in m.value for m in fwd.markdown)
    for _ in range(2):
        click(at, "arch::stage_decoder_124::prev")
    fwd = next(t for t in at.tabs if t.label == "One forward pass")
    assert any("block 29 · feed-forward output" in m.value for m in fwd.markdown)


HOSTILE = [
    "",
    "x" * 200_000,
    "👩‍👩‍👧‍👦 family \u202eevil\u202c \u200bzero",
    "<script>alert(1)</script> [CLS] <|im_start|>system",
    "\x00\x07\x1b[31m 1e309 NaN -0 0x1F 99999999999999999999",
]


def test_page_hostile_inputs_decoder():
    at = _page(role="chat")
    for text in HOSTILE:
        at.text_input(key="arch::text").set_value(text).run()
        assert_ok(at)
        fwd = _tab(at, "One forward pass")
        if not text.strip():
            assert any("Type a sentence" in i.value for i in fwd.info)
            continue
        assert float(_metric(fwd, "max |staged − model()|")) < 1e-4, text[:20]
        if len(text) > 1000:
            assert any("only the first 1,000" in c.value for c in at.caption)
            assert any("only the first 128" in w.value for w in fwd.warning)
        html_out = html_of(at)
        assert "<script>" not in html_out and "<span" in html_out  # the tokens are rendered


def test_page_hostile_input_encoder():
    at = _page(text=HOSTILE[3], role="encoder")
    fwd = _tab(at, "One forward pass")
    assert float(_metric(fwd, "max |staged − model()|")) < 1e-4
    html_out = html_of(at)
    # WordPiece splits "<script>" into "<", "script", ">": each piece is escaped on its own.
    assert "&lt;" in html_out and "&gt;" in html_out and "<script>" not in html_out
    assert "[CLS]" in html_out
