"""Referee step of ``ses-carbon-ieee33-v0``: ours vs the same step with ``pandapower.runpp``.

Group ``referee-step-ses-carbon``: the subject is the case's environment step with
gridbench's sweep; the reference is the identical core with its power flow swapped for
pandapower (:class:`~gridbench.cases.grid.reference.PandapowerPowerFlow`), as the paper's
environment computed it. Both replay the same random-policy actions through whole days
(resets are untimed set-up between rounds of one day each, 24 steps). A third benchmark
times SB3's vectorized-env path used for training (``DummyVecEnv`` over the rescaled env).

Group ``mpc-resolve-ses-carbon`` (:func:`test_mpc_resolve`): the ``mpc`` controller's hourly
parametric re-solve against a cold build + solve of the same hour.
"""

from __future__ import annotations

import numpy as np
import pytest

from gridbench.cases.grid.reference import PandapowerPowerFlow
from gridbench.cases.referee import RefereeEnv
from gridbench.cases.registry import make_case
from gridbench.cases.ses_carbon.core import SesCarbonCore

CASE_ID = "ses-carbon-ieee33-v0"
GROUP = "referee-step-ses-carbon"
STEPS = 24


def _env_and_actions(power_flow=None):
    case = make_case(CASE_ID)
    day = case.days("test")[0]
    env = RefereeEnv(SesCarbonCore(case.config, power_flow=power_flow), day=day, seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(STEPS)]
    env.reset(seed=0)
    return env, actions


def _day_runner(env, actions):
    def setup():
        env.reset(seed=0)
        return (), {}

    def run_day():
        for a in actions:
            env.step(a)

    return setup, run_day


@pytest.mark.parametrize(
    ("role", "power_flow"), [("reference", PandapowerPowerFlow), ("subject", None)]
)
def test_referee_step(benchmark, role, power_flow):
    env, actions = _env_and_actions(power_flow)
    setup, run_day = _day_runner(env, actions)
    benchmark.group = GROUP
    benchmark.extra_info.update(
        role=role,
        scenarios=STEPS,  # per-scenario time = per env step
        solver="pandapower.runpp step" if power_flow else "gridbench referee step",
    )
    rounds = 5 if power_flow else 200
    benchmark.pedantic(run_day, setup=setup, rounds=rounds, iterations=1, warmup_rounds=1)


def test_reference_step_gives_the_same_kpis():
    """The swap changes speed only: same tie line, losses and cost to solver tolerance."""
    ours, actions = _env_and_actions()
    ref, _ = _env_and_actions(PandapowerPowerFlow)
    for a in actions:
        *_, info_ours = ours.step(a)
        *_, info_ref = ref.step(a)
        assert info_ours["tie_line_mw"] == pytest.approx(info_ref["tie_line_mw"], abs=1e-6)
        assert info_ours["v_min_pu"] == pytest.approx(info_ref["v_min_pu"], abs=1e-6)
        total = sum(info_ours["cost"].values())
        assert total == pytest.approx(sum(info_ref["cost"].values()), rel=1e-6, abs=1e-6)


def test_vectorized_training_env_step(benchmark):
    """SB3's training path: ``DummyVecEnv`` of the env rescaled to [-1, 1] (as the agents do)."""
    from gymnasium.wrappers import RescaleAction
    from stable_baselines3.common.vec_env import DummyVecEnv

    case = make_case(CASE_ID)
    vec = DummyVecEnv([lambda: RescaleAction(case.make_env(day=None, seed=0), -1.0, 1.0)])
    vec.seed(0)
    vec.reset()
    rng = np.random.default_rng(0)
    batch = rng.uniform(-1.0, 1.0, (STEPS, 1, vec.action_space.shape[0])).astype(np.float32)

    def run_day():
        for a in batch:
            vec.step(a)

    benchmark.group = "referee-vecenv-ses-carbon"
    benchmark.extra_info.update(role="subject", scenarios=STEPS, solver="SB3 DummyVecEnv step")
    benchmark.pedantic(run_day, rounds=50, iterations=1, warmup_rounds=1)


#: Hours of the MPC re-solve group: every other hour of the day after the first (the horizon
#: shrinks from 23 to 1 active slots, as in a day of MPC).
MPC_HOURS = tuple(range(1, 24, 2))


@pytest.mark.parametrize(("role", "warm"), [("reference", False), ("subject", True)])
def test_mpc_resolve(benchmark, role, warm):
    """Group ``mpc-resolve-ses-carbon``: one MPC hour of the SES-carbon SOCP (Clarabel).

    Subject: the parametric re-solve the ``mpc`` controller makes each hour — refill the
    parameters of the compiled 24-slot problem and re-solve (active slots only, Clarabel's
    solver for that horizon refilled in place). Reference: the same hour built cold and solved
    (:class:`SesCarbonFormulation` from scratch, canonicalized with the values as constants).
    Both cycle through the same hours with the same forecasts, SOC and ΔQ; the forecasts, the
    subject's compilation and its first solve of each hour are untimed set-up.
    """
    from gridbench.cases.ses_carbon.formulation import SesCarbonFormulation

    case = make_case(CASE_ID)
    cfg = case.config
    day = case.days("test")[0]
    hours = [
        (
            case.day_data(day, "forecast", seed=cfg.forecast_seed, issue_step=h),
            {"t0": h, "soc": 0.5, "carbon_net_so_far_t": 0.1 * h, "soc_day_start": 0.6},
        )
        for h in MPC_HOURS
    ]
    form = SesCarbonFormulation(cfg)
    if warm:
        for data, kw in hours:  # compile once, build Clarabel's solver of each horizon
            form.update(data, **kw)
            assert form.solve().ok
    it = iter(range(10**9))

    def run():
        data, kw = hours[next(it) % len(hours)]
        f = form if warm else SesCarbonFormulation(cfg)
        f.update(data, **kw)
        assert f.solve(dpp=warm).ok

    benchmark.group = "mpc-resolve-ses-carbon"
    benchmark.extra_info.update(
        role=role,
        solver="Clarabel " + ("parametric re-solve" if warm else "cold build + solve"),
    )
    benchmark.pedantic(run, rounds=len(hours), iterations=1, warmup_rounds=0)
