"""One day of the loss-arbitrage case as plain arrays: THE data object shared by the referee
and the formulations (both build from :class:`LossArbitrageDay`).

Hourly, 24 steps; step ``t`` covers ``[t, t+1)`` h.

Sources:

* bus loads: :func:`~gridbench.cases.data.bus_loads` on ``ieee33`` (SimBench 2016 profiles
  scaled to the Baran–Wu nominal loads, ``cases/data/README.md``);
* tariff: the preset ``config.tariff`` (``peak-valley-6-20``: peak 6–20 h, the paper's
  windows);
* ambient temperature: the hourly dry-bulb temperature of a TMY3 typical-year file shipped
  with pvlib 0.16.1 (``pvlib/data/<config.weather_file>``, read with
  ``pvlib.iotools.read_tmy3`` at run time, nothing downloaded). Default ``723170TYA.CSV``:
  NREL TMY3 for Greensboro Piedmont Triad International Airport, NC (USAF 723170, 36.1° N,
  −79.95° E, 273 m, UTC−5), months drawn from 1976–2005; −16.7…35.6 °C, monthly means 0.3 °C
  (January) to 25.4 °C (July). The typical year is mapped onto 2016 by calendar day (29
  February takes 28 February); TMY row ``HH:00`` is the hour *ending* at ``HH``, so step ``t``
  takes row ``t + 1`` of its day. The temperature is the same in every information set
  (the tariff and the weather are known ahead; deviation 6 of ``README.md``);
* the network losses without storage ``L⁰_t`` (the baseline of the loss-reduction revenue):
  the AC power flow (:class:`~gridbench.cases.grid.RadialPowerFlow`, substation at
  ``network.v_slack_pu``) of the day's loads with every storage idle.

Information sets: ``"actual"`` (the realized day), ``"forecast"`` (loads forecast with
:func:`~gridbench.cases.data.forecast`, kind ``load``, issued at step ``issue_step``;
earlier steps are actuals) — as in the SES-carbon case.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.contracts import InfoSet
from gridbench.cases.loss_arbitrage.config import LossArbitrageConfig
from gridbench.cases.params import feeder_line_ratings_mva

__all__ = [
    "GRID",
    "N_STEPS",
    "STEP_HOURS",
    "InfoSet",
    "LossArbitrageDay",
    "ambient_temperature_c",
    "base_losses_mw",
    "feeder",
    "line_ratings_mva",
    "loss_arbitrage_day",
    "nowcast_day",
    "weather_metadata",
]

GRID: Final[str] = "ieee33"
N_STEPS: Final[int] = 24
STEP_HOURS: Final[float] = 1.0

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class LossArbitrageDay:
    """Everything one day needs, hourly, read-only ``float64`` arrays.

    Attributes:
        load_p_mw, load_q_mvar: bus loads ``(24, n_bus)``, column ``i`` = bus ``i + 1``.
        price_usd_per_mwh: tariff ``β_t``, ``(24,)``.
        ambient_c: ambient temperature, ``(24,)`` °C.
        base_loss_mw: losses without storage ``L⁰_t`` from the AC power flow, ``(24,)``.
    """

    day: datetime.date
    info: InfoSet
    issue_step: int
    load_p_mw: FloatArray
    load_q_mvar: FloatArray
    price_usd_per_mwh: FloatArray
    ambient_c: FloatArray
    base_loss_mw: FloatArray

    @property
    def n_steps(self) -> int:
        return int(self.price_usd_per_mwh.shape[0])

    @property
    def step_hours(self) -> float:
        return STEP_HOURS


def _readonly(a: FloatArray) -> FloatArray:
    out = np.array(a, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=4)
def feeder(v_slack_pu: float):
    """The IEEE 33 feeder with the case's substation voltage."""
    from gridbench.cases.grid import load_grid

    return dataclasses.replace(load_grid(GRID), v_slack_pu=float(v_slack_pu))


@lru_cache(maxsize=8)
def line_ratings_mva(config: LossArbitrageConfig) -> FloatArray:
    """``max(line_rating_factor · S_k, line_rating_min_mva)`` per branch, ``S_k`` the apparent
    flow entering branch ``k`` in the Baran–Wu base case (nominal loads, no storage), MVA."""
    net = config.network
    return feeder_line_ratings_mva(GRID, net.line_rating_factor, net.line_rating_min_mva)


@lru_cache(maxsize=4)
def _tmy_temperature(weather_file: str) -> tuple[FloatArray, dict[str, object]]:
    import pvlib

    path = Path(pvlib.__file__).parent / "data" / weather_file
    data, meta = pvlib.iotools.read_tmy3(path, map_variables=True)
    temp = data["temp_air"].to_numpy(dtype=float)
    if temp.shape != (8760,) or not np.isfinite(temp).all():
        raise ValueError(f"{path}: expected 8760 finite hourly temperatures, got {temp.shape}")
    return _readonly(temp.reshape(365, 24)), dict(meta)


def weather_metadata(weather_file: str) -> dict[str, object]:
    """The TMY3 file's header (station, coordinates, time zone) as pvlib reads it."""
    return dict(_tmy_temperature(weather_file)[1])


def ambient_temperature_c(weather_file: str, day: datetime.date) -> FloatArray:
    """Hourly ambient temperature of ``day`` (°C, ``(24,)``) from the TMY3 file."""
    table, _ = _tmy_temperature(weather_file)
    doy = day.timetuple().tm_yday - 1  # 0-based
    leap = day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)
    if leap and doy >= 59:  # 29 Feb → 28 Feb; later days shift back by one
        doy -= 1
    return table[doy]


@lru_cache(maxsize=2048)
def _actual(config: LossArbitrageConfig, day: datetime.date) -> tuple[FloatArray, ...]:
    from gridbench.cases.data import bus_loads, tou_tariff
    from gridbench.cases.grid import load_grid

    p, q = bus_loads(load_grid(GRID), day, "1h")
    price = tou_tariff(config.tariff).price(STEP_HOURS)
    temp = ambient_temperature_c(config.weather_file, day)
    return _readonly(p), _readonly(q), _readonly(price), _readonly(temp)


def base_losses_mw(
    config: LossArbitrageConfig, load_p: FloatArray, load_q: FloatArray
) -> FloatArray:
    """Losses without storage per step (AC power flow, one batched solve), MW."""
    flow = _power_flow(config.network.v_slack_pu)
    # a sequential sum (cumsum), as the referee's step sums its losses: idle costs exactly 0
    return _readonly(np.cumsum(flow.solve(load_p, load_q).loss_p_mw, axis=-1)[..., -1])


@lru_cache(maxsize=4)
def _power_flow(v_slack_pu: float):
    from gridbench.cases.grid import RadialPowerFlow

    return RadialPowerFlow(feeder(v_slack_pu))


def _check(day: object, issue_step: object) -> None:
    if not isinstance(day, datetime.date) or isinstance(day, datetime.datetime):
        raise ValueError(f"day must be a datetime.date, got {day!r}")
    if isinstance(issue_step, bool) or not isinstance(issue_step, int | np.integer):
        raise ValueError(f"issue_step must be an int in 0..{N_STEPS - 1}, got {issue_step!r}")
    if not 0 <= int(issue_step) < N_STEPS:
        raise ValueError(f"issue_step must be in 0..{N_STEPS - 1}, got {issue_step}")


@lru_cache(maxsize=1024)
def loss_arbitrage_day(
    config: LossArbitrageConfig,
    day: datetime.date,
    *,
    info: InfoSet = "actual",
    seed: int = 0,
    issue_step: int = 0,
    lead_offset_h: float = 0.0,
) -> LossArbitrageDay:
    """The data of ``day`` under the information set ``info`` (cached, read-only arrays).

    ``info="forecast"``: load forecasts issued at the start of step ``issue_step``,
    ``lead_offset_h`` hours before it (12 for the day-ahead forecast issued at noon the day
    before); ``seed`` seeds the errors (the referee shows ``config.forecast_seed``'s).
    """
    if info not in ("actual", "forecast"):
        raise ValueError(f"unknown information set {info!r}; valid: actual, forecast")
    _check(day, issue_step)
    p, q, price, temp = _actual(config, day)
    if info == "forecast":
        from gridbench.cases.data import forecast

        p_fc = forecast(
            p, "load", day=day, seed=int(seed), issue_step=int(issue_step),
            step_hours=STEP_HOURS, lead_offset_h=float(lead_offset_h),
            error_scale=config.forecast_error_scale,
        )  # fmt: skip
        ratio = np.divide(p_fc, p, out=np.ones_like(p), where=p > 0)
        p, q = p_fc, q * ratio
    else:
        issue_step = 0
    return LossArbitrageDay(
        day=day,
        info=info,
        issue_step=int(issue_step),
        load_p_mw=_readonly(p),
        load_q_mvar=_readonly(q),
        price_usd_per_mwh=price,
        ambient_c=temp,
        base_loss_mw=base_losses_mw(config, p, q),
    )


@lru_cache(maxsize=512)
def nowcast_day(config: LossArbitrageConfig, day: datetime.date, seed: int = 0) -> LossArbitrageDay:
    """What the observation shows: row ``t`` = row ``t`` of the forecast issued at step ``t``
    (lead 0, the hour about to be dispatched)."""
    rows = [
        loss_arbitrage_day(config, day, info="forecast", seed=seed, issue_step=t)
        for t in range(N_STEPS)
    ]
    p = np.stack([r.load_p_mw[t] for t, r in enumerate(rows)])
    q = np.stack([r.load_q_mvar[t] for t, r in enumerate(rows)])
    first = rows[0]
    return LossArbitrageDay(
        day=day,
        info="forecast",
        issue_step=0,
        load_p_mw=_readonly(p),
        load_q_mvar=_readonly(q),
        price_usd_per_mwh=first.price_usd_per_mwh,
        ambient_c=first.ambient_c,
        base_loss_mw=base_losses_mw(config, p, q),
    )
