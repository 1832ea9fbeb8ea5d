"""Tab 3: where the parameters are, counted per component and checked against the config."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from figures import architecture as fig
from lessons import parameter_count as pc
from ui.page import presenter
from views.architecture.common import k, parameters


def render(handle: Any) -> None:
    try:
        p = parameters(handle)
    except ValueError as exc:  # a model whose parameter names neither family uses
        st.error(str(exc))
        return
    c = st.columns(3)
    c[0].metric("Sum of the components", f"{p.counted:,}")
    c[1].metric("sum(p.numel() for p in model.parameters())", f"{p.total:,}")
    c[2].metric("LM head", pc.LM_HEAD_TEXT[p.head])
    left, right = st.columns([1, 1])
    with left:
        comp = pd.DataFrame(
            {
                "component": list(p.by_component),
                "parameters": list(p.by_component.values()),
                "share": list(p.shares.values()),
            }
        )
        st.dataframe(
            comp,
            hide_index=True,
            column_config={
                "parameters": st.column_config.NumberColumn(format="localized"),
                "share": st.column_config.ProgressColumn(
                    format="percent", min_value=0, max_value=1
                ),
            },
        )
        checks = p.formula_matches
        st.markdown(
            f"One block from the config (d = {p.hidden:,}, FFN width = {p.ffn:,}): "
            + ", ".join(
                f"{name} {n:,} ({'✓' if checks[name] else '≠ counted'})"
                for name, n in p.formula.items()
            )
            + f"; × {p.n_blocks:,} blocks. Tied embeddings are one tensor, counted once."
        )
    right.plotly_chart(
        fig.treemap(p.rows, handle.choice.label, height=340 if presenter() else 400),
        key=k("tree"),
    )
    with st.expander("Every component, block by block", icon=":material/table:"):
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "group": r.group,
                        "block": r.block,
                        "component": r.component,
                        "parameters": r.params,
                        "tensors": ", ".join(r.names),
                    }
                    for r in p.rows
                ]
            ),
            hide_index=True,
            column_config={"parameters": st.column_config.NumberColumn(format="localized")},
        )
