"""The ``idle`` baseline: every storage and generator off, i.e. every setpoint 0, projected.

It needs no model of the case: the referee's reset ``info`` carries ``idle_action``, the
setpoints that leave every device idle (0 projected onto the action box; the nearest bound
where 0 is infeasible, e.g. ``P_min`` of a must-run unit — a projection rather than the box
midpoint, so that "idle" stays as close to "off" as the limits allow). The controller replays
it every step, so ``idle`` works on every case, single- or multi-agent, one or two layers (in
the parallel environment each agent's reset ``info`` holds its own slice).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.contracts import Budget, Case, MethodFamily
from gridbench.cases.registry import register_method

__all__ = ["Idle", "IdleController"]


class IdleController:
    """Plays the environment's ``idle_action`` every step (dicts of them for a parallel env)."""

    def __init__(self) -> None:
        self._action: NDArray[np.float32] | dict[str, NDArray[np.float32]] | None = None

    def reset(self, obs: Any, info: Mapping[str, Any]) -> None:
        if "idle_action" in info:
            self._action = np.asarray(info["idle_action"], dtype=np.float32).copy()
            return
        try:
            self._action = {
                agent: np.asarray(agent_info["idle_action"], dtype=np.float32).copy()
                for agent, agent_info in info.items()
            }
        except (KeyError, TypeError):
            raise ValueError(
                "reset info has no 'idle_action' (expected a referee env's reset info, or a "
                f"dict of them keyed by agent); got keys {sorted(map(str, info))}"
            ) from None

    def act(self, obs: Any, info: Mapping[str, Any]) -> Any:
        if self._action is None:
            raise RuntimeError("IdleController.act() called before reset()")
        if isinstance(self._action, dict):
            return {agent: a.copy() for agent, a in self._action.items()}
        return self._action.copy()


@register_method
class Idle:
    """Do-nothing baseline (family ``baseline``): supports every case, fits nothing."""

    name: ClassVar[str] = "idle"
    family: ClassVar[MethodFamily] = MethodFamily.BASELINE

    def supports(self, case: Case) -> bool:
        return True

    def fit(self, case: Case, seed: int, budget: Budget) -> None:
        return None

    def controller(self, case: Case, day: datetime.date) -> IdleController:
        return IdleController()
