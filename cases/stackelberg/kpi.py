"""The case's game KPIs (spec §7), computed exactly from the players' problems.

Stackelberg gap of a posted price vector ``λ̂`` and the followers' played responses ``x̂``::

    ε_f = U_f(x̂_f, λ̂) − min_x U_f(x, λ̂)          (follower regret; the followers are not
                                                     coupled, so Σ_f ε_f is their NashConv)
    Δ_L = Π*_DSO − Π_DSO(λ̂, BR(λ̂))                (leader regret against the bilevel optimum)
    G   = (Δ_L + Σ_f ε_f) / Π*_DSO

Lower is better; ``G ≥ 0`` up to the tolerance of ``Π*`` (the optimum's certified lower bound
is used, so a method can land slightly below 0 only within the MILP's gap). Learned best
responses only lower-bound a follower's regret; here it is exact (the followers' QPs). The
realized profit ``Π_DSO(λ̂, x̂)`` may exceed ``Π*`` when followers err in the leader's favour,
which is why ``G`` uses best responses. Prices are not unique (spec §8 T2), so no distance
between price vectors is scored.

Benefit allocation: :func:`jain_index` of the players' gains.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from gridbench.cases.stackelberg.bilevel import BilevelProblem, leader_profit
from gridbench.cases.stackelberg.follower import BestResponder

__all__ = ["StackelbergGap", "jain_index", "stackelberg_gap"]


@dataclass(frozen=True)
class StackelbergGap:
    """The terms of the module docstring, in $ (``gap`` relative)."""

    follower_regret: Mapping[str, float]
    leader_regret: float
    optimum: float
    realized_profit: float
    profit_at_best_responses: float
    gap: float


def stackelberg_gap(
    problem: BilevelProblem,
    prices: ArrayLike,
    responses: Mapping[str, ArrayLike],
    optimum: float,
    responders: Mapping[str, BestResponder] | None = None,
) -> StackelbergGap:
    """``G`` of the module docstring for ``prices`` and the played ``responses`` against the
    day's bilevel optimum ``optimum`` (``Π*``, > 0). ``responders`` reuses warm best
    responders across calls."""
    if not np.isfinite(optimum) or optimum <= 0:
        raise ValueError(f"the optimum profit must be a finite number > 0, got {optimum}")
    lam = np.asarray(prices, dtype=float)
    regret: dict[str, float] = {}
    best: dict[str, np.ndarray] = {}
    for f in problem.followers:
        respond = (responders or {}).get(f.name) or BestResponder(f)
        br = respond(lam)
        best[f.name] = br.x
        regret[f.name] = f.cost(responses[f.name], lam) - br.cost
    at_best = leader_profit(problem, lam, best)
    leader_regret = optimum - at_best
    return StackelbergGap(
        follower_regret=regret,
        leader_regret=leader_regret,
        optimum=optimum,
        realized_profit=leader_profit(problem, lam, responses),
        profit_at_best_responses=at_best,
        gap=(leader_regret + sum(regret.values())) / optimum,
    )


def jain_index(gains: ArrayLike) -> float:
    """Jain's fairness index ``(Σ x)² / (n·Σ x²)`` of the players' gains: 1 when equal,
    ``1/n`` when one player takes everything. Gains must be ≥ 0 (a loss has no share)."""
    x = np.asarray(gains, dtype=float).reshape(-1)
    if x.size == 0 or not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError(f"gains must be finite numbers >= 0, at least one; got {x.tolist()}")
    total = float(np.sum(x * x))
    return 1.0 if total == 0 else float(np.sum(x) ** 2 / (x.size * total))
