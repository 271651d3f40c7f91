"""Yearly 2016 load, PV and wind profiles from SimBench, per day at 15-min or hourly steps.

Source: the ``simbench`` package 1.6.3, ``networks/1-complete_data-mixed-all-0-sw/``
``LoadProfile.csv`` (column ``<type>_pload``) and ``RESProfile.csv`` (columns ``PV1``–``PV8``,
``WP1``–``WP12``): 15-min values for the 366 days of 2016. Hourly values are the mean of the
four quarter-hours of each hour (energy-preserving), computed from the same 15-min values.

Bus loads (:func:`bus_loads`)
    Every bus of a grid gets one SimBench load-profile type by the grid's rule
    (:func:`load_profile_types`). The bus's active load is
    ``p(t) = P_nom · profile(t) / max_2016(profile)``: the published nominal load (Baran–Wu
    for IEEE 33, MATPOWER for IEEE 30) becomes the profile's 15-min peak of 2016. The
    reactive load is ``q(t) = Q_nom · profile(t) / max_2016(profile)``, so each bus keeps its
    nominal power factor (SimBench's ``_qload`` columns are not used). Only aggregate
    profiles are used — the nominal loads are 45 kW to 30 MW, tens to thousands of
    customers, for which single-customer profiles such as ``H0-A`` (load factor 0.14) would
    be far too spiky.

    ``ieee33`` — the rule follows the feeder's branches (bus numbers from 1 at the substation):

    ========================  ===========================  ====================================
    buses                     profile                      reason
    ========================  ===========================  ====================================
    2–18 (main trunk)         ``lv_rural1`` (even k),      residential: aggregate LV grids,
                              ``lv_semiurb5`` (odd k)      evening (18–20 h) / day peaks
    19–22 (lateral at 2)      ``lv_rural1``                rural residential lateral
    23–25 (lateral at 3)      ``G3-H``                     industrial: the 420 kW blocks at
                                                           24, 25; round-the-clock trade,
                                                           load factor 0.73
    26–33 (lateral at 6)      ``G0-M``                     commercial: general trade, weekday
                                                           8–18 h, flat weekend
    1 (substation), others    ``lv_rural1``                no load there (P_nom = 0)
    ========================  ===========================  ====================================

    ``feeder38`` — IEEE 33 plus five load-free DER nodes 34–38: the ``ieee33`` rule.

    ``ieee30`` — a transmission-like grid whose 20 load buses (2.2–30 MW) are whole
    distribution areas, so they take SimBench's HV/MV aggregate profiles in turn by bus
    number ``k``: ``HV_AREA_PROFILES[k % 5]`` with ``HV_AREA_PROFILES = (hv_mixed1,
    hv_urban, mv_comm, mv_semiurb, mv_rural)``.

PV and wind (:func:`pv_per_unit`, :func:`wind_per_unit`)
    Output per unit of installed capacity (0–1). SimBench's ``PV*`` and ``WP*`` profiles
    already are per unit of installed capacity and at most 1, so they are used unscaled
    (``PV3`` peaks at 0.616 in 2016: a module field rarely delivers its nameplate at the AC
    side); tiny negative wind values (−1e-5, standby consumption) are clipped to 0.
    ``peak_normalized=True`` divides by the 2016 maximum instead, for cases whose paper
    states a plant's output peak rather than its capacity.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from functools import cache
from typing import Protocol

import numpy as np

from . import _simbench
from .timeline import DAYS_2016, Resolution, day_index, step_hours

__all__ = [
    "DAYS_2016",
    "HV_AREA_PROFILES",
    "IEEE33_PROFILES",
    "LOAD_PROFILE_GRIDS",
    "PV_PROFILES",
    "WIND_PROFILES",
    "GridLoadData",
    "bus_loads",
    "day_index",
    "load_per_unit",
    "load_profile_types",
    "pv_per_unit",
    "wind_per_unit",
    "yearly_load_per_unit",
]

#: SimBench load types used on IEEE 33 / feeder38 by role (see the module docstring).
IEEE33_PROFILES: dict[str, str] = {
    "residential_rural": "lv_rural1",
    "residential_semiurban": "lv_semiurb5",
    "industrial": "G3-H",
    "commercial": "G0-M",
}
#: HV/MV aggregate load types cycled over the buses of IEEE 30 (bus k takes ``[k % 5]``).
HV_AREA_PROFILES: tuple[str, ...] = ("hv_mixed1", "hv_urban", "mv_comm", "mv_semiurb",
                                     "mv_rural")
#: SimBench PV and wind generation profiles (columns of ``RESProfile.csv``).
PV_PROFILES: tuple[str, ...] = tuple(f"PV{k}" for k in range(1, 9))
WIND_PROFILES: tuple[str, ...] = tuple(f"WP{k}" for k in range(1, 13))


class GridLoadData(Protocol):
    """What :func:`bus_loads` needs of a grid (e.g. :class:`gridbench.cases.grid.RadialFeeder`).

    ``load_p_mw``/``load_q_mvar`` are the nominal loads per bus (MW / Mvar, length
    ``n_bus``, index 0 = bus 1 = the substation or slack).
    """

    @property
    def name(self) -> str: ...
    @property
    def n_bus(self) -> int: ...
    @property
    def load_p_mw(self) -> np.ndarray: ...
    @property
    def load_q_mvar(self) -> np.ndarray: ...


def _ieee33_profile(bus: int) -> str:
    """Profile type of paper bus number ``bus`` (1 = substation) on IEEE 33 / feeder38."""
    if 19 <= bus <= 22:
        return IEEE33_PROFILES["residential_rural"]
    if 23 <= bus <= 25:
        return IEEE33_PROFILES["industrial"]
    if 26 <= bus <= 33:
        return IEEE33_PROFILES["commercial"]
    if 2 <= bus <= 18 and bus % 2 == 1:
        return IEEE33_PROFILES["residential_semiurban"]
    return IEEE33_PROFILES["residential_rural"]


def _ieee30_profile(bus: int) -> str:
    return HV_AREA_PROFILES[bus % len(HV_AREA_PROFILES)]


_RULES: dict[str, Callable[[int], str]] = {
    "ieee33": _ieee33_profile,
    "feeder38": _ieee33_profile,
    "ieee30": _ieee30_profile,
}
#: Grids with a load-profile rule.
LOAD_PROFILE_GRIDS: tuple[str, ...] = tuple(_RULES)


def load_profile_types(grid_name: str, n_bus: int) -> tuple[str, ...]:
    """SimBench load-profile type of each bus (index 0 = bus 1) of grid ``grid_name``."""
    try:
        rule = _RULES[grid_name]
    except KeyError:
        raise ValueError(
            f"no load-profile rule for grid {grid_name!r}; valid: {', '.join(LOAD_PROFILE_GRIDS)}"
        ) from None
    if n_bus < 1:
        raise ValueError(f"n_bus must be at least 1, got {n_bus}")
    return tuple(rule(index + 1) for index in range(n_bus))


def _day_slice(year: np.ndarray, day: datetime.date, resolution: Resolution) -> np.ndarray:
    """One day of a 15-min yearly series at ``resolution`` (hourly = mean of quarter-hours)."""
    step_hours(resolution)  # validates the resolution
    k = day_index(day)
    quarter_hours = year[k * 96 : (k + 1) * 96]
    if resolution == "1h":
        return quarter_hours.reshape(24, 4).mean(axis=1)
    return quarter_hours.copy()


@cache
def yearly_load_per_unit(profile_type: str) -> np.ndarray:
    """SimBench load type ``profile_type`` over 2016 at 15 min, per unit of its peak
    (read-only)."""
    values = _simbench.load_column(f"{profile_type}_pload")
    out = values / values.max()
    out.setflags(write=False)
    return out


def load_per_unit(profile_type: str, day: datetime.date,
                  resolution: Resolution = "15min") -> np.ndarray:
    """SimBench load type ``profile_type`` on ``day``, per unit of its 2016 15-min peak.

    Returns shape ``(T,)`` with ``T`` = 96 (``"15min"``) or 24 (``"1h"``); dimensionless,
    at most 1 over the year. ``profile_type`` is a column stem of SimBench's
    ``LoadProfile.csv`` (``"lv_rural1"`` reads ``lv_rural1_pload``).
    """
    return _day_slice(yearly_load_per_unit(profile_type), day, resolution)


def bus_loads(grid: GridLoadData, day: datetime.date,
              resolution: Resolution = "15min") -> tuple[np.ndarray, np.ndarray]:
    """Active and reactive load of every bus of ``grid`` on ``day``.

    Returns ``(p_mw, q_mvar)``, each shaped ``(T, grid.n_bus)`` with ``T`` = 96 or 24:
    ``p = P_nom · profile / max_2016(profile)``, ``q = Q_nom · profile / max_2016(profile)``
    with the profile of each bus from :func:`load_profile_types` (rules in the module
    docstring).
    """
    p_nom = np.asarray(grid.load_p_mw, dtype=float)
    q_nom = np.asarray(grid.load_q_mvar, dtype=float)
    if p_nom.shape != (grid.n_bus,) or q_nom.shape != (grid.n_bus,):
        raise ValueError(
            f"grid {grid.name!r}: load_p_mw and load_q_mvar must have length n_bus="
            f"{grid.n_bus}, got {p_nom.shape} and {q_nom.shape}"
        )
    types = load_profile_types(grid.name, grid.n_bus)
    unique = sorted(set(types))
    columns = np.stack([load_per_unit(t, day, resolution) for t in unique], axis=1)
    per_unit = columns[:, [unique.index(t) for t in types]]
    return per_unit * p_nom, per_unit * q_nom


def _check_choice(value: str, valid: tuple[str, ...], what: str) -> None:
    if value not in valid:
        raise ValueError(f"unknown {what} {value!r}; valid: {', '.join(valid)}")


@cache
def _yearly_generation(profile: str, peak_normalized: bool) -> np.ndarray:
    values = np.clip(_simbench.res_column(profile), 0.0, 1.0)
    if peak_normalized:
        values = values / values.max()
    values.setflags(write=False)
    return values


def pv_per_unit(day: datetime.date, resolution: Resolution = "15min", profile: str = "PV3",
                peak_normalized: bool = False) -> np.ndarray:
    """PV output on ``day`` per unit of installed capacity, shape ``(T,)``, values in [0, 1].

    SimBench ``RESProfile.csv`` column ``profile`` (``PV1``–``PV8``), unscaled (already per
    unit of installed capacity; ``PV3`` peaks at 0.616), or divided by its 2016 maximum when
    ``peak_normalized``.
    """
    _check_choice(profile, PV_PROFILES, "PV profile")
    return _day_slice(_yearly_generation(profile, peak_normalized), day, resolution)


def wind_per_unit(day: datetime.date, resolution: Resolution = "15min", profile: str = "WP4",
                  peak_normalized: bool = False) -> np.ndarray:
    """Wind output on ``day`` per unit of installed capacity, shape ``(T,)``, in [0, 1].

    SimBench ``RESProfile.csv`` column ``profile`` (``WP1``–``WP12``), clipped to [0, 1]
    (``WP4`` peaks at 0.993 and dips to −1e-5 of standby consumption), or divided by its
    2016 maximum when ``peak_normalized``.
    """
    _check_choice(profile, WIND_PROFILES, "wind profile")
    return _day_slice(_yearly_generation(profile, peak_normalized), day, resolution)
