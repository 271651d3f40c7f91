"""Rewards apart from the physics (:mod:`gridbench.cases.reward`,
:mod:`gridbench.cases.sgls.reward`): hand-checked values, and the cost-aligned SGLS reward
summing to the scored cost over a day."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gridbench.cases.registry import make_case
from gridbench.cases.reward import ScaledCostReward
from gridbench.cases.sgls.config import ieee33_config
from gridbench.cases.sgls.reward import (
    REWARDS,
    CostReward,
    ExecutionSignals,
    PaperReward,
    PlanSignals,
)


def test_scaled_cost_reward_is_minus_every_dollar_over_the_scale():
    reward, terms = ScaledCostReward(10.0)({"energy": 100.0, "revenue": -50.0}, {"voltage": 10.0})
    assert terms == {"energy": -10.0, "revenue": 5.0, "voltage": -1.0}
    assert reward == -6.0


@pytest.mark.parametrize("scale", [0.0, -1.0, math.nan])
def test_scaled_cost_reward_refuses_a_scale_that_is_not_positive(scale):
    with pytest.raises(ValueError, match="scale_usd must be a positive number"):
        ScaledCostReward(scale)


def _sgls_config(**overrides):
    from gridbench.cases.sgls.config import SglsConfig

    return SglsConfig.model_validate({**ieee33_config(), **overrides})


def test_paper_reward_weighs_the_terms_of_eqs_22_to_26():
    cfg = _sgls_config(cost_scale=50.0, tie_scale_mw=0.5)  # Table 2 weights
    reward = PaperReward(cfg)
    plan = reward.plan(PlanSignals(cost_usd=200.0, tie_mw=1.5, tie_prev_mw=1.0))
    # −0.5·200/(4·50) = −0.5; −0.3·((1.5 − 1)/0.5)² = −0.3
    assert plan == {"cost": -0.5, "tie_smoothing": pytest.approx(-0.3, abs=1e-15)}
    last = ExecutionSignals(
        cost_usd=25.0, tie_deviation_mw=0.25, tracking=1.0, soc_deviation=0.5,
        curtailment=2.0, violation=0.01, soc_correction=0.1, cooperation_gap_usd=100.0,
    )  # fmt: skip
    terms = reward.execution(last)
    w = cfg.weights
    assert terms == pytest.approx({
        "cost": -w.cost * 25.0 / 50.0,
        "fluctuation": -w.fluctuation * 0.25,  # (0.25 / 0.5)²
        "storage_tracking": -w.storage_tracking,
        "soc_deviation": -w.soc_deviation * 0.5,
        "curtailment": -w.curtailment * 2.0,
        "violation": -w.violation * 0.01,
        "soc_correction": -w.soc_correction * 0.1,
        "cooperation": -w.cooperation * 2.0,  # 100 $ / 50 $
    })  # fmt: skip
    assert reward.needs_cooperation == (w.cooperation > 0.0)


def test_cost_reward_counts_every_dollar_once_in_both_layers():
    cfg = _sgls_config(cost_scale=50.0, reward="cost")
    reward = REWARDS[cfg.reward](cfg)
    assert isinstance(reward, CostReward) and not reward.needs_cooperation
    assert reward.plan(PlanSignals(200.0, 1.5, 1.0)) == {"cost": -4.0}
    terms = reward.execution(ExecutionSignals(25.0, 0.25, 1.0, 0.5, 2.0, violation=0.01))
    assert terms == {"cost": -0.5, "violation": -cfg.weights.violation * 0.01}


def test_sgls_cost_reward_sums_to_the_scored_cost_of_the_day():
    """With ``reward="cost"`` the day's rewards times ``cost_scale`` are minus the day's
    scored cost (day-ahead purchase + every intraday term) when nothing is violated; the
    KPIs do not depend on the reward."""
    runs = {}
    for kind in ("paper", "cost"):
        case = make_case("sgls-ieee33-v0", config={"reward": kind, "weights": {"cooperation": 0.0}})
        env = case.make_env(day=case.days("val")[0], seed=0)
        env.reset(seed=0)
        rewards, cost, violation = [], 0.0, 0.0
        done = False
        while not done:
            _, r, done, _, info = env.step(env.unwrapped.idle_action())
            rewards.append(r)
            cost += sum(info["cost"].values())
            violation += info["voltage_violation_pu"] + info["line_overload"]
        runs[kind] = (np.array(rewards), cost, violation, case.config)
    rewards, cost, violation, cfg = runs["cost"]
    assert runs["paper"][1] == cost  # the same physics and KPIs
    assert rewards.sum() * cfg.cost_scale == pytest.approx(
        -cost - cfg.weights.violation * violation * cfg.cost_scale, rel=1e-12
    )
    assert not np.array_equal(rewards, runs["paper"][0])


#: case id → (config overrides, $ per reward unit) of the reward aligned with the scored cost
ALIGNED = {
    "ses-carbon-ieee33-v0": ({}, lambda cfg: cfg.reward.scale_usd),
    "loss-arbitrage-ieee33-v0": ({}, lambda cfg: cfg.reward.scale_usd),
    "sgls-ieee33-v0": ({"reward": "cost", "weights": {"cooperation": 0.0}},
                       lambda cfg: cfg.cost_scale),
}


@pytest.mark.parametrize("case_id", sorted(ALIGNED))
@pytest.mark.parametrize("method", ["idle", "rule", "oracle"])
def test_reward_sum_is_minus_the_scored_cost_on_a_penalty_free_day(case_id, method):
    """Fair-RL protocol: on a day without violations the rewards an agent trains on add up
    to minus the day's scored cost (times the reward's scale), for idle, the rule and the
    oracle (to a thousandth of a dollar: the rule's SOC can leave its window by 1e-8)."""
    from gridbench.benchmarks.plugins import import_builtin_methods
    from gridbench.cases.registry import make_method

    import_builtin_methods()
    overrides, scale_of = ALIGNED[case_id]
    case = make_case(case_id, config=overrides) if overrides else make_case(case_id)
    planner = make_method(method)
    if not planner.supports(case):
        pytest.skip(f"{method} does not run on {case_id}")
    day = case.days("val")[0]
    env = case.make_env(day=day, seed=0)
    obs, info = env.reset(seed=0)
    ctrl = planner.controller(case, day)
    ctrl.reset(obs, info)
    total_reward, cost, violation, done = 0.0, 0.0, 0.0, False
    while not done:
        obs, r, done, _, info = env.step(ctrl.act(obs, info))
        total_reward += r
        cost += sum(info["cost"].values())
        violation += info["voltage_violation_pu"] + info["line_overload"] + info["soc_violation"]
    assert violation < 1e-6, "pick a penalty-free day"
    assert total_reward * scale_of(case.config) == pytest.approx(-cost, rel=1e-9, abs=1e-3)
