"""Time-of-use electricity tariffs: named daily windows with a price each, in $/MWh.

A :class:`TimeOfUseTariff` is a set of named windows (``peak``, ``flat``, ``valley``, ...),
each a union of hour ranges ``[start, end)`` on the clock (hours 0–24, multiples of 0.25 h),
that together cover the 24 hours of a day exactly once. The same tariff applies to every day
(no weekend or seasonal variants).

Presets (:data:`TOU_PRESETS`, looked up by :func:`tou_tariff`):

``"cn-3level"`` — three-level Chinese provincial tariff, used by the SES-carbon case
    (Zhong et al., Processes 12 (2024) 1791, whose authors are from Guangdong Power Grid
    and who quote "a one-day time-of-day tariff in a region" without the numbers). Windows
    of Guangdong's TOU rule (Guangdong DRC, 2021): valley 0–8 h; flat 8–10, 12–14 and
    19–24 h; peak 10–12 and 14–19 h. Prices keep Guangdong's ratio peak : flat : valley =
    1.7 : 1 : 0.38 around a flat price of 90 $/MWh (≈ 0.65 CNY/kWh, a 1–10 kV commercial and
    industrial energy price, at ≈ 7.2 CNY/$): 153, 90 and 34.2 $/MWh. The paper's Figure 9
    shows the storage charging at 0–7 h and 12–13 h and discharging at 9–11 h and 14–23 h,
    consistent with these windows.
``"peak-valley-6-20"`` — two-level tariff of the loss-arbitrage case (the DRL storage
    scheduling article on IEEE 33: "6:00 to 20:00 as peak hours, with off-peak hours
    otherwise", no prices given): peak 6–20 h at 120 $/MWh, valley 20–6 h at 40 $/MWh.
    The 3 : 1 ratio is the minimum peak–valley spread China's NDRC asks of provincial TOU
    tariffs (NDRC price notice [2021] 1093), wide enough for storage with a round-trip
    efficiency above 1/3 to earn from arbitrage; the time-weighted mean (86.7 $/MWh) is
    close to the flat level of ``"cn-3level"``.
"""

from __future__ import annotations

import math
from typing import Self

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

__all__ = [
    "CN_THREE_LEVEL_TOU",
    "PEAK_VALLEY_6_20_TOU",
    "TOU_PRESETS",
    "TimeOfUseTariff",
    "TouWindow",
    "tou_tariff",
]

_QUARTER = 0.25


def _is_multiple(value: float, step: float) -> bool:
    ratio = value / step
    return math.isclose(ratio, round(ratio), abs_tol=1e-9)


class TouWindow(BaseModel):
    """One named window of a tariff: its price and the hour ranges ``[start, end)`` it covers.

    ``hours`` are clock hours, ``0 <= start < end <= 24``, multiples of 0.25 h;
    ``price_usd_per_mwh`` is the energy price in $/MWh during the window.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    price_usd_per_mwh: float
    hours: tuple[tuple[float, float], ...]

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not math.isfinite(self.price_usd_per_mwh):
            raise ValueError(f"window {self.name!r}: price {self.price_usd_per_mwh} $/MWh is "
                             "not finite")
        if not self.hours:
            raise ValueError(f"window {self.name!r} has no hour range")
        for start, end in self.hours:
            if not (0.0 <= start < end <= 24.0):
                raise ValueError(f"window {self.name!r}: hour range ({start}, {end}) must "
                                 "satisfy 0 <= start < end <= 24")
            if not (_is_multiple(start, _QUARTER) and _is_multiple(end, _QUARTER)):
                raise ValueError(f"window {self.name!r}: hour range ({start}, {end}) must "
                                 "start and end on a quarter-hour (multiples of 0.25 h)")
        return self


class TimeOfUseTariff(BaseModel):
    """A daily time-of-use tariff: named windows covering 0–24 h exactly once.

    Validation rejects overlapping windows, gaps in the day and duplicate window names.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    windows: tuple[TouWindow, ...]

    @model_validator(mode="after")
    def _check(self) -> Self:
        names = [w.name for w in self.windows]
        if len(set(names)) != len(names):
            raise ValueError(f"tariff {self.name!r}: window names must be unique, got {names}")
        ranges = sorted((s, e, w.name) for w in self.windows for s, e in w.hours)
        cursor = 0.0
        for start, end, window in ranges:
            if start < cursor - 1e-9:
                raise ValueError(f"tariff {self.name!r}: window {window!r} ({start}, {end}) "
                                 f"overlaps another window before hour {cursor}")
            if start > cursor + 1e-9:
                raise ValueError(f"tariff {self.name!r}: hours {cursor}–{start} are in no "
                                 "window; the windows must cover 0–24 h")
            cursor = end
        if cursor < 24.0 - 1e-9:
            raise ValueError(f"tariff {self.name!r}: hours {cursor}–24 are in no window; "
                             "the windows must cover 0–24 h")
        return self

    @property
    def window_names(self) -> tuple[str, ...]:
        return tuple(w.name for w in self.windows)

    def window_of(self, hour: float) -> str:
        """Name of the window containing clock hour ``hour`` (0 <= hour < 24)."""
        if not (0.0 <= hour < 24.0):
            raise ValueError(f"hour {hour} is outside the day; valid: 0 <= hour < 24")
        for window in self.windows:
            if any(start <= hour < end for start, end in window.hours):
                return window.name
        raise AssertionError("unreachable: validated windows cover the day")  # pragma: no cover

    def price(self, step_hours: float = 1.0) -> np.ndarray:
        """Price of every step of a day, $/MWh, shape ``(24 / step_hours,)``.

        Step ``t`` covers ``[t·step_hours, (t+1)·step_hours)`` and takes the price of its
        window; every window boundary must fall on a step boundary (e.g. 1.0 or 0.25 h).
        """
        if not (step_hours > 0 and _is_multiple(24.0, step_hours)):
            raise ValueError(f"step_hours {step_hours} must be positive and divide 24 h "
                             "(e.g. 1.0 or 0.25)")
        for window in self.windows:
            for start, end in window.hours:
                for edge in (start, end):
                    if not _is_multiple(edge, step_hours):
                        raise ValueError(
                            f"tariff {self.name!r}: window {window.name!r} boundary {edge} h "
                            f"is not on a {step_hours} h step; use a step dividing it"
                        )
        n_steps = round(24.0 / step_hours)
        by_name = {w.name: w.price_usd_per_mwh for w in self.windows}
        return np.array([by_name[self.window_of(t * step_hours)] for t in range(n_steps)])


CN_THREE_LEVEL_TOU = TimeOfUseTariff(
    name="cn-3level",
    windows=(
        TouWindow(name="peak", price_usd_per_mwh=153.0, hours=((10, 12), (14, 19))),
        TouWindow(name="flat", price_usd_per_mwh=90.0, hours=((8, 10), (12, 14), (19, 24))),
        TouWindow(name="valley", price_usd_per_mwh=34.2, hours=((0, 8),)),
    ),
)
PEAK_VALLEY_6_20_TOU = TimeOfUseTariff(
    name="peak-valley-6-20",
    windows=(
        TouWindow(name="peak", price_usd_per_mwh=120.0, hours=((6, 20),)),
        TouWindow(name="valley", price_usd_per_mwh=40.0, hours=((0, 6), (20, 24))),
    ),
)
#: The tariffs cases use, by name (details in the module docstring).
TOU_PRESETS: dict[str, TimeOfUseTariff] = {
    t.name: t for t in (CN_THREE_LEVEL_TOU, PEAK_VALLEY_6_20_TOU)
}


def tou_tariff(name: str) -> TimeOfUseTariff:
    """The preset tariff called ``name`` (``"cn-3level"`` or ``"peak-valley-6-20"``)."""
    try:
        return TOU_PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown tariff {name!r}; valid: {', '.join(TOU_PRESETS)}"
        ) from None
