"""SGLS MILPs (Pyomo + HiGHS): oracle solve of one day, Shapley allocation of one day, and one
intraday MPC re-solve, each timed against the method it replaced (reported as ratios).

Groups ``sgls-oracle-ieee33`` / ``sgls-oracle-ieee30``: the perfect-foresight two-stage MILP
of one test day (24 hourly plan steps + 96 recourse steps), build + solve. Subject: what the
oracle's ``reset`` does now (network rows the day's box bounds imply left out, Pyomo's
standard-form compiler → ``highspy``, LP relaxation first, binaries rounded and certified
within the 1e-4 gap, branch and bound only where that fails). Reference: the previous path on
the same formulation: every network row built and the model handed to ``appsi_highs`` as a
MILP from the start.

Group ``sgls-shapley-ieee30``: the 16 coalition MILPs of one day (hourly) and the exact
Shapley shares. Subject: fix/unfix on one model, each coalition solved by
:func:`~gridbench.cases.sgls.formulation.solve`; reference: the previous re-solve of each
coalition as a MILP on one persistent ``appsi_highs`` instance.

Group ``sgls-mpc-resolve``: one re-solve of the 4-h (16-step) intraday window on the
persistent ``appsi_highs`` model (parameters updated, no rebuild) against the same window
built from scratch and solved (a cold build).

Groups ``referee-step-sgls-ieee33`` / ``referee-step-sgls-ieee30``: one day of environment
steps (24 day-ahead + 96 intraday, random actions replayed; the reset is untimed set-up) of
``RefereeEnv`` over :class:`~gridbench.cases.sgls.core.SglsCore` (subject: Python floats on the
per-device path, the day's derived rows computed once per day) against the same env over
:class:`sgls_array_core.ArrayCore` (reference: the step as first written, numpy array
expressions per step; kept beside this suite, not shipped). Both give bit-identical observations,
rewards and infos (``tests/test_sgls_referee_speed.py``; checked again here on the rewards).

Data, forecasts and the first (compiling) call are untimed set-up.
"""

from __future__ import annotations

import numpy as np
import pytest

from gridbench.cases.registry import make_case
from gridbench.cases.sgls.formulation import Mpc, block_data, loss_estimate

CASE_ID = "sgls-ieee33-v0"


def _oracle_model(case, day, prune: bool):
    """The oracle's two-stage MILP of ``day`` as its first solve builds it (free plan, losses
    linearized around the idle flow, the end-of-day return)."""
    from gridbench.cases.sgls.formulation import set_block, set_loss_model, two_stage_model
    from gridbench.solvers.sgls import W_TERMINAL, _loss_sensitivity, _referee_core

    cfg = case.config
    soc0 = [s.soc0 for s in cfg.storage]
    plan_day = case.day_data(day, "forecast", lead_h=cfg.day_ahead_lead_h).hourly()
    actual_day = case.day_data(day, "actual")
    plan, actual = block_data(cfg, plan_day), block_data(cfg, actual_day)
    m = two_stage_model(cfg, [1.0], plan_data=plan if prune else None,
                        scenario_data=[actual] if prune else None, marginal_losses=True)
    set_block(m.da, cfg, plan, soc0=soc0, w_target=W_TERMINAL, soc_floor=soc0)
    set_block(m.scen[0], cfg, actual, soc0=soc0, w_target=W_TERMINAL, soc_floor=soc0)
    core = _referee_core(cfg)
    for b, d in ((m.da, plan_day), (m.scen[0], actual_day)):
        idle = np.zeros((d.n_steps, core.lay.dim))
        loss = core.tie_line(d, idle)[1]
        set_loss_model(b, loss, _loss_sensitivity(core, d, idle, loss), idle)
    return m


@pytest.mark.parametrize("grid", ["ieee33", "ieee30"])
@pytest.mark.parametrize("role", ["reference", "subject"])
def test_oracle_day(benchmark, grid, role):
    """One solve of the oracle's MILP (the oracle's ``reset`` runs 1 on IEEE 30 and about 6 on
    IEEE 33, its sequential loss linearization): the standard form passed to highspy, the
    redundant network rows pruned, LP first, against appsi_highs on every row."""
    from gridbench.cases.sgls.formulation import SolveStatus, solve
    from gridbench.solvers.sgls import ABS_GAP, OracleController

    case = make_case(f"sgls-{grid}-v0")
    day = case.days("test")[0]
    case.day_data(day)  # warm the data caches (untimed)
    OracleController(case, day).reset(None, {})  # and the sensitivities, numba, imports

    def subject():
        info = solve(_oracle_model(case, day, prune=True), time_limit_s=120.0,
                     mip_gap=OracleController.mip_gap, abs_gap=ABS_GAP)
        assert info.status is SolveStatus.OPTIMAL

    def reference():
        from pyomo.contrib.appsi.solvers.highs import Highs

        info = solve(_oracle_model(case, day, prune=False), time_limit_s=120.0,
                     mip_gap=OracleController.mip_gap, solver=Highs(),
                     abs_gap=ABS_GAP)
        assert info.status is SolveStatus.OPTIMAL

    benchmark.group = f"sgls-oracle-{grid}"
    benchmark.extra_info.update(role=role, solver=(
        "standard form + highspy, LP first" if role == "subject"
        else "appsi_highs MILP, all network rows"))
    benchmark.pedantic(subject if role == "subject" else reference, rounds=3, iterations=1,
                       warmup_rounds=0)


@pytest.mark.parametrize("role", ["reference", "subject"])
def test_shapley_day(benchmark, role):
    from gridbench.cases.sgls.shapley import characteristic_costs

    case = make_case("sgls-ieee30-v0")
    day = case.days("test")[0]
    case.day_data(day)
    appsi = role == "reference"
    characteristic_costs(case.config, day, appsi=appsi)  # warm-up (untimed)

    def run():
        costs, _ = characteristic_costs(case.config, day, appsi=appsi)
        assert len(costs) == 16

    benchmark.group = "sgls-shapley-ieee30"
    benchmark.extra_info.update(role=role, solver=(
        "appsi_highs persistent MILP re-solves" if appsi else "fix + standard form, LP first"))
    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=0)


@pytest.mark.parametrize(("role", "persistent"), [("reference", False), ("subject", True)])
def test_mpc_resolve(benchmark, role, persistent):
    case = make_case(CASE_ID)
    cfg = case.config
    day = case.days("test")[0]
    loss = loss_estimate(cfg, case.day_data(day, "forecast"))
    windows = [block_data(cfg, case.day_data(day, "forecast", issue_step=k), start=k,
                          length=16, pad_to=16, loss=loss) for k in range(32, 48)]
    soc0 = np.array([s.soc0 for s in cfg.storage])
    mpc = Mpc(cfg, 16, persistent=persistent)
    mpc.solve(windows[0], soc0=soc0, bal0=np.zeros(2), prev=None, ref=np.ones(16),
              soc_target=soc0)  # the compiled model (untimed for the subject)
    it = iter(range(10**9))

    def run():
        data = windows[next(it) % len(windows)]
        _info, res = mpc.solve(data, soc0=soc0, bal0=np.zeros(2), prev=None, ref=np.ones(16),
                              soc_target=soc0)
        assert res is not None

    benchmark.group = "sgls-mpc-resolve"
    benchmark.extra_info.update(role=role, solver="appsi_highs " + (
        "persistent re-solve" if persistent else "cold build + solve"))
    benchmark.pedantic(run, rounds=16, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("grid", ["ieee33", "ieee30"])
@pytest.mark.parametrize("role", ["reference", "subject"])
def test_referee_step(benchmark, grid, role):
    from sgls_array_core import ArrayCore  # beside this suite (pytest puts its folder on the path)

    from gridbench.cases.referee import RefereeEnv
    from gridbench.cases.sgls.core import SglsCore
    from gridbench.cases.sgls.shapley_table import lookup

    case = make_case(f"sgls-{grid}-v0")
    # a tabled day: the last step reads its Shapley shares from the shipped table
    day = next(d for d in case.days("train") if lookup(case.config, d) is not None)
    core_cls = ArrayCore if role == "reference" else SglsCore
    env = RefereeEnv(core_cls(case.config), day=day, seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(case.timeline.total_steps)]
    rewards: list[float] = []

    def setup():
        env.reset(seed=0)
        rewards.clear()
        return (), {}

    def run_day():
        for a in actions:
            rewards.append(env.step(a)[1])

    setup()
    run_day()  # warm-up: the day's data, forecasts and derived rows (untimed)
    benchmark.group = f"referee-step-sgls-{grid}"
    benchmark.extra_info.update(role=role, scenarios=len(actions), solver=(
        "per-step numpy array expressions" if role == "reference"
        else "Python floats + per-day rows"))
    benchmark.pedantic(run_day, setup=setup, rounds=30, iterations=1, warmup_rounds=1)
    other = RefereeEnv((SglsCore if role == "reference" else ArrayCore)(case.config), day=day,
                       seed=0)
    other.reset(seed=0)
    assert [other.step(a)[1] for a in actions] == rewards
