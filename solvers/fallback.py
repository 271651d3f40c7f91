"""What every planning controller shares: the step index and the fall-back-to-idle contract.

A planning controller (``oracle``, ``day-ahead``, ``mpc``, ``rule`` of a case) must never crash
the harness: when a solve ends infeasible, fails or times out, it logs one warning line,
plays the environment's idle setpoints for the rest of the day, and says so the way the
harness reads it (``controller.status``: ``"pending"`` before ``reset``, then ``"ok"``, or
``"solver_failed"`` / ``"timeout"`` once it fell back, with ``status_message``).
:class:`FallbackController` holds that state; a case's controllers subclass it.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.contracts import Case, PlanningCase, SolveOutcome

__all__ = ["FallbackController", "current_step"]

logger = logging.getLogger("gridbench.solvers")


def current_step(obs: Any, info: Mapping[str, Any], steps_per_day: int = 24) -> int:
    """Index of the step about to be dispatched: the referee's ``info["next_step"]`` (reset
    and step ``info`` carry it; ``steps_per_day`` once the day is over); without it (a
    caller's own ``info``) the observation's day fraction (entry 0) times ``steps_per_day``."""
    if "next_step" in info:  # None after the day's last step
        step = info["next_step"]
        return steps_per_day if step is None else int(step)
    return round(float(np.asarray(obs).reshape(-1)[0]) * steps_per_day)


class FallbackController:
    """Status, solve history and the idle fallback of a planning controller."""

    method: ClassVar[str] = "?"

    def __init__(self, case: Case, day: datetime.date, n_setpoints: int | None = None) -> None:
        if n_setpoints is None:
            n_setpoints = self.n_setpoints(case)
        self.case = case
        self.day = day
        self.config: Any = case.config
        #: The harness's row status (module docstring).
        self.status: str = "pending"
        #: One line on the fallback (empty while ``status == "ok"``).
        self.status_message: str = ""
        #: Status of the last solve (``None`` before the first).
        self.solve_status: Any = None
        #: True once the controller plays the idle setpoints (a solve failed).
        self.fallback: bool = False
        #: Every solve of the day, in order.
        self.results: list[Any] = []
        #: Set by the decision-time condition (``planner_time_limit_s``): a solve that hits
        #: the time limit is what a deployed controller lives with, not a failure: the
        #: controller keeps its last plan (idle where it has none) and the day stays ``ok``.
        self.tolerate_timeouts: bool = False
        #: Solves of the day that hit the time limit while tolerated.
        self.timeouts: int = 0
        self._idle: NDArray[np.float32] = np.zeros(n_setpoints, dtype=np.float32)

    @staticmethod
    def n_setpoints(case: Case) -> int:
        """Setpoints of ``case``'s action (the idle action's size until ``reset`` shows the
        environment's): the length of its :class:`~gridbench.cases.contracts.ActionLayout`,
        else ``config.action_dim``."""
        if isinstance(case, PlanningCase):
            return len(case.action_layout())
        return int(case.config.action_dim)

    def _reset_common(self, info: Mapping[str, Any]) -> None:
        self.status, self.status_message, self.solve_status = "ok", "", None
        self.fallback, self.results, self.timeouts = False, [], 0
        if "idle_action" in info:
            self._idle = np.asarray(info["idle_action"], dtype=np.float32).copy()

    def _record(self, result: SolveOutcome, step: int) -> bool:
        """Record ``result``; on failure log one line and switch to idle. True if usable. A
        tolerated timeout (:attr:`tolerate_timeouts`) is counted and said in the day's
        message; the caller keeps its last plan."""
        self.results.append(result)
        self.solve_status = result.status
        if result.ok:
            return True
        timeout = str(getattr(result.status, "value", result.status)) == "timeout"
        if timeout and self.tolerate_timeouts:
            self.timeouts += 1
            self.status_message = (
                f"{self.method}: {self.timeouts} solve(s) hit the {self.time_limit_text} limit; "
                "the last plan (idle where none) played instead"
            )
            return False
        self.fallback = True
        self.status = "timeout" if timeout else "solver_failed"
        self.status_message = (
            f"{self.method}: solve at step {step} ended {result.status.value} after "
            f"{result.solve_time_s:.3f} s ({result.message}); idle for the rest of the day"
        )
        logger.warning("%s on %s: %s", getattr(self.case, "id", "?"), self.day, self.status_message)
        return False

    @property
    def time_limit_text(self) -> str:
        limit = getattr(self, "time_limit_s", None)
        return "solver time" if limit is None else f"{limit:g} s"

    def idle_action(self) -> NDArray[np.float32]:
        return self._idle.copy()
