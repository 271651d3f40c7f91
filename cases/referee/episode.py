"""What starts an episode: its day (:func:`coerce_day`, a :data:`DaySampler` or the
``reset`` options) and the core's generator (:func:`episode_rng`)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gridbench.cases.referee.errors import DayError

__all__ = ["DaySampler", "coerce_day", "episode_rng", "resolve_day"]

#: Picks the day of an episode when none is given: ``sampler(rng) -> date`` (the case passes
#: one drawing from its ``train`` split, using the environment's seeded generator).
DaySampler = Callable[[np.random.Generator], datetime.date]


def coerce_day(day: object) -> datetime.date:
    """A ``datetime.date`` from a date, a datetime (its date) or an ISO ``YYYY-MM-DD`` string."""
    if isinstance(day, datetime.datetime):
        return day.date()
    if isinstance(day, datetime.date):
        return day
    if isinstance(day, str):
        try:
            return datetime.date.fromisoformat(day)
        except ValueError:
            pass
    raise DayError(f"day must be a datetime.date or an ISO date 'YYYY-MM-DD', got {day!r}")


def resolve_day(
    options: Mapping[str, Any] | None,
    fixed: datetime.date | None,
    sampler: DaySampler | None,
    rng: np.random.Generator,
) -> datetime.date:
    """The day of an episode: ``options["day"]``, else the front-end's fixed day, else one
    drawn by ``sampler`` from ``rng``; a :class:`DayError` when none is available."""
    requested = (options or {}).get("day")
    if requested is not None:
        return coerce_day(requested)
    if fixed is not None:
        return fixed
    if sampler is None:
        raise DayError(
            "no day given: pass options={'day': date} to reset(), a day to the constructor, "
            "or a day_sampler"
        )
    return coerce_day(sampler(rng))


def episode_rng(rng: np.random.Generator) -> np.random.Generator:
    """The core's generator for one episode, drawn from the front-end's seeded generator."""
    return np.random.default_rng(int(rng.integers(0, 2**63 - 1)))
