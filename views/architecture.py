"""High-level architecture: encoder-only, decoder-only and encoder-decoder side by side; one real
forward pass stage by stage, every tensor shape; where the parameters live. The tabs live in
views/architecture/ and compute only when open."""

from __future__ import annotations

import streamlit as st

from lessons import architecture as arch
from lessons import parameter_count as pc
from ui.models import get_model, warming
from ui.page import header, lazy_tabs, lesson, presenter
from ui.widgets import empty_hint, guarded_text, show_code
from views.architecture import forward, parameters
from views.architecture.common import family_figures, k, trace

FAMILIES = {"encoder": "Encoder (BERT-like)", "chat": "Decoder (Llama-like)"}
TABS = ["The three families", "One forward pass", "Where the parameters are"]
ABOUT = {
    "encoder": "**Encoder (post-LN, BERT).** Learned **position** rows are *added* to the token "
    "embeddings, then LayerNorm. Each block: `x = LN(x + attn(x))`, `x = LN(x + FFN(x))`. No "
    "causal mask. The output is one vector per token; mean pooling makes one per sentence.",
    "chat": "**Decoder (pre-norm, Llama).** Nothing is added for positions: **RoPE** rotates q "
    "and k inside attention. Each block: `x = x + attn(RMSNorm(x))`, `x = x + MLP(RMSNorm(x))` "
    "with a causal mask. Final RMSNorm, then the LM head scores every vocabulary entry.",
}

LOOP = (
    "Every transformer is the same loop: **embed** the tokens, then repeat a **block** N times "
    "(attention mixes information *between* tokens, a feed-forward network transforms each "
    "token *on its own*, both added to a running **residual stream**), then a **head** reads "
    "the result."
)

controls = header("High-level architecture", LOOP)
with controls:
    c_fam, c_text = st.columns([2, 3]) if presenter() else (st.container(), st.container())
    role = c_fam.radio(
        "Model family", list(FAMILIES), format_func=FAMILIES.get, key=k("family"),
        horizontal=True, help="Which encoder / decoder: the sidebar's choice.",
    )  # fmt: skip
    with c_text:
        guarded = guarded_text(
            "Sentence", arch.DEFAULT_SENTENCE, key=k("text"), max_chars=1_000, area=False
        )

with warming(role):
    handle = get_model(role)  # cached once loaded; any fallback notice shows on every tab
tab_fam, tab_fwd, tab_par = lazy_tabs(TABS, k("tabs"))

if tab_fam.open:
    with tab_fam:
        lesson(
            "The three families differ in **what attention may see**: an encoder reads the whole "
            "sentence at once, a decoder only what came before (so it can generate), and an "
            "encoder-decoder adds cross-attention so the output side can read the input side."
        )
        # On a projector the diagram and the masks share a row (two screens at most).
        c_dia, c_mask = st.columns([1, 1]) if presenter() else (st.container(), st.container())
        diagram, masks = family_figures(narrow=presenter())
        c_dia.plotly_chart(diagram, key=k("diagram"), config={"displayModeBar": False})
        c_mask.plotly_chart(masks, key=k("masks"), config={"displayModeBar": False})
        c_mask.caption("Orange cells: query position (row) may attend to key position (column).")
        for col, fam in zip(st.columns(len(arch.FAMILIES)), arch.FAMILIES, strict=True):
            with col.container(border=True):
                st.markdown(
                    f"**{fam.name}**\n\n- **Attention sees:** {fam.sees}\n"
                    f"- **Pre-training:** {fam.objective}\n- **Examples:** {fam.examples}\n"
                    f"- **Good for:** {fam.use}\n- **In this course:** {', '.join(fam.pages)}"
                )

if tab_fwd.open:
    with tab_fwd:
        lesson(ABOUT[role], label=FAMILIES[role])
        st.caption(f"Model: {handle.choice.label}")
        if guarded.empty:
            empty_hint("a sentence")
        else:
            try:
                view = trace(handle, guarded.text)
            except ValueError as exc:  # a model whose structure neither tracer knows
                st.error(str(exc))
            else:
                forward.render(handle, view)

if tab_par.open:
    with tab_par:
        st.caption(f"Model: {handle.choice.label}")
        parameters.render(handle)

show_code(
    arch.trace_forward,
    arch.trace_encoder if role == "encoder" else arch.trace_decoder,
    arch.parity,
    pc.count_parameters,
    pc.classify,
    pc.block_formula,
    pc.lm_head,
    arch.attention_pattern,
)
