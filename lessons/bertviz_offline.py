"""bertviz's head and model views as one self-contained HTML page: no network, no injection.

bertviz (`html_action="return"`) emits a `<script src=...cdnjs.../require.min.js>` tag and a
script whose `require.config` points d3 and jQuery at the CDN. Here:
- d3, jQuery and require.js come from `assets/vendor/` (see its README) and are inlined. d3 and
  jQuery run *before* require.js, so they set the globals `d3` / `jQuery` instead of calling an
  anonymous `define` (which require.js rejects from inline scripts); then two named `define`s
  hand those globals to bertviz's `requirejs(['jquery', 'd3'], ...)`, and the CDN paths go.
- Token strings travel in a JSON literal inside `<script>`. `json.dumps` leaves `</script>` and
  `<!--` as is, so a token could end the script early and start markup of its own. The JSON is
  re-encoded with `<`, `>`, `&` (and the JS line separators U+2028/9) as `\\uXXXX` escapes,
  which mean the same string to JavaScript and nothing to the HTML parser. bertviz then draws
  tokens with d3's `.text()`, which never parses them as HTML.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

VENDOR = Path(__file__).resolve().parents[1] / "assets" / "vendor"
VENDOR_FILES = {  # name -> file; versions are in assets/vendor/README.md
    "d3": "d3-5.7.0.min.js",
    "jquery": "jquery-2.2.4.min.js",
    "requirejs": "require-2.3.6.js",
}
CDN_HOSTS = ("cdnjs.cloudflare.com", "cdn.jsdelivr.net", "unpkg.com", "code.jquery.com",
             "ajax.googleapis.com", "d3js.org/d3")  # fmt: skip

View = Literal["head", "model"]


@dataclass(frozen=True)
class BertvizConfig:
    view: View = "head"
    max_tokens: int = 64  # bertviz draws T² lines per head: past a few hundred it crawls
    decimals: int = 3  # attention weights are rounded in the JSON (keeps the page small)
    display_mode: Literal["light", "dark"] = "light"  # model view only


def vendor_js(name: str) -> str:
    """A vendored library's source; refuses anything that would end an inline <script>."""
    code = (VENDOR / VENDOR_FILES[name]).read_text(encoding="utf-8")
    if re.search(r"</script|<!--", code, flags=re.IGNORECASE):
        raise ValueError(f"{VENDOR_FILES[name]} cannot be inlined safely in a <script> element")
    return code


def script_safe_json(obj: object) -> str:
    """JSON that is also inert inside an HTML <script>: '<', '>', '&' only ever occur inside
    JSON strings, where \\u003c etc. decode to the same characters."""
    text = json.dumps(obj, ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(ch, esc)
    return text


# bertviz writes `const params = <JSON>; // HACK: <JSON> is a template marker ...` on one line:
# `.replace("PYTHON_PARAMS", ...)` substitutes the comment's marker too.
_PARAMS_LINE = re.compile(r"^(\s*)const params = .*$", flags=re.MULTILINE)
_PARAMS_HEAD = "const params = "
_PARAMS_MID = "; // HACK: "
_PARAMS_TAIL = " is a template marker that is replaced by actual params."
_REQUIRE_CONFIG = re.compile(r"require\.config\(\{.*?\}\);", flags=re.DOTALL)
_CDN_SCRIPT = re.compile(r"<script src=\"https?://[^\"]*\"></script>")


def _extract_params(line: str) -> dict:
    body = line.strip()
    if not (body.startswith(_PARAMS_HEAD) and body.endswith(_PARAMS_TAIL)):
        raise ValueError("Unexpected bertviz template: the params line changed")
    n = (len(body) - len(_PARAMS_HEAD) - len(_PARAMS_MID) - len(_PARAMS_TAIL)) // 2
    return json.loads(body[len(_PARAMS_HEAD) : len(_PARAMS_HEAD) + n])


def _round_attention(params: dict, decimals: int) -> dict:
    for block in params["attention"]:
        block["attn"] = np.round(np.asarray(block["attn"], dtype=np.float64), decimals).tolist()
    return params


def _loader_scripts() -> str:
    """The vendored libraries, then named AMD modules that hand bertviz the globals."""
    return (
        f"<script>{vendor_js('d3')}</script>\n"
        f"<script>{vendor_js('jquery')}</script>\n"
        f"<script>{vendor_js('requirejs')}</script>\n"
        "<script>define('d3', [], function () { return window.d3; });\n"
        "define('jquery', [], function () { return window.jQuery; });</script>\n"
    )


def make_offline(bertviz_html: str, decimals: int = 3) -> str:
    """Turn bertviz's returned HTML into a standalone page with no network and escaped tokens."""
    lines = _PARAMS_LINE.findall(bertviz_html)
    if len(lines) != 1:
        raise ValueError("Unexpected bertviz template: expected one params line")
    params = _round_attention(_extract_params(_PARAMS_LINE.search(bertviz_html).group(0)), decimals)
    safe = f"const params = {script_safe_json(params)};"
    out = _PARAMS_LINE.sub(lambda m: m.group(1) + safe, bertviz_html)
    out, n_cfg = _REQUIRE_CONFIG.subn("", out)
    out, n_cdn = _CDN_SCRIPT.subn("", out)
    if n_cfg != 1 or n_cdn != 1:
        raise ValueError("Unexpected bertviz template: CDN references changed")
    if any(host in out for host in CDN_HOSTS):
        raise ValueError("A CDN reference survived; refusing to render")
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        '<body style="margin:0;background:white">\n'
        f"{_loader_scripts()}{out}</body></html>"
    )


def bertviz_html(
    attentions: np.ndarray,
    tokens: list[str],
    cfg: BertvizConfig = BertvizConfig(),
    layers: list[int] | None = None,
) -> str:
    """attentions: (L, H, T, T) from a run on at most cfg.max_tokens tokens (cutting a finished
    encoder map would drop keys its rows attended to, so the caller re-runs on fewer tokens)."""
    import torch
    from bertviz import head_view, model_view

    a = np.asarray(attentions, dtype=np.float32)  # (L, H, T, T)
    T = a.shape[-1]
    if len(tokens) != T:
        raise ValueError(f"{len(tokens)} tokens for a {T}×{T} attention map")
    if cfg.max_tokens < T:
        raise ValueError(f"{T} tokens: bertviz is capped at {cfg.max_tokens}; run on fewer")
    per_layer = [torch.from_numpy(np.ascontiguousarray(x))[None] for x in a]  # L × (1, H, T, T)
    layers = sorted(set(layers)) if layers else list(range(a.shape[0]))
    common = {"attention": per_layer, "tokens": list(tokens), "include_layers": layers}
    if cfg.view == "head":
        out = head_view(**common, html_action="return")
    else:
        out = model_view(**common, display_mode=cfg.display_mode, html_action="return")
    return make_offline(out.data, cfg.decimals)


def iframe_height(view: View, n_tokens: int, n_layers: int, n_heads: int) -> int:
    """bertviz's own layout arithmetic (head_view.js / model_view.js), plus the controls."""
    if view == "head":
        return int(n_tokens * 22.5 + 30 + 90)
    thumb = n_tokens * 7 * 12 / n_heads + 10
    axis = 15 + 5 + 13 + 5
    detail = n_tokens * 18 + 2 * 15 + 25
    return int(max(n_layers * thumb + axis, detail) + 60)
