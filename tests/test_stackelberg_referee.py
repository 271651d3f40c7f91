"""The Stackelberg referee (``cases/stackelberg/core.py``) and its leader methods
(``solvers/stackelberg.py``): reachability by hand, every executed schedule feasible for the
followers' problems, money conserved between the players, the followers' best responses
executed unchanged, the bilevel optimum replayed through the AC referee (spec §3,
certification 4), bad input."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from gridbench.cases.contracts import CaseConfigError
from gridbench.cases.referee import RoleError
from gridbench.cases.registry import make_case
from gridbench.cases.stackelberg.core import N_PRICES, reachable_states
from gridbench.cases.stackelberg.players import PRICES, price_slice, tariff_prices

GSESS = "stackelberg-gsess-feeder38-v0"
CSESS = "stackelberg-csess-feeder38-v0"
DAY = datetime.date(2016, 6, 14)


def test_reachable_states_by_hand():
    """A stock over 24 h that must end at 0, moves ±1 per hour and stays in [−2, 2]: at the
    end of hour 22 only [−1, 1] still reaches 0, at hour 21 [−2, 2]; an exogenous inflow of 3
    in the last hour (steps [2, 4]) leaves [−4, −2] ∩ [−2, 2] = {−2}."""
    lo, hi = np.full(24, -2.0), np.full(24, 2.0)
    r_lo, r_hi = reachable_states(lo, hi, 0.0, np.full(24, -1.0), np.full(24, 1.0))
    assert (r_lo[23], r_hi[23], r_lo[22], r_hi[22], r_lo[21], r_hi[21]) == (0, 0, -1, 1, -2, 2)
    step_lo, step_hi = np.full(24, -1.0), np.full(24, 1.0)
    step_lo[23], step_hi[23] = 2.0, 4.0
    r_lo, r_hi = reachable_states(lo, hi, 0.0, step_lo, step_hi)
    assert (r_lo[22], r_hi[22]) == (-2.0, -2.0)
    step_lo[23], step_hi[23] = 5.0, 6.0  # the inflow cannot be absorbed
    with pytest.raises(ValueError, match="reachable set is empty at 22 h"):
        reachable_states(lo, hi, 0.0, step_lo, step_hi)


def _play(case, day, act, seed=0):
    """One day through the single-agent referee with ``act(info, rng)``; the core at the end
    and the infos."""
    env = case.make_env(day=day, seed=seed)
    rng = np.random.default_rng(seed)
    _, info = env.reset(seed=seed)
    infos, done = [], False
    while not done:
        _, _, terminated, truncated, info = env.step(act(info, rng))
        infos.append(info)
        done = terminated or truncated
    return env.unwrapped.core, infos


@pytest.mark.parametrize("case_id", [GSESS, CSESS])
def test_any_action_leaves_every_follower_schedule_feasible(case_id):
    """Uniform draws over the static box (far outside the day's limits) and NaN prices: the
    followers' schedules the referee executed satisfy every constraint of their problems
    (battery back to its initial energy, the EV fleet served and handed on at X_0, the
    flexible load and the LA's shift energy-neutral) to 1e-7; NaN prices become the tariff
    and the posted prices are admissible."""
    case = make_case(case_id)
    low, high = case.make_core().action_bounds(case.timeline.executed.layer)

    def act(info, rng):
        a = rng.uniform(low, high)
        if info["next_layer"] == "day_ahead":
            a[:3] = np.nan
        return a

    core, infos = _play(case, DAY, act)
    for name, qp in core.followers.items():
        assert qp.violation(core.x[name]) <= 1e-7, name
    # the executed blocks in hour order end at the stocks after the last hour
    battery, ev = core.executed("gsess", "E"), core.executed("gsess", "X")
    assert battery.shape == (24,) and battery[-1] == core.energy[0]
    assert ev.shape == ((24,) if case_id == GSESS else (0,))
    if case_id == GSESS:
        assert ev[-1] == core.energy[1]
    posted = infos[0]["prices"]
    assert infos[0]["projection"]["n_nonfinite"] == 3  # the box projection: the tariff
    d = core.day_data
    assert posted[:3].tolist() == tariff_prices(case.config, d)[:3].tolist()
    cap = case.config.prices.average_cap_ratio * d.tou.mean()
    for name in ("la", "gsess_buy"):
        assert posted[price_slice(name)].mean() <= cap + 1e-9
    assert np.all(posted[price_slice("gsess_sell")] <= posted[price_slice("gsess_buy")] + 1e-12)


def test_a_revisited_day_is_refereed_as_on_its_first_visit():
    """The core keeps the days it built (``DAY_CACHE_DAYS``): the same day, then another, then
    the first again, with the same random actions, gives the same rewards and money."""
    case = make_case(GSESS)
    env = case.make_env(seed=0)
    low, high = case.make_core().action_bounds(case.timeline.executed.layer)

    def play(day):
        rng = np.random.default_rng(3)
        env.reset(seed=0, options={"day": day})
        out, done = [], False
        while not done:
            _, reward, terminated, truncated, info = env.step(rng.uniform(low, high))
            out.append((reward, info.get("agent_profit"), info.get("agent_regret")))
            done = terminated or truncated
        return out

    first = play(DAY)
    other = play(DAY + datetime.timedelta(days=1))
    assert play(DAY) == first and other != first


def test_money_is_conserved_and_each_players_profit_is_its_problems():
    """Under the tariff with best-responding followers: the hourly money sums to each
    follower's day payment and own cost (its QP's terms), the profits of the four players sum
    to −(upstream purchase + the followers' own costs) (every payment cancels), and the
    scored cost is −(DSO profit)."""
    import gridbench.solvers  # noqa: F401  (registers the methods)
    from gridbench.benchmarks.harness import run_day
    from gridbench.cases.registry import make_method

    case = make_case(GSESS)
    run = run_day(case, make_method("tou"), DAY, 0)
    core = run.core
    hours = [r for r in core.history("intraday")]
    assert len(hours) == 24
    infos = [core.step_info(r) for r in hours]
    lam = core.prices
    for name, term in (("ea", "ea_payment"), ("la", "la_revenue"), ("gsess", "gsess_revenue")):
        qp = core.followers[name]
        paid = sum(i["cost"][term] for i in infos)
        assert paid == pytest.approx(-qp.payment(core.x[name], lam), rel=1e-12, abs=1e-9)
        profit = sum(i["agent_profit"][name] for i in infos)
        assert profit == pytest.approx(-qp.cost(core.x[name], lam), rel=1e-12, abs=1e-9)
    total = sum(sum(i["agent_profit"].values()) for i in infos)
    purchase = sum(i["cost"]["energy_purchase"] for i in infos)
    own = sum(qp.own_cost(core.x[n]) for n, qp in core.followers.items())
    assert total == pytest.approx(-purchase - own, rel=1e-12, abs=1e-9)
    dso = sum(i["agent_profit"]["dso"] for i in infos)
    assert run.row["cost"] == pytest.approx(-dso, rel=1e-12)
    for name in ("dso", "ea", "la", "gsess"):  # the row's profit of each player
        assert run.row[f"profit_{name}"] == pytest.approx(
            sum(i["agent_profit"][name] for i in infos), rel=1e-12)
    # best-responding followers have no regret (to the float32 round-off of the executed
    # setpoints, 1.6e-6 $ measured); idle ones do (the row's regret_<follower>)
    assert set(infos[-1]["agent_regret"]) == {"ea", "la", "gsess"}
    assert all(abs(run.row[f"regret_{n}"]) <= 1e-5 for n in ("ea", "la", "gsess"))
    idle = run_day(case, make_method("idle"), DAY, 0).row
    assert idle["regret_la"] > 1.0 and all(idle[f"regret_{n}"] >= -1e-6
                                           for n in ("ea", "la", "gsess"))
    assert run.row["status"] == "ok"


def test_the_oracle_replays_the_bilevel_optimum_through_the_ac_referee():
    """Certification 4: the MILP's prices posted in the referee, the followers' referee
    schedule is their exact best response (regret ≤ 1e-6 $ each: what they execute is what
    they would choose), and the DSO's AC profit differs from the MILP's own profit of the same
    prices and responses only by the model mismatch, under 1 % of it; the oracle beats the
    tariff and idle followers under the tariff."""
    import gridbench.solvers  # noqa: F401
    from gridbench.benchmarks.harness import run_day
    from gridbench.cases.registry import make_method
    from gridbench.cases.stackelberg.bilevel import certify, solve_bilevel
    from gridbench.cases.stackelberg.follower import BestResponder
    from gridbench.cases.stackelberg.players import leader_problem

    case = make_case(GSESS)
    run = run_day(case, make_method("oracle"), DAY, 0)
    core = run.core
    sol_prices = core.prices
    for name, qp in core.followers.items():
        assert BestResponder(qp).regret(core.x[name], sol_prices) <= 1e-6, name
    problem = leader_problem(case.config, case.game(DAY))
    sol = solve_bilevel(problem, fix_prices=sol_prices)
    cert = certify(problem, sol)
    ac_profit = -run.row["cost"]
    assert abs(ac_profit - cert.lower) <= 0.01 * abs(cert.lower)
    tou = run_day(case, make_method("tou"), DAY, 0).row["cost"]
    assert run.row["cost"] < tou


def test_bad_input_is_one_clear_error():
    """An unknown player in the parallel env, a config for the other storage kind, inverted
    price rules, an empty EV fleet: one line naming the value."""
    case = make_case(GSESS)
    env = case.make_parallel_env(day=DAY)
    env.reset(seed=0)
    actions = {name: env.action_space(name).sample() for name in env.agents}
    actions["retailer"] = np.zeros(1)
    with pytest.raises(RoleError, match="unknown agents \\['retailer'\\]"):
        env.step(actions)
    with pytest.raises(CaseConfigError, match="storage='csess', this case is 'gsess'"):
        make_case(GSESS, config={"storage": "csess"})
    with pytest.raises(CaseConfigError, match="average_cap_ratio"):
        make_case(GSESS, config={"prices": {"average_cap_ratio": 0.5}})
    with pytest.raises(CaseConfigError, match="n_ev"):
        make_case(GSESS, config={"gsess": {"ev": {"n_ev": 0}}})
    assert len(PRICES) * 24 == N_PRICES


def test_the_leader_view_plays_the_day_with_best_responses():
    """The single-agent leader view: ``check_env`` passes; one step per day; posting the
    tariff gives the DSO the profit the ``tou`` method's row reports (the same best
    responses through the same referee), and the reward is that profit / 100 $ less the
    penalties."""
    from gymnasium.utils.env_checker import check_env

    import gridbench.solvers  # noqa: F401
    from gridbench.benchmarks.harness import run_day
    from gridbench.cases.registry import make_method
    from gridbench.cases.stackelberg.leader_view import LeaderEnv

    case = make_case(GSESS)
    env = LeaderEnv(case, day=DAY, seed=0)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=0)
    assert obs.shape == env.observation_space.shape and env.action_space.shape == (N_PRICES,)
    tariff = tariff_prices(case.config, case.game(DAY)).astype(np.float32)
    _, reward, terminated, truncated, info = env.step(tariff)
    assert terminated and not truncated
    row = run_day(case, make_method("tou"), DAY, 0).row
    assert info["day_profit"]["dso"] == pytest.approx(row["profit_dso"], rel=1e-9)
    assert reward == pytest.approx(row["reward_sum"], rel=1e-9)
    with pytest.raises(ValueError, match="posts 96 prices, got 3"):
        env.step(np.zeros(3))


def test_day_kpis_are_the_days_imports_and_posted_prices():
    """The last hour's ``day_kpis`` against the hourly imports (``tie_line_mw``) and the
    posted prices' box, and the row carries them."""
    from gridbench.benchmarks.metrics import day_metrics
    from gridbench.cases.stackelberg.players import price_box
    from gridbench.cases.stackelberg.prices import AT_BOUND_TOL

    case = make_case(GSESS)
    idle: dict[str, np.ndarray] = {}

    def act(info, rng):  # the reset info's idle action, every step
        if "a" not in idle:
            idle["a"] = np.asarray(info["idle_action"])
        return idle["a"]

    _, infos = _play(case, DAY, act)
    imports = np.array([i["tie_line_mw"] for i in infos if i.get("layer") == "intraday"])
    kpis = infos[-1]["day_kpis"]
    assert imports.size == 24
    assert kpis["import_peak_valley_mw"] == pytest.approx(imports.max() - imports.min())
    assert kpis["import_par"] == pytest.approx(imports.max() / imports.mean())
    lo, hi = price_box(case.config, case.game(DAY))
    prices = infos[0]["prices"]
    at = np.count_nonzero((prices <= lo + AT_BOUND_TOL) | (prices >= hi - AT_BOUND_TOL))
    assert kpis["prices_at_bound_share"] == pytest.approx(at / 96)
    row = day_metrics(infos)
    assert {k: row[f"kpi_{k}"] for k in kpis} == kpis


def test_the_social_method_plays_the_social_optimum_through_the_referee():
    """``social`` (a bound of the system cost) on 2016-06-14: the referee's system cost of its
    schedule (−Σ profits: 2,413.8 $) is below the tariff's with best-responding followers
    (2,681.5 $; spec §8 T5 ordering), and, solved within the referee's line ratings, it pays no
    penalty (without them it overloaded a line by 0.035 MVA·h: 34.7 $)."""
    import gridbench.solvers  # noqa: F401
    from gridbench.benchmarks.harness import run_day
    from gridbench.cases.registry import make_method

    case = make_case(GSESS)
    rows = {m: run_day(case, make_method(m), DAY, seed=0).row for m in ("social", "tou")}

    def system_cost(row):
        return -sum(row[f"profit_{p}"] for p in ("dso", "ea", "la", "gsess")) + row["penalty_usd"]

    assert rows["social"]["family"] == "bound" and rows["social"]["status"] == "ok"
    assert system_cost(rows["social"]) < system_cost(rows["tou"]) - 100.0
    assert rows["social"]["penalty_usd"] == 0.0
    assert system_cost(rows["social"]) == pytest.approx(2413.8, abs=0.1)


def test_single_agent_rl_trains_and_acts_as_the_leader():
    """The RL methods see the leader's view (``agent_case``: one decision a day, the 96 prices,
    the followers best-responding), and ``agent_controller`` plays a controller of that view
    on the referee: a policy posting the tariff earns exactly what ``tou`` earns."""
    import gridbench.solvers  # noqa: F401
    from gridbench.benchmarks.harness import run_day
    from gridbench.cases.registry import make_method
    from gridbench.cases.stackelberg.leader_view import LeaderCase, LeaderEnv
    from gridbench.rl_agents.sb3_methods import agent_case, steps_per_day

    case = make_case(GSESS)
    view = agent_case(case)
    assert isinstance(view, LeaderCase) and view.id == case.id
    env = view.make_env(day=None, seed=0)
    assert isinstance(env, LeaderEnv) and env.action_space.shape == (N_PRICES,)
    assert steps_per_day(env) == 1 and len(view.action_layout()) == N_PRICES
    _, info = env.reset(seed=0)
    assert info["next_action_low"].shape == info["idle_action"].shape == (N_PRICES,)
    assert make_method("ppo").supports(case)

    class Tariff:  # a controller of the leader's view
        def reset(self, obs, info):
            self.idle = np.asarray(info["idle_action"])

        def act(self, obs, info):
            assert np.asarray(info["idle_action"]).shape == (N_PRICES,)
            return self.idle

    class TariffMethod:
        name, family = "tariff-policy", "baseline"

        def fit(self, case, seed, budget):
            return None

        def controller(self, case, day):
            return case.agent_controller(Tariff(), day)

    played = run_day(case, TariffMethod(), DAY, seed=0).row
    tou = run_day(case, make_method("tou"), DAY, seed=0).row
    for p in ("dso", "ea", "la", "gsess"):
        assert played[f"profit_{p}"] == pytest.approx(tou[f"profit_{p}"], abs=1e-9)


def test_learning_curve_figure_reads_every_learners_monitor(tmp_path):
    """The report's MADDPG-against-leader-only figure draws the runs' ``monitor.csv`` (SB3's
    layout, which MADDPG writes too) of the methods with rows, and nothing without them."""
    import pandas as pd

    from gridbench.benchmarks.report import ReportContext
    from gridbench.benchmarks.report.figures.stackelberg import _learning_figure

    root = tmp_path / "shipped"
    for method, level in (("maddpg", 2.0), ("ppo", 5.0)):
        for seed in range(2):
            run = root / GSESS / method / f"seed{seed}"
            run.mkdir(parents=True)
            days = np.arange(1, 41)
            frame = pd.DataFrame({"r": level + 0.01 * days, "l": 1, "t": 0.5 * days})
            (run / "monitor.csv").write_text("#{}\n" + frame.to_csv(index=False))
    stored = pd.DataFrame({"case": [GSESS] * 2, "method": ["maddpg", "ppo"]})
    ctx = ReportContext(results=tmp_path, frame=stored, entries=[], figure_dir=tmp_path,
                        training_dirs=(root,))
    fig = _learning_figure(ctx, GSESS)
    assert fig is not None and (tmp_path / fig.file).stat().st_size > 10_000
    # rows of neither method in the results given: nothing drawn from the shipped runs
    none = ReportContext(results=tmp_path, frame=pd.DataFrame(), entries=[],
                         figure_dir=tmp_path, training_dirs=(root,))
    assert _learning_figure(none, GSESS) is None and len(none.notes[GSESS]) == 1


def test_the_best_response_cost_is_the_cost_had_the_followers_best_responded():
    """``day_kpis``' ``best_response_cost`` (the bound check's measure of a row off its
    followers' best responses): for ``tou`` (best-responding followers) the row's cost, to the
    QPs' tolerance; for ``idle`` (the same tariff posted, the followers idle) not its realized
    cost (−662.59 $ on 2016-06-14, followers' regret 122.9 $) but ``tou``'s (−621.37 $)."""
    from gridbench.benchmarks.harness import run_day
    from gridbench.cases.registry import make_method

    case = make_case(GSESS)
    tou = run_day(case, make_method("tou"), DAY, 0).row
    idle = run_day(case, make_method("idle"), DAY, 0).row
    assert tou["kpi_best_response_cost"] == pytest.approx(tou["cost"], abs=1e-5)
    assert idle["cost"] == pytest.approx(-662.586, abs=1e-3)
    assert sum(v for k, v in idle.items() if k.startswith("regret_")) > 100.0
    assert idle["kpi_best_response_cost"] == pytest.approx(tou["cost"], abs=1e-5)
    assert tou["cost"] == pytest.approx(-621.366, abs=1e-3)
