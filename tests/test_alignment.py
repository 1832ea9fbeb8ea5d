"""The alignment track's math: DPO's terms, the KL-regularised optimum, PPO's clip, the
Bradley–Terry reward model, GRPO's rewards and advantages, and their figures."""

from __future__ import annotations

import math

import pytest
import torch

from figures import alignment as fig_al
from figures import dpo as fig_dpo
from figures import grpo as fig_grpo
from lessons import dpo, grpo, reward_model, rlhf
from models import alignment
from models import dpo as dpo_model

# --- DPO --------------------------------------------------------------------------------------


def test_dpo_terms_and_the_batch_loss_agree():
    t = dpo.dpo_terms(-10.0, -12.0, -30.0, -20.0, beta=0.1)
    assert t.reward_chosen == pytest.approx(0.2) and t.reward_rejected == pytest.approx(-1.0)
    assert t.margin == pytest.approx(1.2)
    assert t.loss == pytest.approx(-math.log(1 / (1 + math.exp(-1.2))))
    assert t.weight == pytest.approx(1 / (1 + math.exp(1.2)))
    batch = dpo.dpo_loss(*(torch.tensor([v, 0.0]) for v in (-10.0, -12.0, -30.0, -20.0)), 0.1)
    assert batch.item() == pytest.approx((t.loss + math.log(2)) / 2, rel=1e-6)
    assert dpo.dpo_terms(0, 0, 0, 0, 0.1).loss == pytest.approx(math.log(2))


def test_only_the_margin_matters_so_chosen_can_fall_at_no_cost():
    a = dpo.dpo_terms(-5.0, 0.0, -20.0, 0.0, beta=0.1)
    b = dpo.dpo_terms(-15.0, 0.0, -30.0, 0.0, beta=0.1)  # both pushed 10 nats down
    assert b.reward_chosen < a.reward_chosen and b.loss == pytest.approx(a.loss)
    xs, ys, z = dpo.loss_grid(0.1, span=10.0, n=11)
    assert len(z) == len(ys) and len(z[0]) == len(xs)
    assert z[3][4] == pytest.approx(z[4][5]) and z[0][10] < z[10][0]  # diagonals; chosen high = low


def test_pair_metrics_count_strict_wins_and_logp_ranking():
    s = dpo.PairScores(
        policy_chosen=torch.tensor([-5.0, -9.0, -7.0]),
        policy_rejected=torch.tensor([-20.0, -8.0, -7.0]),
        ref_chosen=torch.tensor([-6.0, -9.0, -7.0]),
        ref_rejected=torch.tensor([-10.0, -9.0, -7.0]),
    )
    m = dpo.pair_metrics(s, beta=0.1)
    assert m["reward_accuracy"] == pytest.approx(1 / 3, abs=1e-4)  # a tie is not a win
    assert m["logp_accuracy"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["mean_margin"] == pytest.approx(((0.1 + 1.0) + (-0.1) + 0) / 3, abs=1e-4)
    same = dpo.PairScores(s.ref_chosen, s.ref_rejected, s.ref_chosen, s.ref_rejected)
    assert dpo.pair_metrics(same, 0.1)["reward_accuracy"] == 0.0
    with pytest.raises(ValueError):
        dpo.pair_metrics(dpo.PairScores(*(torch.zeros(0),) * 4), 0.1)
    assert dpo.run_path([{"rewards/chosen": -0.2, "rewards/rejected": -1.0}, {"x": 1}], 0.1) == [
        pytest.approx((-2.0, -10.0))
    ]


@pytest.fixture(scope="module")
def tokenizer():
    from models import loader

    return loader.load("smollm2-embedded", tokenizer_only=True).tokenizer


def test_answer_tokens_are_the_assistant_turn_as_trl_cuts_it(tokenizer):
    prompt_ids, answer_ids = dpo.encode_answer(tokenizer, "What is 2 + 2?", "4, of course.")
    assert tokenizer.decode(answer_ids).startswith("4, of course.<|im_end|>")
    assert tokenizer.decode(prompt_ids).endswith("<|im_start|>assistant\n")
    full = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 2 + 2?"},
         {"role": "assistant", "content": "4, of course."}], tokenize=True, return_dict=True,
    )["input_ids"]  # fmt: skip
    assert prompt_ids + answer_ids == list(full)


# --- RLHF's objective and PPO -------------------------------------------------------------------


def test_kl_optimum_is_the_best_distribution_and_beta_is_the_leash():
    logp, reward = [-3.0, -1.0, -2.0, -6.0], [1.0, -1.0, 0.5, 2.0]
    o = rlhf.kl_optimum(logp, reward, beta=0.5)
    ref = torch.tensor(o.reference, dtype=torch.float64)
    r = torch.tensor(reward, dtype=torch.float64)
    torch.manual_seed(0)
    for _ in range(200):  # no random distribution beats the closed form
        p = torch.distributions.Dirichlet(torch.ones(4, dtype=torch.float64)).sample()
        assert rlhf.objective(p, ref, r, 0.5) <= o.objective + 1e-9
    assert sum(o.policy) == pytest.approx(1.0)
    tight, loose = rlhf.kl_optimum(logp, reward, 100.0), rlhf.kl_optimum(logp, reward, 0.01)
    assert tight.kl < 1e-3 and max(loose.policy) == pytest.approx(loose.policy[3], abs=1e-9)
    assert loose.expected_reward > o.expected_reward > tight.expected_reward
    offsets = [a - b for a, b in zip(reward, rlhf.implicit_rewards(o, 0.5), strict=True)]
    assert max(offsets) - min(offsets) < 1e-9  # β·log(π*/π_ref) = r − β·log Z
    sweep = rlhf.beta_sweep(logp, reward, [0.1, 1.0, 10.0])
    assert sweep[0]["kl"] > sweep[1]["kl"] > sweep[2]["kl"]
    with pytest.raises(ValueError):
        rlhf.kl_optimum(logp, reward, 0.0)


def test_ppo_clip_caps_the_gain_in_both_directions():
    ratio = torch.tensor([0.5, 1.0, 1.1, 1.5, 2.0])
    pos = rlhf.ppo_clip(ratio, 1.0, eps=0.2)
    assert pos.tolist() == pytest.approx([0.5, 1.0, 1.1, 1.2, 1.2])
    neg = rlhf.ppo_clip(ratio, -1.0, eps=0.2)
    assert neg.tolist() == pytest.approx([-0.8, -1.0, -1.1, -1.5, -2.0])


# --- the reward model ----------------------------------------------------------------------------


def test_bradley_terry_fit_learns_a_direction_and_generalises():
    gen = torch.Generator().manual_seed(0)
    good = torch.nn.functional.normalize(torch.randn(16, generator=gen), dim=0)

    def pairs(n):
        base = torch.randn(n, 16, generator=gen)
        return base + good, base - good  # chosen leans along `good`

    model = reward_model.fit(*pairs(40), reward_model.RewardConfig(steps=100, lr=0.05))
    assert model.history[-1]["loss"] < model.history[0]["loss"]
    assert reward_model.accuracy(model, *pairs(40)) > 0.9
    c, r = pairs(8)
    by = reward_model.accuracy_by_group(model, c, r, ["a"] * 4 + ["b"] * 4)
    assert set(by) == {"a", "b"}
    assert len(reward_model.seed_spread(pairs(20), pairs(20), reward_model.RewardConfig(50))) == 5
    p = reward_model.preference_probability(torch.tensor([2.0]), torch.tensor([0.0]))
    assert p.item() == pytest.approx(1 / (1 + math.exp(-2)))


# --- GRPO ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,answer,correct,fmt",
    [
        ("12", 12, 1.0, 1.0),
        (" 12.", 12, 1.0, 1.0),
        ("7 + 5 = 12", 12, 1.0, 0.5),
        ("7 + 5 = 12.\n\nThis is a classic", 12, 1.0, 0.0),
        ("7 + 5 = 13\nNo, 12", 12, 0.0, 0.0),
        ("To add 7 and 5 we first write both numbers as 12", 12, 1.0, 0.0),
        ("The answer is twelve", 12, 0.0, 0.0),
        ("", 12, 0.0, 0.0),
        ("−3", -3, 1.0, 1.0),
    ],
)
def test_verifiable_rewards(text, answer, correct, fmt):
    assert grpo.correct_reward(text, answer) == correct
    assert grpo.format_reward(text) == fmt
    assert grpo.total_reward(text, answer) == correct + 0.5 * fmt


def test_group_advantages_follow_trls_formula_and_flag_dead_groups():
    g = grpo.group_advantages([1.5, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0], group_size=4)
    first = torch.tensor([1.5, 0.0, 0.0, 1.0])
    expect = (first - first.mean()) / (first.std(unbiased=True) + 1e-4)
    assert g.advantages[0].tolist() == pytest.approx(expect.tolist(), rel=1e-5)
    assert g.zero_spread.tolist() == [False, True] and g.advantages[1].abs().max() == 0
    assert g.advantages[0].sum().item() == pytest.approx(0.0, abs=1e-5)
    with pytest.raises(ValueError):
        grpo.group_advantages([1.0, 2.0, 3.0], group_size=2)


def test_questions_are_distinct_and_skip_the_held_out_ones():
    held = [q.question for q in grpo.make_questions(40, seed=12345)]
    train = grpo.make_questions(300, seed=0, exclude=held)
    assert len({q.question for q in train}) == 300 and not set(held) & {q.question for q in train}
    assert all(q.answer >= 0 for q in train)
    assert grpo.score(["5", "3 + 3 = 7"], [5, 6]) == {
        "questions": 2, "accuracy": 0.5, "reward": 0.875, "format_rate": 0.5, "format": 0.75,
    }  # fmt: skip
    from models import grpo as grpo_model

    assert [q.question for q in grpo_model.read_questions(grpo_model.HELDOUT)] == held


def test_shipped_pairs_are_disjoint_and_balanced():
    train, held = (
        dpo_model.read_pairs(dpo_model.TRAIN_PAIRS),
        dpo_model.read_pairs(dpo_model.HELDOUT_PAIRS),
    )
    assert len(train) == 120 and len(held) == 40
    assert not {p.prompt for p in train} & {p.prompt for p in held}
    assert not set(dpo_model.PROBE_PROMPTS) & {p.prompt for p in train + held}
    for ps in (train, held):
        kinds = [p.style for p in ps]
        assert {kinds.count(s) for s in ("wrong", "rude", "evasive", "ramble")} == {len(ps) // 4}


def test_jsonl_reader_says_which_line_is_wrong():
    from models.sentiment_data import DataError

    good = b'{"prompt": "a", "chosen": "b", "rejected": "c"}\n'
    assert dpo_model.parse_pairs(good, "x")[0].chosen == "b"
    for bad, msg in ((b"{nope", "line 1: not valid JSON"), (b'{"prompt": "a"}', "'chosen'"),
                     (b"", "no rows"), (b'[1]', "expected an object"),
                     (b'{"prompt": " ", "chosen": "b", "rejected": "c"}', "empty")):  # fmt: skip
        with pytest.raises(DataError, match=msg):
            dpo_model.parse_pairs(bad, "x")
    conv = {
        "chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "good"}],
        "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "bad"}],
    }
    assert dpo_model.conversational_pair(conv) == dpo_model.Pair("q", "good", "bad")
    assert dpo_model.conversational_pair({"chosen": 3}) is None
    assert alignment.logged_numbers({"a": 1, "b": "x", "c": float("nan"), "d": True}) == {"a": 1.0}


# --- figures -------------------------------------------------------------------------------------


def test_figures_draw_the_numbers_they_are_given():
    rows = [
        {"step": 1, "loss": 0.69, "rewards/chosen": 0.0, "rewards/rejected": 0.0,
         "rewards/margins": 0.0, "rewards/accuracies": 0.0},
        {"step": 2, "loss": 0.5, "rewards/chosen": -0.1, "rewards/rejected": -0.6,
         "rewards/margins": 0.5, "rewards/accuracies": 1.0},
    ]  # fmt: skip
    f = fig_dpo.reward_curves(rows)
    assert [t.name for t in f.data] == list(fig_dpo.REWARDS) and list(f.data[2].y) == [0.0, 0.5]
    assert "rewards/chosen +0.00 → -0.10" in fig_dpo.caption(rows)
    land = fig_dpo.loss_landscape(*dpo.loss_grid(0.1, n=5), 0.1, path=[(0, 0), (-1, -6)])
    assert list(land.data[1].y) == [0, -6]
    s = fig_al.reward_scatter([1.0, 0.2], [0.0, 0.5], ["rude", "<b>wrong</b>"])
    assert {t.name for t in s.data} >= {"rude", "&lt;b&gt;wrong&lt;/b&gt;"}
    bars = fig_al.leash_bars(["a", "b"], [0.7, 0.3], [0.2, 0.8])
    assert list(bars.data[1].x) == [0.2, 0.8]
    g = {"completions": ["5", "<i>x</i>"], "advantage": [0.7, -0.7], "zero_spread": False}
    a = fig_grpo.advantages(g)
    assert list(a.data[0].x) == [0.7, -0.7] and "&lt;i&gt;" in a.data[0].y[1]
    dead = fig_grpo.advantages({**g, "advantage": [0.0, 0.0], "zero_spread": True})
    assert "zero spread" in dead.layout.title.text
    grows = [{"step": 1, "reward": 0.0, "frac_reward_zero_std": 1.0, "loss": 0.0},
             {"step": 2, "reward": 1.0, "frac_reward_zero_std": 0.5, "loss": 0.1}]  # fmt: skip
    assert "first quarter of steps 0.00, of the last quarter 1.00" in fig_grpo.caption(grows)
    assert fig_grpo.reward_curves([{"t": 1}]) is None


def test_asking_for_more_questions_than_exist_fails_fast():
    assert len(grpo.make_questions(610, seed=0)) == 610  # 400 sums + 210 differences
    with pytest.raises(ValueError, match="only 570"):
        grpo.make_questions(571, seed=0, exclude=[q.question for q in grpo.make_questions(40)])


def test_the_shipped_plain_dpo_run_shows_chosen_falling_while_the_margin_rises():
    rows = [r for r in alignment.log_rows(dpo_model.PLAIN_RUN) if "rewards/margins" in r]
    first, last = rows[0], rows[-1]
    assert len(rows) > 50 and first["rewards/margins"] == 0.0
    assert last["rewards/chosen"] < first["rewards/chosen"] < last["rewards/margins"]
    held = {r["heldout"]: r for r in alignment.log_rows(dpo_model.PLAIN_RUN) if "adapter" in r}
    assert held["after"]["reward_accuracy"] >= 0.7 > held["base"]["reward_accuracy"]
