"""The Shapley value (``cases/shapley_value.py``) on a hand-solvable game, and the Stackelberg
cases' Shapley shares of the social surplus (``solvers/stackelberg_shapley.py``) on one test
day: the characteristic function's defining properties and the game table's use of it."""

from __future__ import annotations

import numpy as np
import pytest

from gridbench.cases.registry import make_case
from gridbench.cases.shapley_value import coalitions, shapley_values

GSESS = "stackelberg-gsess-feeder38-v0"
DAY = "2016-06-14"


def test_shapley_values_of_a_veto_game_by_hand():
    """Three players, ``a`` a veto player: v(S) = 1 when S holds ``a`` and one other, else 0.
    ``a``'s marginal contribution is 1 in the orders where it comes second or third (4 of 6),
    ``b``'s only when it follows ``a`` directly (1 of 6): φ = (2/3, 1/6, 1/6)."""
    players = ("a", "b", "c")
    values = {s: float("a" in s and len(s) >= 2) for s in coalitions(players)}
    phi = shapley_values(values, players)
    assert phi == pytest.approx({"a": 2 / 3, "b": 1 / 6, "c": 1 / 6}, abs=1e-15)
    assert len(coalitions(players)) == 8 and coalitions(players)[0] == frozenset()
    with pytest.raises(KeyError):
        shapley_values({frozenset(): 0.0}, players)


@pytest.fixture(scope="module")
def game():
    from gridbench.solvers.stackelberg_shapley import surplus_shares

    case = make_case(GSESS)
    return case, surplus_shares(case, DAY)


def test_surplus_shares_follow_the_characteristic_function(game):
    """Efficiency; nothing without the DSO; the DSO alone saves nothing; the grand
    coalition's saving is the system cost under the tariff's best responses minus the social
    optimum's, both in the same network model; the DSO, a veto player, gets at least v(N)/4."""
    from gridbench.cases.stackelberg.bilevel import solve_social, system_cost
    from gridbench.cases.stackelberg.follower import BestResponder
    from gridbench.cases.stackelberg.players import (
        admissible_prices,
        leader_problem,
        tariff_prices,
    )
    from gridbench.solvers.stackelberg import social_models
    from gridbench.solvers.stackelberg_shapley import PLAYERS

    case, g = game
    assert sum(g.shares.values()) == pytest.approx(g.surplus, abs=1e-9)
    assert all(g.values[s] == 0.0 for s in g.values if "dso" not in s)
    assert g.values[frozenset({"dso"})] == 0.0
    assert g.surplus > 0.0 and g.shares["dso"] >= g.surplus / 4 - 1e-9
    model, limits = list(social_models(case.config))[g.rung]
    data = case.game(DAY)
    problem = leader_problem(model, data, line_ratings=limits)
    posted = admissible_prices(case.config, data, tariff_prices(case.config, data)).prices
    tou = {f.name: BestResponder(f)(posted).x for f in problem.followers}
    everyone_fixed = solve_social(problem, fixed=tou)
    social = solve_social(problem)
    assert g.surplus == pytest.approx(everyone_fixed.system_cost - social.system_cost, rel=1e-9)
    # every decision fixed: the QP only chooses the network's own variables, and the system
    # cost is the tariff outcome's
    assert everyone_fixed.system_cost == pytest.approx(system_cost(problem, tou), rel=1e-6)
    assert set(g.shares) == set(PLAYERS)


def test_solve_social_rejects_an_unknown_or_misshaped_fixed_follower(game):
    from gridbench.cases.stackelberg.bilevel import solve_social
    from gridbench.cases.stackelberg.players import leader_problem

    case, _ = game
    problem = leader_problem(case.config, case.game(DAY))
    with pytest.raises(ValueError, match="'storage' is not among"):
        solve_social(problem, fixed={"storage": np.zeros(3)})
    with pytest.raises(ValueError, match="fixed ea has 3 entries"):
        solve_social(problem, fixed={"ea": np.zeros(3)})


def test_game_table_holds_each_gain_against_the_shapley_share(game):
    """Two methods on the day: ``tou`` (gains 0, so each entry is −φ) and a method whose DSO
    earns 10 $ more: its DSO entry is 10 − φ_dso."""
    import pandas as pd

    from gridbench.benchmarks.game_table import shapley_table

    _, g = game
    base = {"profit_dso": 900.0, "profit_ea": 300.0, "profit_la": -3000.0,
            "profit_gsess": -250.0}
    rows = [{"case": GSESS, "method": "tou", "day": DAY, "status": "ok", **base},
            {"case": GSESS, "method": "x", "day": DAY, "status": "ok",
             **{**base, "profit_dso": 910.0}}]
    table = shapley_table(pd.DataFrame(rows)).set_index("method")
    assert table.loc["Shapley share", "surplus"] == pytest.approx(g.surplus)
    for p in ("dso", "ea", "la", "gsess"):
        assert table.loc["Shapley share", f"vs_shapley_{p}"] == pytest.approx(g.shares[p])
        assert table.loc["tou", f"vs_shapley_{p}"] == pytest.approx(-g.shares[p])
    assert table.loc["x", "vs_shapley_dso"] == pytest.approx(10.0 - g.shares["dso"])
    from gridbench.benchmarks.game_table import _shapley_markdown

    md = _shapley_markdown(table.reset_index()).splitlines()
    assert md[2] == "| case | method | days | DSO | EA | LA | storage | surplus v(N) |"
    assert md[4].startswith(f"| {GSESS} | Shapley share | 1 | {g.shares['dso']:+,.1f} |")
    assert md[4].endswith(f"| {g.surplus:,.1f} |") and md[6].endswith(" |  |")
