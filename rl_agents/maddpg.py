"""MADDPG (Lowe et al., "Multi-Agent Actor-Critic for Mixed Cooperative-Competitive
Environments", NeurIPS 2017) on a case's parallel referee: the Stackelberg cases' DSO and
three followers, each with its own actor, trained with centralized critics (CTDE).

Why our own and not a library: a multi-agent RL library brings its own trainer, environment
wrappers and dependency set beside the pinned torch 2.13, for about 250 lines of algorithm
here; the pieces are SB3-style (an MLP policy per agent, a replay buffer, soft target
updates) and read the suite's contracts directly (the referee's per-agent feasible boxes and
rewards, the layer in the observation). Which maintained library would fit instead was not
evaluated in this session.

Per agent ``i`` (``agents`` of the parallel env, in order):

* actor ``μ_i(o)`` → ``[-1, 1]^{n_i}`` (tanh), mapped onto the agent's feasible box of the
  step (``info["next_action_low"/"_high"]``) with 0 at the agent's idle action clipped into
  it (the DSO's idle is the tariff, a follower's no dispatch: the fair-RL protocol's map,
  :func:`~gridbench.rl_agents.agent_view.feasible_action`; ``action_map = "middle"``, the
  agents shipped before it, put 0 at the box's middle);
* critic ``Q_i(o, a_1, …, a_n)``: the (shared) observation and every agent's action in
  ``[-1, 1]`` — the centralized critic of CTDE. The shared observation ``o`` is that of the
  agent that sees the most (:func:`shared_agent`): under day-ahead commitment every agent
  sees the same; under hourly commitment (sequential stages: the DSO posts the hour's prices
  at stage 0, the followers answer at stage 1) a follower's, which adds the DSO's decided
  prices of the hour (its tariff values before the DSO has decided) and the stage. Each env
  step is a transition, the stage-0 ones with reward 0 and every agent's action (those of the
  agents not acting at the stage are ignored by the referee);
* targets ``y_i = r_i + γ (1 − done) Q_i'(o', μ_1'(o'), …, μ_n'(o'))``, critic loss
  ``(Q_i − y_i)²``, actor loss ``−Q_i(o, …, μ_i(o), …)`` with the other agents' replayed
  actions, soft target updates ``θ' ← τθ + (1 − τ)θ'``.

The fair-RL protocol's set-up (``rl_agents/README.md``), as for the single-agent learners:

* observations normalized with statistics fitted on train days and frozen
  (``obs_norm = "train_days"``: :data:`~.observation_norm.FIT_DAYS` train days of uniformly
  random actions through the action map, ``clip((o − μ)/σ, ±5)``; ``"box"``, the agents
  shipped before it: ``(o − mid) / half`` of the observation box);
* rewards are the referee's per-agent rewards (each player's profit / ``reward.scale_usd``,
  the DSO's less the network penalties), during training less the reward each agent gets on
  the same day and step when every player idles (``reward_baseline = "idle"``, the
  input-driven baseline of :mod:`~.reward_baseline`: it depends on neither agent's action, so
  no critic's argmax moves, and it takes the day's exogenous level out of the targets);
* during training each agent's reward also gets the change of its stocks' value
  (``reward_shaping = "stock_value"``, :func:`_potential`: the battery, EV and flexible-load
  energy the storage player holds, the LA's shifted energy, at the tariff's mean price):
  potential-based shaping, which leaves the best policies unchanged and prices the energy a
  follower still owes at every hour. Without it (hyperparams ≤ v9) the storage player's actor
  learned to leave the battery and EVs idle until the referee's end-of-day bounds forced them
  to charge in hours 21–23, and 4× the budget did not change that; with it the battery no
  longer waits, the EV fleet's evening charge still bunches (``cases/stackelberg/README.md``,
  "Tenth session");
* γ = 1 over the 25-step day, or 0.99 where the declared tuning chose it: the DSO posts its
  prices in the first step and is paid in the 24 that follow. Exploration: Gaussian noise σ
  on the actors' outputs.

Budgets (env steps; one step is one of the day's 25 decisions, 48 under hourly commitment):
``smoke`` 200, ``quick`` the shipped agent where there is one else 7,500, ``reference`` 7,500
(300 days), ``paper`` 100,000. The reference is the suite's 180 CPU-seconds per seed
(``hyperparams.json``, ``budgets.reference``), measured on ``stackelberg-gsess-feeder38-v0``: a
10,000-step run took 251 CPU-s (one of two busy cores), about 1 ms per step before
``learning_starts`` and 27.8 ms per step with the four actor-critic updates after it, so 1,000
+ (180 − 1) / 0.0278 ≈ 7,400 steps, rounded to 7,500. Agents are saved as ``model.pt`` (the
actors and the observation scaling only) with ``plan.json`` and the training days' returns
(``monitor.csv``) beside it; ``ship`` copies them to
``results/agents/<case>/maddpg/seed<k>.pt`` (the log to ``seed<k>/``).
"""

from __future__ import annotations

import datetime
import json
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, ClassVar, Final

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.contracts import Budget, Case, MethodFamily
from gridbench.cases.registry import register_method
from gridbench.rl_agents.agent_view import cast_inside, feasible_action
from gridbench.rl_agents.sb3_methods import (
    HyperparamError,
    MissingAgentError,
    agents_dir,
    load_hyperparams,
    training_dir,
    trains_like_shipped,
)

__all__ = ["CASE_PREFIXES", "Maddpg", "MaddpgConfig", "MaddpgController", "maddpg_config",
           "shared_agent"]

#: The cases MADDPG plays (the issue's multi-agent game; other cases' parallel envs are
#: cooperative games their own methods cover).
CASE_PREFIXES: Final[tuple[str, ...]] = ("stackelberg-",)

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class MaddpgConfig:
    """Hyperparameters (module docstring); stored in every run's ``plan.json``."""

    hidden: int = 128
    lr_actor: float = 1e-4
    lr_critic: float = 1e-3
    gamma: float = 1.0
    tau: float = 0.01
    batch_size: int = 256
    buffer_size: int = 100_000
    learning_starts: int = 1_000
    noise_sigma: float = 0.2
    budget_steps: Mapping[str, int] | None = None
    #: ``idle`` (0 = the agent's idle action in the step's box) or ``middle`` (its middle).
    action_map: str = "idle"
    #: ``train_days`` (statistics fitted on train days, frozen) or ``box`` (the box's scale).
    obs_norm: str = "train_days"
    #: ``idle`` (the all-idle rewards of the same day and step subtracted) or ``none``.
    reward_baseline: str = "idle"
    #: ``stock_value`` (each agent's training reward plus the hour's change of its stocks'
    #: value, the case's ``stock_value_usd``: potential-based shaping, :func:`_potential`) or
    #: ``none`` (the agents shipped before hyperparams v10).
    reward_shaping: str = "stock_value"

    def __post_init__(self) -> None:
        for key, valid in (("action_map", ACTION_MAPS), ("obs_norm", OBS_NORMS),
                           ("reward_baseline", BASELINES), ("reward_shaping", SHAPINGS)):
            if getattr(self, key) not in valid:
                raise ValueError(f"MaddpgConfig.{key} {getattr(self, key)!r} is not one of "
                                 f"{', '.join(valid)}")

    def steps(self, budget: Budget) -> int:
        table = dict(self.budget_steps or BUDGET_STEPS)
        return int(table[budget.value])


def maddpg_config(case_id: str | None, hyperparams: str | Path | None = None) -> MaddpgConfig:
    """:class:`MaddpgConfig`'s defaults updated with the hyperparameter file's
    ``algorithms.maddpg``: its ``case_kwargs[case_id]`` (values tuned on that case's val days,
    :mod:`gridbench.benchmarks.tuning`) and ``case_budgets[case_id][budget].timesteps``. A
    key that is no field of the config is a one-line :class:`HyperparamError`."""
    data = load_hyperparams(hyperparams)
    spec = data.get("algorithms", {}).get("maddpg", {})

    def own(section: str) -> dict[str, Any]:
        table = spec.get(section, {}).get(case_id, {}) if case_id is not None else {}
        return {k: v for k, v in table.items() if not str(k).startswith("_")}

    tuned = own("case_kwargs")
    valid = {f.name for f in fields(MaddpgConfig)} - {"budget_steps"}
    unknown = sorted(set(tuned) - valid)
    if unknown:
        raise HyperparamError(f"algorithms.maddpg.case_kwargs[{case_id!r}] has unknown keys "
                              f"{unknown}; valid: {', '.join(sorted(valid))}")
    steps = dict(BUDGET_STEPS)
    steps.update({b: int(v["timesteps"]) for b, v in own("case_budgets").items()})
    return replace(MaddpgConfig(), **tuned, budget_steps=steps)


#: ``MaddpgConfig`` choices (module docstring).
ACTION_MAPS: Final[tuple[str, ...]] = ("idle", "middle")
OBS_NORMS: Final[tuple[str, ...]] = ("train_days", "box")
BASELINES: Final[tuple[str, ...]] = ("idle", "none")
SHAPINGS: Final[tuple[str, ...]] = ("stock_value", "none")

#: Env steps per budget (module docstring).
BUDGET_STEPS: Final[dict[str, int]] = {"smoke": 200, "quick": 7_500, "reference": 7_500,
                                       "paper": 100_000}


def shared_agent(env: Any) -> str:
    """The agent of the parallel ``env`` whose observation the actors and critics share: the
    first of those with the largest observation (module docstring)."""
    agents = list(env.possible_agents)
    sizes = [int(np.prod(env.observation_space(a).shape)) for a in agents]
    return agents[int(np.argmax(sizes))]


def _write_monitor(path: Path, agents: Sequence[str], returns: Sequence[tuple[Any, ...]],
                   env_id: str) -> None:
    """The training days in SB3's ``Monitor`` layout (a ``#`` JSON line, then ``r,l,t``), so the
    report reads MADDPG's curve as it reads the single-agent learners': ``r`` is the first
    agent's (the leader's) return of the day, ``l`` its steps, ``t`` wall seconds since the
    start; ``r_<agent>`` every agent's return and ``cpu_s`` the process CPU seconds."""
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        fh.write("#" + json.dumps({"t_start": 0.0, "env_id": env_id}) + "\n")
        writer = csv.writer(fh)
        writer.writerow(["r", "l", "t", *(f"r_{a}" for a in agents), "cpu_s"])
        for ret, length, wall, cpu in returns:
            writer.writerow([f"{ret[0]:.6g}", length, f"{wall:.3f}",
                             *(f"{x:.6g}" for x in ret), f"{cpu:.3f}"])


def _mlp(n_in: int, n_out: int, hidden: int, out_tanh: bool) -> Any:
    import torch.nn as nn

    layers: list[Any] = [nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, n_out)]
    if out_tanh:
        layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class _ObsScale:
    """``(o − mid) / half``, clipped to ±``clip`` when set: of the observation box (half 1
    where the box is flat), or ``mid``, ``half`` = the frozen train-day mean and standard
    deviation (:meth:`fitted`)."""

    def __init__(self, mid: Sequence[float], half: Sequence[float],
                 clip: float | None = None) -> None:
        self.mid = np.asarray(mid, dtype=np.float64)
        self.half = np.asarray(half, dtype=np.float64)
        self.clip = clip

    @classmethod
    def fitted(cls, case: Case, seed: int, action_map: str) -> _ObsScale:
        """Statistics of the shared observation over
        :data:`~.observation_norm.FIT_DAYS` train days (drawn by ``seed``) of uniformly
        random [-1, 1] actions of every agent through ``action_map``, clipped to
        :data:`~.observation_norm.NORM_CLIP` (:mod:`.observation_norm`'s recipe)."""
        from gridbench.rl_agents.observation_norm import FIT_DAYS, NORM_CLIP, ObservationNorm

        env = case.make_parallel_env(day=None, seed=seed)  # type: ignore[attr-defined]
        agents, shared = list(env.possible_agents), shared_agent(env)
        rng = np.random.default_rng([int(seed), 0x0B5])
        rows: list[NDArray[Any]] = []
        obs, infos = env.reset(seed=seed)
        idle = {a: infos[a]["idle_action"] for a in agents}
        for _ in range(FIT_DAYS):
            while env.agents:
                rows.append(np.asarray(obs[shared], dtype=np.float64))
                actions = {a: _to_box(rng.uniform(-1.0, 1.0, env.action_space(a).shape),
                                      infos[a], idle[a] if action_map == "idle" else None)
                           for a in agents}
                obs, _, _, _, infos = env.step(actions)
            obs, infos = env.reset()
            idle = {a: infos[a]["idle_action"] for a in agents}
        norm = ObservationNorm.from_samples(rows, FIT_DAYS)
        return cls(norm.mean, norm.std, NORM_CLIP)

    @classmethod
    def of_box(cls, low: Sequence[float], high: Sequence[float]) -> _ObsScale:
        lo, hi = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        half = (hi - lo) / 2.0
        return cls((lo + hi) / 2.0, np.where(half > 0, half, 1.0))

    def __call__(self, obs: Any) -> NDArray[np.float32]:
        z = (np.asarray(obs, dtype=np.float64) - self.mid) / self.half
        if self.clip is not None:
            z = np.clip(z, -self.clip, self.clip)
        return z.astype(np.float32)


def _to_box(u: NDArray[Any], info: Mapping[str, Any],
            idle: NDArray[Any] | None = None) -> NDArray[np.float32]:
    """``u ∈ [-1, 1]^n`` onto the agent's feasible box of the step: 0 at ``idle`` clipped
    into it (:func:`~gridbench.rl_agents.agent_view.feasible_action`), or at the box's middle
    where ``idle`` is ``None`` (``action_map = "middle"``)."""
    low = np.asarray(info["next_action_low"], dtype=np.float64)
    high = np.asarray(info["next_action_high"], dtype=np.float64)
    centre = (low + high) / 2.0 if idle is None else np.asarray(idle, dtype=np.float64)
    return cast_inside(feasible_action(u, info, centre), low, high, np.float32)


class _IdleRewards:
    """Each agent's reward per step when every player idles, per day (played once on a
    parallel env of its own and kept): the training-time baseline ``reward_baseline =
    "idle"``."""

    def __init__(self, case: Case, agents: Sequence[str]) -> None:
        self.case, self.agents = case, list(agents)
        self._days: dict[str, NDArray[np.float64]] = {}

    def __call__(self, day: str) -> NDArray[np.float64]:
        if day not in self._days:
            env = self.case.make_parallel_env(day=day, seed=0)  # type: ignore[attr-defined]
            _, infos = env.reset(seed=0)
            idle = {a: infos[a]["idle_action"] for a in self.agents}
            rows = []
            while env.agents:
                _, rewards, _, _, _ = env.step(idle)
                rows.append([float(rewards[a]) for a in self.agents])
            self._days[day] = np.array(rows)
        return self._days[day]


def _potential(case: Case, agents: Sequence[str],
               shaping: str) -> Callable[[Any], NDArray[np.float64]] | None:
    """``reward_shaping = "stock_value"``: ``Φ(o)``, each agent's stocks' value in the raw
    observation ``o`` (the case's ``stock_value_usd``) over its reward scale, so a step's
    training reward is ``r + Φ(o') − Φ(o)``: potential-based shaping (Ng, Harada, Russell,
    ICML 1999) of the scored day, which is undiscounted. Each stock's start and end of day are
    fixed, so a day's shaping sums to 0 whatever the agents do and leaves the day's best
    policies unchanged; what changes is that the energy a follower still owes is priced at
    every hour, not only when the referee's end-of-day bounds force it in. The form is
    ``Φ(o') − Φ(o)`` also where the critic discounts (γ 0.99, tuned): the discounted form
    ``γΦ(o') − Φ(o)`` would charge holding energy ``(1 − γ)Φ`` an hour, an incentive to wait
    that the shaping is there to remove (measured, ``cases/stackelberg/README.md``, "Tenth
    session"). ``None`` for ``"none"``."""
    if shaping == "none":
        return None
    value_of = getattr(case, "stock_value_usd", None)
    if value_of is None:
        raise ValueError(f"reward_shaping {shaping!r}: case {case.id} values no stocks "
                         "(it has no stock_value_usd); use 'none'")
    scale = float(case.config.reward.scale_usd)  # type: ignore[attr-defined]

    def phi(obs: Any) -> NDArray[np.float64]:
        value = value_of(obs)
        return np.array([value[a] for a in agents]) / scale

    return phi


class _Buffer:
    """Joint transitions ``(o, a_1..a_n, r_1..r_n, o', done)``, a ring of fixed size."""

    def __init__(self, size: int, n_obs: int, n_act: int, n_agents: int) -> None:
        self.obs = np.zeros((size, n_obs), np.float32)
        self.next_obs = np.zeros((size, n_obs), np.float32)
        self.act = np.zeros((size, n_act), np.float32)
        self.rew = np.zeros((size, n_agents), np.float32)
        self.done = np.zeros((size, 1), np.float32)
        self.size, self.n, self.k = size, 0, 0

    def add(self, o: Any, a: Any, r: Any, o2: Any, done: bool) -> None:
        self.obs[self.k], self.act[self.k], self.rew[self.k] = o, a, r
        self.next_obs[self.k], self.done[self.k] = o2, float(done)
        self.k = (self.k + 1) % self.size
        self.n = min(self.n + 1, self.size)

    def sample(self, rng: np.random.Generator, batch: int) -> tuple[NDArray[Any], ...]:
        idx = rng.integers(self.n, size=batch)
        return self.obs[idx], self.act[idx], self.rew[idx], self.next_obs[idx], self.done[idx]


class _Learner:
    """The actors, critics and their targets of one training run."""

    def __init__(self, n_obs: int, sizes: Sequence[int], cfg: MaddpgConfig, seed: int) -> None:
        import torch

        torch.manual_seed(seed)
        n_act = int(sum(sizes))
        self.sizes = list(sizes)
        self.cuts = np.cumsum([0, *sizes])
        self.actors = [_mlp(n_obs, n, cfg.hidden, True) for n in sizes]
        self.critics = [_mlp(n_obs + n_act, 1, cfg.hidden, False) for _ in sizes]
        self.actor_targets = [_mlp(n_obs, n, cfg.hidden, True) for n in sizes]
        self.critic_targets = [_mlp(n_obs + n_act, 1, cfg.hidden, False) for _ in sizes]
        for net, target in zip([*self.actors, *self.critics],
                               [*self.actor_targets, *self.critic_targets], strict=True):
            target.load_state_dict(net.state_dict())
        self.opt_actor = [torch.optim.Adam(a.parameters(), lr=cfg.lr_actor) for a in self.actors]
        self.opt_critic = [torch.optim.Adam(c.parameters(), lr=cfg.lr_critic)
                           for c in self.critics]
        self.cfg = cfg

    def act(self, o: NDArray[np.float32]) -> NDArray[np.float32]:
        import torch

        with torch.no_grad():
            x = torch.as_tensor(o).unsqueeze(0)
            return torch.cat([a(x) for a in self.actors], dim=1).squeeze(0).numpy()

    def update(self, batch: tuple[NDArray[Any], ...]) -> None:
        import torch

        o, a, r, o2, d = (torch.as_tensor(x) for x in batch)
        cfg = self.cfg
        with torch.no_grad():
            a2 = torch.cat([t(o2) for t in self.actor_targets], dim=1)
            q_in2 = torch.cat([o2, a2], dim=1)
        for i, (critic, target) in enumerate(zip(self.critics, self.critic_targets,
                                                 strict=True)):
            with torch.no_grad():
                y = r[:, i:i + 1] + cfg.gamma * (1.0 - d) * target(q_in2)
            loss = ((critic(torch.cat([o, a], dim=1)) - y) ** 2).mean()
            self.opt_critic[i].zero_grad()
            loss.backward()
            self.opt_critic[i].step()
        for i, actor in enumerate(self.actors):
            lo, hi = int(self.cuts[i]), int(self.cuts[i + 1])
            joint = torch.cat([a[:, :lo], actor(o), a[:, hi:]], dim=1)
            loss = -self.critics[i](torch.cat([o, joint], dim=1)).mean()
            self.opt_actor[i].zero_grad()
            loss.backward()
            self.opt_actor[i].step()
        with torch.no_grad():
            for net, target in zip([*self.actors, *self.critics],
                                   [*self.actor_targets, *self.critic_targets], strict=True):
                for p, tp in zip(net.parameters(), target.parameters(), strict=True):
                    tp.mul_(1.0 - cfg.tau).add_(cfg.tau * p)


def _save_actors(path: Path, agents: Sequence[str], learner: _Learner, scale: _ObsScale,
                 cfg: MaddpgConfig) -> None:
    """What an agent needs to play (:meth:`Maddpg.load`): the actors and the observation
    scaling, not the critics, targets or optimizer state."""
    import torch

    torch.save({"agents": list(agents), "actors": [a.state_dict() for a in learner.actors],
                "sizes": learner.sizes, "mid": scale.mid, "half": scale.half,
                "clip": scale.clip, "action_map": cfg.action_map, "hidden": cfg.hidden},
               path)


class MaddpgController:
    """Plays trained actors on the parallel referee: per agent its actor's output on the
    scaled observation, mapped onto the step's feasible box."""

    def __init__(self, agents: Sequence[str], actors: Sequence[Any], scale: _ObsScale,
                 action_map: str = "middle", shared: str | None = None) -> None:
        """``shared``: the agent whose observation every actor reads (:func:`shared_agent`;
        default the first)."""
        self.agents, self.actors, self.scale = list(agents), list(actors), scale
        self.action_map = action_map
        self._idle: dict[str, Any] = {}
        self._shared = self.agents[0] if shared is None else shared

    def reset(self, obs: Mapping[str, Any], infos: Mapping[str, Any]) -> None:
        """Keep each agent's idle action of the day (the reset ``info``'s), the map's 0."""
        self._idle = {a: infos[a].get("idle_action") for a in self.agents if a in infos}

    def act(self, obs: Mapping[str, Any], infos: Mapping[str, Any]) -> dict[str, Any]:
        import torch

        out = {}
        o = torch.as_tensor(self.scale(obs[self._shared])).unsqueeze(0)
        with torch.no_grad():
            for name, actor in zip(self.agents, self.actors, strict=True):
                idle = self._idle.get(name) if self.action_map == "idle" else None
                if self.action_map == "idle" and idle is None:
                    raise ValueError(f"{name}'s idle action is unknown: call reset() first")
                out[name] = _to_box(actor(o).squeeze(0).numpy(), infos[name], idle)
        return out


@register_method
class Maddpg:
    """MADDPG with centralized critics on the Stackelberg cases' four players (module
    docstring)."""

    name: ClassVar[str] = "maddpg"
    family: ClassVar[MethodFamily] = MethodFamily.RL
    multi_agent: ClassVar[bool] = True
    case_prefixes: ClassVar[tuple[str, ...]] = CASE_PREFIXES

    def __init__(self, config: MaddpgConfig | None = None, *,
                 hyperparams: str | Path | None = None,
                 training_dir: str | Path | None = None,
                 checkpoint_steps: Sequence[int] = ()) -> None:
        """``checkpoint_steps``: env-step counts at which training also saves
        ``<run_dir>/checkpoints/model_<steps>.pt`` with the training seconds so far in
        ``checkpoints.csv`` (one run gives a budget curve,
        :mod:`~gridbench.benchmarks.budget_curve`; the layout of
        :class:`~.sb3_methods.SB3Method`'s)."""
        #: An explicit config is used as given; without one, each case's comes from the
        #: hyperparameter file (:func:`maddpg_config`: its tuned values and budgets).
        self.config = config
        self.hyperparams = hyperparams
        self.training_dir: Path | None = None if training_dir is None else Path(training_dir)
        self.agents_dir: Path | None = None
        self.retrain = False
        self._trained: dict[str, MaddpgController] = {}
        self.last_fit: dict[str, Any] = {}
        self.checkpoint_steps = tuple(sorted({int(n) for n in checkpoint_steps}))
        if any(n < 1 for n in self.checkpoint_steps):
            raise ValueError(f"checkpoint_steps {list(checkpoint_steps)} must be positive env "
                             "steps")

    def supports(self, case: Case) -> bool:
        return str(getattr(case, "id", "")).startswith(self.case_prefixes) and hasattr(
            case, "make_parallel_env")

    # -- paths ----------------------------------------------------------------------------
    def run_dir(self, case: Case, seed: int) -> Path:
        return (self.training_dir or training_dir()) / case.id / self.name / f"seed{seed}"

    def agent_path(self, case: Case, seed: int) -> Path:
        return (self.agents_dir or agents_dir()) / case.id / self.name / f"seed{seed}.pt"

    # -- fit ------------------------------------------------------------------------------
    def fit(self, case: Case, seed: int, budget: Budget | str) -> None:
        """Train on ``train`` days at ``budget`` (``quick``: load the shipped agent where
        there is one)."""
        budget = Budget.parse(budget)
        shipped = self.agent_path(case, int(seed))
        if (budget is Budget.QUICK and shipped.is_file() and not self.retrain
                and trains_like_shipped(case)):
            t0 = time.perf_counter()
            self.load(case, int(seed), shipped)
            self.last_fit = {"source": "shipped", "path": str(shipped),
                             "seconds": time.perf_counter() - t0}
            return
        cfg = self.config_for(case)
        self._train(case, int(seed), cfg.steps(budget), cfg)

    def config_for(self, case: Case) -> MaddpgConfig:
        """The config a fit on ``case`` uses: the explicit one, or :func:`maddpg_config`."""
        if self.config is not None:
            return self.config
        return maddpg_config(str(case.id), self.hyperparams)

    @classmethod
    def reference_steps(cls, case_id: str, hyperparams: str | Path | None = None) -> int:
        """The env steps of the ``reference`` budget on ``case_id`` (the tuning's unit)."""
        return maddpg_config(case_id, hyperparams).steps(Budget.REFERENCE)

    def _train(self, case: Case, seed: int, steps: int, cfg: MaddpgConfig) -> None:
        import torch

        torch.set_num_threads(1)
        t_fit0, cpu_fit0 = time.perf_counter(), time.process_time()  # the statistics count
        env = case.make_parallel_env(day=None, seed=seed)  # type: ignore[attr-defined]
        agents = list(env.possible_agents)
        first = shared_agent(env)
        space = env.observation_space(first)
        scale = (_ObsScale.fitted(case, seed, cfg.action_map) if cfg.obs_norm == "train_days"
                 else _ObsScale.of_box(space.low, space.high))
        baseline = _IdleRewards(case, agents) if cfg.reward_baseline == "idle" else None
        potential = _potential(case, agents, cfg.reward_shaping)
        sizes = [int(np.prod(env.action_space(a).shape)) for a in agents]
        learner = _Learner(int(np.prod(space.shape)), sizes, cfg, seed)
        buffer = _Buffer(cfg.buffer_size, int(np.prod(space.shape)), sum(sizes), len(agents))
        rng = np.random.default_rng(seed)
        t0, episodes, returns, ret = t_fit0, 0, [], np.zeros(len(agents))
        ep_len, t_cpu0 = 0, cpu_fit0
        obs, infos = env.reset(seed=seed)
        o = scale(obs[first])
        phi = None if potential is None else potential(obs[first])
        idle = {a: infos[a]["idle_action"] if cfg.action_map == "idle" else None for a in agents}
        day = infos[first]["day"]
        start = min(cfg.learning_starts, steps // 2)  # a smoke run updates too
        run = self.run_dir(case, seed)
        pending = [n for n in self.checkpoint_steps if n < steps]
        if pending:
            folder = run / "checkpoints"
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.glob("model_*.pt"):
                stale.unlink()
            (folder / "checkpoints.csv").write_text("steps,env_steps,seconds,path\n")
        for step in range(steps):
            u = learner.act(o) + rng.normal(0.0, cfg.noise_sigma, size=sum(sizes))
            u = np.clip(u, -1.0, 1.0).astype(np.float32)
            actions = {a: _to_box(u[learner.cuts[i]:learner.cuts[i + 1]], infos[a], idle[a])
                       for i, a in enumerate(agents)}
            obs, rewards, terms, truncs, infos = env.step(actions)
            done = all(terms.values()) or all(truncs.values()) or not env.agents
            r = np.array([float(rewards[a]) for a in agents])
            ret += r  # the monitor logs the referee's own rewards
            if baseline is not None:
                r = r - baseline(day)[ep_len]
            if potential is not None and obs:
                phi2 = potential(obs[first])
                r, phi = r + phi2 - phi, phi2
            ep_len += 1
            o2 = scale(obs[first]) if obs else o
            buffer.add(o, u, r, o2, done)
            o = o2
            if done:
                episodes += 1
                returns.append((ret.tolist(), ep_len, time.perf_counter() - t0,
                                time.process_time() - t_cpu0))
                ret, ep_len = np.zeros(len(agents)), 0
                obs, infos = env.reset()
                o = scale(obs[first])
                phi = None if potential is None else potential(obs[first])
                idle = {a: infos[a]["idle_action"] if cfg.action_map == "idle" else None
                        for a in agents}
                day = infos[first]["day"]
            if step >= start and buffer.n >= min(cfg.batch_size, start):
                learner.update(buffer.sample(rng, min(cfg.batch_size, buffer.n)))
            if pending and step + 1 == pending[0]:
                n = pending.pop(0)
                _save_actors(folder / f"model_{n}.pt", agents, learner, scale, cfg)
                with open(folder / "checkpoints.csv", "a", encoding="utf-8") as fh:
                    fh.write(f"{n},{n},{time.perf_counter() - t0:.2f},model_{n}.pt\n")
        seconds = time.perf_counter() - t0
        run.mkdir(parents=True, exist_ok=True)
        _save_actors(run / "model.pt", agents, learner, scale, cfg)
        record = {"method": self.name, "case": case.id, "seed": seed, "env_steps": steps,
                  "episodes": episodes, "seconds": seconds,
                  "env_steps_per_s": steps / seconds if seconds > 0 else float("nan"),
                  "config": {k: v for k, v in asdict(cfg).items() if k != "budget_steps"},
                  "hyperparams_version": (None if self.config is not None else
                                          int(load_hyperparams(self.hyperparams)["version"])),
                  "last_returns": [r for r, *_ in returns[-10:]]}
        (run / "plan.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
        _write_monitor(run / "monitor.csv", agents, returns, case.id)
        self._trained[case.id] = MaddpgController(agents, learner.actors, scale, cfg.action_map,
                                                  first)
        self.last_fit = {"source": "trained", "path": str(run / "model.pt"), **record}

    # -- load / ship ----------------------------------------------------------------------
    def load(self, case: Case, seed: int = 0, path: str | Path | None = None) -> None:
        import torch

        p = Path(path) if path is not None else self.agent_path(case, seed)
        if not p.is_file():
            raise MissingAgentError(f"no {self.name} agent for case {case.id} seed {seed}: "
                                    f"expected {p}")
        data = torch.load(str(p), weights_only=False)
        actors = []
        for state, n in zip(data["actors"], data["sizes"], strict=True):
            actor = _mlp(len(data["mid"]), int(n), int(data["hidden"]), True)
            actor.load_state_dict(state)
            actors.append(actor)
        scale = _ObsScale(data["mid"], data["half"], data.get("clip"))
        env = case.make_parallel_env(day=None, seed=0)  # type: ignore[attr-defined]
        self._trained[case.id] = MaddpgController(
            data["agents"], actors, scale, data.get("action_map", "middle"), shared_agent(env))

    def ship(self, case: Case, seed: int) -> Path:
        """Copy the last run's actors (and its record) to the shipped-agent location."""
        run = self.run_dir(case, seed)
        if not (run / "model.pt").is_file():
            raise MissingAgentError(f"no trained {self.name} model for case {case.id} seed "
                                    f"{seed}: expected {run / 'model.pt'}")
        dst = self.agent_path(case, seed)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run / "model.pt", dst)
        shutil.copyfile(run / "plan.json", dst.with_suffix(".json"))
        if (run / "monitor.csv").is_file():  # the training curve travels with the agent
            logs = dst.parent / f"seed{int(seed)}"
            logs.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(run / "monitor.csv", logs / "monitor.csv")
        return dst

    # -- play -----------------------------------------------------------------------------
    def controller(self, case: Case, day: datetime.date) -> MaddpgController:
        played = self._trained.get(case.id)
        if played is None:
            raise MissingAgentError(f"no trained {self.name} agent for case {case.id}: call "
                                    "fit(case, seed, budget) first")
        return played
