"""Hourly commitment (``stackelberg-gsess-hourly-feeder38-v0``, spec §2): the DSO posts each
hour's 4 prices in that hour, before the followers act; the day's average caps as
state-dependent bounds (by hand), a committed day plays exactly as under day-ahead
commitment, the followers see the hour's prices, the observation's price rows (both
commitments), one-line config errors."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from gridbench.cases.contracts import CaseConfigError
from gridbench.cases.registry import make_case
from gridbench.cases.stackelberg.core import observation_names
from gridbench.cases.stackelberg.players import PRICES, price_box, price_slice

GSESS = "stackelberg-gsess-feeder38-v0"
HOURLY = "stackelberg-gsess-hourly-feeder38-v0"
CSESS_PAIR = ("stackelberg-csess-hourly-feeder38-v0", "stackelberg-csess-feeder38-v0")
DAY = datetime.date(2016, 6, 14)


def test_the_caps_bound_each_hour_by_what_the_earlier_hours_left():
    """The DSO posts every price at its box's top every hour, the followers idle. ``λLA``
    follows ``λTOU`` until the day's cap (24 · 0.9 · mean(λTOU)) would be broken: in that
    hour it takes what is left once every later hour posts its floor π^up, and every later
    hour posts π^up, so its day mean is the cap exactly. ``λGS`` asked at 153 ends at the
    hour's ``λGB``: by its box where ``λGB`` is the tariff, by the projection (reported in
    ``price_projection``) where the cap lowered ``λGB``."""
    case = make_case(HOURLY)
    env = case.make_env(day=DAY, seed=0)
    _, info = env.reset(seed=0)
    core = env.unwrapped.core
    ask = np.asarray(info["idle_action"], dtype=float).copy()
    ask[: len(PRICES)] = env.action_space.high[: len(PRICES)]
    infos, done = [], False
    while not done:
        _, _, terminated, truncated, info = env.step(ask)
        infos.append(info)
        done = terminated or truncated
    assert len(infos) == 24
    lo, hi = price_box(case.config)
    tou, floor = hi[:24], lo[price_slice("la")]
    cap = 24 * case.config.prices.average_cap_ratio * tou.mean()
    posted = infos[-1]["prices"]
    la = posted[price_slice("la")]
    # the hour the cap binds: the first whose tariff no longer fits
    left = [cap - tou[:t].sum() - floor[t + 1:].sum() for t in range(24)]
    first = next(t for t in range(24) if tou[t] > left[t])
    assert np.array_equal(la[:first], tou[:first])
    assert la[first] == pytest.approx(left[first], abs=1e-9)
    assert np.allclose(la[first + 1:], floor[first + 1:], rtol=0, atol=1e-12)
    assert la.sum() == pytest.approx(cap, rel=1e-12)
    assert np.array_equal(posted[price_slice("gsess_sell")], posted[price_slice("gsess_buy")])
    # the box already holds λGS to λTOU; the hours whose λGB the cap lowered lower it
    capped = (posted[price_slice("gsess_buy")] < tou).astype(int).tolist()
    assert any(capped)
    assert [i["price_projection"]["n_sell_capped"] for i in infos] == capped
    # every posted price lies in its box, the counts of prices at a bound add up
    assert np.all(posted >= lo - 1e-12) and np.all(posted <= hi + 1e-12)
    n_at = sum(i["price_projection"]["n_at_bound"] for i in infos)
    assert infos[-1]["day_kpis"]["prices_at_bound_share"] == pytest.approx(n_at / 96)
    assert core.done


@pytest.mark.parametrize(("hourly_id", "daily_id"), [(HOURLY, GSESS), CSESS_PAIR])
def test_a_committed_day_plays_as_under_day_ahead_commitment(hourly_id, daily_id):
    """``tou`` (the tariff made admissible for the whole day, then posted hour by hour, the
    followers best-responding to it): the same day, to the cent, as the day-ahead case's
    ``tou`` row: the referee executes an admissible day vector unchanged, so the MILP's
    prices are the hourly game's commitment benchmark."""
    import gridbench.solvers  # noqa: F401  (registers the methods)
    from gridbench.benchmarks.harness import run_day
    from gridbench.cases.registry import make_method

    hourly = run_day(make_case(hourly_id), make_method("tou"), DAY, 0).row
    daily = run_day(make_case(daily_id), make_method("tou"), DAY, 0).row
    assert hourly["n_steps"] == 24 and daily["n_steps"] == 25
    for key in ("cost", "profit_dso", "profit_ea", "profit_la", "profit_gsess"):
        assert hourly[key] == pytest.approx(daily[key], rel=1e-9, abs=1e-6), key
    assert all(abs(hourly[f"regret_{f}"]) <= 1e-5 for f in ("ea", "la", "gsess"))


def test_the_followers_see_the_hours_prices_before_they_act():
    """The parallel env plays two stages an hour: the DSO's decided prices (box-projected)
    reach the followers' observations at stage 1; one hour later the observation's price
    rows hold them as hour ``t − 1``. The env passes ``parallel_api_test``."""
    from pettingzoo.test import parallel_api_test

    case = make_case(HOURLY)
    parallel_api_test(case.make_parallel_env(day=DAY), num_cycles=60)
    env = case.make_parallel_env(day=DAY)
    obs, infos = env.reset(seed=0)
    assert env.sequential_stages and infos["dso"]["stage"] == 0
    n_core = len(observation_names(case.config))
    assert obs["dso"].size == n_core + 2  # the stage one-hot
    assert obs["la"].size == n_core + len(PRICES) + 2  # and the DSO's decided prices
    prices = np.array([40.0, 100.0, 120.0, 35.0])
    box_lo = np.asarray(infos["dso"]["next_action_low"])
    box_hi = np.asarray(infos["dso"]["next_action_high"])
    shown = np.clip(prices, box_lo, box_hi)
    obs, rewards, *_ , infos = env.step({"dso": prices})
    assert infos["la"]["stage"] == 0 and not infos["la"]["kpi"]
    assert set(rewards.values()) == {0.0}
    np.testing.assert_allclose(obs["la"][n_core:n_core + len(PRICES)], shown, rtol=1e-6)
    idle = {a: np.zeros(env.action_space(a).shape) for a in ("ea", "la", "gsess")}
    obs, _, _, _, infos = env.step(idle)
    assert infos["la"]["kpi"] and infos["la"]["next_step"] == 1
    names = observation_names(case.config)
    for k, p in enumerate(PRICES):
        assert obs["la"][names.index(f"price_{p}[t-1]")] == pytest.approx(
            min(shown[k], shown[PRICES.index("gsess_buy")]) if p == "gsess_sell" else shown[k],
            rel=1e-6)
        assert obs["la"][names.index(f"price_{p}[t-2]")] == 0.0


def test_the_observed_prices_are_those_of_their_hours():
    """Under day-ahead commitment the observation's price row ``k`` is hour ``t + k``: at
    10 h entry 0 shows the posted price of 10 h (it was once clipped to the tariff of 0 h)."""
    case = make_case(GSESS)
    env = case.make_env(day=DAY, seed=0)
    _, info = env.reset(seed=0)
    idle = np.asarray(info["idle_action"])
    for _ in range(11):  # the day-ahead step, hours 0–9
        obs, *_ = env.step(idle)
    core = env.unwrapped.core
    names = observation_names()
    la = core.prices[price_slice("la")]
    assert core.step_index == 10 and la[10] > la[0]
    assert obs[names.index("price_la[t+0]")] == pytest.approx(la[10], rel=1e-6)
    assert obs[names.index("price_la[t+13]")] == pytest.approx(la[23], rel=1e-6)


def test_a_config_for_the_other_commitment_is_one_clear_error():
    with pytest.raises(CaseConfigError, match="leader_commitment='day_ahead', this case is "
                                              "'hourly'"):
        make_case(HOURLY, config={"leader_commitment": "day_ahead"})
    with pytest.raises(CaseConfigError, match="valid: day_ahead, hourly"):
        make_case(GSESS, config={"leader_commitment": "weekly"})
    assert make_case(HOURLY).config.leader_commitment == "hourly"
    csess = make_case(CSESS_PAIR[0]).config
    assert (csess.storage, csess.leader_commitment) == ("csess", "hourly")
    with pytest.raises(NotImplementedError, match="no leader-only view"):
        make_case(HOURLY).agent_case()
