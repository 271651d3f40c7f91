"""Loss-arbitrage methods through the harness on one test day: oracle, day-ahead, mpc, rule,
idle and a smoke-budget SAC; the per-node revenue table."""

from __future__ import annotations

import numpy as np
import pytest

from gridbench.benchmarks.harness import evaluate_day
from gridbench.benchmarks.plugins import load_all
from gridbench.cases.contracts import Budget
from gridbench.cases.registry import get_method, make_case, make_method

load_all(warn=False)
CASE_ID = "loss-arbitrage-ieee33-v0"


@pytest.fixture(scope="module")
def case():
    return make_case(CASE_ID)


@pytest.fixture(scope="module")
def day(case):
    return case.days("test")[0]


@pytest.fixture(scope="module")
def rows(case, day):
    out = {}
    for name in ("idle", "rule", "day-ahead", "oracle", "mpc"):
        out[name] = evaluate_day(case, get_method(name).make(), day, seed=0)
    return out


@pytest.mark.parametrize("name", ["idle", "rule", "day-ahead", "oracle", "mpc"])
def test_method_runs_feasibly(rows, name):
    row = rows[name]
    assert row["status"] == "ok", row["message"]
    assert row["feasible"]
    assert row["soc_dev_end"] < 1e-5  # back at the initial energy


def test_ranking_on_a_test_day(rows):
    """idle earns nothing; the rule earns; the solvers earn more; the oracle most, with no
    slack: its converged temperature fixed point beats MPC on 2016-01-11 (−11.7 °C), where
    the two-solve oracle ended 0.012 $ below MPC (README, "Measured")."""
    cost = {name: row["cost"] for name, row in rows.items()}
    assert cost["idle"] == pytest.approx(0.0, abs=1e-9)
    assert cost["rule"] < -100.0
    assert cost["mpc"] < cost["rule"] and cost["day-ahead"] < cost["rule"]
    assert cost["oracle"] <= cost["mpc"]
    assert cost["oracle"] <= cost["day-ahead"]


def test_oracle_temperature_fixed_point_reaches_the_tolerance(case, day):
    """The oracle iterates plan → cell temperatures → plan until they move by less than
    ``TEMPERATURE_TOLERANCE_K``, stopping at the first such solve; the record's move is
    exactly the one of the executed plan; the referee measures the plan's own temperatures,
    0 … 2·tol above those the last solve assumed, so it executes the plan uncut (the referee's
    day cost is the last solve's objective)."""
    from gridbench.cases.loss_arbitrage.formulation import plan_temperatures
    from gridbench.solvers.loss_arbitrage import TEMPERATURE_TOLERANCE_K, OracleController

    tol = TEMPERATURE_TOLERANCE_K
    env = case.make_env(day=day, seed=0)
    obs, info = env.reset(seed=0)
    ctrl = OracleController(case, day, 60.0)
    ctrl.reset(obs, info)
    fp = ctrl.fixed_point
    assert ctrl.status == "ok" and ctrl.plan is not None and fp is not None
    assert fp.converged and fp.tolerance_k == tol
    assert fp.move_k < tol <= fp.moves_k[-2]  # stops at the first move below the tolerance
    assert fp.solves == len(ctrl.results) >= 3
    amb = np.asarray(case.day_data(day, info="actual").ambient_c, dtype=float)
    temp0 = np.asarray(info["cell_temp_c"], dtype=float)
    own = plan_temperatures(case.config, amb, ctrl.plan.dc_mw, temp0)
    np.testing.assert_array_equal(own, fp.temperatures_c)
    assert fp.move_k == float(np.max(np.abs(own - fp.previous_c)))
    above = own - (fp.previous_c - tol)  # over the temperatures the last solve assumed
    assert 0.0 < above.min() and above.max() < 2.0 * tol

    measured, cost = [np.asarray(info["cell_temp_c"], dtype=float)], 0.0
    for _ in range(24):
        obs, _, _, _, info = env.step(ctrl.act(obs, info))
        measured.append(np.asarray(info["cell_temp_c"], dtype=float))
        cost += sum(info["cost"].values())
    np.testing.assert_allclose(np.array(measured[:24]), own, atol=1e-9)
    assert cost == pytest.approx(ctrl.results[-1].objective, abs=1e-5)


def test_oracle_without_convergence_times_out_and_idles(case, day, monkeypatch):
    """Two solves cannot converge on 2016-01-11 (the second plan's temperatures still move
    by ~0.09 K): the last solve is recorded as an iteration limit, the controller says
    ``timeout`` and plays the idle setpoints."""
    import gridbench.solvers.loss_arbitrage as la
    from gridbench.cases.loss_arbitrage.formulation import SolveStatus

    monkeypatch.setattr(la, "TEMPERATURE_MAX_SOLVES", 2)
    env = case.make_env(day=day, seed=0)
    obs, info = env.reset(seed=0)
    ctrl = la.OracleController(case, day, 60.0)
    ctrl.reset(obs, info)
    fp = ctrl.fixed_point
    assert fp is not None and not fp.converged and fp.solves == 2
    assert fp.move_k > la.TEMPERATURE_TOLERANCE_K
    assert [r.status for r in ctrl.results] == [SolveStatus.OPTIMAL, SolveStatus.TIMEOUT]
    assert ctrl.status == "timeout" and ctrl.plan is None
    assert "temperature fixed point not converged" in ctrl.status_message
    np.testing.assert_array_equal(ctrl.act(obs, info), np.zeros(8, dtype=np.float32))


def test_sac_smoke_fit_and_day(case, day, tmp_path):
    """The paper's method: SB3 SAC (automatic entropy tuning), actions through tanh onto
    [-1, 1] and rescaled onto the power limits by the shared SB3 wrapper."""
    method = make_method("sac")
    method.training_dir = tmp_path
    method.progress_bar = False
    assert method.supports(case)
    method.fit(case, 0, Budget.SMOKE)
    row = evaluate_day(case, method, day, seed=0)
    assert row["status"] == "ok", row["message"]
    assert np.isfinite(row["cost"]) and row["n_executed"] == 24
    # whatever the policy does, the referee keeps the day's energy balance feasible or says so
    assert row["viol_voltage_puh"] >= 0.0


def test_revenue_table_splits_the_referee_revenue_by_node(case, day):
    from gridbench.benchmarks.report.figures.loss_arbitrage import revenue_of, setpoints_of
    from gridbench.benchmarks.schedule import roll_out
    from gridbench.cases.loss_arbitrage.revenue import revenue_table

    runs = {m: roll_out(case, get_method(m).make(), day, 0) for m in ("rule", "oracle")}
    table = revenue_table(
        case, day, before=setpoints_of(runs["rule"]), after=setpoints_of(runs["oracle"])
    )
    assert list(table["node"]) == [13, 16, 31, 32, 9, 17, 29, 30]
    for when, name in (("before", "rule"), ("after", "oracle")):
        # node terms add up to the referee's day revenue (Aumann–Shapley split of the losses)
        total = table[f"loss_reduction_{when}_usd"].sum() + table[f"arbitrage_{when}_usd"].sum()
        assert total == pytest.approx(revenue_of(runs[name]), abs=1e-3)
        assert abs(table.attrs[f"split_residual_{when}_usd"]) < 1e-3
