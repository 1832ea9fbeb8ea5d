"""Tab 5: eager attention against PyTorch's fused SDPA backends, timed on this host."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from figures import long_context as fig
from lessons import attention_bench as ab
from models import loader
from ui.page import page_keys, presenter, store, stored
from ui.training import busy_slot
from ui.widgets import show_code
from views.long_context import columns

k = page_keys("lc")

CPU = loader.device() == "cpu"
LENGTHS = [128, 256, 512, 1024, 2048, 4096] + ([] if CPU else [8192, 16384])
BUDGET_S = 20.0


@st.cache_data(show_spinner=False, max_entries=8)
def _bench(lengths: tuple[int, ...], causal: bool, budget: float) -> list[dict]:
    return ab.run_attention_bench(list(lengths), ab.BenchConfig(causal=causal, budget_s=budget))


@st.cache_data(show_spinner=False)
def _available() -> dict[str, str | None]:
    return ab.available_methods()


def _intro(cfg: ab.BenchConfig) -> str:
    memory = (
        "measured peak above the inputs (`torch.cuda.max_memory_allocated`)."
        if not CPU
        else "analytic size of the N×N score matrix (the CPU allocator is not instrumented); "
        "the flash kernel never holds it."
    )
    return (
        f"Eager attention (matmul → softmax → matmul, the N×N matrix in memory) against "
        f"PyTorch's fused `scaled_dot_product_attention` forced onto each backend, on this host "
        f"({cfg.device}): batch 1, {cfg.heads} heads, d = {cfg.head_dim}, fp32. Every method is "
        f"warmed up at every length first, then timed: best of ≥ {cfg.repeats} calls and "
        f"≥ {cfg.min_time_s * 1e3:.0f} ms of timing. Memory: {memory}"
    )


def _results(rows: list[dict]) -> None:
    df = pd.DataFrame(rows)
    kinds = ", ".join(df["mem_kind"].unique())
    st.plotly_chart(fig.bench(rows, "ms", "Latency", "ms"), width="stretch", key=k("b_ms"))
    if not presenter():
        st.plotly_chart(fig.bench(rows, "mem_mb", f"Memory ({kinds})", "MiB"), width="stretch",
                        key=k("b_mem"))  # fmt: skip
        note = fig.overlap_note(rows, "mem_mb")
        if note:
            st.caption(f":material/stacks: {note}")
    shown = df[["method", "seq_len", "ms", "calls", "mem_mb", "max_abs_err"]]
    st.dataframe(
        shown, hide_index=True, width="stretch",
        column_config={
            "seq_len": st.column_config.NumberColumn("N", format="localized"),
            "ms": st.column_config.NumberColumn("ms (best)", format="%.3f"),
            "calls": st.column_config.NumberColumn("timed calls", format="localized"),
            "mem_mb": st.column_config.NumberColumn("MiB", format="%.1f"),
            "max_abs_err": st.column_config.NumberColumn("max |err| vs eager", format="%.1e"),
        },
    )  # fmt: skip


def render() -> None:
    cfg = ab.BenchConfig()
    left, right = columns(_intro(cfg), "What is timed")
    with left:
        avail = _available()
        st.dataframe(
            pd.DataFrame([{"method": m, "runs here": r is None, "why not": r or ""}
                          for m, r in avail.items()]),
            hide_index=True,
        )  # fmt: skip
        lengths = st.multiselect("Lengths", LENGTHS, default=LENGTHS[: 4 if CPU else 8],
                                 key=k("blen"), format_func=lambda n: f"{n:,}")  # fmt: skip
        causal = st.toggle("Causal", value=True, key=k("bcausal"))
        go = st.button("Run benchmark", type="primary", key=k("bench_run"), disabled=not lengths)
    with right:
        if go and lengths:
            with busy_slot(5, "the benchmark") as ok:
                if ok:
                    with st.spinner(f"Timing attention (budget {BUDGET_S:.0f} s)…"):
                        store(k("bench"), _bench(tuple(sorted(lengths)), causal, BUDGET_S))
        rows = stored(k("bench"))
        if rows:
            _results(rows)
        else:
            msg = f"Press **Run benchmark** ({BUDGET_S:.0f} s budget, cached)."
            st.info(msg, icon=":material/speed:")
    show_code(ab.eager_attention, ab.warm_up, ab.time_call, ab.run_attention_bench)
