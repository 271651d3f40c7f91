"""The single-agent front-end: :class:`RefereeEnv`, a ``gymnasium.Env`` over a
:class:`~gridbench.cases.referee.DispatchCore` (one controller for all devices)."""

from __future__ import annotations

import datetime
from typing import Any

import gymnasium
import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridbench.cases.referee.boxes import float32_box
from gridbench.cases.referee.core import DispatchCore
from gridbench.cases.referee.episode import DaySampler, coerce_day, episode_rng, resolve_day
from gridbench.cases.referee.errors import RefereeError
from gridbench.cases.referee.timeline import Timeline

__all__ = ["RefereeEnv"]


class RefereeEnv(gymnasium.Env[NDArray[np.float32], NDArray[np.float32]]):
    """Single-agent Gymnasium front-end over a :class:`DispatchCore`.

    Args:
        core: the case's physics core.
        day: fixed day of every episode unless ``reset(options={"day": …})`` says otherwise.
        day_sampler: draws the day when neither is given (the case's ``train`` days).
        seed: seed of the first ``reset()`` called without one.

    ``reset(seed=None, options={"day": date | "YYYY-MM-DD"})``; other option keys are ignored
    (Gymnasium's and PettingZoo's checkers pass arbitrary ones); ``info["day"]`` always says
    which day ran. Spaces: ``action_space`` = the core's union box (``float32``, physical
    units, see the module docstring); ``observation_space`` = the core's bounds plus, for a
    multi-layer timeline, a one-hot of the current layer.
    """

    metadata: dict[str, Any] = {"render_modes": [], "name": "gridbench-referee"}  # noqa: RUF012

    def __init__(
        self,
        core: DispatchCore,
        *,
        day: datetime.date | str | None = None,
        day_sampler: DaySampler | None = None,
        seed: int | None = None,
    ) -> None:
        if not isinstance(core, DispatchCore):
            raise RefereeError(f"core must be a DispatchCore, got {type(core).__name__}")
        self.core = core
        self._day = None if day is None else coerce_day(day)
        self._day_sampler = day_sampler
        self._first_seed = seed
        low, high = core.union_action_bounds()
        self.action_space = float32_box(low, high)
        olo, ohi = core.timeline.with_layer_one_hot_bounds(*core.observation_box())
        self.observation_space = float32_box(olo, ohi)

    @property
    def timeline(self) -> Timeline:
        return self.core.timeline

    def idle_action(self) -> NDArray[np.float32]:
        """The setpoints leaving every device idle (0 projected onto the action box)."""
        return self.core.idle_action().astype(np.float32)

    def _observe(self) -> NDArray[np.float32]:
        obs = np.array(self.core.observe(), dtype=np.float32).reshape(-1)  # a fresh copy
        return self.core.timeline.with_layer_one_hot(obs, self.core.position)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        if seed is None and self._first_seed is not None:
            seed = self._first_seed
        self._first_seed = None
        super().reset(seed=seed)
        day = resolve_day(options, self._day, self._day_sampler, self.np_random)
        self.core.reset(day, episode_rng(self.np_random))
        return self._observe(), self.core.reset_info()

    def step(
        self, action: ArrayLike
    ) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        record = self.core.step(action)
        return (
            self._observe(),
            record.reward,
            bool(record.done),
            False,
            self.core.step_info(record),
        )

    def render(self) -> None:
        """No rendering (``render_modes`` is empty); use ``gridbench schedule`` for plots."""
        return None
