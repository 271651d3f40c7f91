"""MADDPG (``rl_agents/maddpg.py``) on the Stackelberg game: CTDE structure, a smoke training
run through the harness, the learned followers scored against their exact best responses, and
a shipped agent that plays the same day again."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from gridbench.benchmarks.harness import run_day
from gridbench.cases.registry import make_case, make_method
from gridbench.rl_agents.maddpg import Maddpg, MaddpgConfig, _Buffer, _Learner, _to_box

DAY = datetime.date(2016, 6, 14)
GSESS = "stackelberg-gsess-feeder38-v0"


def test_critics_are_centralized_and_actors_decentralized():
    """Each critic reads the observation and every agent's action (CTDE); each actor only the
    observation and outputs its own action in [-1, 1]."""
    import torch

    learner = _Learner(5, [3, 2], MaddpgConfig(hidden=8), seed=0)
    assert [a[0].in_features for a in learner.actors] == [5, 5]
    assert [a[-2].out_features for a in learner.actors] == [3, 2]
    assert [c[0].in_features for c in learner.critics] == [5 + 5, 5 + 5]
    u = learner.act(np.zeros(5, np.float32))
    assert u.shape == (5,) and np.all(np.abs(u) <= 1)
    buf = _Buffer(4, 5, 5, 2)
    rng = np.random.default_rng(0)
    for k in range(6):  # a ring: the oldest transitions are overwritten
        buf.add(np.full(5, k), np.zeros(5), np.array([k, -k]), np.zeros(5), k == 5)
    assert buf.n == 4 and sorted(buf.rew[:, 0]) == [2, 3, 4, 5]
    before = [p.clone() for p in learner.critics[0].parameters()]
    learner.update(buf.sample(rng, 4))
    assert any(not torch.equal(a, b) for a, b in zip(before, learner.critics[0].parameters(),
                                                      strict=True))


def test_actions_map_onto_the_steps_feasible_box():
    """Hand-checked: 0 at the idle action clipped into the box (the fair map), ±1 at the
    bounds; without an idle action (the agents shipped before it) 0 at the box's middle."""
    info = {"next_action_low": np.array([0.0, -2.0]), "next_action_high": np.array([10.0, 2.0])}
    idle = np.array([2.0, -3.0])  # entry 1: idle below its box, clipped to -2
    assert _to_box(np.array([0.0, 0.0]), info, idle) == pytest.approx([2.0, -2.0])
    assert _to_box(np.array([0.5, 0.5]), info, idle) == pytest.approx([6.0, 0.0])
    assert _to_box(np.array([-0.5, 1.0]), info, idle) == pytest.approx([1.0, 2.0])
    assert _to_box(np.array([0.0, 1.0]), info) == pytest.approx([5.0, 2.0])
    assert _to_box(np.array([-1.0, -5.0]), info) == pytest.approx([0.0, -2.0])


def test_the_fair_set_up_is_the_default_and_bad_choices_are_one_line():
    cfg = MaddpgConfig()
    assert (cfg.action_map, cfg.obs_norm, cfg.reward_baseline, cfg.reward_shaping) == (
        "idle", "train_days", "idle", "stock_value")
    with pytest.raises(ValueError, match="action_map 'tariff' is not one of idle, middle"):
        MaddpgConfig(action_map="tariff")
    with pytest.raises(ValueError, match=r"checkpoint_steps \[100, 0\] must be positive"):
        Maddpg(checkpoint_steps=[100, 0])


def test_stock_values_by_hand_and_the_shaping_sums_to_zero_over_a_day():
    """``stock_value_usd``: the storage player's battery, EV and flexible-load energy at the
    tariff's mean storage buy price, the LA's shifted energy at its own; the shaping
    ``Φ(o') − Φ(o)`` sums to 0 over a day whatever the players do (every stock starts and ends
    at fixed values), so it moves no policy's ranking; a day of random actions moves it."""
    from gridbench.cases.stackelberg.core import observation_names
    from gridbench.cases.stackelberg.players import tariff_prices
    from gridbench.rl_agents.maddpg import _potential

    case = make_case(GSESS)
    names = observation_names(case.config)
    tariff = tariff_prices(case.config).reshape(4, 24).mean(axis=1)  # ea, la, buy, sell
    obs = np.zeros(len(names) + 2)
    for name, mwh in (("battery_mwh", 1.0), ("ev_mwh", 2.0), ("flexible_mwh", 0.5),
                      ("shifted_mwh", -0.25)):
        obs[names.index(name)] = mwh
    value = case.stock_value_usd(obs)
    assert value == pytest.approx({"dso": 0.0, "ea": 0.0, "la": -0.25 * tariff[1],
                                   "gsess": 3.5 * tariff[2]})
    with pytest.raises(ValueError, match="observation of shape"):
        case.stock_value_usd(obs[:10])
    env = case.make_parallel_env(day=DAY)
    agents = list(env.possible_agents)
    phi = _potential(case, agents, "stock_value")
    assert _potential(case, agents, "none") is None
    rng = np.random.default_rng(0)
    obs_, infos = env.reset(seed=0)
    idle = {a: infos[a]["idle_action"] for a in agents}
    start, total, moved = phi(obs_["gsess"]), np.zeros(len(agents)), 0.0
    while env.agents:
        obs_, _, _, _, infos = env.step(
            {a: _to_box(rng.uniform(-1, 1, env.action_space(a).shape), infos[a], idle[a])
             for a in agents})
        step = phi(obs_["gsess"]) - start
        total, start, moved = total + step, start + step, moved + float(np.abs(step).sum())
    assert total == pytest.approx(np.zeros(len(agents)), abs=1e-9) and moved > 0.1
    with pytest.raises(ValueError, match="reward_shaping 'stock_value': case ses-carbon"):
        _potential(make_case("ses-carbon-ieee33-v0"), agents, "stock_value")


def test_maddpg_plays_the_stackelberg_game_only():
    assert Maddpg().supports(make_case(GSESS))
    assert not Maddpg().supports(make_case("ses-carbon-ieee33-v0"))


def test_a_smoke_run_trains_plays_ships_and_replays(tmp_path):
    """200 env steps (8 days) train (one monitor row a day); the day is played through the
    parallel referee with the four players' rows and each follower's regret against its exact
    best response (> 0: an untrained follower is far from its best response); the shipped
    actors (and their training log) replay the day to
    the same cost."""
    import gridbench.rl_agents  # noqa: F401  (registers maddpg)

    case = make_case(GSESS)
    method = make_method("maddpg")
    method.training_dir, method.agents_dir = tmp_path / "runs", tmp_path / "agents"
    method.fit(case, 0, "smoke")
    assert method.last_fit["env_steps"] == 200 and method.last_fit["episodes"] == 8
    # frozen train-day statistics: clipped z-scores, 0 for the fitted mean
    scale = method._trained[case.id].scale
    assert scale.clip == 5.0 and np.all(scale.half > 0)
    assert np.abs(scale(scale.mid)).max() == 0.0
    row = run_day(case, method, DAY, seed=0).row
    assert row["status"] == "ok", row["message"]
    assert row["n_steps"] == 25
    for follower in ("ea", "la", "gsess"):
        assert row[f"regret_{follower}"] > 0.0
    shipped = method.ship(case, 0)
    assert shipped.is_file() and shipped.with_suffix(".json").is_file()
    # the training days' returns travel with the agent, in SB3's Monitor layout: r = the DSO's
    import pandas as pd

    monitor = pd.read_csv(shipped.parent / "seed0" / "monitor.csv", comment="#")
    assert len(monitor) == 8 and (monitor["l"] == 25).all()
    assert (monitor["r"] == monitor["r_dso"]).all()
    assert monitor["t"].is_monotonic_increasing
    again = make_method("maddpg")
    again.agents_dir = method.agents_dir
    again.fit(case, 0, "quick")  # the quick budget loads the shipped agent
    assert again.last_fit["source"] == "shipped"
    assert run_day(case, again, DAY, seed=0).row["cost"] == row["cost"]


def test_maddpg_plays_the_hourly_game_in_stages(tmp_path):
    """Under hourly commitment (two env steps an hour: the DSO, then the followers) the
    shared observation is a follower's (it adds the DSO's decided prices); 200 env steps are
    4 days of 48; the trained actors play the 24 hours of a day through the harness."""
    import gridbench.rl_agents  # noqa: F401
    from gridbench.rl_agents.maddpg import shared_agent

    case = make_case("stackelberg-gsess-hourly-feeder38-v0")
    env = case.make_parallel_env(day=DAY)
    assert shared_agent(env) == "ea"
    assert env.observation_space("ea").shape[0] == env.observation_space("dso").shape[0] + 4
    method = make_method("maddpg")
    method.training_dir, method.agents_dir = tmp_path / "runs", tmp_path / "agents"
    method.fit(case, 0, "smoke")
    assert method.last_fit["episodes"] == 4
    row = run_day(case, method, DAY, seed=0).row
    assert row["status"] == "ok", row["message"]
    assert row["n_steps"] == 48 and row["regret_la"] > 0.0  # decisions: two stages an hour
