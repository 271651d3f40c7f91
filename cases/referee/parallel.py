"""The multi-agent front-end: :class:`ParallelRefereeEnv`, a ``pettingzoo.ParallelEnv`` over
the same :class:`~gridbench.cases.referee.DispatchCore` (one controller per agent, optionally
in sequential leader–follower stages)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from numpy.typing import ArrayLike, NDArray
from pettingzoo import ParallelEnv

from gridbench.cases.kpi import NEXT_BOX_KEYS
from gridbench.cases.projection import ProjectionError, measure_projection
from gridbench.cases.referee.boxes import Bounds, FloatArray, finite_bounds, float32_box
from gridbench.cases.referee.core import DispatchCore, as_float_array
from gridbench.cases.referee.episode import DaySampler, coerce_day, episode_rng, resolve_day
from gridbench.cases.referee.errors import RefereeError, RefereeStateError, RoleError
from gridbench.cases.referee.records import AgentRole

__all__ = ["ParallelRefereeEnv"]


def _setpoints_by_role(roles: Sequence[AgentRole], dim: int) -> dict[str, NDArray[np.intp]]:
    """Each role's setpoint indices of the core's ``dim`` setpoints: names unique, every
    setpoint controlled by exactly one role (else :class:`RoleError`)."""
    by_role: dict[str, NDArray[np.intp]] = {}
    owner = np.full(dim, -1)
    for i, role in enumerate(roles):
        if role.name in by_role:
            raise RoleError(f"agent name {role.name!r} is declared twice")
        idx = role.resolve(dim)
        taken = idx[owner[idx] >= 0]
        if taken.size:
            other = roles[int(owner[taken[0]])].name
            raise RoleError(
                f"agents {other!r} and {role.name!r} both control setpoint {int(taken[0])}"
            )
        owner[idx] = i
        by_role[role.name] = idx
    free = np.flatnonzero(owner < 0)
    if free.size:
        raise RoleError(f"setpoints {list(free)} belong to no agent; roles must cover all")
    return by_role


def _earlier_setpoints(
    roles: Sequence[AgentRole],
    by_role: Mapping[str, NDArray[np.intp]],
    stage_of: Mapping[str, int],
) -> dict[str, NDArray[np.intp]]:
    """Per role, the sorted setpoints of the roles that act in an earlier stage (what it
    observes of the actions already decided)."""
    return {
        r.name: np.sort(
            np.concatenate(
                [np.empty(0, np.intp)]
                + [by_role[o.name] for o in roles if stage_of[o.name] < stage_of[r.name]]
            )
        ).astype(np.intp)
        for r in roles
    }


class ParallelRefereeEnv(ParallelEnv[str, NDArray[np.float32], NDArray[np.float32]]):
    """Multi-agent PettingZoo front-end over the *same* :class:`DispatchCore`.

    Each :class:`AgentRole` owns a slice of the core's setpoint vector; the roles must
    partition it. The joint action of all agents is exactly the single-agent action, so the
    physics, the projection and the KPIs equal :class:`RefereeEnv`'s for the same joint action;
    every agent's ``info`` holds the same KPI record (plus ``agent_projection``: the report
    restricted to its own entries).

    Observations and rewards per agent come from the core (:meth:`DispatchCore.agent_observation`,
    ``StepOutcome.agent_rewards``; defaults: the full observation and the shared reward).

    ``sequential_stages=False`` (default): all agents act at once, one env step per time step.

    ``sequential_stages=True`` (leader–follower games): a time step takes one env step per
    distinct ``stage`` of the roles, in increasing order. In the env step of stage ``k`` only
    the actions of stage-``k`` agents are used (the others' are ignored and may be omitted);
    their setpoints are box-projected onto the current limits and appended to the observations
    of every agent of a later stage (entries of not-yet-decided agents hold their idle values),
    so a follower sees what its leader will execute. Coupled limits apply to the joint vector
    when the last stage executes the physics. Intermediate stages return reward 0 and an
    ``info`` without KPIs (``layer``, ``step``, ``time_h``, ``step_hours``, ``day``,
    ``next_layer``, ``next_step`` and the next step's boxes — the same step, which the
    next stage acts at —, ``stage``,
    ``kpi=False``); the last stage returns the rewards and the KPI ``info`` (``kpi=True``).
    Every ``info`` carries ``stage``. Observations then end with a one-hot of the stage.
    An agent's reset ``info["idle_action"]`` is its own slice of the idle setpoints, and every
    ``next_action_low``/``_high`` (``next_penalty_free_low``/``_high``) its own slice of the
    next step's feasible (penalty-free) box.

    Observation of an agent = core observation ‖ decided earlier-stage setpoints (sequential
    only) ‖ stage one-hot (sequential with > 1 stage) ‖ layer one-hot (> 1 layer).
    """

    metadata: dict[str, Any] = {  # noqa: RUF012
        "render_modes": [],
        "name": "gridbench_referee_parallel_v0",
        "is_parallelizable": True,
    }

    def __init__(
        self,
        core: DispatchCore,
        *,
        roles: Sequence[AgentRole] | None = None,
        sequential_stages: bool = False,
        day: datetime.date | str | None = None,
        day_sampler: DaySampler | None = None,
        seed: int | None = None,
    ) -> None:
        if not isinstance(core, DispatchCore):
            raise RefereeError(f"core must be a DispatchCore, got {type(core).__name__}")
        self.core = core
        self._roles = tuple(core.agent_roles() if roles is None else roles)
        if not self._roles:
            raise RoleError(
                f"{type(core).__name__} declares no agent roles; pass roles=[AgentRole(...)]"
            )
        dim = core.action_dim
        self._idx: dict[str, NDArray[np.intp]] = _setpoints_by_role(self._roles, dim)
        self.sequential_stages = bool(sequential_stages)
        stage_values = sorted({r.stage for r in self._roles}) if self.sequential_stages else [0]
        self._stage_of = {
            r.name: (stage_values.index(r.stage) if self.sequential_stages else 0)
            for r in self._roles
        }
        self._n_stages = len(stage_values)
        self._earlier = _earlier_setpoints(self._roles, self._idx, self._stage_of)
        self.possible_agents: list[str] = [r.name for r in self._roles]
        self.agents: list[str] = []
        self._day = None if day is None else coerce_day(day)
        self._day_sampler = day_sampler
        self._first_seed = seed
        self._np_random: np.random.Generator | None = None
        self._stage = 0
        self._raw = np.full(dim, np.nan)
        self._decided = core.idle_action()
        self._make_spaces()

    # ------------------------------------------------------------------ spaces
    def _make_spaces(self) -> None:
        """Each agent's action box (its setpoints of the core's union bounds) and observation
        box (its own, then what it sees of earlier stages), and the global state box."""
        core = self.core
        low, high = core.union_action_bounds()
        self._action_spaces = {
            name: float32_box(low[idx], high[idx]) for name, idx in self._idx.items()
        }
        self._observation_spaces: dict[str, spaces.Box] = {}
        for name in self.possible_agents:
            olo, ohi = finite_bounds(
                f"agent_observation_bounds({name!r})", core.agent_observation_bounds(name)
            )
            extra_lo, extra_hi = self._extra_bounds(name, low, high)
            self._observation_spaces[name] = float32_box(
                np.concatenate([olo, extra_lo]), np.concatenate([ohi, extra_hi])
            )
        slo, shi = core.timeline.with_layer_one_hot_bounds(*core.observation_box())
        self.state_space = float32_box(slo, shi)

    def _extra_bounds(self, name: str, low: FloatArray, high: FloatArray) -> Bounds:
        parts_lo: list[FloatArray] = [np.zeros(0)]
        parts_hi: list[FloatArray] = [np.zeros(0)]
        if self.sequential_stages:
            e = self._earlier[name]
            parts_lo.append(low[e])
            parts_hi.append(high[e])
            if self._n_stages > 1:
                parts_lo.append(np.zeros(self._n_stages))
                parts_hi.append(np.ones(self._n_stages))
        return self.core.timeline.with_layer_one_hot_bounds(
            np.concatenate(parts_lo), np.concatenate(parts_hi)
        )

    def observation_space(self, agent: str) -> spaces.Box:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Box:
        return self._action_spaces[agent]

    @property
    def roles(self) -> tuple[AgentRole, ...]:
        return self._roles

    @property
    def stage(self) -> int:
        """Index of the stage about to act (0 … number of stages − 1)."""
        return self._stage

    def agent_indices(self, agent: str) -> NDArray[np.intp]:
        """Entries of the core's setpoint vector that ``agent`` controls."""
        return self._idx[agent].copy()

    @property
    def np_random(self) -> np.random.Generator:
        if self._np_random is None:
            self._np_random, _ = seeding.np_random()
        return self._np_random

    # ------------------------------------------------------------------ observations
    def _observe(self, name: str) -> NDArray[np.float32]:
        parts: list[NDArray[Any]] = [
            np.asarray(self.core.agent_observation(name), dtype=np.float32).reshape(-1)
        ]
        if self.sequential_stages:
            parts.append(self._decided[self._earlier[name]].astype(np.float32))
            if self._n_stages > 1:
                one_hot = np.zeros(self._n_stages, dtype=np.float32)
                one_hot[self._stage] = 1.0
                parts.append(one_hot)
        obs = np.concatenate(parts).astype(np.float32, copy=False)
        return self.core.timeline.with_layer_one_hot(obs, self.core.position)

    def state(self) -> NDArray[np.float32]:
        """Global state for centralized critics: the core's full observation (‖ layer one-hot)."""
        obs = np.array(self.core.observe(), dtype=np.float32).reshape(-1)  # a fresh copy
        return self.core.timeline.with_layer_one_hot(obs, self.core.position)

    # ------------------------------------------------------------------ API
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, NDArray[np.float32]], dict[str, dict[str, Any]]]:
        if seed is None and self._first_seed is not None:
            seed = self._first_seed
        self._first_seed = None
        if seed is not None or self._np_random is None:
            self._np_random, _ = seeding.np_random(seed)
        day = resolve_day(options, self._day, self._day_sampler, self.np_random)
        self.core.reset(day, episode_rng(self.np_random))
        self.agents = list(self.possible_agents)
        self._stage = 0
        self._raw = np.full(self.core.action_dim, np.nan)
        self._decided = self.core.idle_action()
        obs = {name: self._observe(name) for name in self.agents}
        infos: dict[str, dict[str, Any]] = {}
        for name in self.agents:
            info = self.core.reset_info()
            info["idle_action"] = info["idle_action"][self._idx[name]]
            info["stage"] = self._stage
            infos[name] = self._own_box(info, name)
        return obs, infos

    def step(
        self, actions: Mapping[str, ArrayLike]
    ) -> tuple[
        dict[str, NDArray[np.float32]],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        if not self.agents:
            raise RefereeStateError("the day is over (no live agents); call reset()")
        unknown = sorted(set(actions) - set(self.possible_agents))
        if unknown:
            raise RoleError(
                f"actions for unknown agents {unknown}; agents: {', '.join(self.possible_agents)}"
            )
        acting = [n for n in self.agents if self._stage_of[n] == self._stage]
        for name in acting:
            if name not in actions:
                raise RoleError(f"no action for agent {name!r} (stage {self._stage})")
            idx = self._idx[name]
            a = as_float_array(actions[name], f"action of agent {name!r}")
            if a.size != idx.size:
                raise ProjectionError(
                    f"agent {name!r}: action has {a.size} entries; it controls {idx.size}"
                )
            self._raw[idx] = a.reshape(-1)

        if self._stage < self._n_stages - 1:
            decided = np.concatenate([self._idx[n] for n in acting])
            self._decided[decided] = self.core.preview(self._raw, decided)
            spec, k = self.core.timeline.position(self.core.position)
            self._stage += 1
            obs = {name: self._observe(name) for name in self.agents}
            base = self.core.position_info(spec.layer, k, spec.time_h(k), spec.step_hours)
            base["next_layer"], base["next_step"] = spec.layer.value, k  # the next stage's step
            base.update(self.core.next_boxes())
            infos = {
                name: self._own_box({**base, "stage": self._stage - 1, "kpi": False}, name)
                for name in self.agents
            }
            zeros = dict.fromkeys(self.agents, 0.0)
            flags = dict.fromkeys(self.agents, False)
            return obs, zeros, flags, dict(flags), infos

        raw = self._raw
        record = self.core.step(raw)
        last_stage = self._stage
        self._stage = 0
        self._raw = np.full(self.core.action_dim, np.nan)
        self._decided = self.core.idle_action()
        live = list(self.agents)
        obs = {name: self._observe(name) for name in live}
        split = record.agent_rewards
        if split is None:
            split = self.core.split_reward(record)
        if split is None:
            rewards = dict.fromkeys(live, record.reward)
        else:
            missing = [n for n in live if n not in split]
            if missing:
                raise RefereeError(f"the agent rewards lack agents {missing}")
            rewards = {n: float(split[n]) for n in live}
        infos: dict[str, dict[str, Any]] = {}
        for name in live:
            info = self.core.step_info(record)
            info["stage"] = last_stage
            info["kpi"] = True
            idx = self._idx[name]
            info["agent_projection"] = measure_projection(
                raw[idx], record.applied[idx], mask=self.core.mask(record.layer)[idx]
            ).to_info()
            infos[name] = self._own_box(info, name)
        terminated = dict.fromkeys(live, bool(record.done))
        truncated = dict.fromkeys(live, False)
        if record.done:
            self.agents = []
        return obs, rewards, terminated, truncated, infos

    def _own_box(self, info: dict[str, Any], name: str) -> dict[str, Any]:
        """``info`` with the next step's boxes (``next_action_low``/``_high``,
        ``next_penalty_free_low``/``_high``) cut to agent ``name``'s entries."""
        idx = self._idx[name]
        for key in NEXT_BOX_KEYS:
            if info.get(key) is not None:
                info[key] = info[key][idx]
        return info

    def render(self) -> None:
        return None

    def close(self) -> None:
        return None
