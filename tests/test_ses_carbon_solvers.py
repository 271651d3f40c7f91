"""Tests of the SES-carbon formulation (SOCP branch flow) and its methods (oracle, day-ahead,
MPC, rule): a hand-checked tiny instance, the oracle against the referee on a test day, DPP
re-solves, and the failure paths (a failing solve is a status, never an exception)."""

from __future__ import annotations

import datetime
import math

import numpy as np
import pytest

import gridbench.solvers.planners as planners
import gridbench.solvers.ses_carbon as methods
from gridbench.cases.contracts import MethodFamily
from gridbench.cases.grid import RadialFeeder
from gridbench.cases.registry import get_method, make_method
from gridbench.cases.ses_carbon import accounting as acc
from gridbench.cases.ses_carbon.case import SesCarbonCase
from gridbench.cases.ses_carbon.config import SesCarbonConfig
from gridbench.cases.ses_carbon.day import SesCarbonDay
from gridbench.cases.ses_carbon.formulation import (
    SesCarbonFormulation,
    SolveResult,
    SolveStatus,
)
from gridbench.solvers.ses_carbon import current_step

CASE = SesCarbonCase()
DAY = CASE.days("test")[0]


def _rollout(method_name: str, case: SesCarbonCase = CASE, day: datetime.date = DAY):
    """Play one day through the referee; return (controller, step infos, referee cost)."""
    method = make_method(method_name)
    env = case.make_env(day=day, seed=0)
    obs, info = env.reset(seed=0)
    ctrl = method.controller(case, day)
    ctrl.reset(obs, info)
    infos = []
    done = False
    while not done:
        obs, _, terminated, truncated, info = env.step(ctrl.act(obs, info))
        infos.append(info)
        done = terminated or truncated
    cost = math.fsum(v for i in infos for v in i["cost"].values())
    return ctrl, infos, cost


def _violations(infos) -> float:
    return sum(i["voltage_violation_pu"] + i["soc_violation"] + i["line_overload"] for i in infos)


@pytest.fixture(scope="module")
def oracle_day():
    return _rollout("oracle")


@pytest.fixture(scope="module")
def rule_day():
    return _rollout("rule")


@pytest.fixture(scope="module")
def idle_day():
    return _rollout("idle")


# ---------------------------------------------------------------------- tiny instance
R_PU = 0.01  # branch resistance (pu on 1 kV, 1 MVA: ohm = pu)
PRICES = (10.0, 100.0)
LOAD_MW = 1.0
P_MAX, E_MAX, ETA, DEG = 0.5, 1.0, 0.9, 1.0


def _tiny(
    intensity: float,
    ladder: dict | None = None,
    *,
    terminal_value: float | None = None,
    t0: int = 0,
):
    """Two buses (substation + bus 2), one storage, one (too expensive) turbine, 2 hours
    (steps ``t0``, ``t0 + 1`` of the day; the rest of the day's rows are zeros)."""
    cfg = SesCarbonConfig.model_validate(
        {
            "storage": {
                "buses": [2],
                "p_max_mw": P_MAX,
                "energy_mwh": E_MAX,
                "eta_charge": ETA,
                "eta_discharge": ETA,
                "soc_init": 0.0,
                "soc_min": 0.0,
                "soc_max": 1.0,
                "degradation_usd_per_mwh": DEG,
                "terminal_value_usd_per_mwh": terminal_value,
            },
            "gas_turbine": {
                "buses": [2],
                "p_max_mw": 0.1,
                "cost_a_usd_per_mw2h": 0.0,
                "cost_b_usd_per_mwh": 1000.0,
                "carbon_t_per_mwh": 0.0,
            },
            "pv": {"buses": [2], "profiles": ["PV1"], "rated_mw": 0.1, "inverter_s_mva": 0.1},
            "carbon": {"allowance_t_per_mwh": 0.0, **(ladder or {})},
            "network": {"v_slack_pu": 1.0},
        }
    )
    feeder = RadialFeeder(
        name="two-bus",
        base_kv=1.0,
        from_bus=np.array([0]),
        to_bus=np.array([1]),
        r_ohm=np.array([R_PU]),
        x_ohm=np.array([0.0]),
        load_p_mw=np.array([0.0, LOAD_MW]),
        load_q_mvar=np.zeros(2),
        rate_mva=np.array([np.inf]),
    )
    rows = t0 + 2
    load_p = np.zeros((rows, 2))
    load_p[t0:, 1] = LOAD_MW
    price = np.zeros(rows)
    price[t0:] = PRICES
    data = SesCarbonDay(
        day=datetime.date(2016, 7, 1),
        info="actual",
        issue_step=0,
        lead_offset_h=0.0,
        load_p_mw=load_p,
        load_q_mvar=np.zeros((rows, 2)),
        pv_available_mw=np.zeros((rows, 1)),
        price_usd_per_mwh=price,
        carbon_intensity_t_per_mwh=np.full(rows, intensity),
        line_rating_mva=np.array([np.inf]),
    )
    form = SesCarbonFormulation(cfg, horizon=2, feeder=feeder)
    form.update(data, t0=t0)
    return cfg, form


def _import(demand_mw: float) -> float:
    """Substation import feeding ``demand_mw`` over the branch: P = d + r·P² (v_1 = 1, Q = 0),
    the smaller root of the quadratic."""
    return (1.0 - math.sqrt(1.0 - 4.0 * R_PU * demand_mw)) / (2.0 * R_PU)


@pytest.mark.parametrize("carbon", [False, True], ids=["no-carbon", "ladder"])
def test_tiny_instance_matches_the_hand_solution(carbon):
    """Charge at full power in the cheap hour, discharge all that is stored in the dear one.

    Hour 1 charges P_max = 0.5 MW (E = 0.9·0.5 = 0.45 MWh), hour 2 discharges
    0.45·0.9 = 0.405 MW: every MW charged costs ≈ 10·1.03 + 1 $ and returns 0.81 MW worth
    ≈ 100·1.01 − 1 $, so both limits bind (the carbon price adds the same 30 $/t to both
    hours and does not change the schedule). Imports P(1.5) and P(0.595) with P(d) the loss
    equation's root; with 1 t/MWh of upstream intensity, the day emits P(1.5) + P(0.595) ≈
    2.12 t, priced by the ladder 10 / 20 / 30 / 40 $/t with 1-t tiers.
    """
    ladder = {"base_price_usd_per_t": 10.0, "step_t": 1.0, "growth_rate": 1.0, "n_tiers": 4}
    _, form = _tiny(intensity=1.0 if carbon else 0.0, ladder=ladder)
    result = form.solve()
    assert result.status is SolveStatus.OPTIMAL
    discharge = ETA * ETA * P_MAX
    imports = np.array([_import(LOAD_MW + P_MAX), _import(LOAD_MW - discharge)])
    emissions = imports.sum() if carbon else 0.0
    carbon_cost = 10.0 * 1.0 + 20.0 * 1.0 + 30.0 * (emissions - 2.0) if carbon else 0.0
    expected = float(np.dot(PRICES, imports)) + DEG * (P_MAX + discharge) + carbon_cost
    assert result.objective == pytest.approx(expected, abs=1e-5)
    plan = form.plan()
    np.testing.assert_allclose(plan.actions(), [[0.0, -P_MAX], [0.0, discharge]], atol=1e-5)
    np.testing.assert_allclose(plan.tie_line_mw, imports, atol=1e-5)
    np.testing.assert_allclose(plan.soc[:, 0], [0.0, ETA * P_MAX, 0.0], atol=1e-5)
    assert plan.cost_total_usd == pytest.approx(expected, abs=1e-5)
    assert plan.cost_usd["carbon_settlement"] == pytest.approx(carbon_cost, abs=1e-5)
    assert result.relaxation_gap < 1e-6
    assert plan.v_min_pu == pytest.approx(1.0 - R_PU * imports[0], abs=1e-6)  # V_2 = 1 − r·P


def test_tiny_instance_with_the_terminal_settlement_keeps_the_energy():
    """The same two hours as the day's last two (steps 22, 23): the horizon reaches the end
    of the day, so the end energy is settled at π_T = 95 $ per stored MWh (day start E = 0).

    Charging costs ≈ (10·1.03 + 1)/0.9 ≈ 12.6 $ per stored MWh: charge at full power in hour
    22 (E = 0.45 MWh). Discharging a stored MWh in hour 23 earns 0.9·(100·dP/dd − 1) ≈
    0.9·(100·1.012 − 1) ≈ 90.2 $ < 95 $ of credit: keep it. Cost = 10·P(1.5) + 100·P(1.0)
    + 1·0.5 (degradation) − 95·0.45 (the credit)."""
    _, form = _tiny(intensity=0.0, terminal_value=95.0, t0=22)
    assert form.reaches_day_end
    result = form.solve()
    assert result.status is SolveStatus.OPTIMAL
    imports = np.array([_import(LOAD_MW + P_MAX), _import(LOAD_MW)])
    terminal = -95.0 * ETA * P_MAX
    expected = float(np.dot(PRICES, imports)) + DEG * P_MAX + terminal
    assert result.objective == pytest.approx(expected, abs=1e-5)
    plan = form.plan()
    np.testing.assert_allclose(plan.actions(), [[0.0, -P_MAX], [0.0, 0.0]], atol=1e-5)
    np.testing.assert_allclose(plan.soc[:, 0], [0.0, ETA * P_MAX, ETA * P_MAX], atol=1e-5)
    assert plan.cost_usd["storage_terminal_energy"] == pytest.approx(terminal, abs=1e-5)
    assert plan.objective_terms_usd["storage_terminal_energy"] == pytest.approx(terminal, abs=1e-5)
    assert plan.cost_total_usd == pytest.approx(expected, abs=1e-5)
    # at t0 = 0 the two hours end before midnight: no settlement, the storage empties
    _, form = _tiny(intensity=0.0, terminal_value=95.0)
    assert not form.reaches_day_end
    assert form.solve().ok and form.plan().cost_usd["storage_terminal_energy"] == 0.0
    assert form.plan().soc[-1, 0] == pytest.approx(0.0, abs=1e-6)


# ---------------------------------------------------------------------- the real case
def test_formulation_is_dpp_and_pads_the_end_of_the_day():
    form = SesCarbonFormulation(CASE.config)
    assert form.is_dpp()
    names = set(form.parameters)
    assert {"load_p", "pv", "price", "intensity", "energy_init", "carbon_net_so_far_t"} <= names
    form.update(CASE.day_data(DAY), t0=20, soc=0.3, carbon_net_so_far_t=1.5)
    assert form.n_active == 4
    assert form.parameters["active"].value.tolist() == [1.0] * 4 + [0.0] * 20
    np.testing.assert_allclose(form.parameters["energy_init"].value, 0.3 * 1.2)
    # the terminal settlement refers to the day's start (soc_init), not the re-solve's soc
    pi_t = CASE.config.terminal_price_usd_per_mwh
    assert form.parameters["terminal_price"].value == pytest.approx(pi_t)
    assert form.parameters["terminal_const_usd"].value == pytest.approx(pi_t * 5 * 0.6)
    form.update(CASE.day_data(DAY), t0=20, soc=0.3, soc_day_start=0.4)
    assert form.parameters["terminal_const_usd"].value == pytest.approx(pi_t * 5 * 0.48)
    form.update(CASE.day_data(DAY), t0=0, soc=0.3)  # at t0 = 0 the day starts at soc
    assert form.parameters["terminal_const_usd"].value == pytest.approx(pi_t * 5 * 0.36)
    with pytest.raises(ValueError, match="soc_day_start must be finite"):
        form.update(CASE.day_data(DAY), t0=3, soc_day_start=np.nan)
    with pytest.raises(ValueError, match="t0 must be"):
        form.update(CASE.day_data(DAY), t0=24)
    # a horizon ending before midnight carries no terminal settlement
    short = SesCarbonFormulation(CASE.config, horizon=6)
    short.update(CASE.day_data(DAY), t0=0)
    assert short.parameters["terminal_price"].value == 0.0 and not short.reaches_day_end
    short.update(CASE.day_data(DAY), t0=18)
    assert short.parameters["terminal_price"].value == pytest.approx(pi_t)


def test_oracle_is_optimal_exact_and_priced_like_the_referee(oracle_day):
    ctrl, infos, referee_cost = oracle_day
    assert ctrl.status == "ok" and not ctrl.fallback
    (result,) = ctrl.results
    assert result.status is SolveStatus.OPTIMAL
    assert result.relaxation_gap < 1e-6  # measured ≈ 4e-8 pu²
    plan = ctrl.plan
    # what the model expects = what the referee charges (AC power flow vs relaxation):
    # measured difference ≈ 1e-6 $ on a 3,636 $ day
    assert plan.cost_total_usd == pytest.approx(referee_cost, rel=1e-5)
    assert set(plan.cost_usd) == set(infos[-1]["cost"])
    for term in plan.cost_usd:
        assert plan.cost_usd[term] == pytest.approx(sum(i["cost"][term] for i in infos), abs=1e-3)
    # the terminal settlement is in the model's objective as the referee charges it
    terminal = plan.cost_usd["storage_terminal_energy"]
    assert plan.objective_terms_usd["storage_terminal_energy"] == pytest.approx(terminal, abs=1e-4)
    assert terminal == pytest.approx(infos[-1]["cost"]["storage_terminal_energy"], abs=1e-4)
    assert _violations(infos) < 1e-6
    assert plan.max_loading <= 1.0 + 1e-6
    assert 0.95 - 1e-6 <= plan.v_min_pu <= plan.v_max_pu <= 1.05 + 1e-6


def test_ladder_epigraph_equals_the_ladder_cost_at_the_optimum(oracle_day):
    ctrl, infos, _ = oracle_day
    plan = ctrl.plan
    breakpoints, _ = acc.ladder_segments(CASE.config.carbon)
    assert plan.carbon_net_end_t > breakpoints[0]  # ΔQ reaches the ladder's second tier
    ladder = float(acc.ladder_carbon_cost(plan.carbon_net_end_t, 0.0, CASE.config.carbon))
    assert plan.objective_terms_usd["carbon_settlement"] == pytest.approx(ladder, abs=1e-4)
    assert infos[-1]["carbon_net_t"] == pytest.approx(plan.carbon_net_end_t, abs=1e-5)


def test_oracle_beats_idle_and_rule_in_the_referee(oracle_day, rule_day, idle_day):
    _, _, oracle = oracle_day
    _, rule_infos, rule = rule_day
    _, _, idle = idle_day
    # the oracle minimizes cost + SOC penalty under the network limits; the comparison is
    # fair where the rule respects them too
    assert _violations(rule_infos) < 1e-6
    assert oracle <= rule + 1e-6
    assert oracle <= idle + 1e-6
    assert oracle < idle - 100.0  # storage and turbines are worth hundreds of $ a day


def test_day_ahead_and_mpc_run_a_day_within_the_limits(oracle_day):
    _, _, oracle = oracle_day
    for name in ("day-ahead", "mpc"):
        ctrl, infos, cost = _rollout(name)
        assert ctrl.status == "ok" and not ctrl.fallback, ctrl.status_message
        assert all(r.ok for r in ctrl.results)
        assert cost >= oracle - 1e-6  # no method beats perfect foresight
        assert cost <= oracle * 1.05
    assert len(ctrl.results) == 24  # the MPC re-planned every hour
    # the last re-solve (hour 23 alone) settled the end energy against the day's start
    # (5 × 0.6 MWh), exactly as the referee did after the step it applied
    pi_t = CASE.config.terminal_price_usd_per_mwh
    assert ctrl.formulation.parameters["terminal_const_usd"].value == pytest.approx(pi_t * 3.0)
    assert ctrl.plan.cost_usd["storage_terminal_energy"] == pytest.approx(
        infos[-1]["cost"]["storage_terminal_energy"], abs=1e-4
    )
    assert [r.compile_time_s < 0.05 for r in ctrl.results[1:]] == [True] * 23


def test_mpc_resolve_reuses_the_compiled_problem():
    form = SesCarbonFormulation(CASE.config)
    form.update(CASE.day_data(DAY, "forecast", issue_step=0))
    first = form.solve()
    form.update(CASE.day_data(DAY, "forecast", issue_step=1), t0=1, soc=0.45)
    second = form.solve()
    assert first.ok and second.ok
    assert second.compile_time_s < first.compile_time_s / 10
    assert second.solve_time_s < first.solve_time_s


# ---------------------------------------------------------------------- failures
def _impossible_case() -> SesCarbonCase:
    """A voltage band no schedule meets: the SOCP is infeasible."""
    return SesCarbonCase({"network": {"v_min_pu": 0.999, "v_max_pu": 1.0}})


def test_infeasible_and_timed_out_solves_return_a_status():
    form = SesCarbonFormulation(_impossible_case().config)
    form.update(CASE.day_data(DAY))
    result = form.solve(dpp=False)
    assert result.status is SolveStatus.INFEASIBLE and not result.ok
    assert math.isnan(result.objective) and math.isnan(result.relaxation_gap)
    with pytest.raises(RuntimeError, match="did not succeed"):
        form.plan()
    form = SesCarbonFormulation(CASE.config)
    form.update(CASE.day_data(DAY))
    assert form.solve(dpp=False, time_limit_s=1e-6).status is SolveStatus.TIMEOUT
    assert form.solve(dpp=False, max_iter=2).status is SolveStatus.TIMEOUT


@pytest.mark.parametrize("name", ["oracle", "day-ahead", "mpc"])
def test_a_failed_solve_falls_back_to_idle(name, caplog):
    case = _impossible_case()
    with caplog.at_level("WARNING", logger="gridbench.solvers.ses_carbon"):
        ctrl, infos, _ = _rollout(name, case=case)
    assert ctrl.fallback and ctrl.status == "solver_failed"
    assert ctrl.solve_status is SolveStatus.INFEASIBLE
    assert len(ctrl.results) == 1  # no re-solve once idle
    assert "idle for the rest of the day" in ctrl.status_message
    assert sum("idle for the rest of the day" in r.message for r in caplog.records) == 1
    # idle all day: the storages never move
    socs = np.array([i["soc"] for i in infos])
    np.testing.assert_allclose(socs, case.config.storage.soc_init, atol=1e-12)
    assert np.allclose(ctrl.act(None, {"step": 3, "cost": {}}), 0.0)


def test_mpc_falls_back_mid_day_on_a_timeout(monkeypatch):
    calls = {"n": 0}
    real_solve = SesCarbonFormulation.solve

    def flaky(self, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            return SolveResult(SolveStatus.TIMEOUT, math.nan, 0.0, message="user_limit")
        return real_solve(self, **kwargs)

    monkeypatch.setattr(SesCarbonFormulation, "solve", flaky)
    ctrl, infos, _ = _rollout("mpc")
    assert ctrl.status == "timeout" and ctrl.fallback
    assert [r.status for r in ctrl.results][-1] is SolveStatus.TIMEOUT
    assert len(ctrl.results) == 4
    # hours 3… are idle: the storages keep the SOC they had after hour 2
    socs = np.array([i["soc"] for i in infos])
    np.testing.assert_allclose(socs[3:], np.broadcast_to(socs[2], socs[3:].shape), atol=1e-12)


# ---------------------------------------------------------------------- registration
def test_methods_are_registered_for_ses_carbon_cases_only():
    expected = {
        "oracle": MethodFamily.BOUND,
        "day-ahead": MethodFamily.SOLVER,
        "mpc": MethodFamily.SOLVER,
        "rule": MethodFamily.BASELINE,
    }
    for name, family in expected.items():
        spec = get_method(name)
        assert spec.family is family and spec.cls.__module__ == planners.__name__
        assert planners.planner_for(name, CASE).source.startswith(methods.__name__ + ":")
        method = spec.make()
        assert method.supports(CASE)

        class Other:
            id = "toy-storage-v0"
            config = CASE.config

            def day_data(self):  # pragma: no cover - never called
                raise AssertionError

        assert not method.supports(Other())


def test_current_step_reads_the_referees_next_step():
    env = CASE.make_env(day=DAY, seed=0)
    obs, info = env.reset(seed=0)
    assert current_step(obs, info) == 0
    for t in range(CASE.steps):
        obs, _, terminated, _, info = env.step(env.unwrapped.idle_action())
        assert current_step(obs, info) == t + 1
    assert terminated and info["next_step"] is None
    assert current_step(None, {"step": 5, "next_step": 6}) == 6
    assert current_step(np.array([7 / 24, 1.0]), {}) == 7  # a caller's own info


def test_the_harness_reads_the_controller_status():
    from gridbench.benchmarks.harness import evaluate_day

    row = evaluate_day(CASE, make_method("oracle"), DAY, 0)
    assert row["status"] == "ok" and row["feasible"]
    row = evaluate_day(_impossible_case(), make_method("day-ahead"), DAY, 0)
    assert row["status"] == "solver_failed"
    assert "infeasible" in row["message"] and math.isfinite(row["cost"])  # the idle day


@pytest.mark.parametrize("hour", [1, 9, 17, 23])
def test_active_slot_resolve_gives_the_padded_plan(hour):
    """The MPC's re-solve (compiled problem, Clarabel on the active slots only) finds the plan
    of the padded 24-slot problem built cold for the same hour: same objective to 1e-6
    relative, same first action to 2e-5 MW (Clarabel's accuracy on these setpoints: at hour 17
    the cold padded solution itself moves by 8e-6 MW when solved with 1e-11 tolerances, and
    the two paths differ by 1.4e-5 MW on one storage; 1e-5 holds at the other hours)."""
    data = CASE.day_data(DAY, "forecast", seed=CASE.config.forecast_seed, issue_step=hour)
    kw = {"t0": hour, "soc": 0.45, "carbon_net_so_far_t": 0.2 * hour, "soc_day_start": 0.6}
    warm = SesCarbonFormulation(CASE.config)
    warm.update(CASE.day_data(DAY, "forecast", issue_step=0))
    assert warm.solve().ok  # compiled, hour 0
    warm.update(data, **kw)
    resolve = warm.solve()
    cold = SesCarbonFormulation(CASE.config)
    cold.update(data, **kw)
    reference = cold.solve(dpp=False)
    assert resolve.status is SolveStatus.OPTIMAL and reference.status is SolveStatus.OPTIMAL
    assert resolve.objective == pytest.approx(reference.objective, rel=1e-6)
    np.testing.assert_allclose(warm.plan().action(0), cold.plan().action(0), atol=2e-5)
    assert warm.plan().n_steps == cold.plan().n_steps == 24 - hour
    assert warm.plan().cost_total_usd == pytest.approx(cold.plan().cost_total_usd, rel=1e-6)
    assert resolve.relaxation_gap < 1e-6
    assert warm.plan().soc.shape == (25 - hour, CASE.config.storage.n)


def test_active_slot_resolve_reports_timeouts_and_recovers():
    form = SesCarbonFormulation(CASE.config)
    form.update(CASE.day_data(DAY, "forecast", issue_step=0))
    assert form.solve().ok
    form.update(CASE.day_data(DAY, "forecast", issue_step=5), t0=5, soc=0.5)
    assert form.solve(time_limit_s=1e-6).status is SolveStatus.TIMEOUT
    assert form.solve(max_iter=2).status is SolveStatus.TIMEOUT
    with pytest.raises(RuntimeError, match="did not succeed"):
        form.plan()
    result = form.solve()  # the limits of one call do not stick to the kept solver
    assert result.status is SolveStatus.OPTIMAL and form.plan().n_steps == 19
