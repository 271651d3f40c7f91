"""The harness: day metrics by hand, roll-outs on the toy case, units, resume, executors.

The toy case and methods (``tests/toy_case.py``) are TEST ONLY and registered in sandboxed
registries (``toy_case.registered()``).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pytest
import toy_case
from toy_case import CASE_2L_ID, CASE_ID, DAYS, load_mw

from gridbench.benchmarks.executors import LocalExecutor
from gridbench.benchmarks.harness import (
    VOLATILE_COLUMNS,
    MultiAgentNotSupported,
    RowStatus,
    evaluate_day,
    make_task,
    plan_run,
    run_unit,
)
from gridbench.benchmarks.metrics import TOLERANCES, MetricsError, day_metrics
from gridbench.benchmarks.store import ResultsStore, UnitKey, UnitStatus
from gridbench.cases.contracts import Budget, MethodFamily, Split
from gridbench.cases.registry import make_case, make_method

DAY0 = DAYS[Split.TEST][0]


@pytest.fixture
def toys():
    with toy_case.registered():
        yield


def _step(layer: str = "intraday", dt: float = 0.5, **kw: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cost": {},
        "emissions_t": 0.0,
        "soc": np.zeros(0),
        "tie_line_mw": 0.0,
        "tie_line_ref_mw": 0.0,
        "v_min_pu": 1.0,
        "v_max_pu": 1.0,
        "voltage_violation_pu": 0.0,
        "soc_violation": 0.0,
        "line_overload": 0.0,
        "balance_slack_mw": 0.0,
        "layer": layer,
        "step_hours": dt,
    }
    info.update(kw)
    return info


# --------------------------------------------------------------------------- day metrics
class TestDayMetrics:
    def single_layer(self) -> list[dict[str, Any]]:
        """4 steps of 0.5 h, two storages starting at SOC (0.5, 0.5)."""
        return [
            _step(
                cost={"energy": 10.0, "carbon": 1.0},
                emissions_t=0.25,
                soc=np.array([0.6, 0.5]),
                tie_line_mw=1.0,
                v_min_pu=0.97,
            ),
            _step(
                cost={"energy": 20.0, "carbon": 2.0},
                emissions_t=0.5,
                soc=np.array([0.7, 0.3]),
                tie_line_mw=2.0,
                voltage_violation_pu=0.01,
                v_min_pu=0.94,
            ),
            _step(
                cost={"energy": -5.0},
                soc=np.array([0.6, 0.25]),
                tie_line_mw=3.0,
                line_overload=0.5,
                v_max_pu=1.02,
            ),
            _step(
                cost={"energy": 4.0, "carbon": 0.5},
                emissions_t=0.25,
                soc=np.array([0.5, 0.4]),
                tie_line_mw=2.0,
                voltage_violation_pu=0.02,
                soc_violation=0.1,
                balance_slack_mw=2.0,
            ),
        ]

    def test_hand_computed_single_layer_day(self):
        m = day_metrics(self.single_layer(), initial_soc=[0.5, 0.5])
        assert m["cost"] == 32.5  # 10+1+20+2-5+4+0.5
        assert m["cost_energy"] == 29.0 and m["cost_carbon"] == 3.5
        assert m["emissions_t"] == 1.0
        assert m["soc_dev_max"] == pytest.approx(0.25)  # storage 2 at 0.25 vs 0.5
        assert m["soc_dev_end"] == pytest.approx(0.1)  # both |0.5-0.5|, |0.4-0.5|
        # no day-ahead layer, zero reference: deviation from the daily mean 2.0
        assert m["tie_mse"] == 0.5  # (1 + 0 + 1 + 0) / 4
        assert m["viol_voltage_puh"] == pytest.approx(0.015)  # (0.01 + 0.02) * 0.5 h
        assert m["viol_line"] == 0.25 and m["viol_soc"] == 0.05 and m["viol_balance"] == 1.0
        assert m["feasible"] is False
        assert (m["v_min_pu"], m["v_max_pu"]) == (0.94, 1.02)
        assert m["n_executed"] == 4

    def test_two_layer_day_counts_plan_costs_but_scores_only_the_executed_layer(self):
        plan = _step(
            "day_ahead",
            dt=2.0,
            cost={"day_ahead": 100.0},
            soc=np.array([0.5]),
            tie_line_mw=1.5,
            tie_line_ref_mw=1.5,
            voltage_violation_pu=9.0,  # ignored: planning steps hold no physics
        )
        executed = [
            _step(dt=1.0, cost={"deviation": 3.0}, soc=np.array([0.4]), tie_line_mw=1.0,
                  tie_line_ref_mw=1.5),
            _step(dt=1.0, cost={"deviation": -1.0}, soc=np.array([0.45]), tie_line_mw=2.5,
                  tie_line_ref_mw=1.5),
        ]  # fmt: skip
        m = day_metrics([plan, *executed])
        assert m["cost"] == 102.0 and m["cost_day_ahead"] == 100.0
        assert m["tie_mse"] == 0.625  # ((1-1.5)^2 + (2.5-1.5)^2) / 2
        assert m["soc_dev_end"] == pytest.approx(0.05)  # SOC(0) = the plan step's 0.5
        assert m["soc_dev_max"] == pytest.approx(0.1)
        assert m["viol_voltage_puh"] == 0.0 and m["feasible"] is True
        assert m["n_executed"] == 2

    def test_soc_reference_from_argument_or_info(self):
        steps = [_step(soc=np.array([0.5])), _step(soc=np.array([0.8]))]
        m = day_metrics(steps, initial_soc=[0.5], soc_reference=[[0.5], [0.6]])
        assert m["soc_dev_max"] == pytest.approx(0.2)
        with_ref = [{**s, "soc_ref": np.array([r])} for s, r in zip(steps, (0.4, 0.8), strict=True)]
        assert day_metrics(with_ref, initial_soc=[0.5])["soc_dev_max"] == pytest.approx(0.1)
        with pytest.raises(MetricsError, match="SOC reference"):
            day_metrics(steps, soc_reference=[[0.5], [0.6], [0.7]])

    def test_initial_soc_from_reset_info_else_first_step(self):
        steps = [_step(soc=np.array([0.6])), _step(soc=np.array([0.9]))]
        reset = {"layer": "intraday", "step": 0, "soc": np.array([0.5])}
        assert day_metrics([reset, *steps])["soc_dev_end"] == pytest.approx(0.4)
        # nothing better known: SOC after the first step stands in for SOC(0)
        assert day_metrics(steps)["soc_dev_end"] == pytest.approx(0.3)

    def test_tie_reference_rule_uses_nonzero_reference(self):
        steps = [
            _step(tie_line_mw=1.0, tie_line_ref_mw=1.0),
            _step(tie_line_mw=3.0, tie_line_ref_mw=1.0),
        ]
        assert day_metrics(steps)["tie_mse"] == 2.0  # vs the reference, not the mean (1.0)

    def test_feasibility_tolerances_are_inclusive(self):
        dt = 0.5
        at_tol = [_step(dt=dt, voltage_violation_pu=TOLERANCES["viol_voltage_puh"] / dt)]
        assert day_metrics(at_tol)["feasible"] is True
        over = [_step(dt=dt, balance_slack_mw=4 * TOLERANCES["viol_balance"] / dt)]
        assert day_metrics(over)["feasible"] is False

    def test_skips_non_kpi_infos_and_rejects_empty_days(self):
        stage = {"layer": "intraday", "kpi": False, "cost": {"x": 1e9}}
        m = day_metrics([stage, _step(cost={"x": 1.0})])
        assert m["cost"] == 1.0 and m["soc_dev_max"] == 0.0  # no storage: 0
        with pytest.raises(MetricsError, match="no step info"):
            day_metrics([{"layer": "intraday"}])


# --------------------------------------------------------------------------- evaluate_day
class TestEvaluateDay:
    def test_idle_on_the_toy_case_costs_1800_times_the_load(self, toys):
        case, idle = make_case(CASE_ID), make_method("idle")
        row = evaluate_day(case, idle, DAY0, seed=0, budget="smoke")
        load = load_mw(DAY0)
        assert (row["case"], row["method"], row["seed"], row["day"], row["budget"]) == (
            CASE_ID,
            "idle",
            0,
            DAY0.isoformat(),
            "smoke",
        )
        assert row["family"] == "baseline" and row["split"] == "test"
        assert row["status"] == RowStatus.OK and row["message"] == ""
        assert row["cost"] == pytest.approx(1800 * load) and row["cost_energy"] == row["cost"]
        assert row["emissions_t"] == pytest.approx(12 * load)
        assert row["soc_dev_max"] == row["soc_dev_end"] == 0.0
        assert row["tie_mse"] == pytest.approx(0.0, abs=1e-12)
        assert row["feasible"] is True and row["n_steps"] == 24
        assert row["decision_ms_p50"] <= row["decision_ms_p95"]
        assert row["solve_s"] >= 0 and math.isnan(row["fit_s"])
        assert row["reward_sum"] == pytest.approx(-row["cost"])

    def test_oracle_and_infeasible_dump(self, toys):
        case = make_case(CASE_ID)
        load = load_mw(DAY0)
        oracle = evaluate_day(case, make_method("oracle"), DAY0, seed=0)
        assert oracle["family"] == "bound"
        assert oracle["cost"] == pytest.approx(1800 * load - 240, rel=1e-6)
        assert oracle["soc_dev_end"] == pytest.approx(0.4, abs=1e-6)  # 0.5 -> 0.1
        assert oracle["feasible"] is True
        dump = evaluate_day(case, make_method("dump"), DAY0, seed=0)
        # hour 0: charge projected to 1.6 MW (SOC 0.5 -> 0.9): tie L+1.6, v = 1 - 0.02 (L+1.6)
        assert dump["viol_voltage_puh"] == pytest.approx(0.02 * (load + 1.6) - 0.05, rel=1e-5)
        assert dump["feasible"] is False and dump["cost"] < 1800 * load

    def test_two_layer_case_runs_both_layers(self, toys):
        row = evaluate_day(make_case(CASE_2L_ID), make_method("idle"), "test:1", seed=0)
        load = load_mw(DAYS[Split.TEST][1])
        assert row["n_steps"] == 25 and row["n_executed"] == 24
        assert row["cost"] == pytest.approx(1800 * load)  # plan 0: all paid as deviation
        assert row["tie_mse"] == pytest.approx(load**2)  # against the (zero) day-ahead plan

    def test_raising_controller_gives_an_error_row(self, toys):
        row = evaluate_day(make_case(CASE_ID), make_method("crashy"), DAY0, seed=0)
        assert row["status"] == "error"
        assert row["message"] == "RuntimeError: boom at step 3"
        assert row["n_steps"] == 3 and math.isnan(row["cost"]) and row["feasible"] is False

    def test_timeout_and_solver_failure_statuses(self, toys):
        case = make_case(CASE_ID)
        assert evaluate_day(case, make_method("slowpoke"), DAY0, 0)["status"] == "timeout"

        class SolverError(RuntimeError):
            status = "solver_failed"

        assert RowStatus.of_exception(SolverError("infeasible")) is RowStatus.SOLVER_FAILED
        assert RowStatus.of_exception(KeyError("x")) is RowStatus.ERROR

        class FallbackController(toy_case.ScheduleController):
            status = "solver_failed"
            status_message = "HiGHS: solve error at step 5; played idle"

        class Fallback(toy_case.ToyOracle):
            name = "fallback"
            family: ClassVar[MethodFamily] = MethodFamily.SOLVER

            def controller(self, case, day):
                return FallbackController(case, {})

        row = evaluate_day(case, Fallback(), DAY0, 0)
        assert row["status"] == "solver_failed" and "HiGHS" in row["message"]
        assert row["cost"] == pytest.approx(1800 * load_mw(DAY0))  # the day's metrics are kept

    def test_multi_agent_methods_are_a_clear_user_error(self, toys):
        with pytest.raises(MultiAgentNotSupported, match="multi-agent"):
            evaluate_day(make_case(CASE_ID), make_method("marl"), DAY0, 0)
        with pytest.raises(MultiAgentNotSupported):
            plan_run([CASE_ID], ["marl"], [0], "smoke", "test")
        plan = plan_run([CASE_ID], None, [0], "smoke", "test", n_days=1)
        assert any("marl" in note and "multi-agent" in note for note in plan.notes)

    def test_plan_is_counted_in_the_compute_per_decision(self, toys, monkeypatch):
        """A fake clock the controller advances: reset (the plan) 0.5 s, act k (k = 1..24)
        k/1024 s (binary fractions: every difference exact). plan_ms = 500, Σ act =
        300/1024 s = 292.96875 ms, so compute_ms_per_decision = (500 + 292.96875) / 24."""
        from gridbench.benchmarks import harness

        clock = {"now": 0.0, "k": 0}
        monkeypatch.setattr(harness, "time", type("FakeTime", (), {
            "perf_counter": staticmethod(lambda: clock["now"])}))  # fmt: skip

        class PlanningController(toy_case.ScheduleController):
            def reset(self, obs, info):
                clock["now"] += 0.5
                super().reset(obs, info)

            def act(self, obs, info):
                clock["k"] += 1
                clock["now"] += clock["k"] / 1024
                return super().act(obs, info)

        class Planner(toy_case.ToyOracle):
            name = "planner"
            family: ClassVar[MethodFamily] = MethodFamily.SOLVER

            def controller(self, case, day):
                return PlanningController(case, {})

        row = evaluate_day(make_case(CASE_ID), Planner(), DAY0, 0)
        assert row["status"] == "ok" and row["n_steps"] == 24
        assert row["solve_s"] == 0.5 and row["plan_ms"] == 500.0
        assert row["decision_ms_p50"] == 12.5 * 1000 / 1024  # median of k = 1..24: 12.5
        assert row["compute_ms_per_decision"] == (500.0 + 292.96875) / 24
        # the same number from the row's own seconds (what old rows are derived from)
        derived = 1000 * (row["solve_s"] + row["decide_s"]) / row["n_steps"]
        assert row["compute_ms_per_decision"] == pytest.approx(derived, rel=1e-15)
        assert {"plan_ms", "compute_ms_per_decision"} <= set(VOLATILE_COLUMNS)

    def test_same_seed_same_row(self, toys):
        case, noisy = make_case(CASE_ID), make_method("noisy")
        rows = []
        for seed in (3, 3, 4):
            noisy.fit(case, seed, Budget.SMOKE)
            rows.append(evaluate_day(case, noisy, DAY0, seed))

        def stable(row):
            return {k: v for k, v in row.items() if k not in VOLATILE_COLUMNS}

        assert stable(rows[0]) == stable(rows[1])
        assert rows[0]["cost"] != rows[2]["cost"]


# --------------------------------------------------------------------------- units, store
class TestUnits:
    def test_plan_skips_unsupported_methods_with_a_note(self, toys):
        plan = plan_run(None, ["picky", "idle"], [0, 1], "quick", "val", n_days=1)
        units = {(t.case_id, t.method_name, t.seed) for t in plan.tasks}
        assert (CASE_2L_ID, "picky", 0) not in units and (CASE_ID, "picky", 1) in units
        assert len(units) == 6  # picky: 1 case, idle: 2 cases; 2 seeds each
        assert plan.notes == (f"skipped picky on {CASE_2L_ID}: not supported by the method",)
        assert all(t.days == (DAYS[Split.VAL][0].isoformat(),) for t in plan.tasks)
        with pytest.raises(ValueError, match="did you mean 'idle'"):
            plan_run(None, ["idel"], [0], "quick", "test")
        with pytest.raises(ValueError, match=r"valid: test, val"):
            plan_run(None, None, [0], "quick", "train")

    def test_resume_writes_only_missing_days_and_skips_fit_when_done(self, toys, tmp_path):
        store = ResultsStore(tmp_path / "r")
        days = DAYS[Split.TEST]
        first = run_unit(CASE_ID, "oracle", 0, "smoke", "test", days[:2], store)
        assert (first.n_written, first.n_skipped) == (2, 0)
        again = run_unit(CASE_ID, "oracle", 0, "smoke", "test", None, store)
        assert (again.n_written, again.n_skipped) == (2, 2)
        done = run_unit(CASE_ID, "oracle", 0, "smoke", "test", None, store)
        assert (done.n_written, done.n_skipped) == (0, 4) and math.isnan(done.fit_s)
        frame = store.frame()
        assert sorted(frame["day"]) == [d.isoformat() for d in days]
        assert set(frame["config_hash"]) == {frame["config_hash"].iloc[0]}
        unit = UnitKey(CASE_ID, "oracle", 0, "smoke")
        assert store.unit_status(unit, days) is UnitStatus.DONE

    def test_error_rows_are_results_and_fit_failures_are_recorded(self, toys, tmp_path):
        store = ResultsStore(tmp_path / "r")
        crash = run_unit(CASE_ID, "crashy", 0, "smoke", "test", None, store)
        assert crash.statuses == {"error": 4} and not crash.failed
        failed = run_unit(CASE_ID, "fitfail", 0, "smoke", "test", None, store)
        assert failed.error == "RuntimeError: no training data" and failed.n_written == 0
        (record,) = store.failures()
        assert record.unit.method == "fitfail" and "no training data" in record.error


class TestLocalExecutor:
    def test_killed_worker_costs_only_its_unit_and_rows_match_inline(self, toys, tmp_path):
        case = make_case(CASE_ID)
        days = DAYS[Split.TEST][:2]
        tasks = [
            make_task(case, name, seed, "smoke", "test", days)
            for name, seed in (("killer", 0), ("noisy", 1), ("fitfail", 0), ("threadcheck", 0))
        ]
        pooled = ResultsStore(tmp_path / "pool")
        summary = LocalExecutor(workers=2, progress=False).run(tasks, pooled)
        errors = {r.unit.method: r.error for r in summary.results}
        assert errors["killer"] == (
            "worker process died with exit code 7 before finishing the unit"
        )
        assert errors["fitfail"] == "RuntimeError: no training data"
        assert errors["noisy"] is None and errors["threadcheck"] is None  # 1 thread per worker
        assert summary.n_written == 4
        assert {f.unit.method for f in pooled.failures()} == {"killer", "fitfail"}

        inline = ResultsStore(tmp_path / "inline")
        LocalExecutor(workers=1, progress=False).run(tasks[1:2], inline)
        drop = [*VOLATILE_COLUMNS]
        a = pooled.frame(method="noisy").drop(columns=drop)
        b = inline.frame(method="noisy").drop(columns=drop)
        assert a.equals(b)

        # resume: nothing left for the unit that succeeded; the failed ones are retried
        again = LocalExecutor(workers=1, progress=False).run(tasks[1:2], pooled)
        assert (again.n_written, again.n_skipped) == (0, 2)
