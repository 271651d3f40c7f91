"""Gymnasium ids for the registered cases: ``gymnasium.make("gridbench/<case-id>", ...)``.

Every :func:`~gridbench.cases.registry.register_case` (built-in or plugin) also registers the
Gymnasium id ``gridbench/<case-id>`` with the lazy entry point :func:`make_case_env`, which
looks the case up in gridbench's registry when the environment is made: the two registries
never diverge (an id whose case is gone fails with gridbench's one-line error). ``import
gridbench`` registers the built-in cases and the installed case plugins.

``gymnasium.make("gridbench/ses-carbon-ieee33-v0", day="test:0")`` keyword arguments:

* ``day``: the day of every episode, an ISO date or ``SPLIT:K`` (``test:0``);
* ``split``: without ``day``, each ``reset`` draws a day of this split (``train``, ``val`` or
  ``test``; seeded by ``reset(seed=…)``); neither: the case's ``train`` days, as RL training
  uses;
* ``seed``: the seed of the first ``reset()`` called without one (forecast noise, day draws).

``reset(options={"day": ...})`` picks a day for one episode, as on every referee.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any, Final

import gymnasium
import numpy as np

__all__ = ["GYM_NAMESPACE", "SplitDays", "gym_id", "make_case_env", "register_gym_env"]

#: Namespace of gridbench's Gymnasium ids.
GYM_NAMESPACE: Final[str] = "gridbench"


def gym_id(case_id: str) -> str:
    """The Gymnasium id of ``case_id``: ``gridbench/<case-id>``."""
    return f"{GYM_NAMESPACE}/{case_id}"


def register_gym_env(case_id: str) -> None:
    """Register ``gridbench/<case_id>`` with Gymnasium (once; the entry point is lazy)."""
    env_id = gym_id(case_id)
    if env_id in gymnasium.registry:
        return
    gymnasium.register(
        id=env_id,
        entry_point="gridbench.cases.gym_envs:make_case_env",
        kwargs={"case_id": case_id},
    )


class SplitDays(gymnasium.Wrapper):
    """Each ``reset`` without ``options={"day": …}`` plays a day drawn from ``days`` (uniform,
    from a generator seeded by ``seed`` and re-seeded by ``reset(seed=…)``)."""

    def __init__(self, env: gymnasium.Env, days: Sequence[datetime.date], seed: int = 0) -> None:
        if not days:
            raise ValueError("SplitDays needs at least one day")
        super().__init__(env)
        self.days = tuple(days)
        self._rng = np.random.default_rng(seed)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        options = dict(options or {})
        if options.get("day") is None:
            options["day"] = self.days[int(self._rng.integers(len(self.days)))]
        return self.env.reset(seed=seed, options=options)


def make_case_env(
    case_id: str,
    day: datetime.date | str | None = None,
    split: str | None = None,
    seed: int = 0,
) -> gymnasium.Env:
    """The case's single-agent referee (what ``gymnasium.make("gridbench/<case-id>")`` and
    ``gridbench.make_env`` return); see the module docstring for the arguments."""
    from gridbench.cases.contracts import Split, parse_day
    from gridbench.cases.registry import make_case

    case = make_case(case_id)
    if day is not None and split is not None:
        raise ValueError(f"give day ({day!r}) or split ({split!r}), not both")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed {seed!r} is not valid; valid: an int >= 0")
    if day is not None:
        return case.make_env(day=parse_day(day, case), seed=int(seed))
    env = case.make_env(day=None, seed=int(seed))
    if split is not None:
        env = SplitDays(env, case.days(Split.parse(split)), seed=int(seed))
    return env
