"""The fair-RL training set-up options of the hyperparameter file (``env``): the idle reward
baseline (:mod:`gridbench.rl_agents.reward_baseline`: the idle policy's reward on the same day
and step subtracted, nothing else changed) and the idle-centred action map (the idle action
at the policy's 0), the same map in training and in the controller."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gridbench.cases.registry import make_case
from gridbench.rl_agents.reward_baseline import IdleBaselineReward
from gridbench.rl_agents.sb3_methods import (
    HyperparamError,
    agent_action_map,
    idle_centred_action_map,
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


def _hyperparams(tmp_path, baseline="none", action_map="rescale"):
    data = load_hyperparams()
    data["env"]["reward_baseline"] = baseline
    data["env"]["action_map"] = action_map
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


def test_the_idle_centred_map_puts_idle_at_zero_and_reaches_both_bounds():
    from gymnasium import spaces

    space = spaces.Box(np.array([-2.0, 0.5], dtype=np.float32),
                       np.array([1.0, 4.0], dtype=np.float32), dtype=np.float32)
    back = idle_centred_action_map(space, np.array([0.0, 0.5]))  # idle at a bound: P_min
    assert back(np.array([0.0, 0.0])).tolist() == [0.0, 0.5]
    assert back(np.array([1.0, 1.0])).tolist() == [1.0, 4.0]
    assert back(np.array([-1.0, -1.0])).tolist() == [-2.0, 0.5]
    assert back(np.array([0.5, 0.5])).tolist() == [0.5, 2.25]
    assert back(np.array([-0.5, 3.0])).tolist() == [-1.0, 4.0]  # clipped to [-1, 1] first


def test_training_and_the_controller_use_the_same_idle_centred_map(tmp_path):
    """With ``env.action_map = "idle_centred"`` a policy output of 0 is the referee's idle
    action (nothing projected), and the controller builds the same map."""
    case = make_case("sgls-ieee33-v0")
    path = _hyperparams(tmp_path, action_map="idle_centred")
    plan = training_plan("ppo", "smoke", 120, path=path)
    assert plan.action_map == "idle_centred"
    env = make_training_env(case, 0, plan)
    idle = env.unwrapped.idle_action()
    assert env.action_space.low.min() == -1.0 and env.action_space.high.max() == 1.0
    _, info = env.reset(seed=0)
    _, _, _, _, info = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
    np.testing.assert_allclose(info["projection"]["distance"], 0.0, atol=1e-9)

    # the controller's map is the same function of the same idle action
    same = agent_action_map("idle_centred", env.unwrapped.action_space, idle)
    probe = np.linspace(-1.0, 1.0, idle.size)
    np.testing.assert_array_equal(
        same(probe), idle_centred_action_map(env.unwrapped.action_space, idle)(probe)
    )
    assert agent_action_map("rescale", env.unwrapped.action_space, idle) is not None
    with pytest.raises(HyperparamError, match=r"env\.action_map 'box' is not one of rescale"):
        training_plan("ppo", "smoke", 120, path=_hyperparams(tmp_path, action_map="box"))
