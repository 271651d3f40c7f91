"""RL methods: every registered ``rl`` method end to end on a TEST-ONLY toy case, determinism,
shipped agents, hyperparameter file, and exact unit tests of PER (eq 27) and OR (eq 28).

The toy case wraps ``_ToyCore`` of ``test_referee_base`` (two storages behind a tie line, 24 h
steps) in a ``BaseCase`` registered only inside ``registry.sandbox()``.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.wrappers import RescaleAction
from test_referee_base import _ToyCore

import gridbench.rl_agents  # noqa: F401  (registers the RL methods)
from gridbench.cases import registry
from gridbench.cases.contracts import BaseCase, Budget, Controller, Method, Split
from gridbench.cases.referee import Timeline
from gridbench.rl_agents.per_or import (
    PerOrDDPG,
    PrioritizedReplayBuffer,
    SumTree,
    Table2Policy,
    importance_weights,
    orthogonal_regularization,
    sampling_probabilities,
)
from gridbench.rl_agents.sb3_methods import (
    HyperparamError,
    MissingAgentError,
    SB3Method,
    action_map,
    load_hyperparams,
    make_training_env,
    training_plan,
)

#: The single-agent RL methods (SB3 and the papers' variants); MADDPG has its own tests
#: (``tests/test_maddpg.py``).
RL_METHODS = tuple(m for m in registry.method_names("rl")
                   if not getattr(registry.get_method(m).cls, "multi_agent", False))
TRAIN_DAYS = tuple(datetime.date(2016, 1, 4) + datetime.timedelta(days=9 * k) for k in range(12))
VAL_DAYS = (datetime.date(2016, 6, 1),)
TEST_DAYS = (datetime.date(2016, 7, 1), datetime.date(2016, 7, 2))


# ---------------------------------------------------------------------------- test-only case
class _ToyCase(BaseCase):
    """TEST ONLY: the referee tests' toy core as a case (24 × 1 h, two storages)."""

    id = "rl-toy-v0"
    grid = "toy"
    paper = "test only"
    timeline = Timeline.single(24, 1.0)

    def days(self, split: Split | str) -> tuple[datetime.date, ...]:
        return {Split.TRAIN: TRAIN_DAYS, Split.VAL: VAL_DAYS, Split.TEST: TEST_DAYS}[
            Split.parse(split)
        ]

    def make_core(self) -> _ToyCore:
        return _ToyCore(n_storage=2)


class _MultiAgentOnlyCase(_ToyCase):
    id = "rl-toy-multi-v0"
    multi_agent_only = True


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def case() -> Iterator[_ToyCase]:
    with registry.sandbox():
        registry.register_case(_ToyCase.id, entry_point=f"{__name__}:_ToyCase")
        made = registry.make_case(_ToyCase.id)
        assert isinstance(made, _ToyCase)
        yield made


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("training")


def _method(name: str, root: Path, **kw: object) -> SB3Method:
    method = registry.make_method(name)
    assert isinstance(method, SB3Method)
    method.training_dir = root
    method.progress_bar = False
    for k, v in kw.items():
        setattr(method, k, v)
    return method


@pytest.fixture(scope="module")
def trained(case: _ToyCase, runs: Path) -> dict[str, SB3Method]:
    """Every RL method fitted once with the smoke budget, seed 0 (shared by several tests)."""
    out = {}
    for name in RL_METHODS:
        method = _method(name, runs / "a")
        method.fit(case, 0, Budget.SMOKE)
        out[name] = method
    return out


def _probe_observations(case: _ToyCase, n: int = 24) -> list[np.ndarray]:
    env = case.make_env(day=TEST_DAYS[1], seed=3)
    obs, _ = env.reset()
    out = [obs]
    rng = np.random.default_rng(0)
    for _ in range(n - 1):
        obs, *_ = env.step(rng.uniform(-1, 1, env.action_space.shape))
        out.append(obs)
    return out


def _actions(method: SB3Method, case: _ToyCase, observations: list[np.ndarray]) -> np.ndarray:
    ctrl = method.controller(case, TEST_DAYS[1])
    space = case.make_env(day=TEST_DAYS[1]).action_space
    # the static box, as both step boxes
    info = {"next_action_low": space.low, "next_action_high": space.high,
            "next_penalty_free_low": space.low, "next_penalty_free_high": space.high}
    ctrl.reset(observations[0], info)
    return np.stack([ctrl.act(o, info) for o in observations])


def _one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


# ---------------------------------------------------------------------------- registry
def test_rl_family_registered_without_importing_torch() -> None:
    code = (
        "import sys, gridbench.rl_agents\n"
        "from gridbench.cases.registry import method_names\n"
        "print(','.join(method_names('rl')))\n"
        "print('torch' in sys.modules, 'stable_baselines3' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert set(out[0].split(",")) >= {"ddpg", "ddpg-per-or", "td3", "sac", "ppo"}
    assert out[1:] == ["False", "False"]


@pytest.mark.parametrize("name", RL_METHODS)
def test_method_contract_and_supports(name: str, case: _ToyCase) -> None:
    method = registry.make_method(name)
    assert isinstance(method, Method) and method.family == "rl"
    prefixes = getattr(method, "case_prefixes", None)  # a method kept to its paper's cases
    assert method.supports(case) == (prefixes is None or case.id.startswith(prefixes))
    assert not method.supports(_MultiAgentOnlyCase())


# ---------------------------------------------------------------------------- end to end
@pytest.mark.parametrize("name", RL_METHODS)
def test_smoke_fit_then_full_episode(name: str, case: _ToyCase, trained, runs: Path) -> None:
    method = trained[name]
    fit = method.last_fit
    assert fit["source"] == "trained" and 300 <= fit["env_steps"] <= 400
    run = runs / "a" / case.id / name / "seed0"
    assert Path(fit["run_dir"]) == run
    for f in ("progress.csv", "monitor.csv", "model.zip", "plan.json"):
        assert (run / f).is_file(), f
    assert list(run.glob("events.out.tfevents.*")), "no TensorBoard events"
    plan = json.loads((run / "plan.json").read_text())
    assert plan["plan"]["version"] == load_hyperparams()["version"]
    assert plan["plan"]["budget"] == "smoke" and plan["torch_threads"] == 1
    monitor_rows = (run / "monitor.csv").read_text().splitlines()[2:]
    assert len(monitor_rows) >= 12  # 300 steps = 12 training days of 24 h

    env = case.make_env(day=TEST_DAYS[0], seed=1)
    ctrl = method.controller(case, TEST_DAYS[0])
    assert isinstance(ctrl, Controller)
    obs, info = env.reset()
    ctrl.reset(obs, info)
    low, high = env.action_space.low, env.action_space.high
    steps, done = 0, False
    while not done:
        action = ctrl.act(obs, info)
        assert action.shape == env.action_space.shape and action.dtype == np.float32
        assert np.all(np.isfinite(action))
        assert np.all(action >= low) and np.all(action <= high)
        obs, reward, done, _, info = env.step(action)
        assert np.isfinite(reward) and info["projection"]["n_nonfinite"] == 0
        steps += 1
    assert steps == case.steps


@pytest.mark.parametrize("name", RL_METHODS)
def test_same_seed_same_policy(name: str, case: _ToyCase, trained, runs: Path) -> None:
    observations = _probe_observations(case)
    again = _method(name, runs / "b")
    again.fit(case, 0, "smoke")
    np.testing.assert_array_equal(
        _actions(trained[name], case, observations), _actions(again, case, observations)
    )


def test_other_seed_other_policy(case: _ToyCase, trained, runs: Path) -> None:
    observations = _probe_observations(case)
    other = _method("ddpg", runs / "c")
    other.fit(case, 1, "smoke")
    assert not np.array_equal(
        _actions(trained["ddpg"], case, observations), _actions(other, case, observations)
    )


def test_controller_maps_actions_like_rescale_action(case: _ToyCase) -> None:
    env = case.make_env(day=TEST_DAYS[0])
    wrapped = RescaleAction(env, np.full(2, -1, np.float32), np.full(2, 1, np.float32))
    back = action_map(env.action_space)
    for a in np.linspace(-1, 1, 7, dtype=np.float32):
        unit = np.array([a, -a], dtype=np.float32)
        np.testing.assert_array_equal(back(unit), wrapped.action(unit))
    np.testing.assert_allclose(back(np.float32([-1, 1])), [env.action_space.low[0], 1.0])


def test_training_env_samples_train_days_only(case: _ToyCase) -> None:
    plan = training_plan("ddpg", "smoke", 24)
    env = make_training_env(case, 5, plan)
    days = set()
    for _ in range(15):
        _, info = env.reset()
        days.add(datetime.date.fromisoformat(info["day"]))
    assert days <= set(TRAIN_DAYS) and len(days) > 1
    assert env.action_space == spaces.Box(-1, 1, (2,), np.float32)
    obs, _ = env.reset()
    assert plan.obs_norm == "train_days"  # normalized with frozen train-day statistics
    assert np.all(np.abs(obs) <= 5.0) and obs in env.observation_space


# ---------------------------------------------------------------------------- shipped agents
def test_controller_without_agent_names_the_expected_path(case: _ToyCase, tmp_path) -> None:
    method = _method("td3", tmp_path, agents_dir=tmp_path / "agents")
    with pytest.raises(MissingAgentError) as exc:
        method.controller(case, TEST_DAYS[0])
    text = _one_line(exc)
    assert "call fit" in text and str(tmp_path / "agents" / case.id / "td3" / "seed0.zip") in text


def test_quick_without_shipped_agent(case: _ToyCase, tmp_path) -> None:
    strict = _method("sac", tmp_path, agents_dir=tmp_path / "agents", require_shipped=True)
    with pytest.raises(MissingAgentError) as exc:
        strict.fit(case, 2, "quick")
    expected = tmp_path / "agents" / case.id / "sac" / "seed2.zip"
    assert f"expected {expected}" in _one_line(exc)
    with pytest.raises(MissingAgentError, match=r"seed2\.zip"):
        strict.load(case, 2)
    assert not (tmp_path / case.id).exists()  # nothing was trained


def test_quick_loads_the_shipped_agent(case: _ToyCase, trained, runs: Path, tmp_path) -> None:
    source = trained["ddpg-per-or"]
    source.agents_dir = tmp_path / "agents"
    shipped = source.ship(case, 0)
    assert shipped == tmp_path / "agents" / case.id / "ddpg-per-or" / "seed0.zip"
    assert shipped.with_suffix(".json").is_file()
    logs = shipped.parent / "seed0"
    assert (logs / "monitor.csv").is_file() and (logs / "progress.csv").is_file()
    fresh = _method("ddpg-per-or", tmp_path / "runs", agents_dir=tmp_path / "agents")
    fresh.fit(case, 0, "quick")
    assert fresh.last_fit["source"] == "shipped"
    assert not (tmp_path / "runs").exists()  # loading trains nothing
    observations = _probe_observations(case)
    np.testing.assert_array_equal(
        _actions(source, case, observations), _actions(fresh, case, observations)
    )
    assert isinstance(fresh._agents[case.id].model.policy, Table2Policy)


def test_retrain_trains_although_a_shipped_agent_exists(
    case: _ToyCase, trained, tmp_path
) -> None:
    import json

    from gridbench.benchmarks.harness import UnitTask, _build_method

    trained["ppo"].agents_dir = tmp_path / "agents"
    trained["ppo"].ship(case, 0)
    params = load_hyperparams()
    params["budgets"]["quick"] = {"timesteps": 64, "shipped_first": True}
    hp = tmp_path / "hp.json"
    hp.write_text(json.dumps(params))
    method = _method("ppo", tmp_path / "runs", agents_dir=tmp_path / "agents", hyperparams=hp,
                     retrain=True)  # fmt: skip
    method.fit(case, 0, "quick")
    assert method.last_fit["source"] == "trained" and method.last_fit["env_steps"] >= 64
    # the harness sets the flag from the task (gridbench run --retrain)
    task = UnitTask(case.id, "x:y", {}, "ppo", "gridbench.rl_agents.sb3_methods:Ppo", 0,
                    "quick", "test", (), retrain=True)  # fmt: skip
    assert _build_method(task).retrain is True
    assert _build_method(dataclasses.replace(task, retrain=False)).retrain is False


# ---------------------------------------------------------------------------- hyperparameters
def test_hyperparameter_file() -> None:
    data = load_hyperparams()
    assert isinstance(data["version"], int)
    assert set(RL_METHODS) <= set(data["algorithms"])
    assert "provisional" not in data["budgets"]["reference"]  # chosen from measured curves
    # v4: equal single-core CPU time per seed, as env steps per algorithm and case
    assert data["budgets"]["reference"]["cpu_seconds"] == 180
    ses = "ses-carbon-ieee33-v0"
    for name in ("ppo", "sac", "td3", "ddpg"):
        plan = training_plan(name, "reference", 24, case_id=ses)
        n = plan.timesteps
        assert plan.checkpoints == (n // 8, n // 4, n // 2)
        if name != "ppo":  # off-policy: one gradient update per env step
            assert plan.kwargs["train_freq"] == plan.kwargs["gradient_steps"] == 1
        # the fair set-up is every default's; the fallback budget of an unlisted case
        assert (plan.reward_baseline, plan.action_map, plan.obs_norm) == (
            "idle", "penalty_free", "train_days"
        )
        assert training_plan(name, "reference", 24, case_id="other-v0").timesteps == 20_000
    assert training_plan("ppo", "reference", 24, case_id=ses).policy_kwargs["log_std_init"] == -1.2
    per_or_ref = training_plan("ddpg-per-or", "reference", 24, case_id=ses)
    assert per_or_ref.timesteps == 20_000 and per_or_ref.kwargs["train_freq"] == 4  # as v3
    assert (per_or_ref.reward_baseline, per_or_ref.action_map) == ("none", "rescale")
    for name in RL_METHODS:
        assert 250 <= training_plan(name, "smoke", 24).timesteps <= 400
        assert training_plan(name, "paper", 24).timesteps == 20_000 * 24
        assert training_plan(name, "full", 24) == training_plan(name, "reference", 24)
    per_or = training_plan("ddpg-per-or", "paper", 24)  # SES-carbon Table 2
    assert per_or.kwargs["learning_rate"] == 4e-4 and per_or.kwargs["tau"] == 0.01
    assert per_or.kwargs["gamma"] == 0.96 and per_or.kwargs["buffer_size"] == 100_000
    assert per_or.policy_kwargs["net_arch"] == [256, 256]
    assert per_or.policy == "Table2Policy" and per_or.policy_kwargs["layer_norm"] is True
    with pytest.raises(HyperparamError, match="no algorithm 'a2c'"):
        training_plan("a2c", "smoke", 24)
    with pytest.raises(ValueError, match="unknown budget 'huge'"):
        training_plan("ddpg", "huge", 24)


# ---------------------------------------------------------------------------- PER (eq 27)
def test_sum_tree_prefix_search_matches_cumsum() -> None:
    rng = np.random.default_rng(1)
    values = rng.random(37) * (rng.random(37) > 0.3)
    tree = SumTree(37)
    tree.update(np.arange(37), values)
    assert tree.total == pytest.approx(values.sum())
    u = rng.random(500) * values.sum()
    np.testing.assert_array_equal(tree.find(u), np.searchsorted(np.cumsum(values), u, "right"))
    tree.update([3, 3, 36], [5.0, 2.0, 1.0])  # a repeated index keeps its last value
    assert tree.values[3] == 2.0 and tree.values[36] == 1.0
    assert tree.total == pytest.approx(values.sum() - values[3] - values[36] + 3.0)
    single = SumTree(1)
    single.update([0], 4.0)
    assert single.total == 4.0 and single.find([3.9]).tolist() == [0]


def _buffer(n: int, capacity: int = 16, **kw: float) -> PrioritizedReplayBuffer:
    buf = PrioritizedReplayBuffer(
        capacity, spaces.Box(-1, 1, (3,)), spaces.Box(-1, 1, (1,)), device="cpu", **kw
    )
    for i in range(n):
        obs = np.full((1, 3), i, dtype=np.float32)
        buf.add(obs, obs + 1, np.zeros((1, 1)), np.array([float(i)]), np.array([0.0]), [{}])
    return buf


def test_per_sampling_frequencies_follow_p_alpha() -> None:
    buf = _buffer(6, alpha=0.7)
    td = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0])
    buf.update_priorities(np.arange(6), td)
    expected = sampling_probabilities(td + buf.eps, 0.7)
    np.random.seed(0)
    counts = np.zeros(6)
    n_batches, batch = 400, 50
    for _ in range(n_batches):
        sample = buf.sample(batch)
        counts += np.bincount(sample.indices, minlength=6)
        # the stored transition behind each leaf is the one sampled (reward = its index)
        np.testing.assert_array_equal(sample.rewards.numpy().ravel(), sample.indices)
    freq = counts / (n_batches * batch)
    # stratified sampling: far below the multinomial std sqrt(p(1-p)/20000) <= 0.0035
    np.testing.assert_allclose(freq, expected, atol=0.01)


def test_per_importance_weights_exact_on_tiny_buffer() -> None:
    buf = _buffer(4, alpha=1.0, beta=0.5)
    td = np.array([1.0, 2.0, 3.0, 4.0]) - 1e-6  # p = |δ| + ε = 1, 2, 3, 4
    buf.update_priorities(np.arange(4), td)
    np.testing.assert_allclose(buf.priorities(), [1, 2, 3, 4])
    np.random.seed(1)
    sample = buf.sample(8)
    p = np.array([1.0, 2.0, 3.0, 4.0])
    P = p / p.sum()
    w_all = (4 * P) ** -0.5
    expected = w_all[sample.indices] / w_all.max()  # max over the stored transitions
    np.testing.assert_allclose(sample.weights.numpy().ravel(), expected, rtol=1e-6)
    np.testing.assert_allclose(
        importance_weights(P, 4, 0.5, P.min()), w_all / w_all.max(), rtol=1e-12
    )
    assert set(sample.indices.tolist()) == {0, 1, 2, 3}  # 8 strata over 4 leaves: all seen
    batch_norm = _buffer(4, alpha=1.0, beta=0.5, weight_norm="batch")
    batch_norm.update_priorities(np.arange(4), td)
    assert float(batch_norm.sample(2).weights.max()) == pytest.approx(1.0)


def test_per_new_transitions_get_the_max_priority() -> None:
    buf = _buffer(3, capacity=4, alpha=0.5)
    np.testing.assert_allclose(buf.priorities(), [1.0, 1.0, 1.0])
    buf.update_priorities([0, 1], [3.0, 0.1])
    assert buf.max_priority == pytest.approx(3.0 + 1e-6)
    obs = np.zeros((1, 3), dtype=np.float32)
    for _ in range(2):  # the second add wraps around and overwrites leaf 0
        buf.add(obs, obs, np.zeros((1, 1)), np.zeros(1), np.zeros(1), [{}])
    np.testing.assert_allclose(buf.priorities(), [3.0 + 1e-6, 0.1 + 1e-6, 1.0, 3.0 + 1e-6])
    assert buf.n_stored == 4


def test_per_train_updates_priorities_with_new_td_errors(case: _ToyCase) -> None:
    plan = training_plan("ddpg-per-or", "smoke", 24)
    env = make_training_env(case, 0, plan)
    model = PerOrDDPG(
        "MlpPolicy",
        env,
        learning_starts=40,
        batch_size=8,
        buffer_size=200,
        gamma=0.9,
        seed=0,
        device="cpu",
        policy_kwargs={"net_arch": [16, 16]},
        or_lambda=0.0,
    )
    model.learn(40)  # fills the buffer, no gradient step yet
    buf = model.replay_buffer
    assert buf.n_stored == 40 and np.all(buf.priorities() == 1.0)
    before = {
        k: copy.deepcopy(getattr(model, k)) for k in ("critic", "actor_target", "critic_target")
    }
    seen = []
    original = buf.sample

    def spy(batch_size, env=None):
        data = original(batch_size, env)
        seen.append(data)
        return data

    buf.sample = spy  # type: ignore[method-assign]
    model.train(gradient_steps=1, batch_size=8)
    (data,) = seen
    with torch.no_grad():
        next_q = before["critic_target"](
            data.next_observations, before["actor_target"](data.next_observations)
        )[0]
        target = data.rewards + (1 - data.dones) * 0.9 * next_q
        td = (before["critic"](data.observations, data.actions)[0] - target).abs().numpy().ravel()
    prio = buf.priorities()
    # a leaf drawn twice got the same TD error both times (same networks, same transition)
    np.testing.assert_allclose(prio[data.indices], td + buf.eps, rtol=1e-5)
    untouched = np.setdiff1d(np.arange(40), data.indices)
    assert np.all(prio[untouched] == 1.0)
    assert model.current_beta() == pytest.approx(1.0)  # learn() ended: progress 1


def test_per_beta_anneals_from_beta0_to_one(case: _ToyCase) -> None:
    env = make_training_env(case, 0, training_plan("ddpg-per-or", "smoke", 24))
    model = PerOrDDPG("MlpPolicy", env, per_beta0=0.4, policy_kwargs={"net_arch": [8]}, seed=0)
    for remaining, beta in ((1.0, 0.4), (0.5, 0.7), (0.0, 1.0)):
        model._current_progress_remaining = remaining
        assert model.current_beta() == pytest.approx(beta)
    with pytest.raises(ValueError, match="or_networks"):
        PerOrDDPG("MlpPolicy", env, or_networks=("critics",))


# ---------------------------------------------------------------------------- OR (eq 28)
def test_orthogonal_regularization_exact_values() -> None:
    q, _ = torch.linalg.qr(torch.randn(5, 5, generator=torch.Generator().manual_seed(0)))
    tall = q[:, :3]  # orthonormal columns: WᵀW = I
    assert float(orthogonal_regularization([q, tall], 1.0)) == pytest.approx(0.0, abs=1e-10)
    # W = 2 I₂: WᵀW − I = 3 I, ‖·‖² = 18, λ/2 · 18 = 9 λ
    assert float(orthogonal_regularization([2 * torch.eye(2)], 0.1)) == pytest.approx(0.9)
    # W = [1 1] (1 out, 2 in): WᵀW − I = [[0, 1], [1, 0]], ‖·‖² = 2 → λ
    assert float(orthogonal_regularization([torch.tensor([[1.0, 1.0]])], 0.3)) == pytest.approx(0.3)
    assert float(
        orthogonal_regularization([2 * torch.eye(2), torch.tensor([[1.0, 1.0]])], 1.0)
    ) == (pytest.approx(9.0 + 1.0))


@pytest.mark.parametrize("shape", [(3, 7), (7, 3), (4, 4)], ids=["fat", "tall", "square"])
def test_orthogonal_regularization_equals_the_literal_formula(shape) -> None:
    w = torch.randn(*shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    w.requires_grad_(True)
    ours = orthogonal_regularization([w], 0.5)
    (g_ours,) = torch.autograd.grad(ours, w)
    literal = 0.25 * ((w.T @ w - torch.eye(shape[1], dtype=w.dtype)) ** 2).sum()
    (g_lit,) = torch.autograd.grad(literal, w)
    assert ours.item() == pytest.approx(literal.item(), rel=1e-12)
    torch.testing.assert_close(g_ours, g_lit)


def test_table2_networks(case: _ToyCase) -> None:
    env = make_training_env(case, 0, training_plan("ddpg-per-or", "smoke", 24))
    model = PerOrDDPG(Table2Policy, env, seed=0, policy_kwargs={"net_arch": [256, 256]})
    kinds = [type(m).__name__ for m in model.actor.mu]
    assert kinds == ["Linear", "LayerNorm", "ReLU", "Linear", "ReLU", "Linear", "Tanh"]
    assert model.actor.mu[0].in_features == 7 and model.actor.mu[0].out_features == 256
    assert model.critic.n_critics == 1
    q = model.critic.q_networks[0]
    assert [type(m).__name__ for m in q] == kinds[:-1]
    assert q[0].in_features == 7 + 2 and q[-1].out_features == 1
    assert model.critic.qf0 is q
    w = model.actor.mu[3].weight.detach()
    torch.testing.assert_close(w @ w.T, 2.0 * torch.eye(256), atol=1e-4, rtol=0)  # ortho init
    assert type(model.actor_target.mu[1]).__name__ == "LayerNorm"
    assert type(model.critic_target.q_networks[0][1]).__name__ == "LayerNorm"
