"""Every registered case, parametrized over the registry: env checker, KPI schema, determinism.

New cases are covered as soon as they register; nothing here lists them by hand.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from gridbench.benchmarks.plugins import load_all
from gridbench.cases.kpi import validate_step_info
from gridbench.cases.registry import case_ids, make_case

load_all(warn=False)
CASES = case_ids()


def _rollout(case, seed: int) -> list[dict]:
    env = case.make_env(day=case.days("test")[0], seed=seed)
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    infos = [info]
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        validate_step_info(info)
        assert np.all(np.isfinite(obs)) and np.isfinite(reward)
        infos.append({**info, "reward": reward, "obs": obs})
        done = terminated or truncated
    return infos


@pytest.mark.parametrize("case_id", CASES)
def test_case_passes_gymnasium_env_checker(case_id):
    case = make_case(case_id)
    env = case.make_env(day=case.days("test")[0], seed=0)
    with warnings.catch_warnings():
        # physical-unit actions are by design (RL methods rescale); see cases/referee/env.py
        warnings.filterwarnings("ignore", message=".*action space.*normalized.*")
        check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("case_id", CASES)
def test_case_is_deterministic_and_fills_the_kpi_schema(case_id):
    case = make_case(case_id)
    first, second = _rollout(case, seed=7), _rollout(case, seed=7)
    assert len(first) == len(second) >= case.steps + 1
    for a, b in zip(first[1:], second[1:], strict=True):
        np.testing.assert_array_equal(a["obs"], b["obs"])
        assert a["reward"] == b["reward"]
        assert dict(a["cost"]) == dict(b["cost"])


@pytest.mark.parametrize("case_id", CASES)
def test_case_survives_non_finite_actions(case_id):
    case = make_case(case_id)
    env = case.make_env(day=case.days("test")[0], seed=0)
    env.reset(seed=0)
    shape = env.action_space.shape
    for bad in (np.full(shape, np.nan), np.full(shape, np.inf), np.full(shape, -np.inf)):
        _obs, _r, terminated, _t, info = env.step(bad.astype(np.float32))
        validate_step_info(info)
        assert info["projection"]["n_nonfinite"] >= 1  # inactive entries of a layer are ignored
        if terminated:
            env.reset(seed=0)


@pytest.mark.parametrize("case_id", CASES)
def test_observation_bounds_are_of_the_entries_scale(case_id):
    """The RL agents map the observation box affinely onto [-1, 1] (rl_agents: rescale_obs):
    a placeholder box (say ±1e4 around entries of size 1) would squash every entry to about 0.
    Over a day of random actions, each entry that moves at all must sweep at least 0.5 % of
    its box (the ±1e4 box SGLS once had left about 1e-4), and every observation must lie in
    the box."""
    case = make_case(case_id)
    infos = _rollout(case, seed=3)
    env = case.make_env(day=case.days("test")[0], seed=3)
    low, high = env.observation_space.low.astype(float), env.observation_space.high.astype(float)
    obs = np.array([i["obs"] for i in infos[1:]], dtype=float)
    assert np.all(obs >= low) and np.all(obs <= high)
    seen = obs.max(axis=0) - obs.min(axis=0)
    moving = seen > 1e-9
    share = seen[moving] / (high - low)[moving]
    squashed = np.flatnonzero(moving)[share < 0.005]
    assert squashed.size == 0, (
        f"{case_id}: observation entries {squashed.tolist()} sweep "
        f"{np.round(share[share < 0.005], 5).tolist()} of their box"
    )
