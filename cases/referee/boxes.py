"""Boxes: the ``(low, high)`` bounds a core declares, validated once, and the ``float32``
``Box`` spaces the front-ends build from them."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from numpy.typing import ArrayLike, NDArray

from gridbench.cases.referee.errors import RefereeError

__all__ = ["Bounds", "FloatArray", "checked_bounds", "finite_bounds", "float32_box"]

FloatArray = NDArray[np.float64]
Bounds = tuple[FloatArray, FloatArray]


def checked_bounds(name: str, bounds: tuple[ArrayLike, ArrayLike], size: int) -> Bounds:
    """``bounds`` (returned by the core's method ``name``) as two float64 vectors of ``size``
    entries with ``low <= high`` and no NaN; a :class:`RefereeError` otherwise."""
    low, high = bounds[0], bounds[1]
    # per-step hot path: float64 vectors of the right size need no conversion
    if not (
        type(low) is np.ndarray
        and type(high) is np.ndarray
        and low.dtype == high.dtype == np.float64
        and low.shape == high.shape == (size,)
    ):
        low = np.asarray(low, dtype=np.float64).reshape(-1)
        high = np.asarray(high, dtype=np.float64).reshape(-1)
        if low.shape != (size,) or high.shape != (size,):
            raise RefereeError(
                f"{name} must return two arrays of {size} entries, got {low.size} and {high.size}"
            )
    if not _ordered(low, high):
        raise RefereeError(f"{name} must return low <= high without NaN")
    return low, high


def _ordered(low: FloatArray, high: FloatArray) -> bool:
    """``(low <= high).all()`` (False where a bound is NaN); in floats for short vectors,
    where numpy's per-call overhead dominates."""
    if low.size > 32:
        return bool(np.less_equal(low, high).all())
    for lo, hi in zip(low.tolist(), high.tolist(), strict=True):
        if not lo <= hi:
            return False
    return True


def finite_bounds(name: str, bounds: tuple[ArrayLike, ArrayLike]) -> Bounds:
    """:func:`checked_bounds` that must also be finite (the bounds of an observation)."""
    size = np.asarray(bounds[0]).size
    low, high = checked_bounds(name, bounds, size)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise RefereeError(f"{name} must be finite (observation spaces are bounded boxes)")
    return low, high


def float32_box(low: FloatArray, high: FloatArray) -> spaces.Box:
    """The ``float32`` ``Box`` space of ``[low, high]``."""
    return spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)
