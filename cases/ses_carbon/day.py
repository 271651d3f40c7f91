"""One day of the SES-carbon case as plain arrays: THE data object shared by the referee
environment and the optimization formulations (both are built from :class:`SesCarbonDay`).

Hourly resolution, 24 steps (``step_hours = 1``); step ``t`` covers ``[t, t+1)`` h.

Sources (``cases/data/``, README there):

* bus loads ``P_{i,t}^l``, ``Q_{i,t}^l`` of eqs (2)–(3): :func:`~gridbench.cases.data.bus_loads`
  on ``ieee33`` (SimBench aggregate profiles scaled to the Baran–Wu nominal loads);
* available PV ``P_{p,t}^{PV}``: SimBench ``PV*`` profiles (per unit of installed capacity)
  × ``pv.rated_mw``;
* tariff ``λ_t^{ELE}``: the time-of-use preset ``config.tariff``;
* upstream intensity ``C_t^{UPG}`` of eq (13): ENTSO-E 2019 shape rescaled into 0.5–0.6 t/MWh.

Information sets (``info``):

* ``"actual"`` — the realized day (the oracle's view and what the referee simulates);
* ``"forecast"`` — issued at the start of step ``issue_step``: steps before it equal the
  actuals, later steps are :func:`~gridbench.cases.data.forecast` point forecasts (kinds
  ``load``, ``pv``, ``carbon``; seeded by ``(seed, day, kind, issue_step, …)`` so every
  method sees the same forecast). Step ``issue_step`` itself is a forecast at lead 0 — the
  referee's observation at that step shows exactly these values. Reactive loads keep each
  bus's power factor (``Q_fc = Q · P_fc / P``). The tariff is known exactly. The upstream
  intensity is forecast too: its uncertainty is one of the paper's two (§1, contribution 1).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.contracts import InfoSet
from gridbench.cases.params import feeder_line_ratings_mva
from gridbench.cases.ses_carbon.config import SesCarbonConfig

__all__ = [
    "GRID",
    "N_STEPS",
    "STEP_HOURS",
    "InfoSet",
    "SesCarbonDay",
    "line_ratings_mva",
    "nowcast_day",
    "ses_carbon_day",
]

#: The feeder of the case.
GRID: Final[str] = "ieee33"
#: Steps per day and their length (h).
N_STEPS: Final[int] = 24
STEP_HOURS: Final[float] = 1.0

_INFO_SETS: Final[tuple[str, ...]] = ("actual", "forecast")

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class SesCarbonDay:
    """Everything one day needs, hourly (24 steps), read-only ``float64`` arrays.

    Attributes:
        day: the date.
        info: ``"actual"`` or ``"forecast"``; ``issue_step``: first forecast step (0 for
            actuals); ``lead_offset_h``: hours from issuing to the start of ``issue_step``.
        load_p_mw, load_q_mvar: bus loads, ``(24, 33)``, column ``i`` = bus ``i + 1``.
        pv_available_mw: available output of each PV plant, ``(24, n_pv)`` (config order).
        price_usd_per_mwh: tariff ``λ_t^{ELE}``, ``(24,)``.
        carbon_intensity_t_per_mwh: upstream intensity ``C_t^{UPG}``, ``(24,)``.
        line_rating_mva: thermal rating of each branch, ``(32,)`` (branch ``k`` feeds bus
            ``k + 2``), from :func:`line_ratings_mva`.
    """

    day: datetime.date
    info: InfoSet
    issue_step: int
    lead_offset_h: float
    load_p_mw: FloatArray
    load_q_mvar: FloatArray
    pv_available_mw: FloatArray
    price_usd_per_mwh: FloatArray
    carbon_intensity_t_per_mwh: FloatArray
    line_rating_mva: FloatArray

    @property
    def n_steps(self) -> int:
        return N_STEPS

    @property
    def step_hours(self) -> float:
        return STEP_HOURS

    @property
    def total_load_mw(self) -> FloatArray:
        """Σ over buses of ``load_p_mw``, ``(24,)``."""
        return self.load_p_mw.sum(axis=1)


def _readonly(a: FloatArray) -> FloatArray:
    out = np.array(a, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=16)
def line_ratings_mva(config: SesCarbonConfig) -> FloatArray:
    """Branch ratings by the rule of :class:`~gridbench.cases.ses_carbon.config.NetworkParams`:
    ``max(line_rating_factor · S_k, line_rating_min_mva)``, ``S_k`` = the apparent power
    entering branch ``k`` in the Baran–Wu base case (nominal loads, no DER), MVA, ``(32,)``."""
    net = config.network
    return feeder_line_ratings_mva(GRID, net.line_rating_factor, net.line_rating_min_mva)


def ses_carbon_day(
    config: SesCarbonConfig,
    day: datetime.date,
    *,
    info: InfoSet = "actual",
    seed: int = 0,
    issue_step: int = 0,
    lead_offset_h: float = 0.0,
) -> SesCarbonDay:
    """The data of ``day`` for ``config`` under the information set ``info``.

    ``info="forecast"``: forecasts issued at the start of step ``issue_step`` (0–23),
    ``lead_offset_h`` hours before it (e.g. 12 for a day-ahead forecast issued at noon the
    day before); steps ``< issue_step`` equal the actuals. ``seed`` seeds the forecast errors
    (the referee shows controllers ``config.forecast_seed``'s). Results are cached (the
    arrays are read-only).
    """
    if info not in _INFO_SETS:
        raise ValueError(f"unknown information set {info!r}; valid: {', '.join(_INFO_SETS)}")
    if isinstance(issue_step, bool) or not isinstance(issue_step, int | np.integer):
        raise ValueError(f"issue_step must be an int in 0..{N_STEPS - 1}, got {issue_step!r}")
    if not 0 <= int(issue_step) < N_STEPS:
        raise ValueError(f"issue_step must be in 0..{N_STEPS - 1}, got {issue_step}")
    _check_day(day)
    if info == "actual":
        return _day(config, day, "actual", 0, 0, 0.0)
    return _day(config, day, "forecast", int(seed), int(issue_step), float(lead_offset_h))


@lru_cache(maxsize=2048)
def _actual_series(
    config: SesCarbonConfig, day: datetime.date
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    from gridbench.cases.data import (
        bus_loads,
        pv_per_unit,
        tou_tariff,
        upstream_carbon_intensity,
    )
    from gridbench.cases.grid import load_grid

    p, q = bus_loads(load_grid(GRID), day, "1h")
    pv_pu = np.stack([pv_per_unit(day, "1h", prof) for prof in config.pv.profiles], axis=1)
    price = tou_tariff(config.tariff).price(STEP_HOURS)
    carbon = config.carbon
    ci = upstream_carbon_intensity(
        day,
        "1h",
        lo=carbon.upstream_lo_t_per_mwh,
        hi=carbon.upstream_hi_t_per_mwh,
        source=carbon.upstream_source,
    )
    return _readonly(p), _readonly(q), _readonly(pv_pu), _readonly(price), _readonly(ci)


@lru_cache(maxsize=256)
def _day(
    config: SesCarbonConfig,
    day: datetime.date,
    info: InfoSet,
    seed: int,
    issue_step: int,
    lead_offset_h: float,
) -> SesCarbonDay:
    return _build(config, day, info, seed, issue_step, lead_offset_h)


@lru_cache(maxsize=512)
def nowcast_day(config: SesCarbonConfig, day: datetime.date, seed: int = 0) -> SesCarbonDay:
    """What the referee's observation shows at each step: row ``t`` of every series is row
    ``t`` of ``ses_carbon_day(config, day, info="forecast", seed=seed, issue_step=t)`` (the
    forecast at lead 0 of the hour about to be dispatched; the tariff exactly). Marked
    ``info="forecast"``, ``issue_step=0``. Cached."""
    _check_day(day)
    rows = [_build(config, day, "forecast", int(seed), t, 0.0) for t in range(N_STEPS)]
    first = rows[0]

    def pick(attr: str) -> FloatArray:
        return _readonly(np.stack([getattr(r, attr)[t] for t, r in enumerate(rows)]))

    return SesCarbonDay(
        day=day,
        info="forecast",
        issue_step=0,
        lead_offset_h=0.0,
        load_p_mw=pick("load_p_mw"),
        load_q_mvar=pick("load_q_mvar"),
        pv_available_mw=pick("pv_available_mw"),
        price_usd_per_mwh=first.price_usd_per_mwh,
        carbon_intensity_t_per_mwh=pick("carbon_intensity_t_per_mwh"),
        line_rating_mva=first.line_rating_mva,
    )


def _check_day(day: object) -> None:
    if not isinstance(day, datetime.date) or isinstance(day, datetime.datetime):
        raise ValueError(f"day must be a datetime.date, got {day!r}")


def _build(
    config: SesCarbonConfig,
    day: datetime.date,
    info: InfoSet,
    seed: int,
    issue_step: int,
    lead_offset_h: float,
) -> SesCarbonDay:
    p, q, pv_pu, price, ci = _actual_series(config, day)
    if info == "forecast":
        from gridbench.cases.data import forecast

        kw = {
            "day": day,
            "seed": seed,
            "issue_step": issue_step,
            "step_hours": STEP_HOURS,
            "lead_offset_h": lead_offset_h,
            "error_scale": config.forecast_error_scale,
        }
        p_fc = forecast(p, "load", **kw)
        ratio = np.divide(p_fc, p, out=np.ones_like(p), where=p > 0)
        p, q = p_fc, q * ratio
        pv_pu = forecast(pv_pu, "pv", **kw)
        ci = forecast(ci, "carbon", **kw)
    return SesCarbonDay(
        day=day,
        info=info,
        issue_step=issue_step,
        lead_offset_h=lead_offset_h,
        load_p_mw=_readonly(p),
        load_q_mvar=_readonly(q),
        pv_available_mw=_readonly(pv_pu * config.pv.rated_mw),
        price_usd_per_mwh=_readonly(price),
        carbon_intensity_t_per_mwh=_readonly(ci),
        line_rating_mva=line_ratings_mva(config),
    )
