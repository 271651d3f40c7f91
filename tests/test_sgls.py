"""SGLS cases: spaces, referee accounting, MILP on hand-checkable instances, methods smoke."""

from __future__ import annotations

import numpy as np
import pytest

from gridbench.cases.registry import make_case
from gridbench.cases.sgls.config import SglsConfig, ieee30_config
from gridbench.cases.sgls.formulation import (
    BlockData,
    Mpc,
    block_data,
    cut_error_bound,
    plan_model,
    set_block,
    solve,
)


def _tiny(**over) -> SglsConfig:
    base = {**ieee30_config(), "flexible": (), "tangent_cuts": 2}
    base["thermal"] = ({"bus": 1, "p_min_mw": 0.0, "p_max_mw": 10.0, "ramp_mw_per_h": 100.0,
                        "a": 0.01, "b": 1.0, "c": 0.0},)
    base["storage"] = ({"bus": 5, "p_max_mw": 1.0, "e_mwh": 1.0, "soc_min": 0.0, "soc_max": 1.0,
                        "soc0": 0.5, "eta_charge": 1.0, "eta_discharge": 1.0,
                        "cost_charge": 0.0, "cost_discharge": 0.0},)
    base.pop("weights")
    base.update(over)
    return SglsConfig.model_validate(base)


def _data(net, price) -> BlockData:
    n = len(net)
    return BlockData(1.0, np.array(net, float), np.zeros(n), np.array(price, float),
                     np.zeros((n, 0)), np.zeros(0), np.ones(n))


@pytest.mark.parametrize(("cuts", "expected"), [(2, 10.0), (3, 10.5)])
def test_tangent_cuts_give_the_hand_computed_optimum(cuts, expected):
    # 5 MW for 2 h from one unit 0.01 P² + P: tangents at 0 and 10 meet at 5 MW with 5 $/h
    # (true cost 5.25 $/h, the bound a·(Δp/2)² = 0.25); a third tangent at 5 MW is exact
    cfg = _tiny(tangent_cuts=cuts)
    m = plan_model(cfg, 2, 1.0)
    set_block(m.b, cfg, _data([5.0, 5.0], [1000.0, 1000.0]), soc0=[0.5], w_target=1e4)
    info = solve(m)
    assert info.status == "optimal"
    assert info.objective == pytest.approx(expected, abs=1e-6)
    assert cut_error_bound(_tiny(tangent_cuts=2)) == pytest.approx(0.25)


@pytest.mark.parametrize(("w_target", "expected"), [(0.0, 5.0 - 100.0), (1e4, 5.0 - 50.0)])
def test_storage_arbitrage_exact(w_target, expected):
    # no load, tariff 10 then 100 $/MWh, lossless 1 MWh storage at SOC 0.5: charge 0.5 MWh
    # (5 $), then discharge 1 MWh (−100 $) — or only 0.5 MWh when the end SOC must be 0.5
    cfg = _tiny(thermal=(), export_price_factor=1.0)
    m = plan_model(cfg, 2, 1.0)
    set_block(m.b, cfg, _data([0.0, 0.0], [10.0, 100.0]), soc0=[0.5], w_target=w_target)
    info = solve(m)
    assert info.objective == pytest.approx(expected, abs=1e-6)


def test_ieee30_matches_the_paper_mdp():
    case = make_case("sgls-ieee30-v0")
    env = case.make_env(day=case.days("test")[0])
    assert env.observation_space.shape == (36,)
    assert env.action_space.shape == (10,)


@pytest.mark.parametrize("case_id", ["sgls-ieee33-v0", "sgls-ieee30-v0"])
def test_idle_day_accounting(case_id):
    # the cooperative term's 16 MILPs are tested below, not here
    case = make_case(case_id, config={"weights": {"cooperation": 0.0}})
    env = case.make_env(day=case.days("test")[0])
    _, info = env.reset()
    idle = info["idle_action"]
    da_total, schedule, intraday = 0.0, [], []
    done = False
    while not done:
        _, _, done, _, info = env.step(idle)
        if info["layer"] == "day_ahead":
            da_total += info["cost"]["day_ahead_energy"]
            schedule.append(info["tie_line_mw"])
        else:
            intraday.append(info)
    assert len(schedule) == 24 and len(intraday) == 96
    for k, inf in enumerate(intraday):  # the intraday reference is the day-ahead schedule
        assert inf["tie_line_ref_mw"] == schedule[k // 4]
        assert inf["cost"]["thermal"] == inf["cost"]["storage"] == 0.0
        np.testing.assert_allclose(inf["soc"], inf["soc_ref"])
    assert np.isfinite(da_total)


def test_persistent_mpc_resolve_equals_a_cold_build():
    case = make_case("sgls-ieee33-v0")
    cfg = case.config
    day = case.days("test")[0]
    warm, cold = Mpc(cfg, 16), Mpc(cfg, 16, persistent=False)
    soc0 = np.array([s.soc0 for s in cfg.storage])
    for k in (40, 41, 90):
        data = block_data(cfg, case.day_data(day, "forecast", issue_step=k), start=k,
                          length=16, pad_to=16)
        kw = {"soc0": soc0, "bal0": np.zeros(2), "prev": None, "ref": np.full(16, 1.0),
              "soc_target": soc0}
        iw, rw = warm.solve(data, **kw)
        ic, rc = cold.solve(data, **kw)
        assert iw.objective == pytest.approx(ic.objective, rel=1e-6, abs=1e-6)
        np.testing.assert_allclose(rw.tie, rc.tie, atol=1e-5)


def test_methods_beat_idle_and_oracle_bounds_them():
    from gridbench.solvers.planners import PLANNER_METHODS
    from gridbench.solvers.sgls import reduce_scenarios

    case = make_case("sgls-ieee33-v0")
    day = case.days("test")[0]
    totals = {}
    for name in ("oracle", "day-ahead", "full-smoothing"):
        ctl = PLANNER_METHODS[name]().controller(case, day)
        env = case.make_env(day=day)
        obs, info = env.reset()
        ctl.reset(obs, info)
        total, done = 0.0, False
        while not done:
            obs, _, done, _, info = env.step(ctl.act(obs, info))
            total += sum(info["cost"].values())
        assert ctl.status == "ok"
        totals[name] = total
    env = case.make_env(day=day)
    obs, info = env.reset()
    idle_total, done = 0.0, False
    while not done:
        obs, _, done, _, info = env.step(info.get("idle_action", env.unwrapped.idle_action()))
        idle_total += sum(info["cost"].values())
    assert totals["oracle"] < totals["day-ahead"] < idle_total
    scen, probs = reduce_scenarios(case.config, day, case.day_data(day, "forecast"), 12, 3)
    assert len(scen) == 3 and sum(probs) == pytest.approx(1.0)


def test_shapley_of_a_hand_game():
    from gridbench.cases.sgls.shapley import PLAYERS, shapley

    # v(S) = 1 when grid and storage are both in S (they need each other), else 0;
    # generation and load are null players
    values = {}
    import itertools

    for r in range(5):
        for combo in itertools.combinations(PLAYERS, r):
            s = frozenset(combo)
            values[s] = 1.0 if {"grid", "storage"} <= s else 0.0
    phi = shapley(values)
    assert phi == pytest.approx({"generation": 0.0, "grid": 0.5, "load": 0.0, "storage": 0.5})


def test_shapley_day_is_efficient_and_generation_is_null_on_ieee33():
    from gridbench.cases.sgls.shapley import shapley_day

    case = make_case("sgls-ieee33-v0")
    phi, default, v_all = shapley_day(case.config, case.days("test")[0])
    assert sum(phi.values()) == pytest.approx(v_all, rel=1e-9)
    assert phi["generation"] == pytest.approx(0.0, abs=1e-6)
    assert v_all > 0.0 and default["storage"] == 0.0
