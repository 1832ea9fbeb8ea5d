"""The Alignment: RLHF & DPO page, split by tab; `views/alignment.py` is the page file the router
runs.

calls      cached model calls (MiniLM embeddings, SmolLM2 log-probabilities, the reward model)
ppo        the "PPO & the KL leash" tab: render(k, train_pairs)
dpo_loss   the "DPO's loss" tab: render(k)
"""
