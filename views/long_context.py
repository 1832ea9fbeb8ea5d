"""Long context: RoPE scaling past the training length, and FlashAttention's tiling. The tabs live
in views/long_context/ (one module per tab)."""

from __future__ import annotations

from ui.page import header, lazy_tabs, page_keys
from views.long_context import bench, flash, rope

k = page_keys("lc")
TABS = ("RoPE scaling", "Measured perplexity", "Online softmax", "Memory traffic", "Benchmark")

header(
    "Long context: RoPE scaling & Flash Attention",
    "Two obstacles to long inputs: rotary positions past the trained length are angles the model "
    "never saw, and attention's N×N score matrix. Both are fixed by rearranging numbers.",
)
RENDER = (rope.render_scaling, rope.render_perplexity, flash.render_online,
          flash.render_traffic, bench.render)  # fmt: skip
for tab, render in zip(lazy_tabs(TABS, k("tabs")), RENDER, strict=True):
    with tab:
        if tab.open:
            render()
