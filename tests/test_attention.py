"""Attention page: extraction, the by-hand head vs the library, head summaries, offline bertviz."""

from __future__ import annotations

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
from tests.apptest import open_page

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


# ---- the page --------------------------------------------------------------------------------

HOSTILE_INPUTS = [
    "The animal did not cross the street. " * 5_500,  # 203,500 characters
    "👩‍👩‍👧‍👦 family \u202eevil\u202c\u200b",
    "</script><script>alert(1)</script> [CLS] <|im_start|>user",
    "\x00\x01\x07 1e309 NaN -0 0x41 ∞ 3.14",
]


def _page() -> AppTest:
    at = open_page("views/attention.py")
    return at


def _assert_rendered(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("iframe")) == 1
    assert len(at.get("plotly_chart")) >= 8


def test_page_default_sentence_renders_bertviz_and_heatmaps():
    at = _page()
    _assert_rendered(at)
    src = at.get("iframe")[0].proto.srcdoc
    assert "animal" in src and "cdnjs" not in src
    captions = " ".join(c.value for c in at.caption)
    assert "14 tokens" in captions and "bidirectional" in captions
    steps = [m for m in at.metric if "by hand" in m.label]
    assert steps and float(steps[0].value) < 1e-5


def test_page_hostile_inputs_and_decoder():
    at = _page()
    box = at.text_area(key="attention_text")
    box.set_value("").run()
    assert not at.exception and any("Type a sentence" in i.value for i in at.info)
    for text in HOSTILE_INPUTS:
        at.text_area(key="attention_text").set_value(text).run()
        _assert_rendered(at)
        if len(text) > 2_000:
            captions = " ".join(c.value for c in at.caption)
            assert "only the first 2,000" in captions and "bertviz shows the first 64" in captions
    at.radio(key="attention_role").set_value("chat").run()
    _assert_rendered(at)
    assert "causal mask" in " ".join(c.value for c in at.caption)
    src = at.get("iframe")[0].proto.srcdoc
    assert "<script>alert(1)" not in src and len(_scripts(src).scripts) == 5
