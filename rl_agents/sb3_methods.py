"""Stable-Baselines3 methods ``ddpg``, ``td3``, ``sac``, ``ppo`` (family ``rl``).

Every single-agent case is supported (one ``Box`` action vector of setpoints in physical
units). ``fit(case, seed, budget)`` trains on the case's ``train`` days only
(``case.make_env(day=None, seed=seed)`` samples them at each reset) with hyperparameters from
the versioned file ``rl_agents/hyperparams.json`` (per algorithm and budget); the
environment seen by the agent is

    referee env → Monitor (raw reward = −cost, ``monitor.csv``) → observation map to [-1, 1]
    (stateless, from the env's finite ``Box`` bounds) → reward scale → RescaleAction(-1, 1)

and ``controller(case, day)`` applies the same two maps around
``model.predict(obs, deterministic=True)``, so the harness sends physical setpoints.

Budgets (``hyperparams.json`` → ``budgets``): ``smoke`` ≈ 300 env steps; ``quick`` loads the
shipped agent ``results/agents/<case>/<method>/seed<k>.zip`` when it exists, otherwise trains
200 days (``require_shipped=True`` makes a missing agent a :class:`MissingAgentError`);
``reference`` the budget of the committed results, chosen from quality-vs-budget curves
(20k env steps at one update per 4 steps for the off-policy methods, 300k for PPO, with
checkpoints on the way; the file's ``_about`` gives the measurements); ``paper`` 2·10⁴ days
(SES-carbon Table 2). An algorithm may set its own step count per budget
(``budget_timesteps``) and checkpoints (``budget_checkpoints``).

A training run writes, under ``<training_dir>/<case>/<method>/seed<k>/``: the SB3 logger's
``progress.csv`` and TensorBoard events, ``monitor.csv`` (one row per training day),
``model.zip`` and ``plan.json`` (resolved hyperparameters with the file's version, timings).
``training_dir`` defaults to ``results/runs/training`` (``$GRIDBENCH_TRAINING_DIR`` or the
``training_dir`` argument); shipped agents are read from ``results/agents``
(``$GRIDBENCH_AGENTS_DIR``). One torch thread per process (DESIGN §8).

This module imports neither torch nor SB3: they are imported inside the methods.
"""

from __future__ import annotations

import copy
import datetime
import functools
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.contracts import Budget, Case, Controller, MethodFamily
from gridbench.cases.registry import load_entry_point, register_method
from gridbench.rl_agents.agent_view import (
    ACTION_CENTRES,
    ACTION_MAPS,
    RAMP_ACTIONS,
    STEP_BOX_KEYS,
    AgentActionMap,
    action_map,
    agent_action_map,
    context_bounds,
    idle_centred_action_map,
    neutral_middle,
    observation_map,
    unit_bounds,
    with_context,
    with_context_space,
)
from gridbench.rl_agents.observation_norm import ObservationNorm

if TYPE_CHECKING:
    import gymnasium
    from stable_baselines3.common.base_class import BaseAlgorithm

__all__ = [
    "ALGORITHMS",
    "EXTRACTORS",
    "HYPERPARAMS_FILE",
    "POLICIES",
    "Ddpg",
    "HyperparamError",
    "MissingAgentError",
    "Ppo",
    "SB3Controller",
    "SB3Method",
    "Sac",
    "Td3",
    "TrainingPlan",
    "action_map",
    "agent_action_map",
    "agent_case",
    "agents_dir",
    "idle_centred_action_map",
    "load_hyperparams",
    "make_training_env",
    "make_vec_training_env",
    "observation_map",
    "observation_norm_of",
    "sb3_controller",
    "steps_per_day",
    "training_case",
    "training_dir",
    "training_env_for",
    "training_plan",
    "trains_like_shipped",
]

#: The versioned hyperparameter file.
HYPERPARAMS_FILE: Final[Path] = Path(__file__).with_name("hyperparams.json")

#: Algorithm names of ``hyperparams.json`` → ``"module:Class"`` (imported lazily).
ALGORITHMS: Final[Mapping[str, str]] = {
    "DDPG": "stable_baselines3:DDPG",
    "TD3": "stable_baselines3:TD3",
    "SAC": "stable_baselines3:SAC",
    "PPO": "stable_baselines3:PPO",
    "PerOrDDPG": "gridbench.rl_agents._per_or_sb3:PerOrDDPG",
    "AdaptiveKLPPO": "gridbench.rl_agents._ppo_kl_sb3:AdaptiveKLPPO",
}
#: Custom policy names of ``hyperparams.json`` → ``"module:Class"`` (others are SB3 aliases).
POLICIES: Final[Mapping[str, str]] = {
    "Table2Policy": "gridbench.rl_agents._per_or_sb3:Table2Policy",
}
#: ``policy_kwargs["extractor"]`` of ``hyperparams.json`` → features extractor class (``None``:
#: SB3's default flatten extractor); ``policy_kwargs["extractor_kwargs"]`` go to its constructor.
EXTRACTORS: Final[Mapping[str, str | None]] = {
    "mlp": None,
    "cnn": "gridbench.rl_agents._ppo_kl_sb3:CnnFcExtractor",
}
_ON_POLICY: Final[frozenset[str]] = frozenset({"PPO", "AdaptiveKLPPO"})

_REPO_ROOT: Final[Path] = Path(__file__).resolve().parent.parent
AGENTS_DIR_ENV: Final[str] = "GRIDBENCH_AGENTS_DIR"
TRAINING_DIR_ENV: Final[str] = "GRIDBENCH_TRAINING_DIR"
PROGRESS_ENV: Final[str] = "GRIDBENCH_PROGRESS"


class MissingAgentError(FileNotFoundError):
    """No trained agent where one is needed (the message names the expected path)."""


class HyperparamError(ValueError):
    """A malformed ``hyperparams.json`` or an algorithm/budget it does not define."""


# ---------------------------------------------------------------------------- paths
def _results_root() -> Path:
    """The checkout's ``results/`` (editable install), else ``./results``."""
    if (_REPO_ROOT / "pyproject.toml").is_file():
        return _REPO_ROOT / "results"
    return Path.cwd() / "results"


def agents_dir() -> Path:
    """Where shipped agents live: ``$GRIDBENCH_AGENTS_DIR`` or ``results/agents``."""
    env = os.environ.get(AGENTS_DIR_ENV)
    return Path(env) if env else _results_root() / "agents"


def training_dir() -> Path:
    """Where training runs write: ``$GRIDBENCH_TRAINING_DIR`` or ``results/runs/training``."""
    env = os.environ.get(TRAINING_DIR_ENV)
    return Path(env) if env else _results_root() / "runs" / "training"


# ---------------------------------------------------------------------------- hyperparameters
@functools.lru_cache(maxsize=8)
def _read_json(path: str, mtime_ns: int) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise HyperparamError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise HyperparamError(f"{path}: expected a JSON object at the top level")
    for key in ("version", "budgets", "env", "algorithms"):
        if key not in data:
            raise HyperparamError(f"{path}: missing top-level key {key!r}")
    if isinstance(data["version"], bool) or not isinstance(data["version"], int):
        raise HyperparamError(f"{path}: 'version' must be an int, got {data['version']!r}")
    missing = [b.value for b in Budget if b.value not in data["budgets"]]
    if missing:
        raise HyperparamError(f"{path}: budgets {missing} are not defined")
    return data


def load_hyperparams(path: str | Path | None = None) -> dict[str, Any]:
    """The parsed hyperparameter file (a deep copy; cached on path and modification time)."""
    p = Path(path) if path is not None else HYPERPARAMS_FILE
    try:
        mtime = p.stat().st_mtime_ns
    except FileNotFoundError:
        raise HyperparamError(f"hyperparameter file {p} does not exist") from None
    return copy.deepcopy(_read_json(str(p.resolve()), mtime))


def _strip_comments(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_comments(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [_strip_comments(v) for v in obj]
    return obj


@dataclass(frozen=True)
class TrainingPlan:
    """Everything ``fit`` needs for one (method, budget, case): resolved from the file."""

    method: str
    algo: str
    policy: str
    budget: str
    timesteps: int
    kwargs: dict[str, Any]
    policy_kwargs: dict[str, Any]
    action_noise: dict[str, Any] | None
    rescale_obs: bool
    reward_scale: float
    shipped_first: bool
    provisional: bool
    version: int
    #: Env-step counts at which training saves a checkpoint (the budget's ``checkpoints``).
    checkpoints: tuple[int, ...] = ()
    source: str = ""
    file: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: Training-time reward baseline (:data:`REWARD_BASELINES`): ``none``, ``idle`` (the idle
    #: policy's reward on the same day and step subtracted) or ``default`` (the case's default
    #: operation's, :class:`~.reward_baseline.BaselineReward`).
    reward_baseline: str = "none"
    #: How the agent's [-1, 1] maps onto the action box (:data:`ACTION_MAPS`): ``rescale``
    #: (the box's midpoint at 0, :class:`~gymnasium.wrappers.RescaleAction`) or
    #: ``idle_centred`` (the idle action at 0, :func:`idle_centred_action_map`).
    action_map: str = "rescale"
    #: Observation normalization (:data:`OBS_NORMS`): ``none`` (the box map of
    #: ``rescale_obs``) or ``train_days`` (fitted on train days, frozen; replaces the box map).
    obs_norm: str = "none"
    #: How the step-box maps treat ramp-limited generators (:data:`RAMP_ACTIONS`):
    #: ``relative`` (0 = hold the last output) or ``target`` (an output level, ramp-clipped).
    ramp_action: str = "relative"
    #: What a step-box map puts at the agent's 0 (:data:`ACTION_CENTRES`): ``idle`` or
    #: ``default`` (the case's default operation of the step, where the referee reports one).
    action_centre: str = "idle"
    #: Whether the agent also sees the referee's ``info["next_context"]`` (``env.obs_context``:
    #: the SGLS cases' day-ahead plan and last tie-line flow; :mod:`.agent_view`).
    obs_context: bool = False
    #: Case config entries the *training* env uses (e.g. SGLS ``{"reward": "cost"}``): the
    #: file's ``env.case_overrides[case id]``. Evaluation always plays the case as given.
    case_overrides: dict[str, Any] = field(default_factory=dict)
    #: Training envs stepped side by side (``env.n_envs``): 1, or a ``SubprocVecEnv`` of
    #: that many processes over different train days (``seed + i``).
    n_envs: int = 1
    #: An off-policy actor's last layer scaled by this at construction, its bias zeroed
    #: (``case_setup[case].actor_output_scale``; ``None``: SB3's initialization): with a
    #: small value the untrained policy plays the action map's 0 (the idle or default
    #: action) instead of a random offset from it (:func:`scale_actor_output`).
    actor_output_scale: float | None = None

    @property
    def on_policy(self) -> bool:
        return self.algo in _ON_POLICY

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


#: The keys an algorithm of the hyperparameter file may have (``_``-prefixed ones are notes).
_ALGORITHM_KEYS: Final[frozenset[str]] = frozenset(
    {
        "algo",
        "policy",
        "kwargs",
        "policy_kwargs",
        "action_noise",
        "budget_kwargs",
        "budget_timesteps",
        "budget_checkpoints",
        "case_budgets",
        "case_setup",
        "case_kwargs",
        "case_env",
        "env",
    }
)


def _algorithm_spec(data: Mapping[str, Any], method: str, where: str) -> dict[str, Any]:
    """``method``'s entry of the hyperparameter file, checked: defined, known keys only, an
    algo of :data:`ALGORITHMS`."""
    algos = data["algorithms"]
    if method not in algos:
        raise HyperparamError(
            f"{where} has no algorithm {method!r}; defined: {', '.join(sorted(algos))}"
        )
    spec = algos[method]
    unknown = set(spec) - _ALGORITHM_KEYS
    unknown = {k for k in unknown if not k.startswith("_")}
    if unknown:
        raise HyperparamError(f"{where}: algorithm {method!r} has unknown keys {sorted(unknown)}")
    algo = spec.get("algo")
    if algo not in ALGORITHMS:
        raise HyperparamError(
            f"{where}: algorithm {method!r} names algo {algo!r}; valid: {', '.join(ALGORITHMS)}"
        )
    return spec


def _step_count(
    b: Mapping[str, Any],
    spec: Mapping[str, Any],
    method: str,
    budget: Budget,
    steps_per_episode: int,
    case_id: str | None,
    where: str,
) -> tuple[int, list[Any]]:
    """``(timesteps, checkpoints)`` of ``method`` at ``budget`` (``b``: the budget's entry);
    last wins: the budget's, the algorithm's ``budget_timesteps``/``budget_checkpoints``, its
    ``case_budgets[case_id][budget]``."""
    if ("timesteps" in b) == ("episodes" in b):
        raise HyperparamError(
            f"{where}: budget {budget.value!r} needs exactly one of 'timesteps', 'episodes'"
        )
    if "timesteps" in b:
        timesteps = int(b["timesteps"])
    else:
        timesteps = int(b["episodes"]) * int(steps_per_episode)
    own = _strip_comments(spec.get("budget_timesteps", {}))
    checkpoints = _strip_comments(spec.get("budget_checkpoints", {})).get(budget.value, [])
    if budget.value in own:  # the algorithm's own step count for this budget wins
        timesteps = int(own[budget.value])
    per_case = _strip_comments(spec.get("case_budgets", {}))
    if case_id is not None and budget.value in per_case.get(case_id, {}):
        override = _strip_comments(per_case[case_id][budget.value])
        bad = set(override) - {"timesteps", "checkpoints"}
        if bad:
            raise HyperparamError(
                f"{where}: {method!r} case_budgets[{case_id!r}][{budget.value!r}] has unknown "
                f"keys {sorted(bad)}; valid: checkpoints, timesteps"
            )
        timesteps = int(override.get("timesteps", timesteps))
        checkpoints = override.get("checkpoints", checkpoints)
    if timesteps < 1:
        raise HyperparamError(f"{where}: budget {budget.value!r} gives {timesteps} env steps")
    return timesteps, checkpoints


def training_plan(
    method: str,
    budget: Budget | str,
    steps_per_episode: int,
    path: str | Path | None = None,
    case_id: str | None = None,
) -> TrainingPlan:
    """Resolve ``method``'s hyperparameters for ``budget``: the algorithm's ``kwargs`` updated
    with its ``budget_kwargs[budget]``, then with ``case_setup[case_id]`` (declared set-up of
    a case, not tuned: e.g. GAE λ = 1 where the day's plan is paid for by a later layer; its
    ``policy_kwargs`` entry updates the algorithm's ``policy_kwargs``), then
    with ``case_kwargs[case_id]`` (the values tuned on that case's val days,
    :mod:`gridbench.benchmarks.tuning`), and the env-step count
    (``timesteps``, or ``episodes × steps_per_episode``). The ``env`` settings: the file's,
    then the algorithm's ``env``, then its ``case_env[case_id]`` (a declared set-up of one
    case, e.g. ``obs_context`` for PPO on SGLS IEEE 30). Precedence of the step count and
    checkpoints, last wins: the budget's, the algorithm's
    ``budget_timesteps``/``budget_checkpoints``, the algorithm's
    ``case_budgets[case_id][budget]`` (``{"timesteps": n, "checkpoints": [...]}``)."""
    budget = Budget.parse(budget)
    data = load_hyperparams(path)
    where = str(path or HYPERPARAMS_FILE)
    spec = _algorithm_spec(data, method, where)
    b = _strip_comments(data["budgets"][budget.value])
    timesteps, checkpoints = _step_count(b, spec, method, budget, steps_per_episode, case_id, where)
    kwargs = dict(_strip_comments(spec.get("kwargs", {})))
    kwargs.update(_strip_comments(spec.get("budget_kwargs", {}).get(budget.value, {})))
    policy_kwargs = dict(_strip_comments(spec.get("policy_kwargs", {})))
    noise, output_scale = spec.get("action_noise"), None
    if case_id is not None:  # the case's declared set-up, then its tuned values (last word)
        setup = dict(_strip_comments(_strip_comments(spec.get("case_setup", {})).get(case_id, {})))
        policy_kwargs.update(_strip_comments(setup.pop("policy_kwargs", {})))
        noise = setup.pop("action_noise", noise)
        output_scale = setup.pop("actor_output_scale", None)
        kwargs.update(setup)
        tuned = _strip_comments(spec.get("case_kwargs", {})).get(case_id, {})
        kwargs.update(_strip_comments(tuned))
    env = {**_strip_comments(data["env"]), **_strip_comments(spec.get("env", {}))}
    if case_id is not None:  # the algorithm's declared env set-up of this case (last word)
        env.update(_strip_comments(_strip_comments(spec.get("case_env", {})).get(case_id, {})))
    _checked_env(env, where)
    if output_scale is not None and (
        isinstance(output_scale, bool) or not isinstance(output_scale, (int, float))
        or not (np.isfinite(output_scale) and output_scale > 0)
    ):
        raise HyperparamError(f"{where}: {method} case_setup actor_output_scale "
                              f"{output_scale!r} is not a number > 0")
    if output_scale is not None and spec["algo"] in _ON_POLICY:
        raise HyperparamError(f"{where}: {method} case_setup actor_output_scale is for the "
                              f"off-policy actors (SAC, TD3, DDPG), not {spec['algo']}")
    return TrainingPlan(
        method=method,
        algo=spec["algo"],
        policy=str(spec.get("policy", "MlpPolicy")),
        budget=budget.value,
        timesteps=timesteps,
        kwargs=kwargs,
        policy_kwargs=policy_kwargs,
        action_noise=None if noise is None else dict(_strip_comments(noise)),
        rescale_obs=bool(env.get("rescale_obs", True)),
        reward_scale=float(env.get("reward_scale", 1.0)),
        reward_baseline=_env_choice(env, "reward_baseline", REWARD_BASELINES, where),
        action_map=_env_choice(env, "action_map", ACTION_MAPS, where),
        obs_norm=_env_choice(env, "obs_norm", OBS_NORMS, where),
        ramp_action=_env_choice(env, "ramp_action", RAMP_ACTIONS, where),
        action_centre=_env_choice(env, "action_centre", ACTION_CENTRES, where),
        obs_context=_env_flag(env, "obs_context", where),
        case_overrides=_case_overrides(env, case_id, where),
        n_envs=_n_envs(env, where),
        actor_output_scale=None if output_scale is None else float(output_scale),
        shipped_first=bool(b.get("shipped_first", False)),
        provisional=bool(b.get("provisional", False)),
        version=int(data["version"]),
        checkpoints=tuple(sorted(int(n) for n in checkpoints if 0 < int(n) < timesteps)),
        source=str(spec.get("_source", "")),
        file=where,
    )


#: ``env.reward_baseline`` values of the hyperparameter file (``idle``, ``default``: the
#: policy :class:`~.reward_baseline.BaselineReward` plays).
REWARD_BASELINES: Final[tuple[str, ...]] = ("none", "idle", "default")
#: ``env.obs_norm`` values of the hyperparameter file (``train_days``:
#: :mod:`~.observation_norm`, fitted on train days and frozen).
OBS_NORMS: Final[tuple[str, ...]] = ("none", "train_days")


def _env_choice(env: Mapping[str, Any], key: str, valid: Sequence[str], where: str) -> str:
    """``env[key]`` of the file (``valid[0]`` when absent); a one-line
    :class:`HyperparamError` naming the valid values otherwise."""
    value = str(env.get(key, valid[0]))
    if value not in valid:
        raise HyperparamError(f"{where}: env.{key} {value!r} is not one of {', '.join(valid)}")
    return value


#: The keys the file's ``env`` (and an algorithm's ``env``/``case_env[case]``) may have.
_ENV_KEYS: Final[frozenset[str]] = frozenset(
    {"rescale_obs", "reward_scale", "reward_baseline", "action_map", "obs_norm",
     "case_overrides", "n_envs", "ramp_action", "action_centre", "obs_context"}
)


def _checked_env(env: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    """``env`` itself; a one-line :class:`HyperparamError` naming an unknown key (a typo such
    as ``obs_contxt`` would otherwise be ignored silently)."""
    unknown = sorted(k for k in env if not k.startswith("_") and k not in _ENV_KEYS)
    if unknown:
        raise HyperparamError(
            f"{where}: unknown env key(s) {unknown}; valid: {', '.join(sorted(_ENV_KEYS))}"
        )
    return env


def _env_flag(env: Mapping[str, Any], key: str, where: str) -> bool:
    """``env[key]`` of the file, a JSON boolean (``false`` when absent)."""
    value = env.get(key, False)
    if not isinstance(value, bool):
        raise HyperparamError(f"{where}: env.{key} {value!r} is not true or false")
    return value


def _n_envs(env: Mapping[str, Any], where: str) -> int:
    value = env.get("n_envs", 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise HyperparamError(f"{where}: env.n_envs {value!r} is not a whole number >= 1")
    return int(value)


def _case_overrides(env: Mapping[str, Any], case_id: str | None, where: str) -> dict[str, Any]:
    """``env.case_overrides[case_id]`` of the file (``{}`` when absent)."""
    table = env.get("case_overrides", {})
    if not isinstance(table, Mapping) or not all(isinstance(v, Mapping) for v in table.values()):
        raise HyperparamError(
            f"{where}: env.case_overrides must map case ids to config entries, got {table!r}"
        )
    return dict(table.get(case_id, {})) if case_id is not None else {}


# ---------------------------------------------------------------------------- env wrapping
def steps_per_day(env: gymnasium.Env) -> int:
    """Environment steps in one episode (all layers of a two-layer timeline; an environment
    that declares ``steps_per_day``, e.g. the Stackelberg leader's one-step day, says so)."""
    declared = getattr(env.unwrapped, "steps_per_day", None)
    if isinstance(declared, int):
        return declared
    timeline = getattr(env.unwrapped, "timeline", None)
    if timeline is not None:
        return int(timeline.total_steps)
    spec_steps = getattr(env.spec, "max_episode_steps", None) if env.spec else None
    if spec_steps:
        return int(spec_steps)
    raise HyperparamError(f"cannot tell the steps per day of {type(env.unwrapped).__name__}")


def training_case(case: Case, overrides: Mapping[str, Any]) -> Case:
    """``case`` with ``overrides`` applied to its config (the plan's ``case_overrides``), or
    ``case`` itself when there are none. A :class:`HyperparamError` when the case has no
    config to override."""
    if not overrides:
        return case
    config = getattr(case, "config", None)
    if config is None or not hasattr(config, "model_dump"):
        raise HyperparamError(
            f"case {case.id} has no config to apply env.case_overrides {dict(overrides)} to"
        )
    return type(case)({**config.model_dump(), **dict(overrides)})  # type: ignore[call-arg]


def agent_case(case: Case) -> Case:
    """What single-agent RL trains and acts on for ``case``: ``case.agent_case()`` where the
    case offers one (the Stackelberg cases: the leader's view, the followers best-responding),
    else ``case`` itself. Agents are stored under the case's id either way; the case's
    ``agent_controller(controller, day)`` plays such an agent on the case's referee."""
    view = getattr(case, "agent_case", None)
    return case if view is None else view()


def make_training_env(
    case: Case,
    seed: int,
    plan: TrainingPlan,
    monitor_file: str | Path | None = None,
    obs_norm: ObservationNorm | None = None,
) -> gymnasium.Env:
    """The environment an agent trains on: ``train`` days sampled at each reset, seeded, of
    ``case`` with the plan's ``case_overrides``; the plan's reward baseline (``idle`` or
    ``default``: :class:`~.reward_baseline.BaselineReward`) and maps (:mod:`.agent_view`; with
    ``obs_norm = "train_days"`` the frozen statistics ``obs_norm``, fitted here when not given:
    :func:`observation_norm_of` reads them back from the env)."""
    from gymnasium import spaces as gspaces
    from gymnasium.wrappers import RescaleAction, TransformObservation, TransformReward
    from stable_baselines3.common.monitor import Monitor

    if plan.obs_norm == "train_days" and obs_norm is None:
        obs_norm = fit_obs_norm(case, seed, plan)
    case = training_case(case, plan.case_overrides)
    env: gymnasium.Env = case.make_env(day=None, seed=seed)
    env = Monitor(env, filename=None if monitor_file is None else str(monitor_file))
    if plan.reward_baseline != "none":  # after Monitor: it logs the referee's own reward
        from gridbench.rl_agents.reward_baseline import BaselineReward

        env = BaselineReward(env, case, plan.reward_baseline)
    if plan.obs_context and context_bounds(env) is not None:
        from gridbench.rl_agents.context_observation import ContextObservation

        env = ContextObservation(env)
    if plan.obs_norm == "train_days" and obs_norm is not None:
        env = TransformObservation(env, obs_norm, obs_norm.space())
    elif plan.rescale_obs:
        obs_space, forward = observation_map(env.observation_space)
        env = TransformObservation(env, forward, obs_space)
    if plan.reward_scale != 1.0:
        scale = plan.reward_scale
        env = TransformReward(env, lambda r: scale * r)
    physical = env.action_space
    idle = env.unwrapped.idle_action()  # type: ignore[attr-defined]
    if plan.action_map in STEP_BOX_KEYS:
        from gridbench.rl_agents.feasible_action import FeasibleBoxAction

        env = FeasibleBoxAction(
            env, idle, neutral_middle(case), plan.action_map, plan.ramp_action,
            plan.action_centre,
        )
    elif plan.action_map == "idle_centred":
        from gymnasium.wrappers import TransformAction

        unit = gspaces.Box(*unit_bounds(physical), dtype=physical.dtype)
        env = TransformAction(env, idle_centred_action_map(physical, idle), unit)
    else:
        env = RescaleAction(env, *unit_bounds(physical))
    env.action_space.seed(seed)
    env.observation_space.seed(seed)
    return env


def make_vec_training_env(
    case: Case,
    seed: int,
    plan: TrainingPlan,
    n_envs: int,
    monitor_dir: Path | None = None,
    obs_norm: ObservationNorm | None = None,
) -> Any:
    """``n_envs`` :func:`make_training_env` envs (seeds ``seed + i``, ``env<i>.monitor.csv``) in
    a ``SubprocVecEnv``, one process each, stepped side by side (with the same frozen
    observation statistics, fitted once here when the plan normalizes and none are given)."""
    from stable_baselines3.common.vec_env import SubprocVecEnv

    if plan.obs_norm == "train_days" and obs_norm is None:
        obs_norm = fit_obs_norm(case, seed, plan)

    def factory(i: int) -> Callable[[], gymnasium.Env]:
        def build() -> gymnasium.Env:
            _set_torch_threads()
            monitor = None if monitor_dir is None else monitor_dir / f"env{i}.monitor.csv"
            return make_training_env(case, seed + i, plan, monitor, obs_norm)

        return build

    return SubprocVecEnv([factory(i) for i in range(n_envs)], start_method="fork")


def observation_norm_of(env: gymnasium.Env) -> ObservationNorm | None:
    """The frozen statistics a :func:`make_training_env` env normalizes with (``None`` if it
    does not), e.g. to build :func:`sb3_controller` for a model trained on it."""
    layer: Any = env
    while layer is not None:
        func = getattr(layer, "func", None)
        if isinstance(func, ObservationNorm):
            return func
        layer = getattr(layer, "env", None)
    return None


def fit_obs_norm(case: Case, seed: int, plan: TrainingPlan) -> ObservationNorm | None:
    """The plan's frozen observation statistics (``obs_norm = "train_days"``), else ``None``."""
    if plan.obs_norm != "train_days":
        return None
    from gridbench.rl_agents.observation_norm import fit_observation_norm

    return fit_observation_norm(
        training_case(case, plan.case_overrides),
        seed,
        plan.action_map,
        ramp=plan.ramp_action,
        centre=plan.action_centre,
        context=plan.obs_context,
    )


def _plan_for(case: Case, method: str, budget: Budget | str, seed: int) -> TrainingPlan:
    probe = case.make_env(day=None, seed=seed)
    try:
        return training_plan(method, budget, steps_per_day(probe), case_id=case.id)
    finally:
        probe.close()


def training_env_for(
    case: Case, method: str = "ppo", seed: int = 0, budget: Budget | str = Budget.QUICK
) -> gymnasium.Env:
    """The environment the built-in agent ``method`` trains on for ``case`` at ``budget``
    (:func:`make_training_env` of its :class:`TrainingPlan`): ``gridbench.training_env``."""
    return make_training_env(case, int(seed), _plan_for(case, method, budget, int(seed)))


def sb3_controller(
    model: BaseAlgorithm,
    case: Case,
    method: str = "ppo",
    budget: Budget | str = Budget.QUICK,
    obs_norm: ObservationNorm | None = None,
) -> SB3Controller:
    """A controller playing ``model``, trained on :func:`training_env_for` of ``method`` and
    ``budget`` (and ``obs_norm``, the statistics it was trained with, when its plan
    normalizes), on the plain referee (the plan's observation and action maps)."""
    plan = _plan_for(case, method, budget, 0)
    if plan.obs_norm == "train_days" and obs_norm is None:
        raise ValueError(f"{method}'s plan normalizes observations: pass its obs_norm")
    env = case.make_env(day=None, seed=0)
    try:
        obs_space, act_space = env.observation_space, env.action_space
        idle = env.unwrapped.idle_action()  # type: ignore[attr-defined]
        context = context_bounds(env) if plan.obs_context else None
    finally:
        env.close()
    if context is not None:
        obs_space = with_context_space(obs_space, context)
    obs_fn: Callable[[NDArray[Any]], NDArray[np.float32]] | None = obs_norm
    if obs_fn is None and plan.rescale_obs:
        obs_fn = observation_map(obs_space)[1]
    return SB3Controller(
        model,
        obs_fn,
        agent_action_map(
            plan.action_map, act_space, idle, neutral_middle(case), plan.ramp_action,
            plan.action_centre,
        ),
        np.asarray(act_space.low, dtype=np.float32),
        np.asarray(act_space.high, dtype=np.float32),
        0 if context is None else int(np.asarray(context[0]).size),
    )


def _set_torch_threads() -> None:
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


# ---------------------------------------------------------------------------- controller
class SB3Controller:
    """Acts with a trained SB3 model: the step's context appended (``context`` entries of
    ``info["next_context"]``, :func:`~.agent_view.with_context`; 0: none) → observation map →
    ``model.predict(obs, deterministic=True)`` → [-1, 1] → physical setpoints by the action
    map (which the ``feasible`` map reads from the step's ``info``), clipped to the action box
    against float round-off. Stateless between steps: ``reset`` does nothing."""

    __slots__ = ("_act", "_context", "_high", "_low", "_model", "_obs")

    def __init__(
        self,
        model: BaseAlgorithm,
        obs_fn: Callable[[NDArray[Any]], NDArray[np.float32]] | None,
        act_fn: AgentActionMap,
        low: NDArray[np.float32],
        high: NDArray[np.float32],
        context: int = 0,
    ) -> None:
        self._model = model
        self._obs = obs_fn
        self._act = act_fn
        self._low = low
        self._high = high
        self._context = int(context)

    def reset(self, obs: Any, info: Mapping[str, Any]) -> None:
        return None

    def act(self, obs: Any, info: Mapping[str, Any]) -> NDArray[np.float32]:
        o = with_context(np.asarray(obs, dtype=np.float32), info, self._context)
        if self._obs is not None:
            o = self._obs(o)
        a, _ = self._model.predict(o, deterministic=True)
        return np.clip(self._act(a, info), self._low, self._high).astype(np.float32, copy=False)


@dataclass
class _Agent:
    model: Any
    obs_fn: Callable[[NDArray[Any]], NDArray[np.float32]] | None
    act_fn: AgentActionMap
    low: NDArray[np.float32]
    high: NDArray[np.float32]
    seed: int
    path: Path | None
    context: int = 0


# ---------------------------------------------------------------------------- the methods
def trains_like_shipped(case: Case) -> bool:
    """A shipped agent stands for training on ``case`` (``BaseCase.trains_like_shipped``; a
    case without it: yes)."""
    check = getattr(case, "trains_like_shipped", None)
    return True if check is None else bool(check())


class SB3Method:
    """Base of the SB3-backed methods (not registered itself). Subclasses set ``name`` (the
    key of ``hyperparams.json``'s ``algorithms``).

    Keyword arguments (all optional; the registry builds methods with none):
    ``training_dir``/``agents_dir`` (default :func:`training_dir`, :func:`agents_dir`),
    ``hyperparams`` (path of the file), ``progress_bar`` (``None``: on when stderr is a
    terminal and the budget is not ``smoke``, unless ``$GRIDBENCH_PROGRESS=0``),
    ``require_shipped`` (``quick`` without a shipped agent raises instead of training),
    ``verbose`` (SB3's verbosity), ``retrain`` (train even where a shipped agent exists),
    ``checkpoint_steps`` (env-step counts at which training
    also saves ``<run_dir>/checkpoints/model_<steps>.zip``: one run gives a whole
    quality-vs-budget curve, see :mod:`gridbench.benchmarks.budget_curve`).

    After ``fit``, :attr:`last_fit` holds what happened (source, path, env steps, seconds,
    env steps per second).
    """

    name: ClassVar[str]
    family: ClassVar[MethodFamily] = MethodFamily.RL

    def __init__(
        self,
        *,
        training_dir: str | Path | None = None,
        agents_dir: str | Path | None = None,
        hyperparams: str | Path | None = None,
        progress_bar: bool | None = None,
        require_shipped: bool = False,
        verbose: int = 0,
        checkpoint_steps: Sequence[int] = (),
        retrain: bool = False,
    ) -> None:
        self.training_dir = None if training_dir is None else Path(training_dir)
        self.agents_dir = None if agents_dir is None else Path(agents_dir)
        self.hyperparams = None if hyperparams is None else Path(hyperparams)
        self.progress_bar = progress_bar
        self.require_shipped = require_shipped
        self.verbose = verbose
        #: Train even where a shipped agent exists (``gridbench run --retrain``).
        self.retrain = bool(retrain)
        self.checkpoint_steps = tuple(sorted({int(n) for n in checkpoint_steps}))
        if any(n < 1 for n in self.checkpoint_steps):
            raise ValueError(f"checkpoint_steps {checkpoint_steps} must be positive env steps")
        self._agents: dict[str, _Agent] = {}
        self.last_fit: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    # -- contract ------------------------------------------------------------
    def supports(self, case: Case) -> bool:
        """Single-agent cases with a bounded ``Box`` action (and a finite ``Box``
        observation); a case that declares ``multi_agent_only = True`` is excluded."""
        from gymnasium import spaces as gspaces

        if getattr(case, "multi_agent_only", False):
            return False
        case = agent_case(case)
        try:
            env = case.make_env(day=None, seed=0)
        except NotImplementedError:
            return False
        try:
            act, obs = env.action_space, env.observation_space
            return (
                isinstance(act, gspaces.Box)
                and isinstance(obs, gspaces.Box)
                and bool(np.all(np.isfinite(act.low)) and np.all(np.isfinite(act.high)))
                and bool(np.all(act.low < act.high))
                and bool(np.all(np.isfinite(obs.low)) and np.all(np.isfinite(obs.high)))
            )
        finally:
            env.close()

    def fit(self, case: Case, seed: int, budget: Budget | str) -> None:
        """Train on ``train`` days (or, for ``quick``, load the shipped agent if any), on
        :func:`agent_case`'s view of ``case``."""
        case = agent_case(case)
        budget = Budget.parse(budget)
        seed = int(seed)
        probe = case.make_env(day=None, seed=seed)
        try:
            plan = training_plan(
                self.name, budget, steps_per_day(probe), self.hyperparams, case_id=case.id
            )
        finally:
            probe.close()
        if (budget is Budget.QUICK and plan.shipped_first and not self.retrain
                and trains_like_shipped(case)):
            path = self.agent_path(case, seed)
            if path.is_file():
                t0 = time.perf_counter()
                self.load(case, seed, path)
                self.last_fit = {
                    "source": "shipped",
                    "path": str(path),
                    "seconds": time.perf_counter() - t0,
                }
                return
            if self.require_shipped:
                raise MissingAgentError(self._missing_message(case, seed, path))
        self._train(case, seed, plan)

    def controller(self, case: Case, day: datetime.date) -> Controller:
        """A controller playing the agent last fitted (or loaded) for ``case``; ``day`` is not
        needed by the policy (it reads everything from the observation), only by a case whose
        agents act on a view of it (``case.agent_controller``, :func:`agent_case`)."""
        agent = self._agents.get(case.id)
        if agent is None:
            raise MissingAgentError(
                f"no trained {self.name} agent for case {case.id}: call fit(case, seed, budget) "
                f"first, or ship one at {self.agent_path(case, 0)} and use budget 'quick'"
            )
        _set_torch_threads()
        played = SB3Controller(
            agent.model, agent.obs_fn, agent.act_fn, agent.low, agent.high, agent.context
        )
        wrap = getattr(case, "agent_controller", None)
        return played if wrap is None else wrap(played, day)

    # -- paths -------------------------------------------------------------
    def run_dir(self, case: Case, seed: int) -> Path:
        """``<training_dir>/<case>/<method>/seed<k>``."""
        root = self.training_dir or training_dir()
        return root / case.id / self.name / f"seed{int(seed)}"

    def agent_path(self, case: Case, seed: int) -> Path:
        """``<agents_dir>/<case>/<method>/seed<k>.zip`` (a shipped agent)."""
        root = self.agents_dir or agents_dir()
        return root / case.id / self.name / f"seed{int(seed)}.zip"

    def _missing_message(self, case: Case, seed: int, path: Path) -> str:
        return (
            f"no shipped {self.name} agent for case {case.id} seed {seed}: expected {path} "
            "(train one with fit(..., budget='reference') and ship it with ship(case, seed))"
        )

    # -- loading and shipping ----------------------------------------------------
    def _algo_class(self, plan_or_algo: TrainingPlan | str) -> type[BaseAlgorithm]:
        algo = plan_or_algo.algo if isinstance(plan_or_algo, TrainingPlan) else plan_or_algo
        return load_entry_point(ALGORITHMS[algo])

    def _agent_from(
        self, case: Case, model: BaseAlgorithm, plan_env: Mapping[str, Any], seed: int, path: Path
    ) -> _Agent:
        env = case.make_env(day=None, seed=seed)
        try:
            obs_space, act_space = env.observation_space, env.action_space
            idle = env.unwrapped.idle_action()  # type: ignore[attr-defined]
            context = context_bounds(env) if plan_env.get("obs_context", False) else None
        finally:
            env.close()
        if context is not None:
            obs_space = with_context_space(obs_space, context)
        obs_fn: Callable[[NDArray[Any]], NDArray[np.float32]] | None = None
        expect_obs = obs_space
        norm = plan_env.get("observation_norm")
        if norm is not None:
            obs_fn = norm if isinstance(norm, ObservationNorm) else ObservationNorm.from_json(norm)
            expect_obs = obs_fn.space()
        elif plan_env.get("obs_norm", "none") != "none":
            raise ValueError(
                f"{self.name} agent {path} was trained with normalized observations but its plan "
                "file holds no observation_norm statistics"
            )
        elif plan_env.get("rescale_obs", True):
            expect_obs, obs_fn = observation_map(obs_space)
        if (
            model.observation_space.shape != expect_obs.shape
            or model.action_space.shape != act_space.shape
        ):
            raise ValueError(
                f"{self.name} agent {path} was trained for observations "
                f"{model.observation_space.shape} and actions {model.action_space.shape}; "
                f"case {case.id} has {expect_obs.shape} and {act_space.shape}"
            )
        return _Agent(
            model=model,
            obs_fn=obs_fn,
            act_fn=agent_action_map(
                plan_env.get("action_map", "rescale"),
                act_space,
                idle,
                neutral_middle(case),
                plan_env.get("ramp_action", "relative"),
                plan_env.get("action_centre", "idle"),
            ),
            low=np.asarray(act_space.low, dtype=np.float32),
            high=np.asarray(act_space.high, dtype=np.float32),
            seed=seed,
            path=path,
            context=0 if context is None else int(np.asarray(context[0]).size),
        )

    def load(self, case: Case, seed: int = 0, path: str | Path | None = None) -> None:
        """Load a trained agent (default: the shipped one for ``seed``) for ``case``.
        :class:`MissingAgentError` (one line, naming the path) when the file is absent. The
        plan stored beside it (``<path>.json`` or ``plan.json``) gives the observation map;
        without one the file's current ``env`` settings apply."""
        case = agent_case(case)
        p = Path(path) if path is not None else self.agent_path(case, seed)
        if not p.is_file():
            raise MissingAgentError(self._missing_message(case, seed, p))
        _set_torch_threads()
        record = self._stored_record(p)
        stored = dict(record.get("plan", record))
        hp = load_hyperparams(self.hyperparams)
        algo = stored.get("algo") or hp["algorithms"].get(self.name, {}).get("algo")
        if algo not in ALGORITHMS:
            raise HyperparamError(f"cannot tell which algorithm saved {p} (got {algo!r})")
        plan_env = {
            "rescale_obs": stored.get("rescale_obs", hp["env"].get("rescale_obs", True)),
            "action_map": stored.get("action_map", "rescale"),
            "obs_norm": stored.get("obs_norm", "none"),
            "ramp_action": stored.get("ramp_action", "relative"),
            "action_centre": stored.get("action_centre", "idle"),
            "obs_context": stored.get("obs_context", False),
            "observation_norm": record.get("observation_norm"),
        }
        model = self._algo_class(algo).load(str(p), device="cpu")
        self._agents[case.id] = self._agent_from(case, model, plan_env, seed, p)

    @staticmethod
    def _stored_record(model_path: Path) -> dict[str, Any]:
        """The training record stored beside a model: ``<model>.json`` (shipped), the run's
        ``plan.json``, or for a checkpoint ``checkpoints/../plan.json``; ``{}`` if none."""
        candidates = [model_path.with_suffix(".json"), model_path.parent / "plan.json"]
        if model_path.parent.name == "checkpoints":
            candidates.append(model_path.parent.parent / "plan.json")
        for candidate in candidates:
            if candidate.is_file():
                try:
                    return dict(json.loads(candidate.read_text(encoding="utf-8")))
                except json.JSONDecodeError:
                    continue
        return {}

    def ship(self, case: Case, seed: int) -> Path:
        """Copy the model of the last training run of (``case``, ``seed``), without its
        optimizers' state (:meth:`_save_policy_only`), and its plan to the
        shipped-agent location, and its training logs (``monitor.csv``, ``progress.csv``,
        ``checkpoints.csv``) to ``<agents>/<case>/<method>/seed<k>/``; returns the model's new
        path."""
        run = self.run_dir(case, seed)
        src = run / "model.zip"
        if not src.is_file():
            raise MissingAgentError(
                f"no trained {self.name} model for case {case.id} seed {seed}: expected {src}"
            )
        dst = self.agent_path(case, seed)
        dst.parent.mkdir(parents=True, exist_ok=True)
        self._save_policy_only(src, dst)
        if (run / "plan.json").is_file():
            shutil.copyfile(run / "plan.json", dst.with_suffix(".json"))
        # the training curves travel with the agent: <agents>/<case>/<method>/seed<k>/
        logs = dst.parent / f"seed{int(seed)}"
        for name in ("monitor.csv", "progress.csv", "checkpoints/checkpoints.csv"):
            if (run / name).is_file():
                logs.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(run / name, logs / Path(name).name)
        return dst

    def _save_policy_only(self, src: Path, dst: Path) -> None:
        """Save the model at ``src`` to ``dst`` with every optimizer's state emptied (Adam's
        moments are as large as the weights; a replay buffer is never in the file): what
        acting needs, about a third of the size. SB3's ``load`` reads it as it is, and the
        agent acts exactly as the trained one."""
        _set_torch_threads()
        algo = self._stored_record(src).get("plan", {}).get("algo") or load_hyperparams(
            self.hyperparams
        )["algorithms"].get(self.name, {}).get("algo")
        loaded = self._algo_class(str(algo)).load(str(src), device="cpu")
        names, _ = loaded._get_torch_save_params()
        for name in names:
            if name.endswith("optimizer"):
                functools.reduce(getattr, name.split("."), loaded).state.clear()
        loaded.save(str(dst))

    # -- training --------------------------------------------------------------
    def _show_progress(self, plan: TrainingPlan) -> bool:
        if self.progress_bar is not None:
            return bool(self.progress_bar)
        if os.environ.get(PROGRESS_ENV, "").strip() in {"0", "false", "no"}:
            return False
        if plan.budget == Budget.SMOKE.value:
            return False
        try:
            import rich  # noqa: F401
            import tqdm  # noqa: F401
        except ImportError:
            return False
        return sys.stderr.isatty()

    def _build_model(self, env: gymnasium.Env, seed: int, plan: TrainingPlan) -> BaseAlgorithm:
        algo_cls = self._algo_class(plan)
        policy: Any = plan.policy
        if policy in POLICIES:
            policy = load_entry_point(POLICIES[policy])
        kwargs = dict(plan.kwargs)
        if plan.action_noise is not None and not plan.on_policy:
            kwargs["action_noise"] = _make_noise(plan.action_noise, env.action_space.shape)
        if "or_networks" in kwargs:
            kwargs["or_networks"] = tuple(kwargs["or_networks"])
        model = algo_cls(
            policy,
            env,
            seed=seed,
            device="cpu",
            verbose=self.verbose,
            policy_kwargs=_resolve_extractor(plan.policy_kwargs) or None,
            **kwargs,
        )
        if plan.actor_output_scale is not None:
            scale_actor_output(model, plan.actor_output_scale)
        return model

    def _train(self, case: Case, seed: int, plan: TrainingPlan) -> None:
        _set_torch_threads()
        import stable_baselines3
        import torch
        from stable_baselines3.common.logger import Logger, make_output_format

        run = self.run_dir(case, seed)
        run.mkdir(parents=True, exist_ok=True)
        for stale in run.glob("events.out.tfevents.*"):
            stale.unlink()
        t_norm = time.perf_counter()
        obs_norm = fit_obs_norm(case, seed, plan)  # counted in the fit's seconds
        t_norm = time.perf_counter() - t_norm
        if plan.n_envs > 1:
            env = make_vec_training_env(case, seed, plan, plan.n_envs, run, obs_norm)
        else:
            env = make_training_env(
                case, seed, plan, monitor_file=run / "monitor.csv", obs_norm=obs_norm
            )
        checkpoints = self.checkpoint_steps or plan.checkpoints
        try:
            model = self._build_model(env, seed, plan)
            model.set_logger(
                Logger(
                    folder=str(run),
                    output_formats=[
                        make_output_format("csv", str(run)),
                        make_output_format("tensorboard", str(run)),
                    ],
                )
            )
            t0 = time.perf_counter()
            model.learn(
                total_timesteps=plan.timesteps,
                progress_bar=self._show_progress(plan),
                log_interval=1 if plan.on_policy else 4,
                callback=_checkpoint_callback(run / "checkpoints", checkpoints, t0 - t_norm)
                if checkpoints
                else None,
            )
            seconds = time.perf_counter() - t0 + t_norm
            model.logger.close()
        finally:
            env.close()
        model_path = run / "model.zip"
        model.save(str(model_path))
        self.last_fit = {
            "source": "trained",
            "path": str(model_path),
            "run_dir": str(run),
            "env_steps": int(model.num_timesteps),
            "seconds": seconds,
            "env_steps_per_s": model.num_timesteps / seconds if seconds > 0 else float("nan"),
        }
        record = {
            "method": self.name,
            "case": case.id,
            "seed": seed,
            "plan": plan.to_json(),
            "fit": self.last_fit,
            "versions": {
                "stable_baselines3": stable_baselines3.__version__,
                "torch": torch.__version__,
                "python": platform.python_version(),
            },
            "torch_threads": torch.get_num_threads(),
        }
        if obs_norm is not None:
            record["observation_norm"] = obs_norm.to_json()
        (run / "plan.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
        plan_env = {
            "rescale_obs": plan.rescale_obs,
            "action_map": plan.action_map,
            "obs_norm": plan.obs_norm,
            "ramp_action": plan.ramp_action,
            "action_centre": plan.action_centre,
            "obs_context": plan.obs_context,
            "observation_norm": obs_norm,
        }
        self._agents[case.id] = self._agent_from(case, model, plan_env, seed, model_path)


def _checkpoint_callback(folder: Path, steps: Sequence[int], t0: float) -> Any:
    """SB3 callback saving ``model_<n>.zip`` once ``num_timesteps`` reaches each ``n`` (the
    first step at or past it: PPO collects whole rollouts), with the training seconds so far
    in ``checkpoints.csv``."""
    from stable_baselines3.common.callbacks import BaseCallback

    class _Checkpoints(BaseCallback):
        def _init_callback(self) -> None:
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.glob("model_*.zip"):
                stale.unlink()
            (folder / "checkpoints.csv").write_text("steps,env_steps,seconds,path\n")
            self._pending = list(steps)

        def _on_step(self) -> bool:
            while self._pending and self.num_timesteps >= self._pending[0]:
                n = self._pending.pop(0)
                path = folder / f"model_{n}.zip"
                self.model.save(str(path))
                with open(folder / "checkpoints.csv", "a", encoding="utf-8") as fh:
                    seconds = time.perf_counter() - t0
                    fh.write(f"{n},{self.num_timesteps},{seconds:.2f},{path.name}\n")
            return True

    return _Checkpoints()


def _resolve_extractor(policy_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``policy_kwargs`` with ``extractor``/``extractor_kwargs`` (names of :data:`EXTRACTORS`)
    replaced by SB3's ``features_extractor_class``/``features_extractor_kwargs``."""
    out = dict(policy_kwargs)
    name = out.pop("extractor", None)
    extractor_kwargs = out.pop("extractor_kwargs", None)
    if name is None:
        if extractor_kwargs:
            raise HyperparamError("policy_kwargs 'extractor_kwargs' need an 'extractor'")
        return out
    if name not in EXTRACTORS:
        raise HyperparamError(
            f"unknown policy_kwargs extractor {name!r}; valid: {', '.join(EXTRACTORS)}"
        )
    target = EXTRACTORS[name]
    if target is None:
        if extractor_kwargs:
            raise HyperparamError(f"extractor {name!r} takes no extractor_kwargs")
        return out
    out["features_extractor_class"] = load_entry_point(target)
    if extractor_kwargs:
        out["features_extractor_kwargs"] = dict(extractor_kwargs)
    return out


def scale_actor_output(model: BaseAlgorithm, scale: float) -> None:
    """Multiply the weights of ``model``'s actor's last linear layer by ``scale`` and zero its
    bias (its target actor copied from it): the untrained policy's mean action is then about
    0, the action map's centre, rather than a random offset of SB3's initialization (the
    practice of initializing the policy's output layer small, Andrychowicz et al. 2021, for
    the off-policy actors that SB3 leaves at PyTorch's default; SB3's PPO already scales its
    action net by 0.01). SAC: the mean's layer (its log-σ layer keeps ``log_std_init``'s
    role); TD3 and DDPG: the layer before the ``tanh``. ``ValueError`` for an algorithm
    without such an actor (PPO: its ``ortho_init`` does this)."""
    import torch

    actor = getattr(model, "actor", None)
    mu = getattr(actor, "mu", None)
    if isinstance(mu, torch.nn.Linear):
        last = mu
    elif isinstance(mu, torch.nn.Sequential):
        last = [m for m in mu if isinstance(m, torch.nn.Linear)][-1]
    else:
        raise ValueError(f"{type(model).__name__} has no off-policy actor to scale "
                         "(actor_output_scale is for SAC, TD3 and DDPG)")
    with torch.no_grad():
        last.weight.mul_(scale)
        last.bias.zero_()
    target = getattr(model, "actor_target", None)
    if target is not None:
        target.load_state_dict(actor.state_dict())


def _make_noise(spec: Mapping[str, Any], shape: tuple[int, ...]) -> Any:
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

    kind = spec.get("kind", "normal")
    sigma = float(spec.get("sigma", 0.1)) * np.ones(shape)
    if kind == "normal":
        return NormalActionNoise(mean=np.zeros(shape), sigma=sigma)
    if kind == "ornstein-uhlenbeck":
        return OrnsteinUhlenbeckActionNoise(mean=np.zeros(shape), sigma=sigma)
    raise HyperparamError(f"unknown action_noise kind {kind!r}; valid: normal, ornstein-uhlenbeck")


@register_method
class Ddpg(SB3Method):
    """DDPG (SB3) with the SES-carbon paper's Table 2 settings (plain MLP)."""

    name: ClassVar[str] = "ddpg"


@register_method
class Td3(SB3Method):
    """TD3 (SB3 defaults, Gaussian exploration noise 0.1)."""

    name: ClassVar[str] = "td3"


@register_method
class Sac(SB3Method):
    """SAC (SB3 defaults)."""

    name: ClassVar[str] = "sac"


@register_method
class Ppo(SB3Method):
    """PPO (SB3 defaults)."""

    name: ClassVar[str] = "ppo"
