"""Attention page: extraction, the by-hand head vs the library, head summaries, offline bertviz."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from html.parser import HTMLParser

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lessons import attention as A
from lessons import bertviz_offline as BV
from tests.apptest import assert_ok, open_page
from tests.tabs import open_tab

SENTENCE = A.DEFAULT_SENTENCE
HOSTILE = "x </script><script>alert(1)</script> <!-- y & z \u2028 <|im_start|>"


@pytest.fixture(scope="module")
def enc_run(minilm):
    return A.run_attention(minilm.model, minilm.tokenizer, SENTENCE)


@pytest.fixture(scope="module")
def dec_run(smollm2):
    return A.run_attention(smollm2.model, smollm2.tokenizer, SENTENCE)


# ---- extraction ------------------------------------------------------------------------------


def test_encoder_attention_rows_sum_to_one(minilm, enc_run):
    assert enc_run.arch == "encoder" and not enc_run.causal
    assert enc_run.tokens[:3] == ["[CLS]", "the", "animal"] and enc_run.tokens[-1] == "[SEP]"
    cfg = minilm.model.config
    T = len(enc_run.tokens)
    assert enc_run.attentions.shape == (cfg.num_hidden_layers, cfg.num_attention_heads, T, T)
    assert enc_run.hidden_states.shape == (cfg.num_hidden_layers + 1, T, cfg.hidden_size)
    assert (enc_run.attentions >= 0).all()
    np.testing.assert_allclose(enc_run.attentions.sum(-1), 1.0, atol=1e-5)
    # Bidirectional: some weight goes to later tokens.
    assert np.triu(enc_run.attentions, k=1).sum() > 1.0


def test_decoder_attention_is_causal(smollm2, dec_run):
    assert dec_run.arch == "decoder" and dec_run.causal
    assert dec_run.tokens[:2] == ["The", "Ġanimal"]
    cfg = smollm2.model.config
    assert dec_run.attentions.shape[:2] == (cfg.num_hidden_layers, cfg.num_attention_heads)
    np.testing.assert_allclose(dec_run.attentions.sum(-1), 1.0, atol=1e-5)
    assert np.triu(dec_run.attentions, k=1).max() == 0.0  # the future is exactly hidden
    np.testing.assert_allclose(dec_run.attentions[:, :, 0, 0], 1.0, atol=1e-6)


def test_long_input_is_capped_with_count(minilm):
    run = A.run_attention(minilm.model, minilm.tokenizer, "word " * 600, max_tokens=64)
    assert run.truncated and run.n_tokens_in == 602  # 600 words + [CLS] + [SEP]
    assert run.attentions.shape[-1] == 64 and run.tokens[-1] == "[SEP]"


def test_causal_run_cut_equals_shorter_run(smollm2, minilm):
    text = "word " * 40
    long = A.run_attention(smollm2.model, smollm2.tokenizer, text, max_tokens=30)
    short = A.run_attention(smollm2.model, smollm2.tokenizer, text, max_tokens=12)
    cut = A.first_tokens(long, 12)
    assert cut.tokens == short.tokens and cut.truncated
    # Same math; only float32 rounding differs (matmuls over 30 vs 12 rows, 30 layers deep).
    np.testing.assert_allclose(cut.attentions, short.attentions, atol=1e-4)
    np.testing.assert_allclose(cut.hidden_states, short.hidden_states, rtol=1e-4, atol=1e-3)
    enc = A.run_attention(minilm.model, minilm.tokenizer, text, max_tokens=30)
    with pytest.raises(ValueError, match="Only a causal run"):
        A.first_tokens(enc, 12)


def test_unsupported_model_gives_readable_error():
    with pytest.raises(ValueError, match="neither BERT-like"):
        A.detect_arch(torch.nn.Linear(2, 2))


# ---- one head by hand == the library ---------------------------------------------------------


def test_encoder_step_through_matches_output_attentions(minilm, enc_run):
    model = minilm.model
    n_layers, n_heads = enc_run.attentions.shape[:2]
    hs = model.config.hidden_size // n_heads
    for layer in (0, n_layers // 2, n_layers - 1):
        outs = []
        for head in range(n_heads):
            s = A.head_steps(model, enc_run, layer, head)
            assert s.scale == pytest.approx(1 / math.sqrt(hs))
            np.testing.assert_allclose(s.scaled, s.scores * s.scale, rtol=1e-6, atol=1e-6)
            assert np.isfinite(s.masked).all()  # no padding: nothing is masked
            np.testing.assert_allclose(s.probs, enc_run.attentions[layer, head], atol=1e-5)
            outs.append(s.out)
        # The heads' outputs, side by side, are what the library's self-attention returns.
        attn = model.encoder.layer[layer].attention.self
        with torch.inference_mode():
            lib_out = attn(torch.from_numpy(enc_run.hidden_states[layer])[None])[0][0]  # (T, C)
        np.testing.assert_allclose(np.concatenate(outs, -1), lib_out.numpy(), atol=1e-5)


def test_decoder_step_through_matches_output_attentions(smollm2, dec_run):
    model = smollm2.model
    cfg = model.config
    n_layers, n_heads = dec_run.attentions.shape[:2]
    T = len(dec_run.tokens)
    group = cfg.num_attention_heads // cfg.num_key_value_heads
    for layer in (0, n_layers // 2, n_layers - 1):
        outs = []
        for head in range(n_heads):
            s = A.head_steps(model, dec_run, layer, head)
            assert s.kv_head == head // group and s.group == group
            assert np.isneginf(s.masked[np.triu_indices(T, 1)]).all()
            np.testing.assert_allclose(s.probs, dec_run.attentions[layer, head], atol=1e-5)
            outs.append(s.out)
        # Concatenated head outputs through o_proj == the library's LlamaAttention output.
        block = model.model.layers[layer]
        x = torch.from_numpy(dec_run.hidden_states[layer])[None]  # (1, T, C)
        with torch.inference_mode():
            pos = torch.arange(T)[None]
            cos_sin = model.model.rotary_emb(x, pos)
            mask = torch.full((T, T), float("-inf")).triu(1)[None, None]  # (1, 1, T, T)
            lib, lib_w = block.self_attn(
                block.input_layernorm(x), position_embeddings=cos_sin, attention_mask=mask
            )
            ours = block.self_attn.o_proj(torch.from_numpy(np.concatenate(outs, -1)))
        np.testing.assert_allclose(ours.numpy(), lib[0].numpy(), atol=1e-5)
        np.testing.assert_allclose(lib_w[0].numpy(), dec_run.attentions[layer], atol=1e-5)


# ---- head summaries --------------------------------------------------------------------------


def _fixture_heads(T: int = 5) -> np.ndarray:
    """(1, 4, T, T): previous-token, first-token sink, uniform, and self heads."""
    a = np.zeros((1, 4, T, T))
    a[0, 0, 0, 0] = 1.0
    a[0, 0, np.arange(1, T), np.arange(T - 1)] = 1.0  # row i -> i-1
    a[0, 1, :, 0] = 1.0  # everyone reads token 0
    a[0, 2] = 1.0 / T  # uniform, bidirectional
    a[0, 3] = np.eye(T)  # each token reads itself
    return a


def test_head_summaries_on_known_heads():
    T = 5
    s = A.summarize_heads(_fixture_heads(T))
    # Row 1's previous token *is* the first token, hence the 1/(T-1) cross terms.
    np.testing.assert_allclose(s.previous[0], [1.0, 1 / (T - 1), 1 / T, 0.0])
    np.testing.assert_allclose(s.first[0], [1 / (T - 1), 1.0, 1 / T, 0.0])
    np.testing.assert_allclose(s.self[0], [1 / T, 1 / T, 1 / T, 1.0])
    np.testing.assert_allclose(s.entropy[0], [0.0, 0.0, math.log(T), 0.0], atol=1e-12)
    np.testing.assert_allclose(s.distance[0, 0], (T - 1) / T)  # row 0 reads itself: distance 0
    np.testing.assert_allclose(s.distance[0, 1], np.arange(T).mean())
    np.testing.assert_allclose(s.future[0], [0.0, 0.0, np.arange(T).mean() / T, 0.0])
    assert A.top_heads(s.previous, k=1) == [(0, 0, 1.0)]
    assert A.top_heads(s.first, k=1) == [(0, 1, 1.0)]
    assert A.top_heads(s.entropy, k=1)[0][:2] == (0, 2)
    assert A.uniform_entropy(T, causal=False) == pytest.approx(s.entropy[0, 2])


def test_head_summaries_single_token_has_no_previous():
    s = A.summarize_heads(np.ones((2, 3, 1, 1)))
    assert np.isnan(s.previous).all() and A.top_heads(s.previous) == []
    np.testing.assert_allclose(s.entropy, 0.0)


def test_real_models_have_previous_token_and_sink_heads(enc_run, dec_run):
    enc, dec = A.summarize_heads(enc_run.attentions), A.summarize_heads(dec_run.attentions)
    assert A.top_heads(enc.previous, k=1)[0][2] > 0.8  # MiniLM has a previous-token head
    assert A.top_heads(dec.first, k=1)[0][2] > 0.9  # SmolLM2 parks weight on token 0
    assert dec.future.max() == 0.0 < enc.future.min()


# ---- offline, escaped bertviz ----------------------------------------------------------------

URL = re.compile(r"https?://([^/\s'\"<>)\\]+)")
# Hosts that only appear in licence banners, code comments and XML namespace strings.
INERT_HOSTS = {"www.w3.org", "d3js.org", "github.com", "requirejs.org", "dev.jquery.com",
               "connect.microsoft.com", "webkit.org"}  # fmt: skip


class _Scripts(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.srcs: list[str] = []
        self._in = False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._in = True
            self.scripts.append("")
            self.srcs += [v for k, v in attrs if k == "src"]

    def handle_endtag(self, tag):
        if tag == "script":
            self._in = False

    def handle_data(self, data):
        if self._in:
            self.scripts[-1] += data


def _scripts(page: str) -> _Scripts:
    p = _Scripts()
    p.feed(page)
    return p


@pytest.mark.parametrize("view", ["head", "model"])
def test_bertviz_html_is_offline_and_inlines_vendor(enc_run, view):
    page = BV.bertviz_html(enc_run.attentions, enc_run.tokens, BV.BertvizConfig(view=view))
    assert page.startswith("<!DOCTYPE html>")  # st.iframe must not read it as a URL
    for host in BV.CDN_HOSTS:
        assert host not in page
    assert set(URL.findall(page)) <= INERT_HOSTS
    parsed = _scripts(page)
    assert "require.config" not in parsed.scripts[-1]  # bertviz's CDN paths are gone
    assert parsed.srcs == []  # nothing is fetched
    for name in BV.VENDOR_FILES:
        assert BV.vendor_js(name) in parsed.scripts  # each library is one inline script
    assert "define('d3'" in page and "requirejs(['jquery', 'd3']" in page


def test_vendor_readme_names_every_file():
    readme = (BV.VENDOR / "README.md").read_text()
    for f in BV.VENDOR_FILES.values():
        assert f in readme and (BV.VENDOR / f).stat().st_size > 50_000
    assert {"LICENSE-d3.txt", "LICENSE-jquery.txt", "LICENSE-requirejs.txt"} <= {
        p.name for p in BV.VENDOR.iterdir()
    }


def _params(parsed: _Scripts) -> tuple[str, dict]:
    """bertviz's params line, and its JSON decoded as JavaScript would see it."""
    line = next(ln for ln in parsed.scripts[-1].splitlines() if "const params = " in ln)
    return line, json.loads(line.split("const params = ", 1)[1].rstrip().removesuffix(";"))


def test_bertviz_tokens_cannot_break_out_of_the_script():
    tokens = ["[CLS]", "</script><script>alert(1)</script>", "<!--", "&amp;", "\u2028", "[SEP]"]
    T = len(tokens)
    attn = np.full((2, 3, T, T), 1.0 / T, dtype=np.float32)
    page = BV.bertviz_html(attn, tokens)
    parsed = _scripts(page)
    assert len(parsed.scripts) == 5  # d3, jQuery, require.js, the defines, bertviz: no more
    assert "<script>alert(1)" not in page  # its angle brackets became \u003c / \u003e
    line, params = _params(parsed)
    assert "<" not in line and "\u2028" not in line
    # The tokens still reach JavaScript unchanged.
    assert params["attention"][0]["left_text"] == tokens
    assert np.allclose(params["attention"][0]["attn"], 1.0 / T, atol=1e-3)


def test_bertviz_decoder_tokens_with_markup(smollm2):
    run = A.run_attention(smollm2.model, smollm2.tokenizer, HOSTILE, max_tokens=64)
    assert any("</" in t for t in run.tokens)  # BPE keeps the dangerous pair in one token
    page = BV.bertviz_html(run.attentions, run.tokens, BV.BertvizConfig(view="model"), [0, 29])
    parsed = _scripts(page)
    line, params = _params(parsed)
    assert len(parsed.scripts) == 5 and "<" not in line
    assert params["attention"][0]["left_text"] == [t.replace("Ġ", " ") for t in run.tokens]
    assert params["include_layers"] == [0, 29] and len(params["attention"][0]["attn"]) == 2


def test_bertviz_refuses_too_many_tokens():
    attn = np.full((1, 1, 70, 70), 1 / 70, dtype=np.float32)
    with pytest.raises(ValueError, match="capped at 64"):
        BV.bertviz_html(attn, ["t"] * 70)


# ---- what the page shows, and its figures ---------------------------------------------------


def test_page_numbers_on_the_real_runs(minilm, enc_run, dec_run):
    a = A.head_map(enc_run, 2)
    np.testing.assert_allclose(a, enc_run.attentions[2].mean(0))
    assert A.row_sum_gap(a) < 1e-5 and A.row_sum_gap(a * 1.5) > 0.4  # a broken row is seen
    steps = A.head_steps(minilm.model, enc_run, 1, 3)
    assert A.by_hand_gap(enc_run, steps) < 1e-5
    assert A.by_hand_gap(enc_run, dataclasses.replace(steps, head=4)) > 1e-2  # a wrong head
    assert A.future_weight(dec_run) == 0.0 < 0.05 < A.future_weight(enc_run)
    enc = dict((label, top) for label, _, top in A.special_heads(A.summarize_heads(
        enc_run.attentions), "encoder"))  # fmt: skip
    dec_labels = [label for label, _, _ in A.special_heads(A.summarize_heads(
        dec_run.attentions), "decoder")]  # fmt: skip
    assert "[CLS] sink heads" in enc and "[SEP] / last-token heads" in enc
    assert "First-token sink heads" in dec_labels and "[SEP] / last-token heads" not in dec_labels
    assert enc["Previous-token heads"][0][2] > 0.8 and len(enc["Previous-token heads"]) == 3
    sharp, broad = enc["Sharpest heads (lowest entropy)"], enc["Broadest heads (highest entropy)"]
    assert sharp[0][2] < broad[0][2]


def test_warm_runs_the_default_work_on_both_models(minilm, smollm2):
    seconds = A.warm(minilm, smollm2)
    assert set(seconds) == {"attention_encoder_s", "attention_decoder_s"}
    assert all(v > 0 for v in seconds.values())


def test_figures_escape_tokens_and_keep_repeats_apart():
    from figures import attention as F

    labels = F.token_labels(["<b>x</b>", "Ġthe", "Ġthe", "a\nb"])
    assert labels[0] == "0: &lt;b&gt;x&lt;/b&gt;" and labels[1] != labels[2]
    assert labels[1] == "1: ·the"
    a = np.array([[1.0, float("-inf")], [0.5, 0.5]])
    f = F.attention_map(a, ["a", "b"], "t")
    assert np.isnan(f.data[0].z[0][1]) and (f.data[0].zmin, f.data[0].zmax) == (0.0, 1.0)
    grid = F.head_grid(np.zeros((30, 9)), "x", "fraction")
    assert grid.layout.height == 820 and grid.data[0].zmax == 1.0
    assert F.head_grid(np.zeros((6, 12)), "x", "nats").data[0].zmax is None


def test_step_figures_follow_the_head(enc_run, minilm):
    from figures import attention as F

    s = A.head_steps(minilm.model, enc_run, 0, 0)
    figs = F.head_steps(s, enc_run.tokens, causal=False)
    assert [f.layout.title.text for f in figs][1].startswith("÷ √32")
    np.testing.assert_allclose(np.array(figs[3].data[0].z), s.probs)
    qkv = F.qkv(s.q, s.k, s.v, enc_run.tokens)
    assert len(qkv.data) == 3 and qkv.layout.annotations[0].text.startswith("Q  (14 × 32)")


# ---- the page --------------------------------------------------------------------------------

PAGE = "views/attention.py"
HOSTILE_INPUTS = [
    "The animal did not cross the street. " * 5_500,  # 203,500 characters
    "👩‍👩‍👧‍👦 family \u202eevil\u202c\u200b",
    "</script><script>alert(1)</script> [CLS] <|im_start|>user",
    "\x00\x01\x07 1e309 NaN -0 0x41 ∞ 3.14",
]


def _tab(at: AppTest, label: str):
    open_tab(at, "attn::tabs", label)
    return next(t for t in at.tabs if t.label == label)


def _bertviz(at: AppTest) -> str:
    frames = _tab(at, "bertviz").get("iframe")
    assert len(frames) == 1
    return frames[0].proto.srcdoc


def test_page_tabs_show_real_model_results():
    at = open_page(PAGE)
    src = _bertviz(at)
    assert "animal" in src and "cdnjs" not in src and len(_scripts(src).scripts) == 5
    _, params = _params(_scripts(src))  # the real MiniLM weights, not a placeholder
    attn = np.array(params["attention"][0]["attn"])  # (L, H, T, T)
    assert attn.shape == (6, 12, 14, 14) and np.allclose(attn.sum(-1), 1, atol=1e-2)
    captions = " ".join(c.value for c in at.caption)
    assert "14 tokens" in captions and "bidirectional" in captions

    step = _tab(at, "One head by hand")
    assert float(step.metric[0].value) < 1e-5 and len(step.get("plotly_chart")) == 6
    cmp = _tab(at, "Encoder vs decoder")
    later = [m.value for m in cmp.metric]
    assert float(later[0].rstrip("%")) > 5 and later[1] == "0.00%"  # MiniLM reads ahead
    finder = _tab(at, "Head finder")
    found = re.search(r"Previous-token heads:\*\* L(\d) H(\d+) \((\d+)%\)",
                      " ".join(m.value for m in finder.markdown))  # fmt: skip
    assert found and int(found.group(3)) > 80  # MiniLM's previous-token head
    heat = _tab(at, "Heatmaps")
    assert len(heat.get("plotly_chart")) == 1 and "deviation" in heat.caption[0].value


def test_page_hostile_inputs_and_decoder():
    at = open_page(PAGE)
    at.text_input(key="attn::text").set_value("").run()
    assert_ok(at)
    assert any("Type a sentence" in i.value for i in at.info)
    for text in HOSTILE_INPUTS:
        at.text_input(key="attn::text").set_value(text).run()
        assert_ok(at)
        src = _bertviz(at)
        assert "<script>alert(1)" not in src and len(_scripts(src).scripts) == 5
        if len(text) > 2_000:
            captions = " ".join(c.value for c in at.caption)
            assert "only the first 2,000" in captions and "bertviz shows the first 64" in captions
    at.radio(key="attn::role").set_value("chat").run()
    assert_ok(at)
    assert "causal mask" in " ".join(c.value for c in at.caption)
    src = _bertviz(at)
    assert "<script>alert(1)" not in src and len(_scripts(src).scripts) == 5
    step = _tab(at, "One head by hand")
    assert float(step.metric[0].value) < 1e-5  # GQA + RoPE by hand on the hostile sentence


def _warming_script():
    import streamlit as st

    from ui.models import warming_note

    st.session_state["note"] = warming_note(("encoder", "chat"))


def test_first_load_says_warming_and_points_to_the_preflight():
    from ui import models as ui_models

    enc = (ui_models.registry.default_choice("encoder").key, "encoder")
    dec = (ui_models.registry.default_choice("chat").key, "chat")
    ui_models._ready.difference_update({enc, dec})  # as in a server that has loaded nothing
    note = AppTest.from_function(_warming_script).run().session_state["note"]
    assert "the encoder and the decoder" in note and "make preflight" in note
    assert "Talk preflight" in note
    at = open_page(PAGE)  # the page's first load: the note shows while it runs, then goes
    assert enc in ui_models._ready and not any("Warming up" in i.value for i in at.info)
    note = AppTest.from_function(_warming_script).run().session_state["note"]
    assert "the decoder" in note and "encoder" not in note
    ui_models._ready.add(dec)
    assert AppTest.from_function(_warming_script).run().session_state["note"] is None
