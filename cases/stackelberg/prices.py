"""The DSO's posted prices made admissible (spec §5, "Coupled projection"): what the referee
does to any price vector before the followers see it, and what it reports.

1. non-finite entries take the fallback (the tariff's value for that entry) — counted;
   with ``levels`` (prices that must be equal share a level: ``tou3``), each level's entries
   then take their mean (the nearest vector with equal levels) — counted;
2. every entry into its box ``[lo, hi]`` — counted, with the distance moved;
3. each capped vector (``λLA``, ``λGB``) whose day mean exceeds its cap is shifted down by one
   scalar ``τ ≥ 0``: ``λ = clip(λ − τ, lo, hi)`` with ``mean(λ) = cap`` (``τ`` by bisection;
   the mean is continuous and non-increasing in ``τ``, and the config guarantees
   ``mean(lo) ≤ cap``);
4. ``λGS ← min(λGS, λGB)`` hour by hour (the storage never sells above its buying price).

Steps 2–4 keep equal levels equal where the box is the same over a level's entries (``tou3``:
the box is the tariff's, constant over a window).

The box of ``λGB`` starts at ``max(π^up, λFIT)``: step 4 then keeps ``λGS ≥ λFIT``; the MILP's
rows ``λGS ≤ λGB`` imply that bound anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["AT_BOUND_TOL", "PriceProjection", "first_of_levels", "project_prices"]

#: $/MWh within which a final price counts as at its box bound.
AT_BOUND_TOL = 1e-6

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class PriceProjection:
    """The admissible prices and what the projection changed: entries replaced because not
    finite, entries moved into the box, the L2 distance between the finite raw and the final
    prices, the shift ``τ`` per capped vector (0 where the cap did not bind), the hours
    whose selling price was lowered to the buying price, the final prices at a bound of
    their box (within :data:`AT_BOUND_TOL`; spec §7's share of prices at a bound) and the
    entries moved to their level's mean."""

    prices: FloatArray
    n_nonfinite: int
    n_clipped: int
    distance: float
    cap_shift: Mapping[str, float]
    n_sell_capped: int
    n_at_bound: int = 0
    n_level_averaged: int = 0


def first_of_levels(levels: ArrayLike) -> NDArray[np.intp]:
    """``(n_levels,)``: the index of each level's first price in ``levels`` (one level per
    price)."""
    index = np.asarray(levels, dtype=np.intp).reshape(-1)
    first = np.zeros(int(index.max()) + 1, dtype=np.intp)
    first[index[::-1]] = np.arange(index.size)[::-1]
    return first


def _shift_to_cap(v: FloatArray, lo: FloatArray, hi: FloatArray, cap: float,
                  tol: float = 1e-10) -> tuple[FloatArray, float]:
    """``clip(v − τ, lo, hi)`` with the smallest ``τ ≥ 0`` that brings its mean to ``cap``."""
    if float(np.mean(v)) <= cap + tol:
        return v, 0.0
    if float(np.mean(lo)) > cap + tol:
        raise ValueError(f"the cap {cap} lies below the mean of the lower bounds "
                         f"{float(np.mean(lo))}: no price vector meets it")
    low, high = 0.0, float(np.max(v - lo))
    for _ in range(200):
        mid = 0.5 * (low + high)
        if float(np.mean(np.clip(v - mid, lo, hi))) > cap:
            low = mid
        else:
            high = mid
        if high - low <= tol:
            break
    return np.clip(v - high, lo, hi), high


def project_prices(
    raw: ArrayLike,
    lo: ArrayLike,
    hi: ArrayLike,
    fallback: ArrayLike,
    caps: Mapping[str, tuple[slice, float]],
    sell: slice,
    buy: slice,
    levels: ArrayLike | None = None,
) -> PriceProjection:
    """Steps 1–4 of the module docstring. ``caps`` maps a vector's name to its slice and cap;
    ``sell``/``buy`` are the storage's selling and buying vectors; ``levels`` (optional, one
    integer per price) the level each price posts. A ``ValueError`` when the shapes disagree,
    a bound is inverted or a level's entries have unequal boxes."""
    v = np.asarray(raw, dtype=float).reshape(-1).copy()
    lo = np.asarray(lo, dtype=float).reshape(-1)
    hi = np.asarray(hi, dtype=float).reshape(-1)
    fallback = np.asarray(fallback, dtype=float).reshape(-1)
    if not (lo.shape == hi.shape == fallback.shape):
        raise ValueError(f"bounds and fallback of unequal length: {lo.size}, {hi.size}, "
                         f"{fallback.size}")
    if v.shape != lo.shape:
        raise ValueError(f"{v.size} prices given, expected {lo.size}")
    if np.any(lo > hi):
        k = int(np.flatnonzero(lo > hi)[0])
        raise ValueError(f"price {k}: lower bound {lo[k]} above upper bound {hi[k]}")
    bad = ~np.isfinite(v)
    v[bad] = fallback[bad]
    finite = v.copy()
    n_averaged = 0
    if levels is not None:
        index = np.asarray(levels, dtype=np.intp).reshape(-1)
        if index.shape != v.shape:
            raise ValueError(f"{index.size} levels for {v.size} prices")
        first = first_of_levels(index)
        if np.any(lo != lo[first][index]) or np.any(hi != hi[first][index]):
            raise ValueError("the prices of one level have unequal boxes")
        mean = (np.bincount(index, weights=v) / np.bincount(index))[index]
        n_averaged = int(np.count_nonzero(np.abs(mean - v) > 1e-12))
        v = mean
    out = np.clip(v, lo, hi)
    n_clipped = int(np.count_nonzero(out != v))
    shifts = {}
    for name, (where, cap) in caps.items():
        out[where], shifts[name] = _shift_to_cap(out[where], lo[where], hi[where], float(cap))
    lowered = out[sell] > out[buy]
    out[sell] = np.minimum(out[sell], out[buy])
    return PriceProjection(
        prices=out,
        n_nonfinite=int(np.count_nonzero(bad)),
        n_clipped=n_clipped,
        distance=float(np.linalg.norm(out[~bad] - finite[~bad])),
        cap_shift=shifts,
        n_sell_capped=int(np.count_nonzero(lowered)),
        n_at_bound=int(np.count_nonzero((out <= lo + AT_BOUND_TOL) | (out >= hi - AT_BOUND_TOL))),
        n_level_averaged=n_averaged,
    )
