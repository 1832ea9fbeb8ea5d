"""Long context: RoPE scaling past the training length, and FlashAttention's tiling."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from lessons import attention_bench as ab
from lessons import flash_attention as fa
from lessons import rope_scaling as rs
from models import jobs
from ui.models import get_model
from ui.widgets import show_code

TEXT = Path(__file__).resolve().parents[1] / "assets" / "text" / "long_context.txt"
LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=380)
COLORS = {"none": "#64748b", "linear": "#ef4444", "ntk": "#f59e0b", "dynamic": "#a855f7"}
COLORS["yarn"] = "#10b981"
NAMES = {
    "none": "no scaling",
    "linear": "linear (PI)",
    "ntk": "NTK-aware",
    "dynamic": "dynamic NTK",
    "yarn": "YaRN",
}
CPU = not torch.cuda.is_available()
PPL_LENGTHS = [64, 128, 256, 512, 1024, 2048, 3072]
PPL_BUDGET_S = 90.0 if CPU else 60.0
BENCH_LENGTHS = [128, 256, 512, 1024, 2048, 4096] + ([] if CPU else [8192, 16384])

st.title("Long context: RoPE scaling & Flash Attention")
st.caption(
    "Two obstacles to long inputs: rotary positions past the trained length are angles the model "
    "never saw, and attention's N×N score matrix. Both are fixed by rearranging numbers."
)

tab_rope, tab_ppl, tab_flash, tab_traffic, tab_bench = st.tabs(
    ["RoPE scaling", "Measured perplexity", "Online softmax", "Memory traffic", "Benchmark"]
)

# --- RoPE scaling ----------------------------------------------------------------------------


@st.fragment
def rope_section() -> None:
    left, right = st.columns([1, 2])
    with left:
        st.markdown(
            "Each of SmolLM2's 32 rotary pairs turns at its own speed "
            "(wavelength = tokens per full turn). Pairs to the left of the dashed line turn "
            "many times inside the trained length L, so every angle is familiar; pairs to the "
            "right turn less than once, and past L they reach **angles never seen**.\n\n"
            "- **linear** slows every pair by s;\n"
            "- **NTK-aware** raises the base: fast pairs stay, the slowest is slowed by s;\n"
            "- **dynamic NTK** does that only once the text is longer than L;\n"
            "- **YaRN** keeps pairs with > 32 turns, interpolates those with < 1, blends in "
            "between, and sharpens attention by 0.1·ln s + 1."
        )
        factor = st.slider("Scale factor s", 1.0, 8.0, 4.0, 0.5, key="lc_factor")
        trained = st.select_slider(
            "Trained length L (tokens)",
            options=[512, 1024, 2048, 4096, 8192],
            value=8192,
            key="lc_trained",
            help="SmolLM2-135M was trained to 8,192. Smaller values pretend it was not.",
        )
    base = rs.ScalingConfig("none", factor, trained)
    target = int(factor * trained)
    with right:
        fig = go.Figure()
        table = rs.frequency_table(base)
        pairs = table["pair"]
        fig.add_trace(
            go.Scatter(x=pairs, y=table["wavelength"], name="unscaled", line=dict(color="#64748b"))
        )
        for method in ("linear", "ntk", "yarn"):
            t = rs.frequency_table(rs.ScalingConfig(method, factor, trained))
            fig.add_trace(
                go.Scatter(
                    x=pairs,
                    y=t["scaled_wavelength"],
                    name=NAMES[method],
                    line=dict(color=COLORS[method]),
                )
            )
        fig.add_hline(y=trained, line_dash="dash", annotation_text=f"L = {trained:,}")
        fig.add_hline(y=target, line_dash="dot", annotation_text=f"s·L = {target:,}")
        fig.update_layout(
            title=f"Wavelength per rotary pair, s = {factor:g}",
            xaxis_title="rotary pair i (0 = fastest)",
            yaxis_title="wavelength (tokens per turn, log)",
            yaxis_type="log",
            **LAYOUT,
        )
        st.plotly_chart(fig, width="stretch")

        fig2 = go.Figure()
        for method in rs.METHODS:
            cfg = rs.ScalingConfig(method, factor, trained)
            ratio = rs.max_angle_seen(cfg, target)
            fig2.add_trace(
                go.Scatter(
                    x=pairs, y=ratio.tolist(), name=NAMES[method], line=dict(color=COLORS[method])
                )
            )
        fig2.add_hline(y=1.0, line_dash="dash", annotation_text="seen in training")
        fig2.update_layout(
            title=f"Largest angle at {target:,} tokens ÷ largest angle seen within L",
            xaxis_title="rotary pair i",
            yaxis_title="ratio (> 1 = extrapolation)",
            **LAYOUT,
        )
        st.plotly_chart(fig2, width="stretch")
    rows = []
    for method in rs.METHODS:
        cfg = rs.ScalingConfig(method, factor, trained)
        w, attn = rs.scaled_inv_freq(cfg, seq_len=target)
        rows.append(
            {
                "method": NAMES[method],
                "fastest pair slowed ×": float(rs.inv_freq(64, cfg.base)[0] / w[0]),
                "slowest pair slowed ×": float(rs.inv_freq(64, cfg.base)[-1] / w[-1]),
                "attention factor": attn,
                "pairs out of range at s·L": int((rs.max_angle_seen(cfg, target) > 1.001).sum()),
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


with tab_rope:
    rope_section()
    show_code(
        rs.ScalingConfig,
        rs.linear_inv_freq,
        rs.ntk_inv_freq,
        rs.dynamic_alpha,
        rs.yarn_inv_freq,
        rs.library_config,
        rs.max_angle_seen,
    )

# --- measured perplexity ---------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=16)
def _tokens(model_key: str, _handle) -> list[int]:
    with _handle.lock:
        return _handle.tokenizer(TEXT.read_text(encoding="utf-8"))["input_ids"]


@st.cache_data(show_spinner=False, max_entries=16)
def _sweep(
    model_key: str,
    lengths: tuple[int, ...],
    methods: tuple[str, ...],
    factor: float,
    trained: int,
    _handle,
) -> tuple[list[dict], bool, float]:
    ids = torch.tensor([_tokens(model_key, _handle)], device=_handle.device)  # (1, T)
    mc = _handle.model.config
    head_dim = getattr(mc, "head_dim", None) or mc.hidden_size // mc.num_attention_heads
    base = float(mc.rope_parameters["rope_theta"])
    configs = [
        rs.ScalingConfig(m, 1.0 if m == "none" else factor, trained, head_dim, base)
        for m in methods
    ]
    t0 = time.perf_counter()
    with _handle.lock, torch.inference_mode():
        rows, finished = rs.perplexity_sweep(
            _handle.model, ids, list(lengths), configs, PPL_BUDGET_S
        )
    return rows, finished, time.perf_counter() - t0


with tab_ppl:
    left, right = st.columns([1, 2])
    with left:
        st.markdown(
            "**The experiment.** SmolLM2 reads the built-in essay (3.4k tokens, written for the "
            "gallery) with each method's rotations fed into its real layers (its config is "
            "copied, never changed). It really was trained to 8,192 tokens, and a 2-core CPU "
            "cannot afford > 8k tokens, so we **pretend** its trained length was L and scale by s "
            "without fine-tuning. *No scaling* is the truth here; each method's gap to it is the "
            "price it pays inside the familiar range. Perplexity at n = exp(mean loss of the "
            "first n tokens), from one forward per method (causal: the first n losses of a long "
            "run are those of a run cut at n)."
        )
        trained = st.select_slider(
            "Pretend trained length L",
            options=[128, 256, 512, 1024, 2048],
            value=256,
            key="lc_ppl_L",
        )
        factor = st.select_slider(
            "Scale factor s", options=[2.0, 4.0, 8.0], value=4.0, key="lc_ppl_s"
        )
        methods = st.multiselect(
            "Methods",
            list(rs.METHODS),
            default=["none", "linear", "yarn"],
            format_func=NAMES.get,
            key="lc_methods",
        )
        lengths = st.multiselect(
            "Lengths (tokens)",
            PPL_LENGTHS,
            default=[128, 256, 512] if CPU else [256, 512, 1024, 2048, 3072],
            help="On 2 CPU cores a 512-token forward takes ~5–30 s (more when busy).",
            key="lc_lengths",
        )
        run = st.button("Measure perplexity", type="primary", key="lc_ppl_run")
        st.caption(
            "What to look for: linear interpolation slows the fast pairs too, so neighbouring "
            "tokens blur and perplexity jumps several-fold; NTK-aware and YaRN leave the fast "
            "pairs alone and stay within a few percent of no scaling; dynamic NTK is exactly "
            "no scaling up to L and only changes beyond it."
        )
    with right:
        if not methods or not lengths:
            st.info("Pick at least one method and one length.", icon=":material/tune:")
        elif run:
            handle = get_model("chat")
            with jobs.slot(timeout=5) as ok:
                if not ok:
                    st.warning("The machine is busy with another job; try again in a moment.")
                else:
                    with st.spinner(f"Running SmolLM2 (budget {PPL_BUDGET_S:.0f} s)…"):
                        measured = _sweep(
                            handle.choice.key,
                            tuple(sorted(lengths)),
                            tuple(methods),
                            float(factor),
                            int(trained),
                            handle,
                        )
                        st.session_state["lc_ppl"] = (*measured, (trained, factor))
        result = st.session_state.get("lc_ppl")
        if result and (methods and lengths):
            rows, finished, seconds, (r_trained, r_factor) = result
            if not finished:
                st.warning(
                    f"Stopped at the {PPL_BUDGET_S:.0f} s budget; the table shows what finished."
                )
            if rows:
                df = pd.DataFrame(rows)
                fig = go.Figure()
                for method, g in df.groupby("method", sort=False):
                    fig.add_trace(
                        go.Scatter(
                            x=g["length"],
                            y=g["ppl"],
                            mode="lines+markers",
                            name=NAMES[method],
                            line=dict(color=COLORS[method]),
                        )
                    )
                fig.add_vline(x=r_trained, line_dash="dash", annotation_text="pretend L")
                fig.update_layout(
                    title=f"SmolLM2 perplexity on the essay, L = {r_trained}, s = {r_factor:g}",
                    xaxis_title="context length n (tokens)",
                    yaxis_title="perplexity (lower is better)",
                    **LAYOUT,
                )
                st.plotly_chart(fig, width="stretch")
                wide = df.pivot(index="length", columns="method", values="ppl")
                st.dataframe(wide.rename(columns=NAMES).round(2), width="stretch")
                st.caption(f"Measured in {seconds:.1f} s on {(CPU and 'CPU') or 'CUDA'}.")
        else:
            st.info("Press **Measure perplexity** (cached afterwards).", icon=":material/timer:")
    show_code(rs.cos_sin, rs.hidden_states, rs.token_nll, rs.perplexity_sweep)

# --- online softmax step-through -------------------------------------------------------------


@st.fragment
def flash_section() -> None:
    left, right = st.columns([1, 2])
    with left:
        st.markdown(
            "FlashAttention never builds the T×T score matrix. A block of queries stays in fast "
            "memory while key/value blocks stream past; each tile updates a **running max m**, a "
            "**running sum l** and an unnormalised output **acc**. When a tile brings a larger "
            "score, the old l and acc are multiplied by exp(m_old − m_new). At the end acc / l "
            "equals softmax(QKᵀ/√d)V exactly."
        )
        T = st.slider("Sequence length T", 4, 12, 8, key="lc_T")
        bq = st.slider("Query block", 1, 6, 2, key="lc_bq")
        bk = st.slider("Key block", 1, 6, 3, key="lc_bk")
        causal = st.toggle("Causal", value=True, key="lc_causal")
        seed = st.number_input("Random seed", 0, 999, 0, key="lc_seed")
    gen = torch.Generator().manual_seed(int(seed))
    d = 4
    q, k, v = (torch.randn(T, d, generator=gen) for _ in range(3))  # (T, d) each
    steps = fa.online_softmax_steps(q, k, v, bq, bk, causal)
    with right:
        i = st.slider("Step (tile)", 1, len(steps), 1, key="lc_step") - 1
        stp = steps[i]
        full = (q @ k.T / d**0.5).numpy()  # (T, T) only for the picture
        shown = np.full_like(full, np.nan)
        for s in steps[: i + 1]:
            if s.q_block == stp.q_block and not s.skipped:
                shown[s.rows[0] : s.rows[1], s.cols[0] : s.cols[1]] = s.scores.numpy()
        fig = go.Figure(
            go.Heatmap(z=shown, colorscale="RdBu", zmid=0, colorbar=dict(title="score"))
        )
        fig.add_shape(
            type="rect",
            x0=stp.cols[0] - 0.5,
            x1=stp.cols[1] - 0.5,
            y0=stp.rows[0] - 0.5,
            y1=stp.rows[1] - 0.5,
            line=dict(color="black", width=3),
        )
        fig.update_layout(
            title=(
                f"Step {i + 1}/{len(steps)}: query block {stp.q_block}, key block {stp.k_block}"
                + (" (skipped: all future)" if stp.skipped else "")
            ),
            xaxis_title="key position",
            yaxis_title="query position",
            yaxis_autorange="reversed",
            **{**LAYOUT, "height": 320},
        )
        st.plotly_chart(fig, width="stretch")
        rows = list(range(*stp.rows))
        st.dataframe(
            pd.DataFrame(
                {
                    "query": rows,
                    "rescale exp(m_old−m_new)": stp.scale.tolist(),
                    "running max m": stp.m.tolist(),
                    "running sum l": stp.l_.tolist(),
                    **{f"acc[{c}]": stp.acc[:, c].tolist() for c in range(d)},
                }
            ).round(4),
            hide_index=True,
            width="stretch",
        )
        out = fa.steps_output(steps, T, d)
        ref = fa.standard_attention(q, k, v, causal)
        sdpa = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        tiled = fa.flash_attention(q, k, v, bq, bk, causal)
        st.caption(
            f"After the last step: max |acc/l − softmax(QKᵀ/√d)V| = {(out - ref).abs().max():.2e}; "
            f"flash_attention() vs torch SDPA: {(tiled - sdpa).abs().max():.2e}."
        )


with tab_flash:
    flash_section()
    show_code(fa.flash_attention, fa._online_update, fa._tile_scores, fa.standard_attention)

# --- memory traffic --------------------------------------------------------------------------


@st.fragment
def traffic_section() -> None:
    left, right = st.columns([1, 2])
    with left:
        st.markdown(
            "Counted from the paper's two algorithms, per head. Standard attention writes and "
            "reads the N×N matrix several times: **Θ(Nd + N²)** bytes. FlashAttention re-reads "
            "Q and O once per key block; with blocks sized to SRAM M that is "
            "**Θ(N²d²/M)** — fewer bytes whenever d² < M, which holds for every real GPU "
            "(d = 64: d² = 4k elements vs M ≈ 100k)."
        )
        d = st.select_slider("Head dim d", options=[32, 64, 128, 256], value=64, key="lc_d")
        sram_kb = st.select_slider(
            "SRAM M per SM (KB)", options=[16, 48, 100, 192, 228], value=192, key="lc_m"
        )
        el = st.radio("Element size", [2, 4], format_func=lambda b: f"{b} bytes", key="lc_el")
    Ns = [2**p for p in range(8, 18)]
    std = [fa.standard_traffic(fa.TrafficConfig(n, d, sram_kb * 1024, el)) / 2**20 for n in Ns]
    fl = [fa.flash_traffic(fa.TrafficConfig(n, d, sram_kb * 1024, el)) / 2**20 for n in Ns]
    with right:
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=Ns, y=std, name="standard", mode="lines+markers"))
        fig.add_trace(go.Scatter(x=Ns, y=fl, name="FlashAttention", mode="lines+markers"))
        fig.update_layout(
            title="HBM reads + writes for one attention head",
            xaxis_title="sequence length N (tokens, log)",
            yaxis_title="memory traffic (MiB, log)",
            xaxis_type="log",
            yaxis_type="log",
            **LAYOUT,
        )
        st.plotly_chart(fig, width="stretch")
        br, bc = fa.flash_blocks(fa.TrafficConfig(1024, d, sram_kb * 1024, el))
        st.caption(
            f"Blocks: {br} queries × {bc} keys. At N = {Ns[-1]:,}: standard {std[-1]:,.0f} MiB, "
            f"flash {fl[-1]:,.0f} MiB ({std[-1] / fl[-1]:.1f}× less)."
        )


with tab_traffic:
    traffic_section()
    show_code(fa.TrafficConfig, fa.standard_traffic, fa.flash_blocks, fa.flash_traffic)

# --- benchmark -------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=8)
def _bench(lengths: tuple[int, ...], causal: bool, budget: float) -> list[dict]:
    return ab.run_attention_bench(list(lengths), ab.BenchConfig(causal=causal, budget_s=budget))


with tab_bench:
    left, right = st.columns([1, 2])
    cfg = ab.BenchConfig()
    with left:
        st.markdown(
            f"Eager attention (matmul → softmax → matmul, the N×N matrix in memory) against "
            f"PyTorch's fused `scaled_dot_product_attention` forced onto each backend, on this "
            f"host ({cfg.device}): batch 1, {cfg.heads} heads, d = {cfg.head_dim}, fp32, best of "
            f"{cfg.repeats}. Memory: "
            + (
                "measured peak above the inputs (`torch.cuda.max_memory_allocated`)."
                if not CPU
                else "analytic size of the N×N score matrix (the CPU allocator is not "
                "instrumented); the flash kernel never holds it."
            )
        )
        avail = ab.available_methods(cfg)
        st.dataframe(
            pd.DataFrame(
                [
                    {"method": m, "runs here": r is None, "why not": r or ""}
                    for m, r in avail.items()
                ]
            ),
            hide_index=True,
        )
        blengths = st.multiselect(
            "Lengths", BENCH_LENGTHS, default=BENCH_LENGTHS[: 4 if CPU else 8], key="lc_blen"
        )
        bcausal = st.toggle("Causal", value=True, key="lc_bcausal")
        go_bench = st.button("Run benchmark", type="primary", key="lc_bench_run")
    with right:
        if go_bench and blengths:
            with jobs.slot(timeout=5) as ok:
                if not ok:
                    st.warning("The machine is busy with another job; try again in a moment.")
                else:
                    with st.spinner("Timing attention (budget 20 s)…"):
                        st.session_state["lc_bench"] = _bench(
                            tuple(sorted(blengths)), bcausal, 20.0
                        )
        brows = st.session_state.get("lc_bench")
        if brows:
            df = pd.DataFrame(brows)
            for col, title, unit in (
                ("ms", "Latency", "ms, log"),
                ("mem_mb", "Memory (" + ", ".join(df["mem_kind"].unique()) + ")", "MiB, log"),
            ):
                fig = go.Figure()
                for method, g in df.groupby("method", sort=False):
                    g = g.dropna(subset=[col])
                    fig.add_trace(
                        go.Scatter(x=g["seq_len"], y=g[col], name=method, mode="lines+markers")
                    )
                fig.update_layout(
                    title=title,
                    xaxis_title="sequence length N (tokens, log)",
                    yaxis_title=f"{col} ({unit})",
                    xaxis_type="log",
                    yaxis_type="log",
                    **{**LAYOUT, "height": 320},
                )
                st.plotly_chart(fig, width="stretch")
            st.dataframe(df.round(4), hide_index=True, width="stretch")
        else:
            st.info("Press **Run benchmark** (20 s budget, cached).", icon=":material/speed:")
    show_code(ab.eager_attention, ab.run_attention_bench)
