"""The fair-RL training set-up options of the hyperparameter file (``env``): the idle reward
baseline (:mod:`gridbench.rl_agents.reward_baseline`: the idle policy's reward on the same day
and step subtracted, nothing else changed) and the idle-centred action map (the idle action
at the policy's 0), the same map in training and in the controller."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gridbench.cases.kpi import DEFAULT_ACTION_KEY
from gridbench.cases.registry import make_case
from gridbench.rl_agents.agent_view import neutral_middle
from gridbench.rl_agents.reward_baseline import BaselineReward
from gridbench.rl_agents.sb3_methods import (
    HyperparamError,
    agent_action_map,
    idle_centred_action_map,
    load_hyperparams,
    make_training_env,
    training_plan,
)

CASE_ID = "ses-carbon-ieee33-v0"


def _play(env, action_of):
    """Rewards of one day playing ``action_of(t)`` (physical setpoints)."""
    env.reset(seed=0)
    rewards, done, t = [], False, 0
    while not done:
        _, r, terminated, truncated, _ = env.step(action_of(t))
        rewards.append(r)
        done, t = terminated or truncated, t + 1
    return np.array(rewards)


def test_idle_scores_zero_and_any_policy_its_difference_to_idle():
    case = make_case(CASE_ID)
    day = case.days("val")[0]
    raw = case.make_env(day=day, seed=0)
    shaped = BaselineReward(case.make_env(day=day, seed=0), case)
    idle = raw.unwrapped.idle_action()
    assert np.array_equal(_play(shaped, lambda t: idle), np.zeros(case.steps))
    # a policy that discharges in the evening: shaped = raw − idle, step by step
    def evening(t):
        a = idle.copy()
        if t >= 18:
            a[-1] = 0.2
        return a

    idle_rewards = _play(raw, lambda t: idle)
    np.testing.assert_array_equal(_play(shaped, evening), _play(raw, evening) - idle_rewards)
    assert shaped.baseline_rewards(day) is shaped.baseline_rewards(day)  # played once per day


def test_the_default_baseline_scores_the_cases_default_operation_zero():
    """``reward_baseline = "default"`` (SGLS IEEE 30): playing the referee's
    ``next_default_action`` at every step scores 0 at every step; idling scores the difference
    between the two policies' rewards; an unknown policy is a one-line ValueError."""
    case = make_case("sgls-ieee30-v0")
    day = case.days("val")[0]
    shaped = BaselineReward(case.make_env(day=day, seed=0), case, "default")
    _, info = shaped.reset(seed=0)
    rewards, done = [], False
    while not done:
        _, r, terminated, truncated, info = shaped.step(info["next_default_action"])
        rewards.append(r)
        done = terminated or truncated
    assert np.array_equal(np.array(rewards), np.zeros(len(rewards)))
    raw = case.make_env(day=day, seed=0)
    idle = raw.unwrapped.idle_action()
    np.testing.assert_array_equal(
        _play(shaped, lambda t: idle),
        _play(raw, lambda t: idle) - shaped.baseline_rewards(day))
    with pytest.raises(ValueError, match="baseline policy 'rule' is not one of idle, default"):
        BaselineReward(raw, case, "rule")


def _hyperparams(tmp_path, baseline="none", action_map="rescale", obs_norm="none",
                 ramp_action="relative"):
    data = load_hyperparams()
    data["env"]["ramp_action"] = ramp_action
    data["env"]["reward_baseline"] = baseline
    data["env"]["action_map"] = action_map
    data["env"]["obs_norm"] = obs_norm
    path = tmp_path / "hp.json"
    path.write_text(json.dumps(data))
    return path


def test_case_env_is_the_last_word_on_one_case_only():
    """``case_env``: the shipped file's PPO on SGLS IEEE 30 sees the referee's context (v7),
    centres its actions and its reward baseline on the case's default operation (v11), and
    its ``case_setup`` sets the initial σ through ``policy_kwargs`` (v11), as the fair KL
    variants'; on IEEE 33, and every other algorithm, the file's env and the algorithm's
    ``policy_kwargs``."""
    ieee30 = training_plan("ppo", "reference", 120, case_id="sgls-ieee30-v0")
    assert (ieee30.ramp_action, ieee30.obs_context) == ("relative", True)
    assert (ieee30.action_centre, ieee30.reward_baseline) == ("default", "default")
    assert ieee30.policy_kwargs == {"net_arch": [64, 64], "log_std_init": -3.5}
    kl = training_plan("ppo-clip-kl-fair", "reference", 120, case_id="sgls-ieee30-v0")
    assert (kl.action_centre, kl.policy_kwargs["log_std_init"]) == ("default", -3.5)
    assert "policy_kwargs" not in ieee30.kwargs and ieee30.kwargs["gae_lambda"] == 1.0
    ieee33 = training_plan("ppo", "reference", 120, case_id="sgls-ieee33-v0")
    assert (ieee33.ramp_action, ieee33.obs_context) == ("relative", False)
    assert (ieee33.action_centre, ieee33.reward_baseline) == ("idle", "idle")
    assert ieee33.policy_kwargs == {"net_arch": [64, 64], "log_std_init": -1.2}
    sac = training_plan("sac", "reference", 120, case_id="sgls-ieee30-v0")
    assert (sac.ramp_action, sac.obs_context, sac.action_centre) == ("relative", False, "idle")
    assert sac.actor_output_scale is None


def test_an_unknown_env_key_is_one_line(tmp_path):
    """A typo in an env key is refused with the valid keys, not ignored."""
    data = load_hyperparams()
    data["algorithms"]["ppo"]["case_env"] = {"sgls-ieee30-v0": {"obs_contxt": True}}
    path = tmp_path / "hp.json"
    path.write_text(json.dumps(data))
    with pytest.raises(HyperparamError, match=r"unknown env key\(s\) \['obs_contxt'\]; valid"):
        training_plan("ppo", "smoke", 120, path=path, case_id="sgls-ieee30-v0")
    assert training_plan("ppo", "smoke", 120, path=path).obs_context is False  # other cases


def test_the_hyperparameter_file_chooses_the_baseline(tmp_path):
    # the shipped file: on for the fair defaults, off for the paper reproductions
    assert training_plan("ppo", "smoke", 24).reward_baseline == "idle"
    assert training_plan("ddpg-per-or", "smoke", 24).reward_baseline == "none"
    plan = training_plan("ppo", "smoke", 24, path=_hyperparams(tmp_path, "idle"))
    assert plan.reward_baseline == "idle"
    env = make_training_env(make_case(CASE_ID), 0, plan)
    layers, wrapped = [], env
    while hasattr(wrapped, "env"):
        layers.append(type(wrapped).__name__)
        wrapped = wrapped.env
    assert layers.index("BaselineReward") < layers.index("Monitor")  # Monitor logs raw
    with pytest.raises(HyperparamError, match=r"env\.reward_baseline 'mean' is not one of none"):
        training_plan("ppo", "smoke", 24, path=_hyperparams(tmp_path, "mean"))


def test_the_idle_centred_map_puts_idle_at_zero_and_reaches_both_bounds():
    from gymnasium import spaces

    space = spaces.Box(np.array([-2.0, 0.5], dtype=np.float32),
                       np.array([1.0, 4.0], dtype=np.float32), dtype=np.float32)
    back = idle_centred_action_map(space, np.array([0.0, 0.5]))  # idle at a bound: P_min
    assert back(np.array([0.0, 0.0])).tolist() == [0.0, 0.5]
    assert back(np.array([1.0, 1.0])).tolist() == [1.0, 4.0]
    assert back(np.array([-1.0, -1.0])).tolist() == [-2.0, 0.5]
    assert back(np.array([0.5, 0.5])).tolist() == [0.5, 2.25]
    assert back(np.array([-0.5, 3.0])).tolist() == [-1.0, 4.0]  # clipped to [-1, 1] first


def test_training_and_the_controller_use_the_same_idle_centred_map(tmp_path):
    """With ``env.action_map = "idle_centred"`` a policy output of 0 is the referee's idle
    action (nothing projected), and the controller builds the same map."""
    case = make_case("sgls-ieee33-v0")
    path = _hyperparams(tmp_path, action_map="idle_centred")
    plan = training_plan("ppo", "smoke", 120, path=path)
    assert plan.action_map == "idle_centred"
    env = make_training_env(case, 0, plan)
    idle = env.unwrapped.idle_action()
    assert env.action_space.low.min() == -1.0 and env.action_space.high.max() == 1.0
    _, info = env.reset(seed=0)
    _, _, _, _, info = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
    np.testing.assert_allclose(info["projection"]["distance"], 0.0, atol=1e-9)

    # the controller's map is the same function of the same idle action
    same = agent_action_map("idle_centred", env.unwrapped.action_space, idle)
    probe = np.linspace(-1.0, 1.0, idle.size)
    np.testing.assert_array_equal(
        same(probe), idle_centred_action_map(env.unwrapped.action_space, idle)(probe)
    )
    assert agent_action_map("rescale", env.unwrapped.action_space, idle) is not None
    with pytest.raises(HyperparamError, match=r"env\.action_map 'box' is not one of rescale"):
        training_plan("ppo", "smoke", 120, path=_hyperparams(tmp_path, action_map="box"))


def test_the_feasible_map_is_the_centred_equation_on_the_infos_box():
    """Hand-checked: 0 → the idle action clipped into the step's box, ±1 → its bounds,
    ±0.5 → half-way, entry by entry; no box in the info is a one-line ValueError."""
    from gridbench.rl_agents.agent_view import feasible_action

    info = {"next_action_low": np.array([-2.0, 0.5, -1.0]),
            "next_action_high": np.array([1.0, 4.0, -0.5])}
    idle = np.array([0.0, 0.0, 0.0])  # entry 1: idle below the box, entry 2: above it
    assert feasible_action(np.zeros(3), info, idle).tolist() == [0.0, 0.5, -0.5]
    assert feasible_action(np.ones(3), info, idle).tolist() == [1.0, 4.0, -0.5]
    assert feasible_action(-np.ones(3), info, idle).tolist() == [-2.0, 0.5, -1.0]
    assert feasible_action(np.array([0.5, 0.5, -0.5]), info, idle).tolist() == [0.5, 2.25, -0.75]
    assert feasible_action(np.array([-0.5, 7.0, -3.0]), info, idle).tolist() == [-1.0, 4.0, -1.0]
    # an entry marked "middle" (a ramp-limited generator) is centred on its box's middle
    middle = np.array([False, True, False])
    assert feasible_action(np.zeros(3), info, idle, middle).tolist() == [0.0, 2.25, -0.5]
    assert feasible_action(np.full(3, -0.5), info, idle, middle).tolist() == [-1.0, 1.375, -0.75]
    # ramp_action "target": such an entry names a level of its static range [0, 8], clipped
    # into the step's box [0.5, 4]: −1 → 0 → 0.5, −0.5 → 2, 0 → 4, 0.5 → 6 → 4
    static = (np.array([-3.0, 0.0, -2.0]), np.array([3.0, 8.0, 2.0]))
    levels = [feasible_action(np.full(3, a), info, idle, middle, static=static)[1]
              for a in (-1.0, -0.5, 0.0, 0.5)]
    assert levels == [0.5, 2.0, 4.0, 4.0]
    assert feasible_action(np.full(3, -0.5), info, idle, middle, static=static)[[0, 2]].tolist() \
        == [-1.0, -0.75]  # the other entries as before
    # action_centre "default": every entry's 0 is the referee's default operation of the step
    # clipped into the box ([9, 3, 9] → [1, 3, −0.5]; [9, 6, 9] → [1, 4, −0.5]), ±1 its ends
    for default, zero, half_down in ((3.0, 3.0, 1.75), (6.0, 4.0, 2.25)):
        told = {**info, "next_default_action": np.array([9.0, default, 9.0])}
        assert feasible_action(np.zeros(3), told, idle, middle, default=True).tolist() == [
            1.0, zero, -0.5]  # fmt: skip
        assert feasible_action(np.full(3, -0.5), told, idle, middle, default=True).tolist() == [
            -0.5, half_down, -0.75]  # fmt: skip
        assert feasible_action(np.ones(3), told, idle, middle, default=True).tolist() == [
            1.0, 4.0, -0.5]  # fmt: skip
    with pytest.raises(ValueError, match="needs info\\['next_default_action'\\]"):
        feasible_action(np.zeros(3), info, idle, middle, default=True)
    # action_centre "default_balanced": the same 0, the middle entries' total held at the
    # default's; a lone middle entry is therefore held at the default
    told = {**info, "next_default_action": np.array([9.0, 3.0, 9.0])}
    assert feasible_action(np.full(3, -0.5), told, idle, middle, default=True,
                           balanced=True).tolist() == [-0.5, 3.0, -0.75]
    with pytest.raises(ValueError, match="needs info\\['next_action_low'\\]"):
        feasible_action(np.zeros(3), {"next_action_low": None}, idle)
    # the penalty-free map reads its own keys, with the same equation
    soft = {"next_penalty_free_low": np.array([-1.0, 1.0, -1.0]),
            "next_penalty_free_high": np.array([0.5, 3.0, -0.5])}
    assert feasible_action(np.full(3, 0.5), soft, idle, box="penalty_free").tolist() == [
        0.25, 2.0, -0.5]  # fmt: skip
    with pytest.raises(ValueError, match="needs info\\['next_penalty_free_low'\\]"):
        feasible_action(np.zeros(3), info, idle, box="penalty_free")


@pytest.mark.parametrize(
    ("case_id", "ramp", "centre"),
    [("loss-arbitrage-ieee33-v0", "relative", "idle"), ("sgls-ieee30-v0", "relative", "idle"),
     ("sgls-ieee30-v0", "target", "idle"), ("sgls-ieee30-v0", "relative", "default"),
     ("sgls-ieee33-v0", "relative", "default"), ("loss-arbitrage-ieee33-v0", "relative",
                                                 "default"),
     ("sgls-ieee30-v0", "relative", "default_balanced")],
)
def test_with_the_feasible_map_nothing_the_agent_sends_is_projected(
        tmp_path, case_id, ramp, centre):
    """``env.action_map = "feasible"`` (either ``ramp_action``, either ``action_centre``; a
    case without a default operation keeps the idle centre): a day of random [-1, 1] actions
    through the training env is executed unchanged (the referee projects nothing), and the
    controller's map gives the same setpoints."""
    case = make_case(case_id)
    path = _hyperparams(tmp_path, action_map="feasible", ramp_action=ramp)
    data = json.loads(path.read_text())
    data["env"]["action_centre"] = centre
    path.write_text(json.dumps(data))
    plan = training_plan("ppo", "smoke", 24, path=path)
    assert (plan.ramp_action, plan.action_centre) == (ramp, centre)
    env = make_training_env(case, 0, plan)
    rng = np.random.default_rng(1)
    _, info = env.reset(seed=0)
    prior = info
    middle = neutral_middle(case)  # SGLS IEEE 30: the thermal units
    assert middle.any() == case_id.startswith("sgls-ieee30")
    same = agent_action_map(
        "feasible", env.unwrapped.action_space, env.unwrapped.idle_action(), middle, ramp, centre
    )
    done = False
    while not done:
        a = rng.uniform(-1.0, 1.0, env.action_space.shape).astype(np.float32)
        expected = same(a, info)
        _, _, terminated, truncated, info = env.step(a)
        done = terminated or truncated
        assert info["projection"]["n_clipped"] == 0
        applied = env.unwrapped.core.history(info["layer"])[-1].applied
        np.testing.assert_allclose(applied, expected, rtol=0, atol=1e-5)
        if centre == "default_balanced":  # the units' total is the default's
            default = np.clip(prior[DEFAULT_ACTION_KEY], prior["next_action_low"],
                              prior["next_action_high"])
            assert applied[middle].sum() == pytest.approx(default[middle].sum(), abs=1e-4)
        prior = info


def test_observation_norm_is_fitted_on_train_days_only_and_frozen(tmp_path, monkeypatch):
    """The statistics come from train days (every reset of the fitting env lands on one),
    are stored in the plan file beside the model, and the controller of the loaded agent
    applies exactly them: (o − μ)/σ clipped to ±5, the same before and after more play."""
    from gridbench.rl_agents.observation_norm import ObservationNorm, fit_observation_norm
    from gridbench.rl_agents.sb3_methods import Ppo

    case = make_case(CASE_ID)
    seen = []
    make_env = type(case).make_env

    def spying(self, *args, **kwargs):
        env = make_env(self, *args, **kwargs)
        reset = env.reset

        def logged(**kw):
            obs, info = reset(**kw)
            seen.append(info["day"])
            return obs, info

        env.reset = logged
        return env

    monkeypatch.setattr(type(case), "make_env", spying)
    norm = fit_observation_norm(case, 0, "feasible", days=6)
    monkeypatch.undo()
    train = {d.isoformat() for d in case.days("train")}
    assert len(seen) == 7 and set(seen) <= train  # 6 days played, one last reset
    assert norm.days == 6 and norm.steps == 6 * 24
    assert norm == fit_observation_norm(case, 0, "feasible", days=6)  # seeded

    # hand-checked map
    tiny = ObservationNorm(mean=(1.0, 0.0), std=(2.0, 1.0))
    assert tiny(np.array([5.0, -9.0])).tolist() == [2.0, -5.0]
    assert ObservationNorm.from_samples(np.array([[1.0, 3.0], [3.0, 3.0]]), 1).std == (1.0, 1.0)

    path = _hyperparams(tmp_path, baseline="idle", action_map="feasible", obs_norm="train_days")
    method = Ppo(hyperparams=path, training_dir=tmp_path / "runs")
    method.fit(case, 0, "smoke")
    record = json.loads((method.run_dir(case, 0) / "plan.json").read_text())
    stored = ObservationNorm.from_json(record["observation_norm"])
    assert stored.days == 64 and len(stored.mean) == len(case.observation_names())
    method.load(case, 0, method.run_dir(case, 0) / "model.zip")
    ctrl = method.controller(case, case.days("val")[0])
    env = case.make_env(day=case.days("val")[0], seed=0)
    obs, info = env.reset(seed=0)
    np.testing.assert_array_equal(ctrl._obs(obs), stored(obs))
    action = ctrl.act(obs, info)
    assert np.all(action >= info["next_action_low"] - 1e-6)
    assert np.all(action <= info["next_action_high"] + 1e-6)


def test_case_overrides_apply_to_the_training_env_only(tmp_path):
    """SGLS trains on the scored cost (``env.case_overrides``: ``reward = "cost"``) while the
    case the harness evaluates keeps its config; an unknown key is a one-line error."""
    from gridbench.cases.contracts import CaseConfigError
    from gridbench.rl_agents.sb3_methods import training_case

    case = make_case("sgls-ieee33-v0")
    plan = training_plan("ppo", "smoke", 120, case_id=case.id)
    assert plan.case_overrides == {"reward": "cost"}
    assert training_case(case, plan.case_overrides).config.reward == "cost"
    assert case.config.reward == "paper"
    assert training_plan("ppo-kl", "smoke", 120, case_id=case.id).case_overrides == {}
    with pytest.raises(CaseConfigError, match="rewards"):
        training_case(case, {"rewards": "cost"})


def test_n_envs_trains_on_processes_side_by_side(tmp_path):
    """``env.n_envs = 2``: PPO trains on a ``SubprocVecEnv`` of two training envs (one
    ``env<i>.monitor.csv`` each); a value that is not a whole number >= 1 is a one-line error."""
    from gridbench.rl_agents.sb3_methods import Ppo

    data = load_hyperparams()
    data["env"]["n_envs"] = 2
    path = tmp_path / "hp.json"
    path.write_text(json.dumps(data))
    assert training_plan("ppo", "smoke", 24, path=path).n_envs == 2
    method = Ppo(hyperparams=path, training_dir=tmp_path / "runs")
    case = make_case(CASE_ID)
    method.fit(case, 0, "smoke")
    run = method.run_dir(case, 0)
    assert (run / "env0.monitor.csv").is_file() and (run / "env1.monitor.csv").is_file()
    assert method.last_fit["env_steps"] >= 300
    for bad in (0, 1.5, True):
        data["env"]["n_envs"] = bad
        path.write_text(json.dumps(data))
        with pytest.raises(HyperparamError, match=r"env\.n_envs .* is not a whole number"):
            training_plan("ppo", "smoke", 24, path=path)


@pytest.mark.parametrize("name", ["sac", "ppo"])
def test_shipped_agents_hold_the_policy_not_the_optimizer_state(tmp_path, name):
    """``ship`` empties every optimizer's state: the file shrinks, SB3 loads it, and the
    shipped agent acts exactly as the trained one."""
    import zipfile

    from gridbench.rl_agents.sb3_methods import Ppo, Sac

    cls = {"sac": Sac, "ppo": Ppo}[name]
    case = make_case(CASE_ID)
    method = cls(training_dir=tmp_path / "runs", agents_dir=tmp_path / "agents")
    method.fit(case, 0, "smoke")
    trained = method.run_dir(case, 0) / "model.zip"
    shipped = method.ship(case, 0)
    sizes = {
        path: {i.filename: i.file_size for i in zipfile.ZipFile(path).infolist()}
        for path in (trained, shipped)
    }
    optimizers = [k for k in sizes[trained] if k.endswith("optimizer.pth")]
    assert optimizers
    # an emptied optimizer keeps only its settings (about 1.5 kB)
    assert sum(sizes[shipped][k] for k in optimizers) < sum(sizes[trained][k] for k in optimizers)
    assert all(sizes[shipped][k] < 2_000 for k in optimizers)
    assert sizes[shipped]["policy.pth"] == sizes[trained]["policy.pth"]
    env = case.make_env(day=case.days("val")[0], seed=0)
    obs, info = env.reset(seed=0)
    expected = method.controller(case, case.days("val")[0]).act(obs, info)
    again = cls(agents_dir=tmp_path / "agents")
    again.load(case, 0)
    np.testing.assert_array_equal(again.controller(case, case.days("val")[0]).act(obs, info),
                                  expected)


def test_with_context_appends_the_infos_context_or_zeros():
    """Hand-checked: the context after the observation; zeros where the info has none (after
    the day's last step); a context of the wrong size is a one-line ValueError."""
    from gridbench.rl_agents.agent_view import with_context

    obs = np.array([1.0, 2.0], dtype=np.float32)
    out = with_context(obs, {"next_context": np.array([3.0, 4.0, 5.0])}, 3)
    assert out.dtype == np.float32 and out.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert with_context(obs, {"next_context": None}, 2).tolist() == [1.0, 2.0, 0.0, 0.0]
    assert with_context(obs, None, 0) is obs
    with pytest.raises(ValueError, match="shape \\(1,\\), expected \\(3,\\)"):
        with_context(obs, {"next_context": np.array([1.0])}, 3)


def test_the_sgls_context_is_the_plan_the_intraday_step_is_settled_against():
    """SGLS IEEE 33: a day-ahead plan of constant setpoints; in the intraday layer the context
    holds the last step's tie-line flow, the plan's tie-line flow and setpoints of the hour and
    the planned SOC at the end of the step (the reward's references); ``None`` after the day."""
    case = make_case("sgls-ieee33-v0")
    env = case.make_env(day=case.days("val")[0], seed=0)
    core = env.unwrapped.core
    _, info = env.reset(seed=0)
    n = info["next_context"].size
    assert n == 2 + core.lay.dim + core.lay.n_st and not info["next_context"].any()
    plan = np.clip(np.full(core.lay.dim, 0.05), info["next_action_low"], info["next_action_high"])
    infos = []
    done = False
    while not done:
        _, _, terminated, truncated, info = env.step(
            np.clip(plan, info["next_action_low"], info["next_action_high"])
        )
        infos.append(info)
        done = terminated or truncated
    assert infos[-1]["next_context"] is None
    step5 = infos[23 + 6]  # after intraday step 5: the context of step 6 (hour 1)
    assert step5["layer"] == "intraday" and step5["next_step"] == 6
    ctx = step5["next_context"]
    assert ctx[0] == pytest.approx(step5["tie_line_mw"])
    assert ctx[1] == pytest.approx(core.plan_tie[1])
    np.testing.assert_allclose(ctx[2:2 + core.lay.dim], core.plan_sp[1])
    soc_ref = core.plan_soc[1] + 0.75 * (core.plan_soc[2] - core.plan_soc[1])
    np.testing.assert_allclose(ctx[2 + core.lay.dim:], soc_ref)
    assert step5["tie_line_ref_mw"] == pytest.approx(core.plan_tie[1])
    low, high = core.context_box()
    for i in infos[:-1]:
        assert np.all(i["next_context"] >= low) and np.all(i["next_context"] <= high)


def test_with_obs_context_training_and_the_controller_see_the_same_vector(tmp_path):
    """``env.obs_context``: the training env's observation is the referee's plus its context,
    normalized with statistics fitted on the same extended vectors; the trained agent's
    controller builds the very vector from the harness's obs and info. A case without
    context (SES-carbon) is unchanged."""
    from gridbench.rl_agents.sb3_methods import Ppo

    data = load_hyperparams()
    data["env"]["obs_context"] = True
    path = tmp_path / "hp.json"
    path.write_text(json.dumps(data))
    case = make_case("sgls-ieee33-v0")
    method = Ppo(hyperparams=path, training_dir=tmp_path / "runs")
    method.fit(case, 0, "smoke")
    plan = training_plan("ppo", "smoke", 120, path=path, case_id=case.id)
    assert plan.obs_context
    day = case.days("val")[0]
    train_env = make_training_env(case, 0, plan, obs_norm=method._agents[case.id].obs_fn)
    train_obs, _ = train_env.reset(seed=0, options={"day": day})
    ctrl = method.controller(case, day)
    env = case.make_env(day=day, seed=0)
    obs, info = env.reset(seed=0)
    assert train_obs.shape == (obs.size + info["next_context"].size,)
    seen = {}
    predict = ctrl._model.predict
    ctrl._model.predict = lambda o, deterministic: (seen.setdefault("o", o), predict(o, True))[1]
    ctrl.act(obs, info)
    np.testing.assert_array_equal(seen["o"], train_obs)
    method.load(case, 0, method.run_dir(case, 0) / "model.zip")  # the stored plan says so too
    assert method._agents[case.id].context == info["next_context"].size
    ses = make_case(CASE_ID)
    plain = make_training_env(ses, 0, training_plan("ppo", "smoke", 24, path=path))
    assert plain.observation_space.shape == (len(ses.observation_names()),)


def test_case_setup_declares_a_cases_exploration_noise_and_actor_output_scale(tmp_path):
    """``case_setup[case]``'s ``action_noise`` replaces the algorithm's on that case only, and
    its ``actor_output_scale`` reaches the plan; a scale that is not a number > 0 is one
    line."""
    data = load_hyperparams()
    noise = {"kind": "normal", "sigma": 0.03}
    data["algorithms"]["td3"]["case_setup"] = {
        "sgls-ieee30-v0": {"action_noise": noise, "actor_output_scale": 0.01}}
    path = tmp_path / "hp.json"
    path.write_text(json.dumps(data))
    plan = training_plan("td3", "smoke", 120, path=path, case_id="sgls-ieee30-v0")
    assert plan.action_noise == noise and plan.actor_output_scale == 0.01
    assert "action_noise" not in plan.kwargs and "actor_output_scale" not in plan.kwargs
    other = training_plan("td3", "smoke", 120, path=path, case_id="sgls-ieee33-v0")
    assert other.action_noise == {"kind": "normal", "sigma": 0.1}
    assert other.actor_output_scale is None
    data["algorithms"]["td3"]["case_setup"]["sgls-ieee30-v0"]["actor_output_scale"] = -1
    path.write_text(json.dumps(data))
    with pytest.raises(HyperparamError, match=r"actor_output_scale -1 is not a number > 0"):
        training_plan("td3", "smoke", 120, path=path, case_id="sgls-ieee30-v0")
    data["algorithms"]["td3"]["case_setup"]["sgls-ieee30-v0"]["actor_output_scale"] = "small"
    path.write_text(json.dumps(data))
    with pytest.raises(HyperparamError, match=r"actor_output_scale 'small' is not a number"):
        training_plan("td3", "smoke", 120, path=path, case_id="sgls-ieee30-v0")
    data["algorithms"]["ppo"]["case_setup"]["sgls-ieee30-v0"]["actor_output_scale"] = 0.01
    path.write_text(json.dumps(data))
    with pytest.raises(HyperparamError, match=r"is for the off-policy actors .* not PPO"):
        training_plan("ppo", "smoke", 120, path=path, case_id="sgls-ieee30-v0")


@pytest.mark.parametrize("algo", ["SAC", "TD3", "DDPG"])
def test_a_scaled_actor_output_starts_the_policy_at_the_maps_zero(algo):
    """:func:`scale_actor_output`: the last layer's weights × 1e-3, bias 0, so the untrained
    deterministic action is about 0 (|a| ≤ 1e-3 |W h|; SB3's initialization is not), and the
    target actor is the same network."""
    import gymnasium
    import stable_baselines3
    import torch

    from gridbench.rl_agents.sb3_methods import scale_actor_output

    env = gymnasium.make("Pendulum-v1")
    obs = np.random.default_rng(0).uniform(-1, 1, size=(64, 3)).astype(np.float32)

    def actions(model):
        return np.abs(model.predict(obs, deterministic=True)[0] / env.action_space.high)

    model = getattr(stable_baselines3, algo)("MlpPolicy", env, seed=0, device="cpu",
                                              learning_starts=0)
    before = actions(model)
    scale_actor_output(model, 1e-3)
    after = actions(model)
    assert before.max() > 0.02 and after.max() < 2e-3
    if algo != "SAC":
        for p, q in zip(model.actor.parameters(), model.actor_target.parameters(), strict=True):
            assert torch.equal(p, q)
    with pytest.raises(ValueError, match="has no off-policy actor to scale"):
        scale_actor_output(stable_baselines3.PPO("MlpPolicy", env, device="cpu"), 0.01)


def test_balanced_units_moves_output_between_units_and_keeps_each_in_its_box():
    """:func:`balanced_units` by hand: units 0 and 1 (centre 10 and 20 MW, boxes [5, 15] and
    [10, 30]); entry 2 is no unit. At (12, 25) the units are 7 MW over the centre's 30: taken
    in proportion to their room down (7 and 15 of 22 MW): 12 − 7·7/22 and 25 − 7·15/22. At
    (6, 15), 9 MW under: given in proportion to the room up (9 and 15 of 24): 6 + 9·9/24 and
    15 + 9·15/24. Balanced already: unchanged; at a bound: stays there."""
    from gridbench.rl_agents.agent_view import balanced_units

    c, lo, hi = np.array([10.0, 20.0, 1.0]), np.array([5.0, 10.0, 0.0]), np.array([15.0, 30, 5])
    units = np.array([True, True, False])
    out = balanced_units(np.array([12.0, 25.0, 3.0]), c, lo, hi, units)
    np.testing.assert_allclose(out, [12 - 7 * 7 / 22, 25 - 7 * 15 / 22, 3.0], rtol=0, atol=1e-12)
    out = balanced_units(np.array([6.0, 15.0, 3.0]), c, lo, hi, units)
    np.testing.assert_allclose(out, [9.375, 20.625, 3.0], rtol=0, atol=1e-12)
    assert balanced_units(np.array([12.0, 18.0, 4.0]), c, lo, hi, units).tolist() == [
        12.0, 18.0, 4.0]
    out = balanced_units(np.array([15.0, 30.0, 0.0]), c, lo, hi, units)  # 15 MW over
    np.testing.assert_allclose(out, [15 - 15 * 10 / 30, 30 - 15 * 20 / 30, 0.0], atol=1e-12)
    assert out[:2].sum() == pytest.approx(30.0) and np.all(out >= lo) and np.all(out <= hi)
