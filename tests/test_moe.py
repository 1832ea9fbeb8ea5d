"""The DeepSeek-style MoE GPT: the router's top-k and gates, the balancing rule, equal active
parameters for the dense twin, balancing that evens the load on a tiny run, and the CLI."""

from __future__ import annotations

import json

import pytest
import torch

from lessons import think_format as tf
from models.gpt.data import CharData, read_text_file
from models.moe import __main__ as cli
from models.moe import state
from models.moe.model import MoE, MoEConfig, MoEGPT, load, route, text_routes
from models.moe.state import DATA
from models.moe.trainer import TrainConfig, compare, summary_table
from models.training import Recorder

TINY = dict(n_layer=1, n_head=2, n_embd=32, expert_hidden=32, n_routed=8, top_k=2)


@pytest.fixture(scope="module")
def play():
    return CharData.from_text(read_text_file(DATA), MoEConfig.block_size)


def test_router_picks_top_k_by_biased_scores_and_gates_by_unbiased_ones():
    scores = torch.tensor([[0.9, 0.8, 0.1, 0.2], [0.1, 0.2, 0.3, 0.7]])  # (N, E)
    r = route(scores, torch.zeros(4), top_k=2)
    assert r.choice.tolist() == [[0, 1], [3, 2]]
    assert torch.allclose(r.gates, torch.tensor([[0.9 / 1.7, 0.8 / 1.7], [0.7, 0.3]]))
    bias = torch.tensor([0.0, 0.0, 1.0, 0.0])  # expert 2 favoured for choosing only
    r = route(scores, bias, top_k=2)
    assert r.choice.tolist() == [[2, 0], [2, 3]]
    assert torch.allclose(r.gates[0], torch.tensor([0.1, 0.9]) / 1.0)  # its own score, 0.1
    assert torch.allclose(r.gates.sum(-1), torch.ones(2))


def test_bias_moves_against_the_load():
    moe = MoE(MoEConfig(**TINY, bias_update=0.1))
    moe.last_choice = torch.tensor([[[0, 1], [0, 1], [0, 2]]])  # expert 0 overloaded
    moe.update_bias()
    b = moe.route_bias
    assert b[0] == pytest.approx(-0.1) and b[1] == pytest.approx(-0.1)  # above the mean of 1/8
    assert all(b[e] == pytest.approx(0.1) for e in range(3, 8))  # unused: pushed up
    off = MoE(MoEConfig(**TINY, balance=False))
    off.last_choice = moe.last_choice
    off.update_bias()
    assert torch.equal(off.route_bias, torch.zeros(8))


@pytest.mark.parametrize("shape", [TINY, {}])
def test_dense_twin_has_the_same_active_parameters(shape):
    moe, dense = MoEGPT(MoEConfig(**shape)), MoEGPT(MoEConfig(**shape, dense=True))
    assert moe.active_parameters() == dense.active_parameters()
    assert dense.active_parameters() == sum(p.numel() for p in dense.parameters())
    assert sum(p.numel() for p in moe.parameters()) > moe.active_parameters()  # 6 experts idle


def test_balancing_evens_the_load_on_a_tiny_run(play, one_thread):
    cfg = MoEConfig(vocab_size=play.vocab_size, **TINY, bias_update=0.03)  # a short run: faster γ
    tcfg = TrainConfig(steps=150, batch_size=16, eval_every=75, load_window=30)
    out = compare(play, cfg, tcfg, (0,), Recorder(), ("MoE, balanced", "MoE, no balancing"))
    on, off = (max(r["max_over_mean"]) for r in out["runs"])
    assert on < off and on < 1.5, (on, off)
    table = summary_table(out["runs"])
    assert [r["model"] for r in table] == ["MoE, balanced", "MoE, no balancing"]
    assert all(r["val_loss"] < 4.2 for r in out["runs"])  # it learned (uniform: ln 65 = 4.17)


def test_cli_trains_saves_and_ends_on_a_json_line(tmp_path, capsys, one_thread):
    rc = cli.main(["train", "--data", str(DATA), "--out", str(tmp_path), "--steps", "20",
                   "--minutes", "1"])  # fmt: skip
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0 and last["steps"] == 20 and len(last["load_max_over_mean"]) == 2
    assert all(1.0 <= v <= 4.0 for v in last["load_max_over_mean"])
    model, chars = load(tmp_path / "model.pt")
    routes = text_routes(model, chars, "MARA: <script>é")
    assert routes[0][0] == "M" and len(routes[0][1]) == 2 and routes[-1] == ("é", None)
    assert cli.main(["train", "--data", str(tmp_path / "none.txt"), "--out", str(tmp_path)]) == 2
    shared = state.Compared([], [], model, chars)  # as the page's cached state holds it
    assert shared.text_routes("MARA: <script>é") == routes
    assert shared.text_routes("MARA: <script>é") is shared.text_routes("MARA: <script>é")
    experts = shared.held_out_experts()
    assert len(experts) == 2 and abs(sum(share for share, _ in experts[0]) - 1) < 1e-6


def test_think_format_splits_joins_and_rewards():
    raw = tf.join("  2 + 2 is 4. ", "4")
    assert raw == "<think>\n2 + 2 is 4.\n</think>\n\n4"
    r = tf.split(raw)
    assert (r.thinking, r.answer, r.closed) == ("2 + 2 is 4.", "4", True)
    assert tf.split("no tag yet, still thinking").closed is False
    assert tf.split("prompt put <think> there\n</think> answer").answer == "answer"
    assert tf.format_reward(raw) == 1.0
    assert tf.format_reward("<think>a</think>") == 0.0  # no answer
    assert tf.format_reward("<think>a</think>b</think>c") == 0.0  # two closings
    assert tf.format_reward(tf.recorded()["raw"]) == 1.0
    assert "not a transcript" in tf.recorded()["label"]


def test_figures_draw_the_load_the_curves_and_the_cache():
    from figures import deepseek as fig

    even, skewed = [[0.125] * 8] * 2, [[0.5, 0.5, *[0.0] * 6]] * 2
    f = fig.expert_load({"balanced": even, "none": skewed})
    assert len(f.data) == 4 and f.data[2].y == (50.0, 50.0, 0, 0, 0, 0, 0, 0)
    assert fig.loss_curves([]) is None and fig.loss_caption([]) is None
    rows = [{"run": r, "seed": s, "step": 50, "val_loss": 2.0 + s, "load_L0": 1.1}
            for r in ("dense", "MoE") for s in (0, 1)]  # fmt: skip
    assert {t.name for t in fig.loss_curves(rows).data} == {"dense · validation loss",
                                                            "MoE · validation loss"}  # fmt: skip
    assert "dense: 3.000" in fig.loss_caption(rows)  # the last row of each run
    bars = fig.kv_per_token({"MLA (this model)": 70_272.0, "as MHA": 3_997_696.0})
    assert bars.data[0].texttemplate == ("68.6 KiB", "3,904 KiB")
