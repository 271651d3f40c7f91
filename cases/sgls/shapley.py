"""Cooperative game of the SGLS cases (§3 of Li et al. 2026): exact Shapley allocation.

Players ``N = {generation, grid, load, storage}`` (:data:`~.core.PLAYERS`). The characteristic
function is the cost saving a coalition achieves by optimizing its own resources together::

    v(S) = C(∅) − C(S),      C(S) = min  day cost  with the resources of N \\ S at their default

solved as a deterministic MILP (:func:`~.formulation.plan_model`) on the realized day at hourly
resolution (24 steps), built once per day; each of the 16 coalitions fixes the variables of the
players outside it and is solved by :func:`~.formulation.solve` (the fixed variables compile
away; the LP relaxation, rounded when it must be, certifies the optimum to a relative gap of
1e-5). Network: IEEE 33 keeps the MILPs' linearized voltage limits; IEEE 30's game has no
line limits (the default dispatch of the players outside a coalition can overload a line by
itself, which would leave that coalition without a feasible point). Defaults of players
outside ``S``:

* ``storage`` — idle (no charge, no discharge);
* ``load`` — flexible loads not adjusted;
* ``generation`` — thermal units follow the net load pro rata to their capacity (a load-
  following rule, no economic dispatch); IEEE 33 has no dispatchable generation (renewables
  are not curtailed), so there ``generation`` is a null player with share 0;
* ``grid`` — the tie line is not scheduled: every import is settled as imbalance
  (``imbalance_buy · λ``), every export at ``imbalance_sell · λ``; with the grid in ``S``
  imports pay ``λ`` and exports earn ``export_price_factor · λ`` (the day-ahead market access
  the grid operator brings into the coalition).

Shapley share ``φ_i = Σ_{S ⊆ N∖{i}} |S|!(n−|S|−1)!/n! · (v(S ∪ {i}) − v(S))``, all 16
coalitions, exact (efficiency ``Σ φ_i = v(N)`` holds by construction and is tested).

Realized payoff of player ``i`` on an executed day (:func:`realized_payoffs`): the saving on its
own cost terms against the all-default day, ``π_i = c_i(∅) − c_i``, with ``c_generation`` the
thermal cost, ``c_grid`` the tie-line payments (day-ahead purchase + imbalance + network loss),
``c_load`` the flexible-load cost and ``c_storage`` the storage cost; ``Σ π_i`` is the day's
total saving. The referee's cooperative reward term penalizes ``Σ_i |π_i − φ_i|``.
"""

from __future__ import annotations

import datetime
import itertools
from functools import lru_cache
from typing import Final

from gridbench.cases.sgls.config import SglsConfig
from gridbench.cases.shapley_value import shapley_values

__all__ = [
    "GAME_VERSION",
    "PLAYERS",
    "characteristic_costs",
    "compute_shapley_day",
    "shapley",
    "shapley_day",
]

PLAYERS: Final[tuple[str, ...]] = ("generation", "grid", "load", "storage")
#: Version of the game's model (the coalition MILPs and the players' defaults): bump it on any
#: change that can move a share, so that precomputed tables (:mod:`.shapley_table`) of the
#: old game are no longer read. 2: shares by the standard-form highspy path (2026-11-24).
GAME_VERSION: Final[int] = 2


class _Game:
    """One hourly model of the day; each coalition fixes the defaults of the players outside
    it (no rebuild) and is solved afresh (the fixed variables compile away)."""

    def __init__(self, config: SglsConfig, day: datetime.date, *, appsi: bool = False) -> None:
        """``appsi=True``: re-solve every coalition as a MILP on one persistent ``appsi_highs``
        instance instead (the previous method, kept as the benchmark suite's reference)."""
        from gridbench.cases.sgls.day import sgls_day
        from gridbench.cases.sgls.formulation import block_data, plan_model, set_block

        self.config = config
        data = sgls_day(config, day).hourly()
        self.bd = block_data(config, data)
        self.m = plan_model(config, 24, 1.0, tie="linear", data=self.bd,
                            network=config.grid == "ieee33")
        set_block(self.m.b, config, self.bd, soc0=[s.soc0 for s in config.storage],
                  w_target=1000.0)
        self.default_th = config.default_thermal_mw(self.bd.net + self.bd.loss)
        self.day = day
        self.opt = None
        if appsi:
            from pyomo.contrib.appsi.solvers.highs import Highs

            from gridbench.cases.highs import quiet_highs_banner

            quiet_highs_banner()

            self.opt = Highs()

    def cost(self, coalition: frozenset[str], time_limit_s: float = 30.0
             ) -> tuple[float, dict[str, float]]:
        import pyomo.environ as pyo

        from gridbench.cases.sgls.formulation import SolveStatus, solve

        config, b, bd = self.config, self.m.b, self.bd
        grid_in = "grid" in coalition
        b.fbuy = 1.0 if grid_in else config.imbalance_buy
        b.fsell = config.export_price_factor if grid_in else config.imbalance_sell
        groups = {"storage": (b.ch, b.dis, b.u), "load": (b.up, b.dn)}
        for player, comps in groups.items():
            for v in comps:
                for idx in v:
                    if player in coalition:
                        v[idx].unfix()
                    else:
                        v[idx].fix(0)
        if config.thermal:
            for (g, t) in b.p:
                if "generation" in coalition:
                    b.p[g, t].unfix()
                else:
                    b.p[g, t].fix(float(self.default_th[t, g]))
        info = solve(self.m, time_limit_s=time_limit_s, mip_gap=1e-5, solver=self.opt)
        if info.status is not SolveStatus.OPTIMAL:
            raise RuntimeError(f"coalition {sorted(coalition)} on {self.day}: {info.status}")
        val = pyo.value
        th = sum(u.a * val(b.p[g, t]) ** 2 + u.b * val(b.p[g, t]) + u.c
                 for g, u in enumerate(config.thermal) for t in b.T)
        st = sum(s.cost_charge * val(b.ch[i, t]) + s.cost_discharge * val(b.dis[i, t])
                 for i, s in enumerate(config.storage) for t in b.T)
        fl = sum(f.cost * (val(b.up[j, t]) + val(b.dn[j, t]))
                 for j, f in enumerate(config.flexible) for t in b.T)
        grid = sum(bd.price[t] * (val(b.fbuy) * val(b.dp[t]) - val(b.fsell) * val(b.dm[t]))
                   for t in b.T)
        # costs re-evaluated exactly (the objective's thermal cost is the tangents' maximum)
        parts = {"generation": float(th), "grid": float(grid), "load": float(fl),
                 "storage": float(st)}
        return float(sum(parts.values())), parts


def characteristic_costs(config: SglsConfig, day: datetime.date, *, appsi: bool = False
                         ) -> tuple[dict[frozenset[str], float], dict[str, float]]:
    """``C(S)`` for all 16 coalitions, and the players' own costs in ``C(∅)`` (``appsi``: see
    :class:`_Game`)."""
    game = _Game(config, day, appsi=appsi)
    out = {}
    parts_empty: dict[str, float] = {}
    for r in range(len(PLAYERS) + 1):
        for combo in itertools.combinations(PLAYERS, r):
            out[frozenset(combo)], parts = game.cost(frozenset(combo))
            if r == 0:
                parts_empty = parts
    return out, parts_empty


def shapley(values: dict[frozenset[str], float], players: tuple[str, ...] = PLAYERS
            ) -> dict[str, float]:
    """Exact Shapley values of the game ``values`` (``v(S)`` for every coalition;
    :func:`gridbench.cases.shapley_value.shapley_values`)."""
    return shapley_values(values, players)


@lru_cache(maxsize=512)
def shapley_day(config: SglsConfig, day: datetime.date) -> tuple[dict[str, float],
                                                                  dict[str, float], float]:
    """``(φ, default costs c_i(∅), v(N))`` of ``day``: read from the shipped table
    (:mod:`.shapley_table`) when it holds this game's day, else :func:`compute_shapley_day`."""
    from gridbench.cases.sgls.shapley_table import lookup

    hit = lookup(config, day)
    return hit if hit is not None else compute_shapley_day(config, day)


def compute_shapley_day(config: SglsConfig, day: datetime.date) -> tuple[dict[str, float],
                                                                          dict[str, float], float]:
    """``(φ, default costs c_i(∅), v(N))`` of ``day``: Shapley shares of the cost saving,
    solved (16 coalition MILPs)."""
    costs, default_parts = characteristic_costs(config, day)
    empty = costs[frozenset()]
    values = {s: empty - c for s, c in costs.items()}
    return shapley(values), default_parts, values[frozenset(PLAYERS)]
