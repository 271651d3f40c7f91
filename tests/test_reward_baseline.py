"""The idle reward baseline of training (:mod:`gridbench.rl_agents.reward_baseline`): the idle
policy's reward on the same day and step subtracted, nothing else changed, chosen in the
hyperparameter file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gridbench.cases.registry import make_case
from gridbench.rl_agents.reward_baseline import IdleBaselineReward
from gridbench.rl_agents.sb3_methods import (
    HyperparamError,
    load_hyperparams,
    make_training_env,
    training_plan,
)

CASE_ID = "ses-carbon-ieee33-v0"


def _play(env, action_of):
    """Rewards of one day playing ``action_of(t)`` (physical setpoints)."""
    env.reset(seed=0)
    rewards, done, t = [], False, 0
    while not done:
        _, r, terminated, truncated, _ = env.step(action_of(t))
        rewards.append(r)
        done, t = terminated or truncated, t + 1
    return np.array(rewards)


def test_idle_scores_zero_and_any_policy_its_difference_to_idle():
    case = make_case(CASE_ID)
    day = case.days("val")[0]
    raw = case.make_env(day=day, seed=0)
    shaped = IdleBaselineReward(case.make_env(day=day, seed=0), case)
    idle = raw.unwrapped.idle_action()
    assert np.array_equal(_play(shaped, lambda t: idle), np.zeros(case.steps))
    # a policy that discharges in the evening: shaped = raw − idle, step by step
    def evening(t):
        a = idle.copy()
        if t >= 18:
            a[-1] = 0.2
        return a

    idle_rewards = _play(raw, lambda t: idle)
    np.testing.assert_array_equal(_play(shaped, evening), _play(raw, evening) - idle_rewards)
    assert shaped.idle_rewards(day) is shaped.idle_rewards(day)  # played once per day


def _hyperparams(tmp_path, baseline):
    data = load_hyperparams()
    data["env"]["reward_baseline"] = baseline
    path = tmp_path / "hp.json"
    path.write_text(json.dumps(data))
    return path


def test_the_hyperparameter_file_chooses_the_baseline(tmp_path):
    assert training_plan("ppo", "smoke", 24).reward_baseline == "none"  # the shipped file
    plan = training_plan("ppo", "smoke", 24, path=_hyperparams(tmp_path, "idle"))
    assert plan.reward_baseline == "idle"
    env = make_training_env(make_case(CASE_ID), 0, plan)
    layers, wrapped = [], env
    while hasattr(wrapped, "env"):
        layers.append(type(wrapped).__name__)
        wrapped = wrapped.env
    assert layers.index("IdleBaselineReward") < layers.index("Monitor")  # Monitor logs raw
    with pytest.raises(HyperparamError, match=r"env\.reward_baseline 'mean' is not one of none"):
        training_plan("ppo", "smoke", 24, path=_hyperparams(tmp_path, "mean"))
