"""Projection of any action onto device limits: the referee's guarantee that no action crashes.

Every case environment passes the agent's raw setpoints through these functions before the
physics runs, and reports what the projection changed in ``info["projection"]``.

Conventions (all cases):

* setpoints are in physical units (MW, Mvar); ``p > 0`` injects into the grid (storage
  discharging, generator producing), ``p < 0`` draws from it (storage charging);
* a *box* is a per-entry interval ``low <= x <= high``; static boxes bound the action space,
  state-dependent boxes (storage power limited by the state of charge, ramp limits) are
  computed by the case each step and passed in the same way;
* coupled limits (an inverter's apparent-power circle ``p² + q² <= s_max²``) are projected
  after the box, with :func:`project_onto_disc`;
* a projection never raises on the *values* of an action (NaN, ±inf, 1e300 are all handled);
  it raises :class:`ProjectionError` only on programming errors: a non-numeric action, an
  action whose number of entries differs from the box, or bounds with ``low > high``.

Non-finite entries:

* ``NaN`` → the *fallback* value clipped into the box (default ``0.0``: the device idles; if
  ``0`` lies outside the box, e.g. a must-run generator with ``P_min > 0``, the clip moves it to
  the nearest bound);
* ``+inf`` → ``high``, ``-inf`` → ``low``.

Shapes: an action with the same *number* of entries as the box is reshaped to the box's shape
(SB3 policies return ``(1, n)`` batches, a one-device case may receive a scalar); any other size
is a :class:`ProjectionError`.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_TOL",
    "PROJECTION_KEYS",
    "DiscPriority",
    "ProjectionError",
    "ProjectionReport",
    "fast_box_projection",
    "measure_projection",
    "project_onto_box",
    "project_onto_disc",
    "storage_power_bounds",
    "storage_return_cap",
    "storage_return_floor",
]

#: Absolute tolerance (physical units, e.g. MW) below which a correction is not counted as a
#: clip. It absorbs float32 round-off of actions sampled from a ``float32`` Box whose bounds are
#: ``float64`` in the case (1e-6 MW = 1 W).
DEFAULT_TOL: Final[float] = 1e-6

#: Keys of :meth:`ProjectionReport.to_info`, i.e. of ``info["projection"]``.
PROJECTION_KEYS: Final[tuple[str, ...]] = ("n_clipped", "n_nonfinite", "distance")

FloatArray = NDArray[np.float64]


class ProjectionError(ValueError):
    """An action or a box that no projection can interpret (a programming error)."""


class DiscPriority(StrEnum):
    """How :func:`project_onto_disc` shrinks a point outside the apparent-power circle.

    ``radial``: Euclidean projection, scale ``(p, q)`` by ``s_max / |s|`` (keeps the power factor).
    ``p``: active-power priority, keep ``p`` (clipped to ``±s_max``), reduce ``|q|`` to
    ``sqrt(s_max² - p²)`` (common inverter setting, e.g. IEEE 1547 "watt priority").
    ``q``: reactive-power priority, the mirror image.
    """

    RADIAL = "radial"
    P = "p"
    Q = "q"


@dataclass(frozen=True, slots=True)
class ProjectionReport:
    """What a projection changed.

    Attributes:
        n_clipped: finite entries moved by more than the tolerance.
        n_nonfinite: NaN/±inf entries replaced (by the fallback or a bound).
        distance: ``‖x_projected − x_raw‖₂`` over the entries that were finite on input, in the
            action's physical units (MW, Mvar; mixed units add as plain numbers). Non-finite
            entries have no meaningful distance and are counted by ``n_nonfinite`` instead.
    """

    n_clipped: int = 0
    n_nonfinite: int = 0
    distance: float = 0.0

    def __post_init__(self) -> None:
        if self.n_clipped < 0 or self.n_nonfinite < 0:
            raise ProjectionError(
                f"counts must be >= 0, got n_clipped={self.n_clipped}, "
                f"n_nonfinite={self.n_nonfinite}"
            )
        d = self.distance
        finite = math.isfinite(d) if type(d) is float else bool(np.isfinite(d))
        if not (finite and d >= 0.0):
            raise ProjectionError(f"distance must be finite and >= 0, got {self.distance!r}")

    @property
    def changed(self) -> bool:
        """True when the projection altered the action."""
        return self.n_clipped > 0 or self.n_nonfinite > 0

    def to_info(self) -> dict[str, int | float]:
        """A fresh ``dict`` for ``info["projection"]`` (keys :data:`PROJECTION_KEYS`)."""
        return {
            "n_clipped": int(self.n_clipped),
            "n_nonfinite": int(self.n_nonfinite),
            "distance": float(self.distance),
        }

    def combine(self, other: ProjectionReport) -> ProjectionReport:
        """Report of two projections applied to *disjoint* entries (counts add, distances add
        in quadrature: ``sqrt(d₁² + d₂²)``, exact for disjoint entries). For successive
        projections of the same entries use :func:`measure_projection` on raw and final."""
        return ProjectionReport(
            self.n_clipped + other.n_clipped,
            self.n_nonfinite + other.n_nonfinite,
            float(np.hypot(self.distance, other.distance)),
        )


def _l2(moved: FloatArray) -> float:
    """``‖moved‖₂`` without overflow (scaled by the largest entry), capped at the largest
    float so that an absurd action (1e308) still yields a finite report."""
    m = float(np.abs(moved).max()) if moved.size else 0.0
    if m == 0.0 or not math.isfinite(m):
        return 0.0 if m == 0.0 else sys.float_info.max
    return min(m * float(np.sqrt(np.sum(np.square(moved / m)))), sys.float_info.max)


def _as_box(low: ArrayLike, high: ArrayLike) -> tuple[FloatArray, FloatArray]:
    lo = np.asarray(low, dtype=np.float64)
    hi = np.asarray(high, dtype=np.float64)
    try:
        lo, hi = np.broadcast_arrays(lo, hi)
    except ValueError:
        raise ProjectionError(
            f"low and high have incompatible shapes {lo.shape} and {hi.shape}"
        ) from None
    if np.isnan(lo).any() or np.isnan(hi).any():
        raise ProjectionError("box bounds must not be NaN")
    bad = np.flatnonzero(lo > hi)
    if bad.size:
        i = int(bad[0])
        raise ProjectionError(
            f"empty box at entry {i}: low={lo.flat[i]!r} > high={hi.flat[i]!r}; "
            "valid boxes have low <= high"
        )
    return lo, hi


def _as_action(action: ArrayLike, shape: tuple[int, ...] | None) -> FloatArray:
    try:
        raw = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError):
        raise ProjectionError(
            f"action must be numeric, got {type(action).__name__}: {action!r:.80}"
        ) from None
    if shape is None:
        return raw
    size = math.prod(shape)
    if raw.shape != shape:
        if raw.size != size:
            raise ProjectionError(
                f"action has {raw.size} entries (shape {raw.shape}); the box has {size} "
                f"(shape {shape})"
            )
        raw = raw.reshape(shape)
    return raw


def _count_above(moved: FloatArray, tol: float) -> int:
    """``np.count_nonzero(moved > tol)`` of a 1-D array, in floats for short vectors (the
    step's few setpoints), where numpy's per-call overhead dominates."""
    if moved.size > 32:
        return int(np.count_nonzero(moved > tol))
    n = 0
    for m in moved.tolist():
        if m > tol:
            n += 1
    return n


def fast_box_projection(
    action: object, low: object, high: object, tol: float, *, ordered: bool = False
) -> tuple[FloatArray, ProjectionReport] | None:
    """The referee's hot path: 1-D float64 arrays of one shape, finite action, ordered box.
    Same result as the general path; ``None`` hands anything else to it.

    A non-finite action entry needs no separate test: it makes its ``|x − a|`` NaN or inf,
    hence the distance non-finite, which hands the action to the general path. ``ordered``:
    the caller already checked ``low <= high`` without NaN (the referee's validated bounds).
    """
    if not (
        type(action) is np.ndarray
        and type(low) is np.ndarray
        and type(high) is np.ndarray
        and action.dtype == low.dtype == high.dtype == np.float64
        and action.ndim == 1
        and action.shape == low.shape == high.shape
    ):
        return None
    if not ordered and np.count_nonzero(np.less_equal(low, high)) != low.size:
        return None  # low > high or a NaN bound: the general path raises
    x = np.minimum(np.maximum(action, low), high)
    moved = np.abs(x - action)
    distance = math.sqrt(float(np.dot(moved, moved)))
    if not math.isfinite(distance):
        return None
    return x, ProjectionReport(_count_above(moved, tol), 0, distance)


def project_onto_box(
    action: ArrayLike,
    low: ArrayLike,
    high: ArrayLike,
    fallback: ArrayLike = 0.0,
    *,
    tol: float = DEFAULT_TOL,
) -> tuple[FloatArray, ProjectionReport]:
    """Project ``action`` onto the box ``[low, high]`` (Euclidean projection = clip).

    ``x_i = min(max(a_i, low_i), high_i)`` for finite ``a_i``; ``NaN → clip(fallback_i)``,
    ``+inf → high_i``, ``-inf → low_i``. ``low``/``high`` may be arrays broadcastable to each
    other (the box's shape) or both scalars (the same interval for every entry). Bounds may be
    ±inf (a free entry: a ``NaN`` action there becomes the fallback, an infinite one stays
    infinite); callers pass finite bounds for physical devices.

    Args:
        action: raw setpoints, any array-like with as many entries as the box.
        low, high: the box, same units as ``action``; per step for state-dependent limits.
        fallback: value used for NaN entries before clipping (scalar or per entry).
        tol: corrections of at most ``tol`` (absolute) are applied but not counted.

    Returns:
        ``(projected, report)``: a new ``float64`` array of the box's shape, and the report.
    """
    fast = fast_box_projection(action, low, high, tol)
    if fast is not None:
        return fast
    lo, hi = _as_box(low, high)
    if lo.ndim == 0:  # scalar bounds: the same box for every entry of the action
        raw = _as_action(action, None)
        lo, hi = np.broadcast_to(lo, raw.shape), np.broadcast_to(hi, raw.shape)
    else:
        raw = _as_action(action, lo.shape)
    finite = np.isfinite(raw)
    x = raw.copy() if finite.all() else np.where(np.isnan(raw), fallback, raw)
    x = np.minimum(np.maximum(x, lo), hi)
    if np.isnan(x).any():
        raise ProjectionError("fallback must not be NaN")
    moved = np.abs(x[finite] - raw[finite])
    report = ProjectionReport(
        n_clipped=int(np.count_nonzero(moved > tol)),
        n_nonfinite=int(np.count_nonzero(~finite)),
        distance=_l2(moved),
    )
    return x, report


def measure_projection(
    raw: ArrayLike,
    applied: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    tol: float = DEFAULT_TOL,
) -> ProjectionReport:
    """Report the total correction from ``raw`` (what the agent sent) to ``applied`` (what the
    physics executed), whatever sequence of projections happened in between.

    ``n_nonfinite`` counts non-finite ``raw`` entries, ``n_clipped`` finite entries with
    ``|applied − raw| > tol``, ``distance = ‖applied − raw‖₂`` over finite entries. ``mask``
    (boolean, same number of entries) restricts the report to the entries it marks, e.g. the
    entries active in the current layer.
    """
    a = np.asarray(applied, dtype=np.float64).reshape(-1)
    if (
        mask is None
        and type(raw) is np.ndarray
        and raw.dtype == np.float64
        and raw.shape == a.shape
    ):  # hot path: no mask (a non-finite raw entry makes the distance non-finite: general)
        moved = np.abs(a - raw)
        distance = math.sqrt(float(np.dot(moved, moved)))
        if math.isfinite(distance):
            return ProjectionReport(_count_above(moved, tol), 0, distance)
    r = _as_action(raw, a.shape)
    if mask is not None:
        m = np.asarray(mask, dtype=bool).reshape(-1)
        if m.shape != a.shape:
            raise ProjectionError(f"mask has {m.size} entries; the action has {a.size}")
        a, r = a[m], r[m]
    finite = np.isfinite(r)
    moved = np.abs(a[finite] - r[finite])
    return ProjectionReport(
        n_clipped=int(np.count_nonzero(moved > tol)),
        n_nonfinite=int(np.count_nonzero(~finite)),
        distance=_l2(moved),
    )


def project_onto_disc(
    p: ArrayLike,
    q: ArrayLike,
    s_max: ArrayLike,
    *,
    priority: DiscPriority | str = DiscPriority.RADIAL,
    tol: float = DEFAULT_TOL,
) -> tuple[FloatArray, FloatArray, ProjectionReport]:
    """Project ``(p, q)`` pairs onto the apparent-power discs ``p² + q² <= s_max²``.

    Used for coupled limits such as an inverter's rating (MW, Mvar, MVA). With the default
    ``radial`` priority this is the Euclidean projection: ``(p, q) · s_max / sqrt(p² + q²)``
    outside the disc, unchanged inside. Non-finite inputs never raise: ``NaN → 0``,
    ``±inf → ±s_max`` (then projected), and are counted in ``n_nonfinite``.

    Args:
        p, q: active and reactive setpoints, broadcastable to each other and to ``s_max``.
        s_max: apparent-power ratings (>= 0, finite).
        priority: :class:`DiscPriority` (``radial``, ``p`` or ``q``).

    Returns:
        ``(p_projected, q_projected, report)``, arrays of the broadcast shape.
    """
    try:
        prio = DiscPriority(priority)
    except ValueError:
        raise ProjectionError(
            f"unknown disc priority {priority!r}; valid: {', '.join(d.value for d in DiscPriority)}"
        ) from None
    pa, qa, sa = np.broadcast_arrays(
        np.asarray(p, dtype=np.float64),
        np.asarray(q, dtype=np.float64),
        np.asarray(s_max, dtype=np.float64),
    )
    if not np.isfinite(sa).all() or (sa < 0).any():
        raise ProjectionError(f"s_max must be finite and >= 0, got {sa!r:.80}")
    p_fin, q_fin = np.isfinite(pa), np.isfinite(qa)
    p0 = np.where(p_fin, pa, np.where(np.isnan(pa), 0.0, np.copysign(sa, pa)))
    q0 = np.where(q_fin, qa, np.where(np.isnan(qa), 0.0, np.copysign(sa, qa)))
    s = np.hypot(p0, q0)
    outside = s > sa
    if prio is DiscPriority.RADIAL:
        scale = np.where(outside, sa / np.where(outside, s, 1.0), 1.0)
        p1, q1 = p0 * scale, q0 * scale
    elif prio is DiscPriority.P:
        p1 = np.clip(p0, -sa, sa)
        room = np.sqrt(np.maximum(sa**2 - p1**2, 0.0))
        q1 = np.where(outside, np.copysign(room, q0), q0)
    else:
        q1 = np.clip(q0, -sa, sa)
        room = np.sqrt(np.maximum(sa**2 - q1**2, 0.0))
        p1 = np.where(outside, np.copysign(room, p0), p0)
    dp = np.subtract(p1, pa, out=np.zeros_like(p1), where=p_fin)
    dq = np.subtract(q1, qa, out=np.zeros_like(q1), where=q_fin)
    moved = np.hypot(dp, dq)
    report = ProjectionReport(
        n_clipped=int(np.count_nonzero((p_fin & q_fin) & (moved > tol))),
        n_nonfinite=int(np.count_nonzero(~p_fin) + np.count_nonzero(~q_fin)),
        distance=_l2(moved),
    )
    return p1, q1, report


def storage_power_bounds(
    soc: ArrayLike,
    energy_mwh: ArrayLike,
    p_max_mw: ArrayLike,
    dt_h: float,
    *,
    soc_min: ArrayLike = 0.0,
    soc_max: ArrayLike = 1.0,
    eta_charge: ArrayLike = 1.0,
    eta_discharge: ArrayLike = 1.0,
) -> tuple[FloatArray, FloatArray]:
    """State-dependent power box of storages for one step of ``dt_h`` hours.

    With ``p > 0`` discharging (MW at the grid side) and the SOC update
    ``SOC⁺ = SOC − dt·p/(η_d·E)`` (discharge) or ``SOC⁺ = SOC − dt·η_c·p/E`` (charge, ``p < 0``),
    the limits that keep ``soc_min <= SOC⁺ <= soc_max`` are::

        high = min(p_max, (SOC − soc_min)·E·η_d / dt)
        low  = −min(p_max, (soc_max − SOC)·E / (η_c·dt))

    both clamped so that ``low <= 0 <= high`` (an SOC already outside its band allows only
    moves back into it, or idling).

    Args:
        soc: state of charge per storage (0–1).
        energy_mwh: usable capacity E per storage (MWh, > 0).
        p_max_mw: power rating per storage (MW, >= 0).
        dt_h: step length (h, > 0).
        soc_min, soc_max: SOC band; eta_charge, eta_discharge: one-way efficiencies in (0, 1].

    Returns:
        ``(low, high)`` in MW, arrays of the broadcast shape.
    """
    if not (np.isfinite(dt_h) and dt_h > 0):
        raise ProjectionError(f"dt_h must be a finite number > 0, got {dt_h!r}")
    s, e, pm, lo_s, hi_s, ec, ed = np.broadcast_arrays(
        *(
            np.asarray(v, dtype=np.float64)
            for v in (soc, energy_mwh, p_max_mw, soc_min, soc_max, eta_charge, eta_discharge)
        )
    )
    if (e <= 0).any() or (pm < 0).any():
        raise ProjectionError("energy_mwh must be > 0 and p_max_mw >= 0 for every storage")
    if (ec <= 0).any() or (ec > 1).any() or (ed <= 0).any() or (ed > 1).any():
        raise ProjectionError("efficiencies must lie in (0, 1]")
    high = np.clip((s - lo_s) * e * ed / dt_h, 0.0, pm)
    low = -np.clip((hi_s - s) * e / (ec * dt_h), 0.0, pm)
    return low, high


def storage_return_cap(soc: float, soc_end: float, steps_after: int, energy_mwh: float,
                       p_max_mw: float, dt_h: float, eta_charge: float,
                       eta_discharge: float) -> float:
    """Largest power (MW, ``> 0`` discharging) of one step that keeps an end-of-day return to
    ``soc_end`` reachable: with ``steps_after`` steps of ``dt_h`` left after this one, each able
    to charge ``η_c·p_max·dt/E`` of SOC at most, the SOC after this step must reach

        s_req = soc_end − steps_after·η_c·p_max·dt / E,

    so ``p <= (SOC − s_req)·E·η_d / dt`` where ``SOC >= s_req`` (discharge allowed down to it)
    and ``p <= −(s_req − SOC)·E / (η_c·dt)`` otherwise (the step must charge that much). On the
    day's last step (``steps_after = 0``) it forces ``SOC(T) >= soc_end``. The cap never asks
    more charge than ``p_max`` when every earlier step kept it (induction), so it meets the
    band's box of :func:`storage_power_bounds`."""
    s_req = storage_return_floor(soc_end, steps_after, energy_mwh, p_max_mw, dt_h, eta_charge)
    if soc >= s_req:
        return (soc - s_req) * energy_mwh * eta_discharge / dt_h
    return -(s_req - soc) * energy_mwh / (eta_charge * dt_h)


def storage_return_floor(soc_end: Any, steps_after: int, energy_mwh: Any, p_max_mw: Any,
                         dt_h: float, eta_charge: Any) -> Any:
    """Lowest SOC from which ``steps_after`` steps of ``dt_h`` at full charge still reach
    ``soc_end``: ``soc_end − steps_after·η_c·p_max·dt / E`` (may lie below the band; floats or
    arrays)."""
    return soc_end - steps_after * eta_charge * p_max_mw * dt_h / energy_mwh
