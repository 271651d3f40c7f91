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
        # physical-unit actions are by design (RL methods rescale); see cases/referee.py
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
