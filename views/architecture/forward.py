"""Tab 2: one real forward pass, stage by stage: the tokens, every stage's shape and values, the
residual stream's norm through the depth, and what comes out (next token or sentence vector)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from figures import architecture as fig
from lessons import architecture as arch
from ui.page import presenter
from ui.stepper import stepper
from ui.widgets import token_spans_html
from views.architecture.common import CFG, k


@st.fragment
def stage_explorer(view: arch.TraceView) -> None:
    """Step through the stages (◀ / ▶ or the slider's arrow keys) without re-running the model."""
    n = len(view.stages)
    key = k(f"stage_{view.arch}_{n}")
    last_residual = max(i for i, s in enumerate(view.stages) if s.residual)
    st.session_state.setdefault(key, last_residual + 1)
    s = view.stages[stepper("Stage", n, key) - 1]
    st.markdown(f"**{s.name}** · shape `{tuple(s.shape)}`" + (f" · {s.note}" if s.note else ""))
    left, right = st.columns(2)
    left.plotly_chart(fig.stage_values(s, view.tokens), key=k("stage_heat"))
    right.plotly_chart(fig.stage_norms(s, view.tokens), key=k("stage_norms"))


def _output(view: arch.TraceView) -> None:
    if view.arch == "decoder":
        st.markdown("**Output: the next token.** The LM head scores every vocabulary entry.")
        st.plotly_chart(fig.next_tokens(view.top_next), key=k("next"))
        return
    pooled = view.stages[-1]
    st.markdown(
        f"**Output: the sentence embedding.** Mean pooling over the {len(view.tokens):,} token "
        f"vectors gives one vector of shape `{tuple(pooled.shape)}` (L2 norm "
        f"{pooled.token_norms[0]:,.3f}); this is what sentence-transformers' all-MiniLM-L6-v2 "
        "returns before normalising. BERT's own *pooler* (dense + tanh on [CLS]) was trained "
        "for next-sentence prediction and is a poor sentence vector."
    )


def render(handle: Any, view: arch.TraceView) -> None:
    T = len(view.tokens)
    if view.truncated:
        st.warning(
            f"The sentence is {view.n_tokens_in:,} tokens; only the first {T:,} are used "
            "(special tokens included).",
            icon=":material/content_cut:",
        )
    st.html(token_spans_html(view.tokens, titles=[f"#{i}" for i in range(T)], show_ws=True))
    cfg = handle.model.config
    m = st.columns(4)
    m[0].metric("Tokens T", f"{T:,}")
    m[1].metric("Width d", f"{cfg.hidden_size:,}")
    m[2].metric("Blocks", f"{cfg.num_hidden_layers:,}")
    m[3].metric(
        "max |staged − model()|",
        f"{view.parity:.1e}",
        help="Our stage-by-stage recomputation against the model's own forward "
        "(logits for a decoder, last_hidden_state for an encoder).",
    )
    stage_explorer(view)
    left, right = st.columns([3, 2]) if not presenter() else (st.container(), st.container())
    left.plotly_chart(fig.depth(view, max_height=420), key=k("depth"))
    massive = arch.massive_activation(view)
    if massive:
        left.caption(
            f"Token #{massive[0]} ends with a residual-stream norm {massive[1]:,.0f}× the median: "
            "a *massive activation*; many LLMs park attention on such a token (an 'attention "
            "sink') when no other token is worth attending to."
        )
    with right:
        _output(view)
    with st.expander("Every stage, its shape", icon=":material/table:"):
        st.dataframe(
            pd.DataFrame(arch.stage_rows(view)),
            hide_index=True,
            height=300,
            column_config={"mean ‖x‖ per token": st.column_config.NumberColumn(format="%.2f")},
        )
    st.caption(
        f"Re-run stage by stage from the model's own submodules, capped at {CFG.max_tokens:,} "
        "tokens; the last metric checks it against `model(...)`."
    )
