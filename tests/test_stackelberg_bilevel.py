"""The leader's exact MILP against rational followers (``cases/stackelberg/bilevel.py``) and
the followers' exact best responses (``cases/stackelberg/follower.py``), on the hand-solvable
instances T1–T4 of ``../shared/specs/stackelberg-gsess.md`` §8 plus the ×10 big-M check."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from gridbench.cases.stackelberg.bilevel import (
    MILP_OPTIONS,
    BilevelProblem,
    DualBounds,
    box_dual_bounds,
    certify,
    leader_profit,
    solve_bilevel,
    solve_social,
    system_cost,
)
from gridbench.cases.stackelberg.follower import BestResponder, FollowerQP, best_response

PI = 50.0  # T1/T3: the leader's upstream price ($/MWh)
KAPPA = 60.0  # the load aggregator's curtailment cost ($/MWh)


def _curtailment(q: float, cap: float, demand: float = 1.0, fixed: float | None = None):
    """T1/T3's load aggregator: curtails ``c ∈ [0, cap]`` of ``demand`` at κ c + ½ q c² and
    pays λ (demand − c); with ``fixed``, a second purchase fixed at that value (presolve)."""
    if fixed is None:
        return FollowerQP("la", 1, q=[q], c=[KAPPA], price_map=[[-1.0]], priced_data=[demand],
                          lb=[0.0], ub=[cap], variables=("curtail",))
    return FollowerQP("la", 1, q=[q, 0.0], c=[KAPPA, 0.0], price_map=[[-1.0, 1.0]],
                      priced_data=[demand], lb=[0.0, fixed], ub=[cap, fixed],
                      variables=("curtail", "extra"))


def _t1(q: float = 100.0, cap: float = 0.5, hi: float = 153.0, fixed: float | None = None):
    """Leader profit (λ − π)(D − c): the payment λ(D − c) plus π c minus π D."""
    la = _curtailment(q, cap, fixed=fixed)
    g = [PI] if fixed is None else [PI, -PI]
    return BilevelProblem(
        followers=(la,),
        dual_bounds={"la": _bounds(la, [PI], [hi])},
        price_lo=[PI], price_hi=[hi],
        objective_followers={"la": g}, objective_constant=-PI,
    )


def _bounds(qp: FollowerQP, lo, hi) -> DualBounds:
    if qp.n == 1:
        return box_dual_bounds(qp, lo, hi)
    return DualBounds(np.zeros(0), np.full(qp.n, 1e3), np.full(qp.n, 1e3))


def test_t1_the_global_optimum_not_the_local_stationary_point():
    """BR c(λ) = clip((λ − κ)/q, 0, C̄); the interior stationary point λ = 105 (profit
    30.25) is only local; the optimum is λ = 153 with c = 0.5: profit 51.5."""
    problem = _t1()
    sol = solve_bilevel(problem)
    assert sol.status == "optimal"
    assert sol.prices == pytest.approx([153.0], abs=1e-6)
    assert sol.responses["la"] == pytest.approx([0.5], abs=1e-7)
    assert sol.objective == pytest.approx(51.5, abs=1e-6)
    assert leader_profit(problem, [105.0], {"la": [0.45]}) == pytest.approx(30.25)
    cert = certify(problem, sol)
    assert cert.lower == pytest.approx(51.5, abs=1e-6)
    assert cert.upper >= cert.lower - 1e-9 and cert.gap <= 1e-4
    assert cert.max_response_gap <= 1e-6 and abs(cert.regret["la"]) <= 1e-6


def _t2(lo: float = 0.0, hi: float = 200.0, p_max: float = 0.92):
    """Two hours, a battery buying p at λ1 and selling it at λ2, cost q p² (q = 50, i.e.
    ½·100 p²): BR p = (λ2 − λ1)/(2q); the leader buys p upstream at π1 = 30 and sells it at
    π2 = 110: profit (Δπ − s) s/(2q), best s = Δπ/2 = 40, profit Δπ²/(8q) = 16."""
    battery = FollowerQP("gsess", 2, q=[100.0], c=[0.0], price_map=[[1.0], [-1.0]],
                         priced_data=[0.0, 0.0], lb=[0.0], ub=[p_max])
    return BilevelProblem(
        followers=(battery,),
        dual_bounds={"gsess": box_dual_bounds(battery, [lo, lo], [hi, hi])},
        price_lo=[lo, lo], price_hi=[hi, hi],
        objective_followers={"gsess": [110.0 - 30.0]},
    )


def test_t2_battery_spread_and_non_unique_prices():
    """p* = 0.4 is a tangent point (24 points over [0, 0.92]): the MILP's objective is 16
    exactly; every price pair with a spread of 40 earns it (the prices are not unique, so the
    Stackelberg gap, not the distance between price vectors, scores a method)."""
    problem = _t2()
    sol = solve_bilevel(problem)
    assert sol.objective == pytest.approx(16.0, abs=1e-6)
    spread = sol.prices[1] - sol.prices[0]
    assert 38.0 - 1e-6 <= spread <= 42.0 + 1e-6  # the flat piece of the tangent at 0.4
    cert = certify(problem, sol)
    assert 16.0 - sol.approximation_bound - 1e-6 <= cert.lower <= 16.0 + 1e-9
    assert cert.max_response_gap <= 1e-6
    for prices in ([50.0, 90.0], [100.0, 140.0]):
        fixed = solve_bilevel(problem, fix_prices=prices)
        assert fixed.responses["gsess"] == pytest.approx([0.4], abs=1e-7)
        assert leader_profit(problem, prices, fixed.responses) == pytest.approx(16.0)


def test_t3_a_linear_follower_gives_the_optimistic_optimum():
    """q = 0, C̄ = 0.8, λ ≤ 70: at λ = κ = 60 the follower is indifferent; the MILP takes the
    response that suits the leader (c = 0, profit 10), the pessimistic one (c = 0.8) gives 2."""
    problem = _t1(q=0.0, cap=0.8, hi=70.0)
    sol = solve_bilevel(problem)
    assert sol.objective == pytest.approx(10.0, abs=1e-6)
    assert sol.prices == pytest.approx([60.0], abs=1e-6)
    assert sol.responses["la"] == pytest.approx([0.0], abs=1e-7)
    la = problem.follower("la")
    assert la.cost([0.0], [60.0]) == pytest.approx(la.cost([0.8], [60.0]))  # indifferent
    assert leader_profit(problem, [60.0], {"la": [0.8]}) == pytest.approx(2.0)


@pytest.mark.parametrize("seed", range(5))
def test_t4_with_the_prices_fixed_the_kkt_block_is_the_best_response(seed):
    """A random follower with a coupling row, an equality and two priced quantities: the
    MILP's follower block at fixed random prices equals the QP's best response."""
    rng = np.random.default_rng(seed)
    n = 5
    qp = FollowerQP(
        "f", 2, q=rng.uniform(1.0, 5.0, n), c=rng.uniform(-3.0, 3.0, n),
        price_map=rng.uniform(-1.0, 1.0, (2, n)), priced_data=rng.uniform(0, 1, 2),
        lb=np.full(n, -1.0), ub=np.full(n, 2.0),
        a_ub=np.ones((1, n)), b_ub=[1.5], a_eq=[[1.0, -1.0, 0.0, 0.0, 0.0]], b_eq=[0.2],
    )
    problem = BilevelProblem(
        followers=(qp,),
        dual_bounds={"f": DualBounds(np.full(1, 1e3), np.full(n, 1e3), np.full(n, 1e3))},
        price_lo=[0.0, 0.0], price_hi=[10.0, 10.0],
    )
    prices = rng.uniform(0.0, 10.0, 2)
    sol = solve_bilevel(problem, fix_prices=prices)
    br = best_response(qp, prices)
    assert qp.violation(br.x) <= 1e-8
    assert sol.responses["f"] == pytest.approx(br.x, abs=1e-6)
    assert BestResponder(qp).regret(sol.responses["f"], prices) == pytest.approx(0, abs=1e-7)


@pytest.mark.parametrize("options", [None, {}, {"presolve": "on"}],
                         ids=["milp-options", "highs-defaults", "presolve-on"])
@pytest.mark.parametrize(("make", "optimum"), [(_t1, 51.5), (_t2, 16.0)], ids=["t1", "t2"])
def test_highs_options_change_the_search_not_the_optimum(make, optimum, options):
    """:data:`MILP_OPTIONS` (HiGHS's presolve and RINS off) and HiGHS's defaults
    reach the same hand-derived optimum (T1: 51.5; T2: 16, a tangent point)."""
    sol = solve_bilevel(make(), highs_options=options)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(optimum, abs=1e-6)
    assert sol.dual_bound == pytest.approx(optimum, abs=1e-4 * optimum)


def test_an_option_highs_does_not_take_is_refused():
    assert MILP_OPTIONS["presolve"] == "off"
    with pytest.raises(ValueError, match="HiGHS refused the option no_such_option"):
        solve_bilevel(_t1(), highs_options={"no_such_option": 1})
    with pytest.raises(ValueError, match="HiGHS refused the option presolve"):
        solve_bilevel(_t1(), highs_options={"presolve": 3.5})


@pytest.mark.parametrize("make", [_t1, _t2], ids=["t1", "t2"])
def test_big_m_times_ten_changes_nothing(make):
    """Spec §3 certification (3): every dual bound ×10, the optimum stays put (a cut-off
    optimum would rise)."""
    problem = make()
    base, wide = solve_bilevel(problem), solve_bilevel(problem, dual_scale=10.0)
    assert wide.objective == pytest.approx(base.objective, rel=1e-6)


def test_fixed_variables_are_presolved_into_priced_data():
    """A purchase fixed at 0.2 MW (lb = ub, its bound duals free and degenerate) is the same
    game as 0.2 MW more demand: same prices and profit."""
    with_fixed = solve_bilevel(_t1(fixed=0.2))
    la = _curtailment(100.0, 0.5, demand=1.2)
    as_data = solve_bilevel(BilevelProblem(
        followers=(la,), dual_bounds={"la": box_dual_bounds(la, [PI], [153.0])},
        price_lo=[PI], price_hi=[153.0],
        objective_followers={"la": [PI]}, objective_constant=-PI * 1.2,
    ))
    assert with_fixed.objective == pytest.approx(as_data.objective, abs=1e-6)
    assert with_fixed.prices == pytest.approx(as_data.prices, abs=1e-6)
    assert with_fixed.responses["la"] == pytest.approx([0.5, 0.2], abs=1e-7)


def test_best_response_is_the_closed_form():
    """T1's follower: c(λ) = clip((λ − κ)/q, 0, C̄) at a few prices, one warm responder."""
    respond = BestResponder(_curtailment(100.0, 0.5))
    for lam in (50.0, 60.0, 85.0, 105.0, 153.0):
        assert respond([lam]).x == pytest.approx([np.clip((lam - KAPPA) / 100, 0, 0.5)],
                                                 abs=1e-7)
    # asked again at its last prices it returns that answer, read-only; new prices re-solve
    last = respond([153.0])
    assert last is respond([153.0]) and not last.x.flags.writeable
    assert respond([85.0]).x == pytest.approx([0.25], abs=1e-7)


def test_money_split_by_hour_by_hand():
    """Two hours, a battery charging p0 = 1 at λ0 = 10 and selling p1 = 0.5 at λ1 = 30,
    ½·2·p² + 1·p each, priced data (0.2, 0): hour 0 costs 1 + 1 = 2 and pays 10·(1 + 0.2) =
    12; hour 1 costs 0.25 + 0.5 = 0.75 and pays 30·(−0.5) = −15. The per-hour split, each
    hour alone, and the day's totals agree."""
    battery = FollowerQP("gsess", 2, q=[2.0, 2.0], c=[1.0, 1.0],
                         price_map=[[1.0, 0.0], [0.0, -1.0]], priced_data=[0.2, 0.0],
                         lb=[0.0, 0.0], ub=[2.0, 2.0])
    x, lam = [1.0, 0.5], [10.0, 30.0]
    own, pay = battery.cost_by_period(x, lam, [0, 1], [0, 1], 2)
    assert own.tolist() == [2.0, 0.75] and pay.tolist() == [12.0, -15.0]
    assert battery.cost_in_period(x, lam, [0], [0]) == (2.0, 12.0)
    assert battery.cost_in_period(x, lam, [1], [1]) == (0.75, -15.0)
    assert battery.own_cost(x) == 2.75 and battery.payment(x, lam) == -3.0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"q": [-1.0]}, "q must be finite and >= 0"),
    ({"lb": [1.0], "ub": [0.0]}, r"bounds of variable 'curtail' are \[1.0, 0.0\]"),
    ({"c": [1.0, 2.0]}, "c has 2 entries, expected 1"),
    ({"price_map": [[1.0, 2.0]]}, "price_map is 1 x 2, expected 1 x 1"),
])
def test_a_bad_follower_is_refused_with_one_clear_line(kwargs, message):
    spec = {"q": [1.0], "c": [0.0], "price_map": [[-1.0]], "priced_data": [1.0],
            "lb": [0.0], "ub": [1.0], "variables": ("curtail",)} | kwargs
    with pytest.raises(ValueError, match=message):
        FollowerQP("la", 1, **spec)


def test_a_bad_problem_is_refused_with_one_clear_line():
    la = _curtailment(100.0, 0.5)
    bounds = {"la": box_dual_bounds(la, [PI], [153.0])}
    with pytest.raises(ValueError, match=r"price 0: lower bound 160\.0 above upper bound 153\.0"):
        BilevelProblem((la,), bounds, [160.0], [153.0])
    with pytest.raises(ValueError, match=r"unknown follower\(s\) \['ea'\]"):
        BilevelProblem((la,), bounds, [PI], [153.0], objective_followers={"ea": [1.0]})
    with pytest.raises(ValueError, match="no dual bounds for follower 'la'"):
        BilevelProblem((la,), {}, [PI], [153.0])
    free = FollowerQP("la", 1, q=[1.0], c=[0.0], price_map=[[-1.0]], priced_data=[1.0],
                      lb=[0.0], ub=[np.inf])
    with pytest.raises(ValueError, match="needs finite bounds on every variable"):
        BilevelProblem((free,), {"la": DualBounds(np.zeros(0), np.ones(1), np.ones(1))},
                       [PI], [153.0])
    with pytest.raises(ValueError, match="prices must be finite"):
        la.cost([0.1], [np.nan])
    with pytest.raises(ValueError, match="dual_scale must be a finite number > 0"):
        solve_bilevel(BilevelProblem((la,), bounds, [PI], [153.0]), dual_scale=0.0)


def test_leader_rows_bind_the_prices_and_responses():
    """A leader row ``c ≥ 0.3`` (e.g. a network limit that needs curtailment): the leader
    must price at λ ≥ κ + 0.3 q = 90 and still picks the global optimum 153; with c ≤ 0.2 it
    must keep λ ≤ 80 and earns (λ − π)(1 − c) = 30·0.8 = 24 at λ = 80."""
    from gridbench.cases.stackelberg.bilevel import LeaderRows

    base = _t1()
    for lo, hi, price, profit in ((0.3, np.inf, 153.0, 51.5), (-np.inf, 0.2, 80.0, 24.0)):
        rows = LeaderRows(lo=np.array([lo]), hi=np.array([hi]), prices=sp.csr_matrix((1, 1)),
                          own=sp.csr_matrix((1, 0)), followers={"la": sp.csr_matrix([[1.0]])})
        problem = BilevelProblem(
            base.followers, base.dual_bounds, base.price_lo, base.price_hi, leader_rows=rows,
            objective_followers=base.objective_followers, objective_constant=-PI,
        )
        sol = solve_bilevel(problem)
        assert sol.prices == pytest.approx([price], abs=1e-6)
        # c = 0.2 is no tangent point: the MILP's objective is above the true profit, by
        # less than its stated bound; the certificate's lower bound is the true profit
        assert profit - 1e-6 <= sol.objective <= profit + sol.approximation_bound
        assert certify(problem, sol).lower == pytest.approx(profit, abs=1e-6)


def test_t1_social_optimum_and_the_price_of_hierarchy():
    """T1's system (prices are transfers): the social optimum curtails nothing (κ = 60 above
    π = 50) and costs π·D = 50; the Stackelberg outcome (λ = 153, c = 0.5) costs κ·0.5 +
    ½·100·0.25 + π·0.5 = 67.5."""
    problem = _t1()
    social = solve_social(problem)
    assert social.status == "optimal"
    assert social.responses["la"] == pytest.approx([0.0], abs=1e-6)
    assert social.system_cost == pytest.approx(50.0, abs=1e-5)
    sol = solve_bilevel(problem)
    assert system_cost(problem, sol.responses) == pytest.approx(67.5)


def test_stackelberg_gap_by_hand():
    """T1 at λ = 105 (the local stationary point): best response c = 0.45, profit 30.25, so
    Δ_L = 51.5 − 30.25 = 21.25; a follower playing c = 0.3 instead loses
    (4.5 + 18 + 73.5) − (10.125 + 27 + 57.75) = 1.125 and leaves the DSO (105 − 50)·0.7."""
    from gridbench.cases.stackelberg.kpi import jain_index, stackelberg_gap

    problem = _t1()
    at_br = stackelberg_gap(problem, [105.0], {"la": [0.45]}, optimum=51.5)
    assert at_br.leader_regret == pytest.approx(21.25, abs=1e-6)
    assert at_br.follower_regret["la"] == pytest.approx(0.0, abs=1e-6)
    assert at_br.gap == pytest.approx(21.25 / 51.5, abs=1e-7)
    off = stackelberg_gap(problem, [105.0], {"la": [0.3]}, optimum=51.5)
    assert off.follower_regret["la"] == pytest.approx(1.125, abs=1e-6)
    assert off.realized_profit == pytest.approx(55.0 * 0.7)
    assert off.gap == pytest.approx((21.25 + 1.125) / 51.5, abs=1e-7)
    assert stackelberg_gap(problem, [153.0], {"la": [0.5]}, optimum=51.5).gap == pytest.approx(
        0.0, abs=1e-7)
    assert jain_index([2.0, 2.0, 2.0]) == 1.0 and jain_index([3.0, 0.0, 0.0]) == pytest.approx(
        1 / 3)
    with pytest.raises(ValueError, match="gains must be finite numbers >= 0"):
        jain_index([1.0, -1.0])
    with pytest.raises(ValueError, match="optimum profit must be a finite number > 0"):
        stackelberg_gap(problem, [105.0], {"la": [0.45]}, optimum=0.0)
