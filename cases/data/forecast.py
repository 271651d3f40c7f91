"""Forecasts of load, PV, wind and carbon-intensity series: the actual series times (1 + error).

Error model (:class:`ForecastErrorModel`), relative to the actual value, for step ``t`` of
a forecast issued at the start of step ``issue_step`` (steps of ``step_hours`` hours):

``e(t) = σ_h(lead_offset_h + k(t)) · z[k(t)] + σ_q · sqrt(0.25 / step_hours) · ε(t)``

* an hour-level component, constant within each clock hour: ``k(t)`` counts the clock
  hours from the issue step's hour to step ``t``'s (``floor(t·step_hours) −
  floor(issue_step·step_hours)``), ``z[k]`` is a unit-variance AR(1) process over ``k``
  with lag-one correlation ``φ`` (``z[k] = φ·z[k−1] + sqrt(1 − φ²)·η[k]``), scaled by
  ``σ_h(lead_offset_h + k)`` with ``σ_h(lead) = min(σ_0 + σ_1·sqrt(lead), σ_max)`` — slow
  forecast deviations that grow with lead time (the square root of a random walk's spread)
  and saturate at the climatological error;
* a 15-min white-noise component ``ε(t) ~ N(0, 1)`` of relative spread ``σ_q`` per
  quarter-hour; on hourly steps it is the mean of four independent quarter-hours, hence the
  ``sqrt(0.25 / step_hours)``.

The forecast is ``actual · (1 + e)``, then clipped: PV and wind to [0, 1] per unit of
installed capacity (their actual series must be per unit), loads and carbon intensity to
``≥ 0``. Steps before ``issue_step`` are known and equal the actual series. Columns of a
``(T, n)`` input (e.g. the buses of a grid) get independent errors. This follows the SGLS
paper's scheme of normally distributed errors at an hourly and a sub-hourly scale (Li et al.
2026, simulation set-up: noise "at 1-hour and 5-minute intervals"; 15 min is our finest step).

Spreads per kind (:data:`FORECAST_ERROR_MODELS`; σ values are fractions of the actual):

========  ====  =====  =====  ====  ====  ===========================================
kind      σ_0   σ_1    σ_max  φ     σ_q   σ_h(1 h) / σ_h(24 h)
========  ====  =====  =====  ====  ====  ===========================================
load      0.01  0.006  0.05   0.90  0.01  1.6 % / 3.9 %
pv        0.03  0.035  0.30   0.80  0.05  6.5 % / 20 %
wind      0.04  0.05   0.35   0.95  0.04  9 % / 28 %
carbon    0.01  0.01   0.08   0.95  0.00  2 % / 5.9 %
========  ====  =====  =====  ====  ====  ===========================================

Reasons: day-ahead load forecasts of aggregated feeders reach 2–5 % MAPE (national
systems 1.5–3 %); PV day-ahead errors are 20–35 % of the actual output, dominated by cloud
timing, hence the larger σ_q and weaker hourly persistence; wind errors grow fastest with
lead time and persist longest (weather-system timing), single-farm day-ahead errors are
about 10–15 % of capacity, i.e. roughly 30 % of the output at a 0.3 capacity factor; the
grid carbon intensity follows the scheduled generation mix and is forecast far better, and
its series is hourly (no 15-min noise, so 15-min forecasts stay constant within an hour).

Every spread can be scaled by one factor (``error_scale``; a case's
``forecast_error_scale``, the crossover study's forecast-error axis): the same random draws,
the errors times the factor, so levels of the axis differ by the spread only.

Randomness is deterministic per (seed, day, kind, issue step, step length, lead offset,
stream): ``numpy.random.default_rng([seed, day_index, kind_code, issue_step,
4·step_hours, 4·lead_offset_h, stream])`` — a SeedSequence, never global state; stream 0
draws :func:`forecast`, stream 1 :func:`sample_scenarios`.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .timeline import day_index

__all__ = [
    "FORECAST_ERROR_MODELS",
    "FORECAST_KINDS",
    "MAX_ERROR_SCALE",
    "ForecastErrorModel",
    "ForecastKind",
    "check_error_scale",
    "forecast",
    "forecast_error_model",
    "sample_scenarios",
]

ForecastKind = Literal["load", "pv", "wind", "carbon"]
FORECAST_KINDS: tuple[str, ...] = ("load", "pv", "wind", "carbon")
_KIND_CODES = {kind: code for code, kind in enumerate(FORECAST_KINDS, start=1)}
_PER_UNIT_KINDS = frozenset({"pv", "wind"})
_STEP_HOURS: tuple[float, ...] = (0.25, 1.0)


@dataclass(frozen=True)
class ForecastErrorModel:
    """Relative forecast-error model of one series kind (see the module docstring).

    ``sigma_0``: spread of the hour-level component at lead 0 (fraction of the actual);
    ``sigma_1``: its growth per sqrt(hour) of lead; ``sigma_max``: its cap;
    ``hourly_correlation``: lag-one correlation φ of the hour-level AR(1) process;
    ``sigma_quarter_hour``: spread of the 15-min white noise.
    """

    sigma_0: float
    sigma_1: float
    sigma_max: float
    hourly_correlation: float
    sigma_quarter_hour: float

    def __post_init__(self) -> None:
        for name in ("sigma_0", "sigma_1", "sigma_max", "sigma_quarter_hour"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be finite and >= 0, got {value}")
        if self.sigma_max < self.sigma_0:
            raise ValueError(f"sigma_max {self.sigma_max} must be >= sigma_0 {self.sigma_0}")
        if not (0.0 <= self.hourly_correlation < 1.0):
            raise ValueError(
                f"hourly_correlation must be in [0, 1), got {self.hourly_correlation}"
            )

    def sigma_hourly(self, lead_h: np.ndarray | float) -> np.ndarray:
        """Spread of the hour-level component at lead time ``lead_h`` (hours, >= 0)."""
        lead = np.asarray(lead_h, dtype=float)
        return np.minimum(self.sigma_0 + self.sigma_1 * np.sqrt(lead), self.sigma_max)

    def sigma_white(self, step_hours: float) -> float:
        """Spread of the white-noise component on steps of ``step_hours`` hours."""
        return self.sigma_quarter_hour * math.sqrt(0.25 / step_hours)

    def scaled(self, factor: float) -> ForecastErrorModel:
        """This model with every spread (``σ_0``, ``σ_1``, ``σ_max``, ``σ_q``) times
        ``factor`` and the correlation kept: the errors of the same draws times ``factor``
        (before clipping). ``factor`` 0 gives perfect forecasts."""
        factor = check_error_scale(factor)
        if factor == 1.0:
            return self
        return ForecastErrorModel(self.sigma_0 * factor, self.sigma_1 * factor,
                                  self.sigma_max * factor, self.hourly_correlation,
                                  self.sigma_quarter_hour * factor)


#: Largest accepted :func:`check_error_scale` (4× is the crossover study's widest level; 10×
#: already puts the PV error cap at 300 % of the actual).
MAX_ERROR_SCALE: float = 10.0


def check_error_scale(value: float) -> float:
    """``value`` as a float if it is a valid error-spread factor (finite, 0 ≤ value ≤
    :data:`MAX_ERROR_SCALE`), else a one-line ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"forecast error scale must be a number, got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and 0.0 <= value <= MAX_ERROR_SCALE):
        raise ValueError(
            f"forecast error scale {value} is out of range; valid: 0 to {MAX_ERROR_SCALE:g} "
            "(1 = the nominal error model, 0 = perfect forecasts)"
        )
    return value


#: Error model per series kind (values and reasons in the module docstring).
FORECAST_ERROR_MODELS: dict[str, ForecastErrorModel] = {
    "load": ForecastErrorModel(0.01, 0.006, 0.05, 0.90, 0.01),
    "pv": ForecastErrorModel(0.03, 0.035, 0.30, 0.80, 0.05),
    "wind": ForecastErrorModel(0.04, 0.05, 0.35, 0.95, 0.04),
    "carbon": ForecastErrorModel(0.01, 0.01, 0.08, 0.95, 0.0),
}


def forecast_error_model(kind: str) -> ForecastErrorModel:
    """The default error model of series ``kind`` (``load``, ``pv``, ``wind``, ``carbon``)."""
    if kind not in _KIND_CODES:
        raise ValueError(f"unknown forecast kind {kind!r}; valid: {', '.join(FORECAST_KINDS)}")
    return FORECAST_ERROR_MODELS[kind]


def _quarter_hours(value: float, what: str) -> int:
    quarters = value * 4.0
    if not (math.isfinite(value) and value >= 0 and math.isclose(quarters, round(quarters))):
        raise ValueError(f"{what} must be a non-negative multiple of 0.25 h, got {value}")
    return round(quarters)


def _checked(actual: np.ndarray, kind: str, seed: int, issue_step: int,
             step_hours: float) -> np.ndarray:
    forecast_error_model(kind)
    values = np.asarray(actual, dtype=float)
    if values.ndim not in (1, 2) or values.shape[0] == 0:
        raise ValueError(f"actual must have shape (T,) or (T, n) with T >= 1, got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("actual contains NaN or infinite values")
    if kind in _PER_UNIT_KINDS and (values.min() < -1e-9 or values.max() > 1.0 + 1e-9):
        raise ValueError(
            f"{kind} actual must be per unit of installed capacity in [0, 1], got values in "
            f"[{values.min():.4g}, {values.max():.4g}]"
        )
    if kind not in _PER_UNIT_KINDS and values.min() < 0.0:
        raise ValueError(f"{kind} actual must be >= 0, got a minimum of {values.min():.4g}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not (0 <= issue_step <= values.shape[0]):
        raise ValueError(f"issue_step {issue_step} must be in [0, T={values.shape[0]}]")
    if step_hours not in _STEP_HOURS:
        raise ValueError(f"step_hours {step_hours} is not a valid step; valid: 0.25, 1.0")
    return values


def _relative_errors(rng: np.random.Generator, model: ForecastErrorModel, issue_step: int,
                     n_ahead: int, n_cols: int, step_hours: float, lead_offset_h: float,
                     n_draws: int) -> np.ndarray:
    """Draws of ``e`` for the ``n_ahead`` steps from the issue step, ``(n_draws, n_ahead, n)``."""
    clock_hour = np.floor((issue_step + np.arange(n_ahead)) * step_hours + 1e-9).astype(int)
    hour = clock_hour - clock_hour[0]
    n_hours = int(hour[-1]) + 1
    phi = model.hourly_correlation
    innovations = rng.standard_normal((n_draws, n_hours, n_cols))
    z = np.empty_like(innovations)
    z[:, 0] = innovations[:, 0]
    for k in range(1, n_hours):
        z[:, k] = phi * z[:, k - 1] + math.sqrt(1.0 - phi * phi) * innovations[:, k]
    white = rng.standard_normal((n_draws, n_ahead, n_cols))
    sigma_h = model.sigma_hourly(lead_offset_h + hour)
    return sigma_h[None, :, None] * z[:, hour, :] + model.sigma_white(step_hours) * white


def _draw(actual: np.ndarray, kind: str, day: datetime.date, seed: int, issue_step: int,
          step_hours: float, lead_offset_h: float, model: ForecastErrorModel | None,
          n_draws: int, stream: int, error_scale: float) -> np.ndarray:
    """``n_draws`` forecasts of ``actual`` (2-D view ``(T, n)``), shape ``(n_draws, T, n)``."""
    values = _checked(actual, kind, seed, issue_step, step_hours)
    offset_quarters = _quarter_hours(lead_offset_h, "lead_offset_h")
    error_model = (model if model is not None else forecast_error_model(kind)).scaled(
        error_scale)
    table = values.reshape(values.shape[0], -1)
    out = np.repeat(table[None], n_draws, axis=0)
    n_ahead = table.shape[0] - issue_step
    if n_ahead == 0:
        return out
    rng = np.random.default_rng([int(seed), day_index(day), _KIND_CODES[kind], issue_step,
                                 round(step_hours * 4), offset_quarters, stream])
    errors = _relative_errors(rng, error_model, issue_step, n_ahead, table.shape[1],
                              step_hours, lead_offset_h, n_draws)
    ahead = table[issue_step:][None] * (1.0 + errors)
    upper = 1.0 if kind in _PER_UNIT_KINDS else np.inf
    out[:, issue_step:] = np.clip(ahead, 0.0, upper)
    return out


def forecast(actual: np.ndarray, kind: ForecastKind, day: datetime.date, seed: int,
             issue_step: int = 0, step_hours: float = 0.25, lead_offset_h: float = 0.0,
             model: ForecastErrorModel | None = None, error_scale: float = 1.0) -> np.ndarray:
    """Point forecast of ``actual`` issued at the start of step ``issue_step`` of ``day``.

    ``actual``: the realized series of the day from step 0, shape ``(T,)`` or ``(T, n)``, in
    its own unit (PV and wind per unit of installed capacity, 0–1). Returns the same shape:
    steps before ``issue_step`` equal ``actual``; step ``t >= issue_step`` is
    ``actual·(1 + e)``, its error spread growing with the lead time (module docstring),
    clipped.
    ``lead_offset_h`` is the time from issuing to the start of step ``issue_step`` (e.g. 12
    for a day-ahead forecast issued at noon of the previous day). ``model`` overrides the
    kind's default error model; ``error_scale`` multiplies its spreads
    (:meth:`ForecastErrorModel.scaled`: the same random draws, errors times the factor; a
    case's ``forecast_error_scale``). Identical inputs give identical arrays.
    """
    values = np.asarray(actual, dtype=float)
    draws = _draw(values, kind, day, seed, issue_step, step_hours, lead_offset_h, model,
                  n_draws=1, stream=0, error_scale=error_scale)
    return draws[0].reshape(values.shape)


def sample_scenarios(actual: np.ndarray, kind: ForecastKind, day: datetime.date, seed: int,
                     n_scenarios: int, issue_step: int = 0, step_hours: float = 0.25,
                     lead_offset_h: float = 0.0,
                     model: ForecastErrorModel | None = None,
                     error_scale: float = 1.0) -> np.ndarray:
    """``n_scenarios`` independent draws of the error model around ``actual``.

    Returns shape ``(n_scenarios, T)`` or ``(n_scenarios, T, n)``; each draw is built like
    :func:`forecast` (same clipping, steps before ``issue_step`` equal ``actual``) from its
    own random stream, so scenario 0 is not the point forecast. ``error_scale`` as in
    :func:`forecast`.

    Information sets: centred on the realized series, the scenarios are possible forecasts
    (their mean over many draws is the realized series). A deployable stochastic method must
    not see the realized series: it passes its point forecast as ``actual`` to sample
    plausible realizations around what it knows.
    """
    if isinstance(n_scenarios, bool) or not isinstance(n_scenarios, int | np.integer) \
            or n_scenarios < 1:
        raise ValueError(f"n_scenarios must be a positive integer, got {n_scenarios!r}")
    values = np.asarray(actual, dtype=float)
    draws = _draw(values, kind, day, seed, issue_step, step_hours, lead_offset_h, model,
                  n_draws=int(n_scenarios), stream=1, error_scale=error_scale)
    return draws.reshape((int(n_scenarios), *values.shape))
