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
    """idle earns nothing; the rule earns; the solvers earn more; the oracle most (up to the
    non-convex temperature coupling, a few cents: see the README)."""
    cost = {name: row["cost"] for name, row in rows.items()}
    assert cost["idle"] == pytest.approx(0.0, abs=1e-9)
    assert cost["rule"] < -100.0
    assert cost["mpc"] < cost["rule"] and cost["day-ahead"] < cost["rule"]
    assert cost["oracle"] <= min(cost["mpc"], cost["day-ahead"]) + 0.05


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
    from gridbench.benchmarks.figures.loss_arbitrage import revenue_of, setpoints_of
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
