"""Shapley shares of the Stackelberg cases' social surplus (spec §7, "benefit allocation"):
what each player would get of the surplus over the tariff if the surplus were split by its
marginal contributions, the yardstick the game table holds each method's gains against.

Players ``N = {dso, ea, la, gsess}`` (:data:`PLAYERS`). The characteristic function is the
saving in *system cost* (:func:`~gridbench.cases.stackelberg.bilevel.system_cost`: what the
system pays whatever the prices) that a coalition achieves by choosing its members' decisions
together::

    v(S) = SC(∅) − SC(S),

* the players outside ``S`` at their default: each follower's exact best response to the
  posted tariff (its ``tou`` outcome: the tariff made admissible, as ``tou`` posts it);
* a coalition with the DSO chooses its followers' decisions and the network's (losses) jointly
  to minimize the system cost, the outsiders held at their default (the convex social problem
  of :func:`~gridbench.cases.stackelberg.bilevel.solve_social` with ``fixed`` outsiders);
* **a coalition without the DSO saves nothing**, ``v(S) = 0``: without the operator its members
  still buy and sell at the tariff, and the followers' problems couple only through the prices
  and the network, so choosing together what each already chooses alone against the tariff
  changes nothing. The DSO is therefore a veto player, and its share is at least
  ``v(N)/4`` (a choice of this module, where the spec leaves the coalition without the leader
  open; an alternative that lets follower coalitions trade at the upstream price among
  themselves would move surplus from the DSO to the followers);
* ``v({dso}) = 0`` (the DSO has no devices), ``v(N)`` is the social surplus
  ``SC(tou) − SC(social)``.

The model is the social optimum's (:func:`~.stackelberg.social_models`: the MILP's LinDistFlow
with the referee's line ratings, loosened along the same ladder where a coalition is
infeasible, and every coalition of a day in the same model), on the realized day. Seven convex
QPs a day (the coalitions with the DSO and at least one follower), about 1 s.

The game table (``python -m gridbench.benchmarks.game_table``) holds each method's gains against
these shares.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Final

from gridbench.cases.shapley_value import coalitions, shapley_values

if TYPE_CHECKING:
    from gridbench.cases.stackelberg.case import StackelbergCase

__all__ = ["PLAYERS", "SurplusShares", "coalition_costs", "surplus_shares"]

#: The players of the cooperative game, the leader first.
PLAYERS: Final[tuple[str, ...]] = ("dso", "ea", "la", "gsess")
_LEADER: Final[str] = PLAYERS[0]


@dataclass(frozen=True)
class SurplusShares:
    """One day's game: ``shares`` (φ_i, $), ``surplus`` (``v(N)``, $), ``values`` (``v(S)``
    for every coalition) and ``rung`` (the network model of :func:`~.stackelberg.social_models`
    every coalition was solved in)."""

    day: datetime.date
    shares: dict[str, float]
    surplus: float
    values: dict[frozenset[str], float]
    rung: int


def coalition_costs(case: StackelbergCase, day: datetime.date
                    ) -> tuple[dict[frozenset[str], float], int]:
    """``SC(S)`` of every coalition containing the DSO (module docstring) on ``day``, and the
    rung of the network model they were solved in (the first in which all of them are)."""
    from gridbench.cases.stackelberg.bilevel import solve_social
    from gridbench.cases.stackelberg.follower import BestResponder
    from gridbench.cases.stackelberg.players import (
        admissible_prices,
        leader_problem,
        tariff_prices,
    )
    from gridbench.solvers.stackelberg import social_models

    data = case.game(day)
    posted = admissible_prices(case.config, data, tariff_prices(case.config, data)).prices
    failed: list[str] = []
    for rung, (model, limits) in enumerate(social_models(case.config)):
        problem = leader_problem(model, data, line_ratings=limits)
        default = {f.name: BestResponder(f)(posted).x for f in problem.followers}
        costs: dict[frozenset[str], float] = {}
        for coalition in coalitions(PLAYERS[1:]):  # the followers with the DSO
            outside = {n: x for n, x in default.items() if n not in coalition}
            sol = solve_social(problem, fixed=outside)
            if not sol.status.ok:
                failed.append(f"rung {rung} {sorted(coalition)}: {sol.status}")
                break
            costs[coalition | {_LEADER}] = sol.system_cost
        else:
            return costs, rung
    raise RuntimeError(f"coalitions of {day} unsolved in every network model: {failed}")


@lru_cache(maxsize=1024)
def _shares(case: StackelbergCase, day: datetime.date) -> SurplusShares:
    costs, rung = coalition_costs(case, day)
    alone = costs[frozenset({_LEADER})]
    values = {s: (alone - costs[s] if _LEADER in s else 0.0) for s in coalitions(PLAYERS)}
    return SurplusShares(day, shapley_values(values, PLAYERS), values[frozenset(PLAYERS)],
                         values, rung)


def surplus_shares(case: StackelbergCase, day: datetime.date | str) -> SurplusShares:
    """The Shapley shares of ``day``'s social surplus (module docstring; cached per case and
    day)."""
    return _shares(case, case.resolve_day(day))
