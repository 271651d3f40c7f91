"""The ``default-operation`` baseline: the case's default operation, as the referee reports it.

A case whose devices have no idle output to fall back on reports, for the step about to be
played, the setpoints of its default (non-optimizing) operation: ``info["next_default_action"]``
(``DispatchCore.default_setpoints``). On SGLS that is a load-following rule: day-ahead the
thermal units follow the forecast net load pro rata to capacity (the cooperative game's default
of the ``generation`` player) and storage and flexible loads idle; intraday the plan is executed,
the units taking up the nowcast's deviation from the day-ahead forecast. It is also the 0 of
the learned agents that centre their actions on it (``env.action_centre = "default"``), so the
leaderboard shows what they start from. ``idle`` stays the do-nothing baseline (on IEEE 30 it
leaves the units off and buys the load upstream).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.contracts import Budget, Case, MethodFamily
from gridbench.cases.kpi import DEFAULT_ACTION_KEY
from gridbench.cases.registry import register_method

__all__ = ["DefaultOperation", "DefaultOperationController"]

#: Whether a case id's referee reports a default operation (one env reset per id and process).
_REPORTS_DEFAULT: dict[str, bool] = {}


class DefaultOperationController:
    """Plays the ``info["next_default_action"]`` of the reset, then of each step's info."""

    def reset(self, obs: Any, info: Mapping[str, Any]) -> None:
        if info.get(DEFAULT_ACTION_KEY) is None:
            raise ValueError(
                f"reset info has no {DEFAULT_ACTION_KEY!r}: this case reports no default "
                "operation (use the 'idle' baseline)"
            )

    def act(self, obs: Any, info: Mapping[str, Any]) -> NDArray[np.float64]:
        value = info.get(DEFAULT_ACTION_KEY)
        if value is None:
            raise ValueError(f"info has no {DEFAULT_ACTION_KEY!r} for the step to be played")
        return np.array(value, dtype=np.float64)  # as reported: float32 would move it


@register_method
class DefaultOperation:
    """Default-operation baseline (family ``baseline``): the cases whose referee reports a
    default operation (``info["next_default_action"]`` at reset), fits nothing."""

    name: ClassVar[str] = "default-operation"
    family: ClassVar[MethodFamily] = MethodFamily.BASELINE

    def supports(self, case: Case) -> bool:
        if getattr(case, "multi_agent_only", False):
            return False
        known = _REPORTS_DEFAULT.get(case.id)
        if known is None:
            env = case.make_env(day=case.days("val")[0], seed=0)
            try:
                known = env.reset(seed=0)[1].get(DEFAULT_ACTION_KEY) is not None
            finally:
                env.close()
            _REPORTS_DEFAULT[case.id] = known
        return known

    def fit(self, case: Case, seed: int, budget: Budget) -> None:
        return None

    def controller(self, case: Case, day: datetime.date) -> DefaultOperationController:
        return DefaultOperationController()
