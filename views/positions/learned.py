"""Tab 2: MiniLM's learned position table, and the neighbourhood structure training gave it."""

from __future__ import annotations

from typing import Any

import streamlit as st

from figures import positions as fig
from lessons import learned_positions as lp
from models.textguard import GuardedText
from ui.models import get_model, warming
from ui.page import lesson
from ui.widgets import empty_hint, show_code, token_spans_html
from views.positions.common import k, position_table, sentence_positions


@st.fragment
def _figures(table: lp.PositionTable) -> None:
    n = table.n_positions
    c1, c2, c3 = st.columns(3)
    shown = c1.slider("Positions shown", 16, n, min(128, n), step=16, key=k("lp_shown"))
    p = c2.slider("Position p", 0, n - 1, min(50, n - 1), key=k("lp_p"))
    max_d = c3.slider("Max distance", 2, 64, 20, key=k("lp_dist"))
    cos = lp.cosine_matrix(table.weight)  # (P, P)
    left, right = st.columns(2)
    left.plotly_chart(
        fig.table(cos[:shown, :shown], f"cosine(position p, position q), first {shown:,} of {n:,}",
                  "position q (tokens)", "position p (tokens)", "cosine"),
        key=k("lp_heat"),
    )  # fmt: skip
    ks, sims = lp.neighbour_similarity(cos, p, max_d)
    mk, mean = lp.mirrored_mean(lp.mean_similarity_by_distance(cos, max_d))
    right.plotly_chart(
        fig.lines([(f"cos(p={p:,}, p+k)", sims, ks), ("mean over all p", mean, mk)],
                  "Neighbours look alike; far positions do not", "distance k (tokens)",
                  "cosine similarity"),
        key=k("lp_neigh"),
    )  # fmt: skip


def _sentence(enc: Any, table: lp.PositionTable, guarded: GuardedText) -> None:
    if guarded.empty:
        empty_hint("a sentence")
        return
    pieces, n_total = sentence_positions(enc, guarded.text, table.n_positions)
    st.html(token_spans_html(pieces, titles=[f"position {i}" for i in range(len(pieces))]))
    cut = (
        f" {n_total:,} tokens; the table has {table.n_positions:,} rows, so only the first "
        f"{len(pieces):,} get a position."
        if n_total > len(pieces)
        else ""
    )
    st.caption(
        f"Your sentence uses position rows 0–{len(pieces) - 1:,} (hover a token to see its "
        f"row); each token's input vector is word + position (+ segment), then LayerNorm.{cut}"
    )


def render(guarded: GuardedText) -> None:
    lesson(
        "BERT-style encoders learn one vector per position index and add it to the token "
        "embedding. Nobody told MiniLM that position 7 is next to position 8, yet after training "
        "neighbouring rows are similar (the bright band on the diagonal). The table is also a "
        "hard limit: a position past its last row simply has no vector."
    )
    with warming("encoder"):
        enc = get_model("encoder")
    try:
        table = position_table(enc)
    except ValueError as exc:  # relative or rotary positions: no table to show
        st.info(str(exc), icon=":material/info:")
        return
    reserved = f" (rows 0–{table.first_row - 1} reserved, skipped)" if table.first_row else ""
    st.caption(
        f"{enc.choice.label}: position matrix {table.n_positions:,} × "
        f"{table.weight.shape[1]:,}{reserved}"
    )
    _sentence(enc, table, guarded)
    _figures(table)
    show_code(
        lp.position_table, lp.cosine_matrix, lp.neighbour_similarity, lp.mean_similarity_by_distance
    )
