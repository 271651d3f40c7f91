"""One day of an SGLS case as plain arrays, shared by the referee and the MILPs.

Resolution: 15 min (96 steps, the intraday layer) or 1 h (24 steps, the day-ahead layer; each
hour the mean of its four quarter-hours, energy preserving).

Sources (``cases/data/``): bus loads from :func:`~gridbench.cases.data.bus_loads` (SimBench
aggregate profiles scaled to the Baran–Wu / MATPOWER nominal loads), wind and PV per unit of
installed capacity from SimBench ``WP4`` / ``PV3`` times the paper's ratings, the upstream
tariff from the time-of-use preset ``config.tariff``. Separate adjustable loads (IEEE 30,
buses 6 and 29) follow the SimBench profile of their config scaled to their ``peak_mw`` and
are added to their bus's load.

Information sets: ``"actual"`` is the realized day; ``"forecast"`` is issued at the start of
15-min step ``issue_step`` (``lead_offset_h`` hours earlier), the data layer's error model
(:func:`~gridbench.cases.data.forecast`: an hour-level AR(1) component plus 15-min white
noise, the paper's "1-hour and 5-minute" noise; 15 min is our finest step) on loads, PV and
wind, seeded by ``(seed, day, kind, issue step, …)``. The tariff is known exactly.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.contracts import InfoSet
from gridbench.cases.sgls.config import SglsConfig

__all__ = ["N_STEPS", "STEP_HOURS", "InfoSet", "SglsDay", "flex_weights", "nowcast", "sgls_day"]

N_STEPS: Final[int] = 96
STEP_HOURS: Final[float] = 0.25
FloatArray = NDArray[np.float64]


def _ro(a: np.ndarray) -> FloatArray:
    out = np.array(a, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class SglsDay:
    """Everything one day needs, read-only ``float64`` arrays of ``T`` steps.

    ``load_p_mw``/``load_q_mvar``: ``(T, n_bus)`` (adjustable loads included);
    ``pv_available_mw``: available PV per plant ``(T, n_pv)``; ``wind_available_mw``: available
wind ``(T,)``;
    ``flex_base_mw``: base demand of each flexible load ``(T, F)`` (the most it can shed or
    move per step); ``price_usd_per_mwh``: upstream tariff ``(T,)`` $/MWh (the field names
common to every case's day data, :class:`~gridbench.cases.contracts.DayData`).
    """

    day: datetime.date
    info: InfoSet
    issue_step: int
    step_hours: float
    load_p_mw: FloatArray
    load_q_mvar: FloatArray
    pv_available_mw: FloatArray
    wind_available_mw: FloatArray
    flex_base_mw: FloatArray
    price_usd_per_mwh: FloatArray

    @property
    def n_steps(self) -> int:
        return int(self.price_usd_per_mwh.shape[0])

    @property
    def renewable_mw(self) -> FloatArray:
        """Total available wind + PV, ``(T,)``."""
        return self.wind_available_mw + self.pv_available_mw.sum(axis=1)

    def hourly(self) -> SglsDay:
        """The same day at 1-h steps (means of quarter-hours)."""
        if self.step_hours == 1.0:
            return self

        def h(a: FloatArray) -> FloatArray:
            return _ro(a.reshape(24, 4, *a.shape[1:]).mean(axis=1))

        return SglsDay(self.day, self.info, self.issue_step // 4, 1.0, h(self.load_p_mw),
                       h(self.load_q_mvar), h(self.pv_available_mw), h(self.wind_available_mw),
                       h(self.flex_base_mw), h(self.price_usd_per_mwh))

    def window(self, start: int, length: int) -> SglsDay:
        """Steps ``start … start+length−1`` (clipped at the day's end)."""
        sl = slice(start, min(start + length, self.n_steps))
        return SglsDay(self.day, self.info, self.issue_step, self.step_hours,
                       self.load_p_mw[sl], self.load_q_mvar[sl], self.pv_available_mw[sl],
                       self.wind_available_mw[sl], self.flex_base_mw[sl],
                       self.price_usd_per_mwh[sl])


@lru_cache(maxsize=8)
def flex_weights(config: SglsConfig) -> FloatArray:
    """How each flexible load's MW spread over buses, ``(F, n_bus)``, rows sum to 1: pro rata
    to the nominal bus loads (fraction-based) or all at the load's bus."""
    from gridbench.cases.grid import load_grid

    grid = load_grid(config.grid)
    w = np.zeros((len(config.flexible), grid.n_bus))
    for j, f in enumerate(config.flexible):
        if f.fraction is not None:
            w[j] = grid.load_p_mw / grid.load_p_mw.sum()
        else:
            w[j, int(f.bus) - 1] = 1.0
    return _ro(w)


@lru_cache(maxsize=512)
def _actual(config: SglsConfig, day: datetime.date) -> tuple[FloatArray, ...]:
    from gridbench.cases.data import (
        bus_loads,
        load_per_unit,
        pv_per_unit,
        tou_tariff,
        wind_per_unit,
    )
    from gridbench.cases.grid import load_grid

    grid = load_grid(config.grid)
    p, q = bus_loads(grid, day, "15min")
    p, q = np.array(p), np.array(q)
    base = np.zeros((N_STEPS, len(config.flexible)))
    for j, f in enumerate(config.flexible):
        if f.fraction is not None:
            base[:, j] = f.fraction * p.sum(axis=1)
        else:
            shape = load_per_unit(f.profile, day, "15min")
            year_peak = _profile_peak(f.profile)
            extra = float(f.peak_mw) * shape / year_peak
            p[:, int(f.bus) - 1] += extra
            q[:, int(f.bus) - 1] += extra * 0.2  # power factor 0.98
            base[:, j] = extra
    pv_pu = pv_per_unit(day, "15min", config.pv_profile)
    wind_pu = wind_per_unit(day, "15min", config.wind_profile)
    price = tou_tariff(config.tariff).price(STEP_HOURS) * config.tariff_scale
    return _ro(p), _ro(q), _ro(pv_pu), _ro(wind_pu), _ro(base), _ro(price)


@lru_cache(maxsize=16)
def _profile_peak(profile: str) -> float:
    from gridbench.cases.data.profiles import yearly_load_per_unit

    return float(np.max(yearly_load_per_unit(profile)))


def sgls_day(
    config: SglsConfig,
    day: datetime.date,
    *,
    info: InfoSet = "actual",
    seed: int = 0,
    issue_step: int = 0,
    lead_offset_h: float = 0.0,
) -> SglsDay:
    """The 15-min data of ``day`` under the information set ``info`` (cached, read-only)."""
    if info not in ("actual", "forecast"):
        raise ValueError(f"unknown information set {info!r}; valid: actual, forecast")
    if not 0 <= int(issue_step) < N_STEPS:
        raise ValueError(f"issue_step must be in 0..{N_STEPS - 1}, got {issue_step}")
    if info == "actual":
        return _day(config, day, "actual", 0, 0, 0.0)
    return _day(config, day, "forecast", int(seed), int(issue_step), float(lead_offset_h))


@lru_cache(maxsize=1024)
def _day(config: SglsConfig, day: datetime.date, info: InfoSet, seed: int, issue_step: int,
         lead_offset_h: float) -> SglsDay:
    p, q, pv_pu, wind_pu, base, price = _actual(config, day)
    if info == "forecast":
        from gridbench.cases.data import forecast

        kw = {"day": day, "seed": seed, "issue_step": issue_step, "step_hours": STEP_HOURS,
              "lead_offset_h": lead_offset_h, "error_scale": config.forecast_error_scale}
        p_fc = forecast(p, "load", **kw)
        ratio = np.divide(p_fc, p, out=np.ones_like(p), where=p > 0)
        p, q = p_fc, q * ratio
        total_ratio = np.divide(p_fc.sum(axis=1), np.asarray(_actual(config, day)[0]).sum(axis=1))
        base = base * total_ratio[:, None]
        pv_pu = forecast(pv_pu, "pv", **kw)
        wind_pu = forecast(wind_pu, "wind", **kw)
    pv = np.outer(pv_pu, np.asarray(config.pv_mw))
    return SglsDay(day, info, issue_step, STEP_HOURS, _ro(p), _ro(q), _ro(pv),
                   _ro(wind_pu * config.wind_mw), _ro(base), _ro(price))


@lru_cache(maxsize=256)
def nowcast(config: SglsConfig, day: datetime.date, seed: int = 0) -> SglsDay:
    """What the referee's observation shows: row ``t`` of every series is row ``t`` of the
    forecast issued at step ``t`` (lead 0). Marked ``info="forecast"``."""
    rows = [_day(config, day, "forecast", int(seed), t, 0.0) for t in range(N_STEPS)]

    def pick(attr: str) -> FloatArray:
        return _ro(np.stack([getattr(r, attr)[t] for t, r in enumerate(rows)]))

    return SglsDay(day, "forecast", 0, STEP_HOURS, pick("load_p_mw"), pick("load_q_mvar"),
                   pick("pv_available_mw"), pick("wind_available_mw"), pick("flex_base_mw"),
                   rows[0].price_usd_per_mwh)
