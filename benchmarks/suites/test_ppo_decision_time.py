"""Decision time of the PPO variants: one ``model.predict(obs, deterministic=True)`` call.

Group ``ppo-decision-time``: the subject is ``ppo-clip-kl`` with the SGLS paper's CNN + FC
network (Table 1: six 1-D convolutions 32-64-64-128-128-256, kernel 3, then dense 256, 128);
the reference is the same algorithm with the default MLP extractor (SB3's 64-64), i.e. what
``ppo``, ``ppo-kl`` and ``ppo-clip-kl`` ship with. The spaces are the paper's IEEE 30-bus PPO
MDP (36 observations, 10 actions); the objective (clip, KL or both) does not change inference.
Set-up (building the untrained policy, one warm-up call) is not timed. One torch thread (as the
methods run). The issue asks for ≤ 1 ms per decision: read it off the medians, not an assert.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

GROUP = "ppo-decision-time"
N_OBS, N_ACT = 36, 10  # SGLS paper, IEEE 30-bus PPO case: state 36, action 10


class _SpacesOnly(gym.Env):
    """Carries the spaces SB3 needs to build a policy; never stepped in the timed phase."""

    observation_space = spaces.Box(-1.0, 1.0, (N_OBS,), np.float32)
    action_space = spaces.Box(-1.0, 1.0, (N_ACT,), np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        return np.zeros(N_OBS, np.float32), {}

    def step(self, action):
        return np.zeros(N_OBS, np.float32), 0.0, False, True, {}


def _model(policy_kwargs: dict[str, Any]):
    import torch

    from gridbench.rl_agents.ppo_variants import AdaptiveKLPPO
    from gridbench.rl_agents.sb3_methods import _resolve_extractor

    torch.set_num_threads(1)
    return AdaptiveKLPPO(
        "MlpPolicy",
        _SpacesOnly(),
        seed=0,
        device="cpu",
        n_steps=64,
        policy_kwargs=_resolve_extractor(policy_kwargs),
    )


@pytest.mark.parametrize(
    ("role", "policy_kwargs", "label"),
    [
        ("reference", {"extractor": "mlp"}, "PPO predict, MLP 64-64"),
        ("subject", {"extractor": "cnn", "net_arch": [256, 128]}, "PPO predict, CNN+FC Table 1"),
    ],
    ids=["mlp", "cnn"],
)
def test_ppo_decision_time(benchmark, role, policy_kwargs, label):
    pytest.importorskip("stable_baselines3")
    model = _model(policy_kwargs)
    obs = np.random.default_rng(0).uniform(-1.0, 1.0, N_OBS).astype(np.float32)
    model.predict(obs, deterministic=True)  # warm-up, untimed
    benchmark.group = GROUP
    benchmark.extra_info.update(
        role=role,
        scenarios=1,
        solver=label,
        parameters=int(sum(p.numel() for p in model.policy.parameters())),
    )
    action, _ = benchmark(model.predict, obs, deterministic=True)
    assert action.shape == (N_ACT,)
