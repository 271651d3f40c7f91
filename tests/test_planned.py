"""The planning controllers' shared scaffolding (:mod:`gridbench.solvers._planned`) on a fake
case and formulation with hand-checkable plans, and the loss-arbitrage oracle's fixed point
against the same solves done cold."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pytest

from gridbench.solvers._planned import (
    DAY_AHEAD_LEAD_H,
    MpcController,
    PlanOnceController,
    check_planning_case,
    day_ahead_forecast,
)

DAY = datetime.date(2016, 1, 11)


class _Status(StrEnum):
    OK = "optimal"
    FAILED = "failed"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class _Result:
    status: _Status
    solve_time_s: float = 0.01
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status is _Status.OK


@dataclass(frozen=True)
class _Plan:
    """Action of slot k: ``10·t0 + k`` (one setpoint)."""

    t0: int
    n_steps: int

    def action(self, k: int) -> np.ndarray:
        return np.array([10.0 * self.t0 + k], dtype=np.float32)


@dataclass
class _Formulation:
    outcomes: list[_Status]
    calls: list[dict[str, Any]] = field(default_factory=list)

    def update(self, data: Any, *, t0: int = 0, **state: Any) -> None:
        self.calls.append({"data": data, "t0": t0, **state})

    def solve(self, **kwargs: Any) -> _Result:
        self.calls[-1]["solve"] = kwargs
        return _Result(self.outcomes.pop(0) if self.outcomes else _Status.OK)

    def plan(self) -> _Plan:
        t0 = self.calls[-1]["t0"]
        return _Plan(t0, 24 - t0)


@dataclass(frozen=True)
class _Config:
    action_dim: int = 1
    forecast_seed: int = 7


class _Case:
    id = "fake-v0"
    config = _Config()

    def day_data(self, day: datetime.date, **kwargs: Any) -> dict[str, Any]:
        return {"day": day, **kwargs}


class _Oracle(PlanOnceController):
    method = "oracle"

    def __init__(self, outcomes: list[_Status]) -> None:
        super().__init__(_Case(), DAY, time_limit_s=5.0)
        self.form = _Formulation(outcomes)

    def new_formulation(self) -> _Formulation:
        return self.form

    def day_data(self) -> Any:
        return self.actual_day()

    def initial_state(self, obs: Any, info: Any) -> dict[str, Any]:
        return {"soc": 0.5}


class _Mpc(MpcController):
    def __init__(self, outcomes: list[_Status]) -> None:
        super().__init__(_Case(), DAY, time_limit_s=1.0)
        self.form = _Formulation(outcomes)

    def new_formulation(self) -> _Formulation:
        return self.form

    def mpc_state(self, obs: Any, info: Any) -> dict[str, Any]:
        return {"measured": info.get("x", 0)}


def _step_info(step: int) -> dict[str, Any]:
    """The info of the step just executed (it holds ``cost``): the next step is ``step + 1``."""
    return {"step": step, "cost": {}}


def test_plan_once_solves_once_and_replays_the_plan():
    ctrl = _Oracle([])
    assert ctrl.status == "pending" and ctrl.idle_action().shape == (1,)
    with pytest.raises(RuntimeError, match="before reset"):
        ctrl.act(None, {"step": 0})
    ctrl.reset(None, {"step": 2, "idle_action": [-1.0]})
    (call,) = ctrl.form.calls
    assert call["t0"] == 2 and call["soc"] == 0.5
    assert call["data"] == {"day": DAY, "info": "actual"}
    assert call["solve"] == {"time_limit_s": 5.0, "dpp": False, "warm_start": True}
    assert ctrl.status == "ok" and len(ctrl.results) == 1
    # slot k of a plan from t0 = 2: 20 + k; the step about to be dispatched is step + 1
    assert ctrl.act(None, _step_info(4)).tolist() == [23.0]
    assert ctrl.act(None, {"step": 2}).tolist() == [20.0]
    assert ctrl.act(None, _step_info(0)).tolist() == [-1.0]  # before the plan: idle


@pytest.mark.parametrize(
    ("outcome", "status"), [(_Status.FAILED, "solver_failed"), (_Status.TIMEOUT, "timeout")]
)
def test_a_failed_plan_falls_back_to_idle(outcome, status):
    ctrl = _Oracle([outcome])
    ctrl.reset(None, {"step": 0, "idle_action": [-1.0]})
    assert ctrl.status == status and ctrl.fallback and ctrl.plan is None
    assert "oracle: solve at step 0 ended" in ctrl.status_message
    assert ctrl.act(None, _step_info(3)).tolist() == [-1.0]


def test_mpc_replans_every_step_on_the_forecast_issued_then():
    ctrl = _Mpc([])
    ctrl.reset(None, {"step": 0})
    assert ctrl.act(None, {"step": 0}).tolist() == [0.0]  # planned in reset, not again
    assert len(ctrl.form.calls) == 1
    assert ctrl.act(None, {**_step_info(4), "x": 3}).tolist() == [50.0]
    call = ctrl.form.calls[-1]
    assert call["t0"] == 5 and call["measured"] == 3
    assert call["data"] == {"day": DAY, "info": "forecast", "seed": 7, "issue_step": 5}
    assert call["solve"] == {"time_limit_s": 1.0, "dpp": True, "warm_start": True}
    assert ctrl.act(None, _step_info(23)).tolist() == [0.0]  # past the day: idle


def test_mpc_idles_for_the_rest_of_the_day_after_a_failure():
    ctrl = _Mpc([_Status.OK, _Status.FAILED])
    ctrl.reset(None, {"step": 0, "idle_action": [-1.0]})
    assert ctrl.act(None, _step_info(0)).tolist() == [-1.0]
    assert ctrl.status == "solver_failed"
    assert ctrl.act(None, _step_info(1)).tolist() == [-1.0]
    assert len(ctrl.form.calls) == 2  # no further solves


def test_day_ahead_forecast_is_issued_at_noon_the_day_before():
    data = day_ahead_forecast(_Case(), DAY)
    assert data == {
        "day": DAY, "info": "forecast", "seed": 7, "issue_step": 0,
        "lead_offset_h": DAY_AHEAD_LEAD_H,
    }  # fmt: skip
    assert DAY_AHEAD_LEAD_H == 12.0


def test_check_planning_case_names_the_case():
    class NoData:
        id = "ses-carbon-x-v0"

    with pytest.raises(ValueError, match="'ses-carbon-x-v0' has the SES-carbon id prefix"):
        check_planning_case(NoData(), "ses-carbon-", "SES-carbon")  # type: ignore[arg-type]
    check_planning_case(_Case(), "fake-", "fake")  # type: ignore[arg-type]


def test_loss_arbitrage_oracle_matches_the_cold_fixed_point():
    """The oracle's refilled formulation with a loose first solve executes the plan of the
    same temperature fixed point solved cold at full tolerance (to 1e-4 MW), and its first
    solve stops earlier."""
    from gridbench.cases.loss_arbitrage.formulation import (
        LossArbitrageFormulation,
        idle_temperatures,
        plan_temperatures,
    )
    from gridbench.cases.registry import make_case
    from gridbench.solvers.loss_arbitrage import (
        TEMPERATURE_MAX_SOLVES,
        TEMPERATURE_TOLERANCE_K,
        OracleController,
    )

    case = make_case("loss-arbitrage-ieee33-v0")
    day = case.days("test")[0]
    env = case.make_env(day=day, seed=0)
    obs, info = env.reset(seed=0)
    ctrl = OracleController(case, day, 60.0)
    ctrl.reset(obs, info)
    fp = ctrl.fixed_point
    assert ctrl.status == "ok" and fp is not None and fp.converged
    assert len(ctrl.results) == fp.solves >= 2
    first, last = ctrl.results[0], ctrl.results[-1]
    assert first.iterations < last.iterations

    data = case.day_data(day, info="actual")
    amb = np.asarray(data.ambient_c, dtype=float)
    temp0 = np.asarray(info["cell_temp_c"], dtype=float)
    previous = temps = idle_temperatures(case.config, amb, temp0)
    cold = None
    for _ in range(TEMPERATURE_MAX_SOLVES):
        form = LossArbitrageFormulation(case.config)
        form.update(data, energy_mwh=info["energy_mwh"], cell_temp_c=temp0, temperatures_c=temps)
        result = form.solve(dpp=False)
        cold = form.plan()
        own = plan_temperatures(case.config, amb, cold.dc_mw, temp0)
        if np.max(np.abs(own - previous)) < TEMPERATURE_TOLERANCE_K:
            break
        previous, temps = own, own - TEMPERATURE_TOLERANCE_K
    assert ctrl.plan is not None and cold is not None
    np.testing.assert_allclose(ctrl.plan.storage_mw, cold.storage_mw, atol=1e-4)
    assert last.objective == pytest.approx(result.objective, abs=1e-3)
    assert math.isfinite(last.relaxation_gap)
