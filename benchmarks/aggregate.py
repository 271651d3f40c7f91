"""Aggregation across seeds: interquartile mean, stratified-bootstrap interval, mean ± std.

Follows rliable (Agarwal et al., "Deep RL at the edge of the statistical precipice", NeurIPS
2021), re-implemented here in numpy (no dependency on rliable or arch):

* :func:`iqm` — the interquartile mean **exactly as rliable computes it**, i.e.
  ``scipy.stats.trim_mean(x, 0.25)``: sort the ``n`` values, drop ``⌊n/4⌋`` from each end,
  average the rest. (Whole values are dropped; there are no fractional weights when ``n`` is
  not a multiple of 4, so e.g. the IQM of 5 values is the mean of the middle 3, and for
  ``n < 4`` it is the plain mean.) IQM of 1..8 = mean(3, 4, 5, 6) = 4.5.
* :func:`stratified_bootstrap` — rliable's ``StratifiedBootstrap``: the scores form one
  array of runs per task (stratum; tasks may have different numbers of runs); each bootstrap
  replicate resamples, *within each task*, as many runs as it has, with replacement; the
  statistic (IQM by default) is taken over all resampled scores of the replicate; the
  interval is the percentile interval of the replicates (2.5 % and 97.5 % for 95 %). Seeded,
  hence deterministic. With one run per task the interval collapses onto the estimate.
* :func:`summarize` — all of it for one metric: IQM, interval, mean and sample std.

In the leaderboard a "run" is a seed (its mean over the days) and a case is a task.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_REPS",
    "Summary",
    "iqm",
    "stratified_bootstrap",
    "summarize",
]

#: Bootstrap replicates of the leaderboard (rliable's papers use 2 000 – 50 000).
DEFAULT_REPS: Final[int] = 2000

#: A statistic over the last axis of a 2-D array: ``(reps, n) -> (reps,)``.
Statistic = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def _iqm_rows(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """IQM of each row of a 2-D array (scipy ``trim_mean(…, 0.25, axis=1)``)."""
    n = x.shape[-1]
    k = int(0.25 * n)
    s = np.sort(x, axis=-1)
    return s[..., k : n - k].mean(axis=-1)


def _mean_rows(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return x.mean(axis=-1)


def iqm(values: ArrayLike) -> float:
    """Interquartile mean of ``values`` (flattened; rliable/scipy ``trim_mean(x, 0.25)``).

    Raises ``ValueError`` on an empty input or NaN values (drop them first).
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise ValueError("iqm of no values")
    if np.isnan(x).any():
        raise ValueError("iqm of values with NaN; drop them first")
    return float(_iqm_rows(x[None, :])[0])


def _as_strata(scores: ArrayLike | Sequence[ArrayLike]) -> list[NDArray[np.float64]]:
    if isinstance(scores, np.ndarray) or not isinstance(scores, Sequence):
        arr = np.asarray(scores, dtype=np.float64)
        if arr.ndim == 1:
            return [arr]
        if arr.ndim == 2:  # (runs, tasks), rliable's layout
            return [arr[:, j] for j in range(arr.shape[1])]
        raise ValueError(f"scores must be 1-D or (runs, tasks), got shape {arr.shape}")
    if all(np.ndim(s) == 0 for s in scores):
        return [np.asarray(scores, dtype=np.float64)]
    return [np.asarray(s, dtype=np.float64).reshape(-1) for s in scores]


def stratified_bootstrap(
    scores: ArrayLike | Sequence[ArrayLike],
    statistic: Statistic | str = "iqm",
    *,
    reps: int = DEFAULT_REPS,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of ``statistic`` under a bootstrap stratified by task.

    Args:
        scores: a 1-D array (one task), a ``(runs, tasks)`` array, or a list of per-task
            arrays (ragged allowed). No NaN.
        statistic: ``"iqm"``, ``"mean"`` or a function ``(reps, n) -> (reps,)``.
        reps: bootstrap replicates.
        confidence: coverage of the interval (0–1).
        seed: seed of the resampling (same seed, same interval).

    Returns:
        ``(lo, hi)``.
    """
    strata = _as_strata(scores)
    if not strata or any(s.size == 0 for s in strata):
        raise ValueError("every task needs at least one run")
    if any(np.isnan(s).any() for s in strata):
        raise ValueError("scores hold NaN; drop them first")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence {confidence!r} must lie in (0, 1)")
    if reps < 1:
        raise ValueError(f"reps {reps!r} must be >= 1")
    if isinstance(statistic, str):
        table = {"iqm": _iqm_rows, "mean": _mean_rows}
        if statistic not in table:
            raise ValueError(f"unknown statistic {statistic!r}; valid: {', '.join(table)}")
        statistic = table[statistic]
    rng = np.random.default_rng(seed)
    parts = [s[rng.integers(0, s.size, size=(reps, s.size))] for s in strata]
    estimates = np.asarray(statistic(np.concatenate(parts, axis=1)), dtype=np.float64)
    alpha = 100.0 * (1.0 - confidence) / 2.0
    lo, hi = np.percentile(estimates, [alpha, 100.0 - alpha])
    return float(lo), float(hi)


@dataclass(frozen=True, slots=True)
class Summary:
    """One metric across runs: IQM with its 95 % interval, mean and sample std (ddof 1; NaN
    for a single run), and the number of runs (NaN values excluded)."""

    iqm: float
    lo: float
    hi: float
    mean: float
    std: float
    n: int

    @classmethod
    def empty(cls) -> Summary:
        return cls(math.nan, math.nan, math.nan, math.nan, math.nan, 0)


def summarize(
    values: ArrayLike | Sequence[ArrayLike],
    *,
    reps: int = DEFAULT_REPS,
    confidence: float = 0.95,
    seed: int = 0,
) -> Summary:
    """IQM, stratified-bootstrap interval, mean and std of ``values`` (one array per task, or
    one array); NaN entries are dropped first; all-NaN gives :meth:`Summary.empty`."""
    strata = [s[~np.isnan(s)] for s in _as_strata(values)]
    strata = [s for s in strata if s.size]
    if not strata:
        return Summary.empty()
    flat = np.concatenate(strata)
    lo, hi = stratified_bootstrap(strata, "iqm", reps=reps, confidence=confidence, seed=seed)
    std = float(np.std(flat, ddof=1)) if flat.size > 1 else math.nan
    return Summary(iqm(flat), lo, hi, float(flat.mean()), std, int(flat.size))
