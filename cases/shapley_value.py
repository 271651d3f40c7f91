"""The Shapley value of a cooperative game given by its characteristic function, exactly (every
coalition): the one implementation the SGLS cases' cooperative reward
(:mod:`gridbench.cases.sgls.shapley`) and the Stackelberg cases' benefit allocation
(``solvers/stackelberg_shapley.py``) call.

    φ_i = Σ_{S ⊆ N∖{i}} |S|! (n − |S| − 1)! / n! · (v(S ∪ {i}) − v(S))

Efficiency (``Σ_i φ_i = v(N)``) holds by construction.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

__all__ = ["coalitions", "shapley_values"]


def coalitions(players: Sequence[str]) -> list[frozenset[str]]:
    """Every subset of ``players``, the empty one first, by size."""
    return [frozenset(c) for r in range(len(players) + 1)
            for c in itertools.combinations(players, r)]


def shapley_values(values: Mapping[frozenset[str], float], players: Sequence[str]
                   ) -> dict[str, float]:
    """Exact Shapley values of the game ``values`` (``v(S)`` for every coalition of
    ``players``; a missing coalition is a ``KeyError``)."""
    n = len(players)
    phi = dict.fromkeys(players, 0.0)
    for i in players:
        others = [p for p in players if p != i]
        for r in range(n):
            w = math.factorial(r) * math.factorial(n - r - 1) / math.factorial(n)
            for combo in itertools.combinations(others, r):
                s = frozenset(combo)
                phi[i] += w * (values[s | {i}] - values[s])
    return phi
