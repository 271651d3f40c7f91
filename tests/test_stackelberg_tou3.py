"""The ``tou3`` price parametrization (``stackelberg-{gsess,csess}-tou3-feeder38-v0``, spec §2):
the DSO posts one level per price vector and tariff window (12 free prices); the windows of
the tariff by hand, the projection's averaging on a tiny instance, the leader's 12-entry
view, the referee making any 96 prices window-constant, the MILP holding a window's prices
equal, one-line config errors."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from gridbench.cases.contracts import CaseConfigError
from gridbench.cases.registry import make_case
from gridbench.cases.stackelberg.players import (
    PRICES,
    expand_levels,
    level_means,
    level_names,
    price_levels,
    price_slice,
    tariff_prices,
)
from gridbench.cases.stackelberg.prices import project_prices

TOU3 = "stackelberg-gsess-tou3-feeder38-v0"
HOURLY_PRICES = "stackelberg-gsess-feeder38-v0"
DAY = datetime.date(2016, 6, 14)
#: cn-3level: valley 0-8 h, peak 10-12 h and 14-19 h, flat the rest (34.2 / 90 / 153 $/MWh).
WINDOW = [0] * 8 + [1, 1, 2, 2, 1, 1, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1]


def test_the_levels_are_the_tariffs_windows():
    cfg = make_case(TOU3).config
    index = price_levels(cfg)
    assert index.tolist() == [k * 3 + w for k in range(len(PRICES)) for w in WINDOW]
    tou = tariff_prices(cfg)[price_slice("la")]
    assert [float(tou[WINDOW.index(w)]) for w in range(3)] == [34.2, 90.0, 153.0]
    assert level_names(cfg)[:4] == ("price_ea[valley]", "price_ea[flat]", "price_ea[peak]",
                                    "price_la[valley]")
    levels = np.arange(12.0)
    assert level_means(cfg, expand_levels(cfg, levels)).tolist() == levels.tolist()
    with pytest.raises(ValueError, match="11 prices given, the DSO posts 12 \\(tou3\\)"):
        expand_levels(cfg, np.zeros(11))
    hourly = make_case(HOURLY_PRICES).config
    assert price_levels(hourly).tolist() == list(range(96))


def test_the_projection_averages_each_level_first():
    """4 prices, levels (0, 0, 1, 1): the means 15 and 70 first, then the box (the second
    level's top 60), no cap, sell (the first two) ≤ buy."""
    out = project_prices(
        [10.0, 20.0, 60.0, 80.0], lo=np.zeros(4), hi=[100.0, 100.0, 60.0, 60.0],
        fallback=np.zeros(4), caps={}, sell=slice(0, 2), buy=slice(2, 4), levels=[0, 0, 1, 1],
    )
    assert out.prices.tolist() == [15.0, 15.0, 60.0, 60.0]
    assert (out.n_level_averaged, out.n_clipped, out.n_sell_capped) == (4, 2, 0)
    assert out.distance == pytest.approx(np.sqrt(5**2 + 5**2 + 0**2 + 20**2), rel=1e-12)
    with pytest.raises(ValueError, match="the prices of one level have unequal boxes"):
        project_prices([1.0] * 4, np.zeros(4), [100.0, 90.0, 60.0, 60.0], np.zeros(4), {},
                       slice(0, 2), slice(2, 4), levels=[0, 0, 1, 1])


def test_the_leader_posts_12_levels_and_idle_is_the_tariff_day():
    """The leader's view: 12 free prices, boxes and the idle action per level; the tariff
    posted through it plays the same day as on the case with 96 free prices."""
    case = make_case(TOU3)
    env = case.agent_case().make_env(day=DAY, seed=0)
    _, info = env.reset(seed=0)
    assert env.action_space.shape == (12,)
    assert len(info["idle_action"]) == len(info["next_action_low"]) == 12
    assert np.array_equal(env.action_space.high, np.float32([34.2, 90.0, 153.0] * 4))
    assert [e.name for e in case.agent_case().action_layout()] == list(level_names(case.config))
    _, reward, done, _, info = env.step(env.idle_action())
    other = make_case(HOURLY_PRICES).agent_case().make_env(day=DAY, seed=0)
    other.reset(seed=0)
    _, reward96, _, _, info96 = other.step(other.idle_action())
    assert done and reward == reward96
    assert np.array_equal(info["prices"], info96["prices"])
    with pytest.raises(ValueError, match="the leader posts 12 prices, got 96"):
        env.step(np.zeros(96))


def test_the_referee_makes_any_96_prices_window_constant():
    case = make_case(TOU3)
    env = case.make_env(day=DAY, seed=0)
    _, info = env.reset(seed=0)
    rng = np.random.default_rng(0)
    action = np.asarray(info["idle_action"], dtype=float).copy()
    low, high = np.asarray(info["next_action_low"]), np.asarray(info["next_action_high"])
    action[:96] = rng.uniform(low[:96], high[:96])
    _, _, _, _, info = env.step(action)
    posted = np.asarray(info["prices"])
    assert info["price_projection"]["n_level_averaged"] == 96
    assert np.allclose(expand_levels(case.config, level_means(case.config, posted)), posted,
                       rtol=0, atol=1e-12)
    # averaged first: without a binding cap the posted level is the window's mean
    ea = action[price_slice("ea")]
    assert posted[price_slice("ea")][0] == pytest.approx(ea[:8].mean(), rel=1e-12)


def test_config_errors_are_one_line():
    with pytest.raises(CaseConfigError, match="price_parametrization='hourly', this case is "
                       "'tou3'") as err:
        make_case(TOU3, config={"price_parametrization": "hourly"})
    assert "\n" not in str(err.value)
    with pytest.raises(CaseConfigError, match="this case is 'hourly'"):
        make_case(HOURLY_PRICES, config={"price_parametrization": "tou3"})
    with pytest.raises(CaseConfigError, match="needs a tariff of 3 levels; "
                       "'peak-valley-6-20' has 2") as err:
        make_case(TOU3, config={"prices": {"tariff": "peak-valley-6-20"}})
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_the_milp_holds_a_windows_prices_equal_and_earns_at_most_the_hourly_optimum():
    """On one val day: the MILP's prices are window-constant, certified (the followers'
    regret at them), and the DSO earns at most what 96 free prices earn."""
    from gridbench.cases.stackelberg.bilevel import certify, solve_bilevel
    from gridbench.cases.stackelberg.players import leader_problem

    case = make_case(TOU3)
    day = case.days("val")[0]
    data = case.game(day)
    problem = leader_problem(case.config, data)
    solution = solve_bilevel(problem)
    prices = solution.prices
    assert np.allclose(expand_levels(case.config, level_means(case.config, prices)), prices,
                       rtol=0, atol=1e-6)
    cert = certify(problem, solution)
    assert max(cert.regret.values()) <= 1e-5
    free = make_case(HOURLY_PRICES)
    unrestricted = certify(*(lambda p: (p, solve_bilevel(p)))(
        leader_problem(free.config, free.game(day))))
    assert cert.lower <= unrestricted.upper + 1e-6
    assert cert.lower < unrestricted.lower  # three levels cost the DSO something that day
