"""The calendar every series shares: the 366 days of 2016 and the two step resolutions.

All time series of :mod:`gridbench.cases.data` are indexed by a day of 2016 (the SimBench
profile year, a leap year: 366 days, 96 quarter-hours each, no daylight-saving gaps) and a
resolution: ``"15min"`` (96 steps of 0.25 h) or ``"1h"`` (24 steps of 1 h, each the mean of
its four quarter-hours).
"""

from __future__ import annotations

import datetime
from typing import Literal

__all__ = [
    "DAYS_2016",
    "PROFILE_YEAR",
    "RESOLUTIONS",
    "Resolution",
    "day_index",
    "step_hours",
    "steps_per_day",
]

#: The year of every series (SimBench's profile year).
PROFILE_YEAR = 2016

#: The 366 days of 2016 in calendar order; ``DAYS_2016[day_index(d)] == d``.
DAYS_2016: tuple[datetime.date, ...] = tuple(
    datetime.date(PROFILE_YEAR, 1, 1) + datetime.timedelta(days=k) for k in range(366)
)

Resolution = Literal["15min", "1h"]
#: Valid resolutions and their step length in hours.
RESOLUTIONS: dict[str, float] = {"15min": 0.25, "1h": 1.0}


def day_index(day: datetime.date) -> int:
    """Position of ``day`` in 2016: 0 for 1 January to 365 for 31 December.

    A ``datetime.datetime`` counts as its date. Raises ``ValueError`` for any day outside
    2016 (the only year the series cover).
    """
    if not isinstance(day, datetime.date):
        raise ValueError(f"day must be a datetime.date in {PROFILE_YEAR}, got {day!r}")
    if isinstance(day, datetime.datetime):
        day = day.date()
    if day.year != PROFILE_YEAR:
        raise ValueError(
            f"day {day.isoformat()} is outside the profile year: valid days are "
            f"{DAYS_2016[0].isoformat()} to {DAYS_2016[-1].isoformat()}"
        )
    return (day - DAYS_2016[0]).days


def step_hours(resolution: str) -> float:
    """Step length in hours of a resolution (``"15min"`` → 0.25, ``"1h"`` → 1.0)."""
    try:
        return RESOLUTIONS[resolution]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown resolution {resolution!r}; valid: {', '.join(map(repr, RESOLUTIONS))}"
        ) from None


def steps_per_day(resolution: str) -> int:
    """Number of steps in a day at ``resolution`` (96 or 24)."""
    return round(24.0 / step_hours(resolution))
