"""The generic planning controllers (:mod:`gridbench.solvers.planning`) on a fake case that
offers only the case surface (:class:`~gridbench.cases.contracts.FormulatedCase`), with
hand-checkable plans, and the loss-arbitrage oracle's fixed point against the same solves
done cold."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pytest

from gridbench.cases.contracts import ActionEntry, ActionLayout, FormulatedCase, PlanningCase
from gridbench.solvers.planning import (
    DAY_AHEAD_LEAD_H,
    DayAheadController,
    MpcController,
    OracleController,
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


class _Case:
    """The case surface and nothing else: day data echo their arguments, the measured state
    is ``info["x"]`` with the reset's as ``day_start``."""

    id = "fake-v0"
    grid = "none"
    steps = 24
    step_hours = 1.0
    paper = "none"
    config = None

    def __init__(self, outcomes: list[_Status]) -> None:
        self.form = _Formulation(outcomes)

    def days(self, split: str) -> tuple[datetime.date, ...]:
        return (DAY,)

    def make_env(self, day: datetime.date | None = None, seed: int = 0) -> Any:
        raise NotImplementedError

    def day_data(self, day: datetime.date, info: str = "actual", **kwargs: Any) -> Any:
        return {"day": day, "info": info, **kwargs}

    def action_layout(self) -> ActionLayout:
        return ActionLayout((ActionEntry("storage_2", "storage", 2),))

    def observation_names(self) -> tuple[str, ...]:
        return ("hour_fraction",)

    def formulation(self) -> _Formulation:
        return self.form

    def measured_state(self, obs: Any, info: Any, *, day_start: Any = None) -> dict[str, Any]:
        state = {"measured": info.get("x", 0)}
        return state if day_start is None else {**state, "start": day_start["measured"]}


def _info(next_step: int, **extra: Any) -> dict[str, Any]:
    """A referee ``info`` whose next step to dispatch is ``next_step``."""
    return {"next_step": next_step, **extra}


def test_the_fake_case_offers_the_surface_only():
    case = _Case([])
    assert isinstance(case, FormulatedCase) and isinstance(case, PlanningCase)


def test_plan_once_solves_once_and_replays_the_plan():
    case = _Case([])
    ctrl = OracleController(case, DAY, time_limit_s=5.0)
    assert ctrl.status == "pending" and ctrl.idle_action().shape == (1,)
    with pytest.raises(RuntimeError, match="before reset"):
        ctrl.act(None, _info(0))
    ctrl.reset(None, _info(2, x=0.5, idle_action=[-1.0]))
    (call,) = case.form.calls
    assert call["t0"] == 2 and call["measured"] == 0.5
    assert call["data"] == {"day": DAY, "info": "actual"}
    assert call["solve"] == {"time_limit_s": 5.0, "dpp": False, "warm_start": True}
    assert ctrl.status == "ok" and len(ctrl.results) == 1
    # slot k of a plan from t0 = 2: 20 + k
    assert ctrl.act(None, _info(5)).tolist() == [23.0]
    assert ctrl.act(None, _info(2)).tolist() == [20.0]
    assert ctrl.act(None, _info(1)).tolist() == [-1.0]  # before the plan: idle


def test_day_ahead_plans_on_the_day_ahead_forecast():
    case = _Case([])
    DayAheadController(case, DAY, time_limit_s=5.0).reset(None, _info(0))
    (call,) = case.form.calls
    assert call["data"] == day_ahead_forecast(case, DAY)


@pytest.mark.parametrize(
    ("outcome", "status"), [(_Status.FAILED, "solver_failed"), (_Status.TIMEOUT, "timeout")]
)
def test_a_failed_plan_falls_back_to_idle(outcome, status):
    ctrl = OracleController(_Case([outcome]), DAY, time_limit_s=5.0)
    ctrl.reset(None, _info(0, idle_action=[-1.0]))
    assert ctrl.status == status and ctrl.fallback and ctrl.plan is None
    assert "oracle: solve at step 0 ended" in ctrl.status_message
    assert ctrl.act(None, _info(4)).tolist() == [-1.0]


def test_mpc_replans_every_step_on_the_forecast_issued_then():
    case = _Case([])
    ctrl = MpcController(case, DAY, time_limit_s=1.0)
    ctrl.reset(None, _info(0, x=2))
    assert ctrl.act(None, _info(0)).tolist() == [0.0]  # planned in reset, not again
    assert len(case.form.calls) == 1
    assert case.form.calls[0]["measured"] == 2 and case.form.calls[0]["start"] == 2
    assert ctrl.act(None, _info(5, x=3)).tolist() == [50.0]
    call = case.form.calls[-1]
    assert call["t0"] == 5 and call["measured"] == 3 and call["start"] == 2
    assert call["data"] == {"day": DAY, "info": "forecast", "issue_step": 5}
    assert call["solve"] == {"time_limit_s": 1.0, "dpp": True, "warm_start": True}
    assert ctrl.act(None, _info(24)).tolist() == [0.0]  # past the day: idle


def test_mpc_idles_for_the_rest_of_the_day_after_a_failure():
    case = _Case([_Status.OK, _Status.FAILED])
    ctrl = MpcController(case, DAY, time_limit_s=1.0)
    ctrl.reset(None, _info(0, idle_action=[-1.0]))
    assert ctrl.act(None, _info(1)).tolist() == [-1.0]
    assert ctrl.status == "solver_failed"
    assert ctrl.act(None, _info(2)).tolist() == [-1.0]
    assert len(case.form.calls) == 2  # no further solves


def test_day_ahead_forecast_is_issued_at_noon_the_day_before():
    data = day_ahead_forecast(_Case([]), DAY)
    assert data == {"day": DAY, "info": "forecast", "issue_step": 0, "lead_h": DAY_AHEAD_LEAD_H}
    assert DAY_AHEAD_LEAD_H == 12.0


def test_check_planning_case_names_the_case():
    class NoData:
        id = "ses-carbon-x-v0"

    with pytest.raises(ValueError, match="'ses-carbon-x-v0' has the SES-carbon id prefix"):
        check_planning_case(NoData(), "ses-carbon-", "SES-carbon")
    check_planning_case(_Case([]), "fake-", "fake")


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
