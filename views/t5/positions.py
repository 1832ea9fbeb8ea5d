"""Tab 3: T5's relative position buckets, parity with transformers, a learned bias table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from figures import t5 as fig
from lessons import t5 as T5
from ui.page import presenter
from views.t5.common import k, model_choice


@st.cache_data(show_spinner=False)
def parity(num_buckets: int, max_distance: int, span: int) -> bool:
    return T5.bucket_parity(num_buckets, max_distance, span)


def learned_bias(model) -> None:
    cfg = model.config
    bias, size = T5.learned_bias(model)
    st.plotly_chart(fig.bias_heads(bias, "Encoder layer 0: learned bias per head, 8 tokens"),
                    width="stretch", key=k("bias"))  # fmt: skip
    st.caption(
        f"{cfg.relative_attention_num_buckets} buckets × {cfg.num_heads} heads = "
        f"{size:,} numbers give every head its own preference by distance; every "
        "diagonal of a block is one bucket, so one value. Layer 0 computes the bias; the "
        "other layers reuse it."
    )


def render() -> None:
    st.markdown(
        "T5 adds **no position vector** to its tokens. Instead each head adds a learned number "
        "to the attention score of query *i* and key *j*, looked up by the **bucket** of the "
        "distance *j − i*: one bucket per distance for near tokens, logarithmically wider "
        "buckets farther out, and one bucket for everything beyond the maximum distance. The "
        "encoder gives left and right separate buckets; the decoder only looks back."
    )
    c1, c2 = st.columns(2)
    nb = c1.select_slider("Buckets", [8, 16, 32, 64], 32, key=k("nb"))
    md = c2.select_slider("Max distance", [16, 32, 64, 128, 256], 128, key=k("md"))
    span = 2 * md
    rel = T5.distances(span)
    st.plotly_chart(fig.buckets(rel, T5.relative_bucket(rel, True, nb, md),
                                T5.relative_bucket(rel, False, nb, md), md),
                    width="stretch", key=k("buckets"))  # fmt: skip
    same = parity(nb, md, span)
    used = len(T5.bucket_ranges(True, nb, md, span))
    st.caption(
        f"{'✓ Equal' if same else '✗ Not equal'} to transformers' "
        f"`T5Attention._relative_position_bucket` on every distance from −{span:,} to "
        f"{span:,}. Past ±{md:,} all distances share the last bucket: T5 reads any length, but "
        f"cannot tell far from farther. The encoder uses {used} of its {nb} buckets: the right "
        "half's first one would be distance 0, which belongs to the left half."
    )
    if not presenter():
        rows = T5.bucket_ranges(True, nb, md, span)
        st.dataframe(pd.DataFrame([{"bucket": r.bucket, "from": r.lo, "to": r.hi,
                                    "distances": r.hi - r.lo + 1} for r in rows]),
                     hide_index=True, height=240)  # fmt: skip
    kind, model = model_choice("pos_model")
    if model is None:
        if kind == "live":
            st.info("Train the small T5 in the first tab to see its learned bias table.",
                    icon=":material/model_training:")  # fmt: skip
        return
    learned_bias(model.model)
