"""SGLS as a game: its acting players as PettingZoo agents (``make_parallel_env`` passes
PettingZoo's ``parallel_api_test``), their rewards summing to the single-agent reward, and the
harness rolling out a multi-agent controller with the same KPIs as the single-agent referee."""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

import gridbench
from gridbench.benchmarks.harness import evaluate_day
from gridbench.cases.contracts import Budget, MethodFamily
from gridbench.cases.sgls.core import PLAYERS

SGLS = ("sgls-ieee33-v0", "sgls-ieee30-v0")
AGENTS = {
    "sgls-ieee33-v0": ["load", "storage"],
    "sgls-ieee30-v0": ["generation", "load", "storage"],
}


@pytest.mark.parametrize("case_id", SGLS)
def test_parallel_api_test_passes(case_id):
    env = gridbench.make_parallel_env(case_id, day="test:0")
    assert env.possible_agents == AGENTS[case_id]
    assert set(env.possible_agents) <= set(PLAYERS)
    parallel_api_test(env, num_cycles=130)


@pytest.mark.parametrize("case_id", SGLS)
def test_roles_partition_the_setpoints(case_id):
    core = gridbench.make_case(case_id).make_core()
    owned = np.concatenate([role.resolve(core.action_dim) for role in core.agent_roles()])
    assert sorted(owned.tolist()) == list(range(core.action_dim))


@pytest.mark.parametrize("case_id", SGLS)
def test_agent_rewards_sum_to_the_single_agent_reward(case_id):
    """Same random joint actions on both front-ends: per step, the agents' rewards sum to the
    single-agent reward; the storage agent carries its own tracking terms."""
    penv = gridbench.make_parallel_env(case_id, day="test:1")
    senv = gridbench.make_env(case_id, day="test:1")
    penv.reset(seed=3)
    senv.reset(seed=3)
    idx = penv._idx  # the agents' setpoint indices
    rng = np.random.default_rng(0)
    worst = 0.0
    while penv.agents:
        joint = rng.uniform(senv.action_space.low, senv.action_space.high).astype(np.float32)
        actions = {a: joint[idx[a]] for a in penv.agents}
        _, rewards, _, _, infos = penv.step(actions)
        _, reward, _, _, info = senv.step(joint)
        worst = max(worst, abs(sum(rewards.values()) - reward))
        assert infos["storage"]["cost"] == info["cost"]
    assert worst < 1e-9


class _IdlePlayers:
    """A multi-agent controller: every agent plays its idle setpoints."""

    name: ClassVar[str] = "idle-players"
    family: ClassVar[MethodFamily] = MethodFamily.BASELINE
    multi_agent: ClassVar[bool] = True

    def supports(self, case: Any) -> bool:
        return True

    def fit(self, case: Any, seed: int, budget: Budget) -> None:
        return None

    def controller(self, case: Any, day: datetime.date) -> _IdlePlayers:
        return self

    def reset(self, obs: dict, infos: dict) -> None:
        assert set(obs) == set(infos)
        self.idle = {a: np.asarray(i["idle_action"]) for a, i in infos.items()}

    def act(self, obs: dict, infos: dict) -> dict:
        return self.idle


def test_the_harness_rolls_out_a_multi_agent_controller():
    """The KPIs of a multi-agent idle day equal the single-agent idle day's, to the last digit
    (same core, same joint action)."""
    from gridbench.benchmarks.plugins import load_all
    from gridbench.cases.registry import get_method

    load_all(warn=False)
    case = gridbench.make_case("sgls-ieee33-v0")
    multi = evaluate_day(case, _IdlePlayers(), "test:0", 0, budget="smoke")
    single = evaluate_day(case, get_method("idle").make(), "test:0", 0, budget="smoke")
    assert multi["status"] == "ok", multi["message"]
    assert multi["n_steps"] == single["n_steps"] == 120
    for key in ("cost", "emissions_t", "feasible", "tie_mse", "viol_voltage_puh"):
        assert multi[key] == single[key], key
    assert multi["reward_sum"] == pytest.approx(single["reward_sum"], abs=1e-9)
