"""The training env's side of the step-box action maps ``feasible`` and ``penalty_free``
(:mod:`.agent_view`): the agent's [-1, 1] onto the step's feasible (penalty-free) box the
referee reports in ``info``, with 0 at its neutral point (the idle action, or the box's middle
for ramp-limited generators). The controller applies the same
:func:`~.agent_view.feasible_action` to the harness's ``info``, so training and evaluation
execute the same setpoints."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from gridbench.rl_agents.agent_view import agent_action_map, unit_bounds

__all__ = ["FeasibleBoxAction"]


class FeasibleBoxAction(gymnasium.Wrapper[Any, Any, Any, Any]):
    """Actions in [-1, 1], executed as :func:`~.agent_view.feasible_action` of the box ``box``
    (``feasible`` or ``penalty_free``) in the last ``info`` (the reset's, then each step's):
    what the agent sends is never projected (nor, with ``penalty_free``, penalized by a soft
    limit); ``ramp`` (:data:`~.agent_view.RAMP_ACTIONS`) says how ramp-limited generators
    map, ``centre`` (:data:`~.agent_view.ACTION_CENTRES`) what the agent's 0 is."""

    def __init__(
        self,
        env: gymnasium.Env[Any, Any],
        idle: NDArray[Any],
        middle: NDArray[np.bool_] | None = None,
        box: str = "feasible",
        ramp: str = "relative",
        centre: str = "idle",
    ) -> None:
        super().__init__(env)
        physical = env.action_space
        if not isinstance(physical, spaces.Box):
            raise TypeError(f"FeasibleBoxAction needs a Box action space, got {physical}")
        self.action_space = spaces.Box(*unit_bounds(physical), dtype=physical.dtype)
        self._to_mw = agent_action_map(box, physical, np.asarray(idle), middle, ramp, centre)
        self._info: dict[str, Any] | None = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._info = info
        return obs, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(self._to_mw(action, self._info))
        self._info = info
        return obs, reward, terminated, truncated, info
