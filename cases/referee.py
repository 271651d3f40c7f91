"""The referee: machinery shared by every case environment (no case physics lives here).

A case writes one :class:`DispatchCore` — its day's data, its device state and its physics —
and gets two front-ends over that same core, hence the same physics and the same KPIs:

* :class:`RefereeEnv`, a ``gymnasium.Env`` (one controller for all devices);
* :class:`ParallelRefereeEnv`, a ``pettingzoo.ParallelEnv`` (one controller per agent, each
  owning a slice of the core's setpoint vector; optionally in sequential stages for
  leader–follower / Stackelberg games).

Both run the core along a :class:`Timeline` of one or two :class:`Layer` s: single-layer cases
have only the ``intraday`` (executed, real-time) layer; two-layer cases first step through a
``day_ahead`` planning layer (e.g. 24 hourly steps, or one step planning the whole day), then
through the ``intraday`` layer at a finer step (e.g. 96 × 15 min) in which the core uses the
day-ahead plan as ``tie_line_ref_mw`` / SOC reference.

Action convention (both front-ends)
-----------------------------------
The action is one flat ``Box`` of setpoints in **physical units** (MW, Mvar; ``p > 0`` injects
into the grid), ``float32``. A two-layer core lays out the setpoints of *all* layers in one
vector and declares per layer which entries are *active* (:meth:`DispatchCore.active_mask`);
the action space is the union box (per entry, the bounds of the layers where it is active).
Inactive entries of the current layer are **ignored**: not projected, not reported, passed to
the physics at their idle value (0 wherever 0 is feasible, see
:meth:`DispatchCore.idle_action`). A ``Dict`` action space keyed by layer would be more
explicit but Stable-Baselines3 trains on ``Box`` actions only (and needs one fixed shape),
hence the union box; the current layer is part of the observation (a one-hot appended by the
front-end when the timeline has more than one layer) so that a policy knows which entries
matter. Physical units mean
Gymnasium's checker recommends normalizing: RL methods wrap the env with
``gymnasium.wrappers.RescaleAction``; solvers and the ``schedule`` output keep MW.

Every action is projected (:mod:`gridbench.cases.projection`): first onto the static box of the
layer intersected with the core's state-dependent :meth:`DispatchCore.step_bounds` (NaN → the
idle setpoint, ±inf → the bound), then through the core's coupled-limit hook
:meth:`DispatchCore.project_coupled`; the physics may clamp further and say so. The report in
``info["projection"]`` is measured between what the agent sent and what the physics executed.

Step ``info`` = the KPI schema (:mod:`gridbench.cases.kpi`) + ``projection``, ``layer``,
``step`` (index within the layer), ``time_h`` (start of the step, hours after midnight),
``step_hours``, ``day`` (ISO date) and ``reward_terms``. The reset ``info`` holds ``layer``,
``step``, ``time_h``, ``step_hours``, ``day``, ``soc`` (initial SOC per storage, from
:meth:`DispatchCore.state_of_charge`) and ``idle_action`` (the setpoints that leave every
device idle, i.e. 0 projected onto the action box; the ``idle`` baseline plays it).

Episodes are one day. The last step of the last layer sets ``terminated=True`` (the day is the
whole task; cores put the time of day in the observation so the end is predictable);
``truncated`` is always ``False``.
"""

from __future__ import annotations

import datetime
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from numpy.typing import ArrayLike, NDArray
from pettingzoo import ParallelEnv

from gridbench.cases.kpi import StepKPI
from gridbench.cases.projection import (
    DEFAULT_TOL,
    ProjectionError,
    ProjectionReport,
    _fast_box_projection,
    measure_projection,
    project_onto_box,
)

__all__ = [
    "AgentRole",
    "CoreStep",
    "DayError",
    "DaySampler",
    "DispatchCore",
    "Layer",
    "LayerSpec",
    "ParallelRefereeEnv",
    "RefereeEnv",
    "RefereeError",
    "RefereeStateError",
    "RoleError",
    "StepOutcome",
    "Timeline",
    "TimelineError",
    "coerce_day",
]

FloatArray = NDArray[np.float64]
Bounds = tuple[FloatArray, FloatArray]
#: Picks the day of an episode when none is given: ``sampler(rng) -> date`` (the case passes
#: one drawing from its ``train`` split, using the environment's seeded generator).
DaySampler = Callable[[np.random.Generator], datetime.date]

_HORIZON_TOL: Final[float] = 1e-9


class RefereeError(ValueError):
    """A mis-declared timeline, role mapping, day or core (a case bug or a bad argument)."""


class TimelineError(RefereeError):
    """An invalid :class:`LayerSpec` or :class:`Timeline`."""


class RoleError(RefereeError):
    """Agent roles that do not partition the setpoint vector, or bad per-agent actions."""


class DayError(RefereeError):
    """A day that is not a date, or no day when the environment has no sampler."""


class RefereeStateError(RuntimeError):
    """A core or environment used out of order (step before reset, step after the day ended)."""


class Layer(StrEnum):
    """Decision layers of a day, in execution order.

    ``day_ahead``: planning layer (commitments, schedules) run before the day;
    ``intraday``: the executed, real-time layer (the only layer of single-layer cases).
    """

    DAY_AHEAD = "day_ahead"
    INTRADAY = "intraday"


_LAYER_ORDER: Final[dict[Layer, int]] = {layer: i for i, layer in enumerate(Layer)}


def _coerce_layer(value: object) -> Layer:
    try:
        return Layer(value)
    except ValueError:
        raise TimelineError(
            f"unknown layer {value!r}; valid: {', '.join(layer.value for layer in Layer)}"
        ) from None


@dataclass(frozen=True, slots=True)
class LayerSpec:
    """One layer of the day: ``n_steps`` steps of ``step_hours`` hours each."""

    layer: Layer
    n_steps: int
    step_hours: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "layer", _coerce_layer(self.layer))
        if isinstance(self.n_steps, bool) or not isinstance(self.n_steps, int) or self.n_steps < 1:
            raise TimelineError(f"n_steps must be an int >= 1, got {self.n_steps!r}")
        if not (isinstance(self.step_hours, int | float) and math.isfinite(self.step_hours)):
            raise TimelineError(f"step_hours must be a finite number, got {self.step_hours!r}")
        if self.step_hours <= 0:
            raise TimelineError(f"step_hours must be > 0, got {self.step_hours!r}")
        object.__setattr__(self, "step_hours", float(self.step_hours))

    @property
    def horizon_h(self) -> float:
        """Hours covered by the layer: ``n_steps · step_hours``."""
        return self.n_steps * self.step_hours

    def time_h(self, step: int) -> float:
        """Start of ``step`` in hours after midnight: ``step · step_hours``."""
        return step * self.step_hours

    def step_at(self, time_h: float) -> int:
        """Index of the step of this layer that covers ``time_h`` (clamped to the layer):
        ``⌊time_h / step_hours⌋``; maps an intraday time onto its day-ahead hour."""
        k = math.floor(time_h / self.step_hours + _HORIZON_TOL)
        return min(max(k, 0), self.n_steps - 1)


@dataclass(frozen=True, slots=True)
class Timeline:
    """The layers of a day in execution order (``day_ahead`` before ``intraday``).

    Every layer covers the same horizon (the day, e.g. 24 × 1 h and 96 × 0.25 h, or one
    planning step of 24 h). The last layer is the *executed* one: its steps run the physics
    whose trajectories (SOC, tie line, voltages) the harness scores; the steps of earlier
    layers are planning steps whose KPI records hold what the plan commits (e.g. a day-ahead
    energy purchase) and no physical violations.
    """

    layers: tuple[LayerSpec, ...]
    _positions: tuple[tuple[LayerSpec, int], ...] = field(
        init=False, repr=False, compare=False, default=()
    )

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        if not layers:
            raise TimelineError("a timeline needs at least one layer")
        if not all(isinstance(spec, LayerSpec) for spec in layers):
            raise TimelineError("timeline layers must be LayerSpec objects")
        order = [_LAYER_ORDER[spec.layer] for spec in layers]
        if order != sorted(set(order)):
            names = [spec.layer.value for spec in layers]
            raise TimelineError(
                f"layers {names} are repeated or out of order; valid order: "
                f"{', '.join(layer.value for layer in Layer)}"
            )
        horizon = layers[0].horizon_h
        for spec in layers[1:]:
            if abs(spec.horizon_h - horizon) > _HORIZON_TOL * max(1.0, horizon):
                raise TimelineError(
                    f"layer {spec.layer.value} covers {spec.horizon_h} h but "
                    f"{layers[0].layer.value} covers {horizon} h; all layers must cover the day"
                )
        object.__setattr__(self, "layers", layers)
        positions = tuple((spec, k) for spec in layers for k in range(spec.n_steps))
        object.__setattr__(self, "_positions", positions)

    @classmethod
    def single(cls, n_steps: int, step_hours: float) -> Timeline:
        """One executed (``intraday``) layer, e.g. ``Timeline.single(96, 0.25)``."""
        return cls((LayerSpec(Layer.INTRADAY, n_steps, step_hours),))

    @classmethod
    def two_layer(
        cls,
        day_ahead: tuple[int, float] = (24, 1.0),
        intraday: tuple[int, float] = (96, 0.25),
    ) -> Timeline:
        """A ``day_ahead`` layer ``(n_steps, step_hours)`` followed by an ``intraday`` one."""
        return cls(
            (
                LayerSpec(Layer.DAY_AHEAD, *day_ahead),
                LayerSpec(Layer.INTRADAY, *intraday),
            )
        )

    def __iter__(self) -> Iterator[LayerSpec]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def executed(self) -> LayerSpec:
        """The last layer, whose steps run the physics."""
        return self.layers[-1]

    @property
    def total_steps(self) -> int:
        """Environment steps in one day: Σ ``n_steps`` over layers."""
        return len(self._positions)

    def spec(self, layer: Layer | str) -> LayerSpec:
        """The :class:`LayerSpec` of ``layer``."""
        want = _coerce_layer(layer)
        for spec in self.layers:
            if spec.layer is want:
                return spec
        raise TimelineError(
            f"layer {want.value!r} is not in this timeline; valid: "
            f"{', '.join(s.layer.value for s in self.layers)}"
        )

    def index(self, layer: Layer | str) -> int:
        """Position of ``layer`` in the timeline."""
        return self.layers.index(self.spec(layer))

    def position(self, t: int) -> tuple[LayerSpec, int]:
        """``(layer spec, step within the layer)`` of global step ``t`` (0-based; clamped to
        the last step for ``t >= total_steps``)."""
        return self._positions[min(max(t, 0), len(self._positions) - 1)]

    def layer_one_hot(self, layer: Layer) -> NDArray[np.float32]:
        """One-hot of ``layer`` over this timeline's layers (length ``len(self)``)."""
        out = np.zeros(len(self.layers), dtype=np.float32)
        out[self.index(layer)] = 1.0
        return out


def coerce_day(day: object) -> datetime.date:
    """A ``datetime.date`` from a date, a datetime (its date) or an ISO ``YYYY-MM-DD`` string."""
    if isinstance(day, datetime.datetime):
        return day.date()
    if isinstance(day, datetime.date):
        return day
    if isinstance(day, str):
        try:
            return datetime.date.fromisoformat(day)
        except ValueError:
            pass
    raise DayError(f"day must be a datetime.date or an ISO date 'YYYY-MM-DD', got {day!r}")


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What a core's physics returns for one step (see :meth:`DispatchCore.simulate`).

    Attributes:
        kpi: the step's KPI terms.
        reward: scalar reward (usually ``−`` the step's cost, plus any shaping the paper uses).
        reward_terms: named parts of ``reward`` (reported in ``info["reward_terms"]``).
        applied: setpoints the physics actually executed when it had to clamp beyond the
            projection it was given (``None``: exactly the given setpoints).
        agent_rewards: per-agent rewards for multi-agent cases (``None``: every agent gets
            ``reward``, a cooperative game).
    """

    kpi: StepKPI
    reward: float
    reward_terms: Mapping[str, float] = field(default_factory=dict)
    applied: FloatArray | None = None
    agent_rewards: Mapping[str, float] | None = None


@dataclass(frozen=True, slots=True)
class CoreStep:
    """Record of one executed core step (what the front-ends turn into ``info``)."""

    layer: Layer
    step: int
    time_h: float
    step_hours: float
    kpi: StepKPI
    reward: float
    reward_terms: Mapping[str, float]
    agent_rewards: Mapping[str, float] | None
    applied: FloatArray
    projection: ProjectionReport
    done: bool


@dataclass(frozen=True, slots=True)
class AgentRole:
    """An agent of a multi-agent case: its name, the entries of the core's setpoint vector it
    controls (a ``slice`` or a sequence of indices) and its ``stage`` (0 moves first; with
    ``sequential_stages`` the agents of stage ``k`` observe the setpoints decided in stages
    ``< k`` before acting — a leader at stage 0 and its followers at stage 1)."""

    name: str
    indices: slice | tuple[int, ...]
    stage: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise RoleError(f"agent name must be a non-empty str, got {self.name!r}")
        if not isinstance(self.indices, slice):
            try:
                object.__setattr__(self, "indices", tuple(int(i) for i in self.indices))
            except TypeError:
                raise RoleError(
                    f"agent {self.name!r}: indices must be a slice or a sequence of ints, "
                    f"got {self.indices!r}"
                ) from None
        if isinstance(self.stage, bool) or not isinstance(self.stage, int) or self.stage < 0:
            raise RoleError(f"agent {self.name!r}: stage must be an int >= 0, got {self.stage!r}")

    def resolve(self, action_dim: int) -> NDArray[np.intp]:
        """The agent's setpoint indices as a sorted index array."""
        if isinstance(self.indices, slice):
            idx = np.arange(action_dim)[self.indices]
        else:
            idx = np.asarray(self.indices, dtype=np.intp)
            if idx.size and (idx.min() < 0 or idx.max() >= action_dim):
                raise RoleError(
                    f"agent {self.name!r}: indices {list(self.indices)} outside 0..{action_dim - 1}"
                )
        if idx.size == 0:
            raise RoleError(f"agent {self.name!r} controls no setpoint")
        if np.unique(idx).size != idx.size:
            raise RoleError(f"agent {self.name!r}: repeated indices {list(idx)}")
        return np.sort(idx)


def _as_bounds(name: str, bounds: tuple[ArrayLike, ArrayLike], size: int) -> Bounds:
    low, high = bounds[0], bounds[1]
    # per-step hot path: float64 vectors of the right size need no conversion
    if not (
        type(low) is np.ndarray
        and type(high) is np.ndarray
        and low.dtype == high.dtype == np.float64
        and low.shape == high.shape == (size,)
    ):
        low = np.asarray(low, dtype=np.float64).reshape(-1)
        high = np.asarray(high, dtype=np.float64).reshape(-1)
        if low.shape != (size,) or high.shape != (size,):
            raise RefereeError(
                f"{name} must return two arrays of {size} entries, got {low.size} and {high.size}"
            )
    if not _ordered(low, high):
        raise RefereeError(f"{name} must return low <= high without NaN")
    return low, high


def _ordered(low: FloatArray, high: FloatArray) -> bool:
    """``(low <= high).all()`` (False where a bound is NaN); in floats for short vectors,
    where numpy's per-call overhead dominates."""
    if low.size > 32:
        return bool(np.less_equal(low, high).all())
    for lo, hi in zip(low.tolist(), high.tolist(), strict=True):
        if not lo <= hi:
            return False
    return True


def _finite_bounds(name: str, bounds: tuple[ArrayLike, ArrayLike]) -> Bounds:
    size = np.asarray(bounds[0]).size
    low, high = _as_bounds(name, bounds, size)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise RefereeError(f"{name} must be finite (observation spaces are bounded boxes)")
    return low, high


class DispatchCore(ABC):
    """Physics core of a case: one day's data, the device state and the step physics.

    A case implements the abstract methods; this base keeps the clock along the
    :class:`Timeline`, the episode record and the projection, so that every case projects and
    reports actions the same way.

    To implement:
        * :meth:`action_bounds` — static box of the setpoints per layer (physical units);
        * :meth:`observation_bounds` — finite static bounds of :meth:`observe`;
        * :meth:`load_day` — load the day's data and the initial device state;
        * :meth:`observe` — the observation at the current position (past + forecasts only);
        * :meth:`simulate` — the physics of one step with already projected setpoints.

    May override: :meth:`active_mask`, :meth:`step_bounds` (state-dependent limits, e.g.
    :func:`~gridbench.cases.projection.storage_power_bounds`), :meth:`project_coupled`
    (e.g. :func:`~gridbench.cases.projection.project_onto_disc`), :meth:`on_layer_start`
    (turn the day-ahead plan into references), :meth:`idle_action`, the multi-agent hooks
    :meth:`agent_roles`, :meth:`agent_observation`, :meth:`agent_observation_bounds`, and the
    schedule export hooks :meth:`schedule_rows`, :meth:`schedule_parameters`
    (``gridbench schedule``).

    Clock: during a day, :attr:`layer`, :attr:`step_index` and :attr:`time_h` describe the step
    about to be taken; after the last step :attr:`done` is True and they stay on the last step
    (so :meth:`observe` works for the terminal observation).
    """

    def __init__(self, timeline: Timeline, action_dim: int) -> None:
        if not isinstance(timeline, Timeline):
            raise RefereeError(f"timeline must be a Timeline, got {type(timeline).__name__}")
        if isinstance(action_dim, bool) or not isinstance(action_dim, int) or action_dim < 1:
            raise RefereeError(f"action_dim must be an int >= 1, got {action_dim!r}")
        self._timeline = timeline
        self._action_dim = action_dim
        self._day: datetime.date | None = None
        self._rng: np.random.Generator | None = None
        self._t = 0
        self._history: dict[Layer, list[CoreStep]] = {}
        self._cache: dict[Any, Any] = {}
        self._day_iso: tuple[datetime.date | None, str] = (None, "")  # (day, its ISO string)

    # ------------------------------------------------------------------ to implement
    @abstractmethod
    def action_bounds(self, layer: Layer) -> tuple[ArrayLike, ArrayLike]:
        """Static ``(low, high)`` of all ``action_dim`` setpoints in ``layer`` (only the
        active entries matter), physical units; finite, the same every day."""

    @abstractmethod
    def observation_bounds(self) -> tuple[ArrayLike, ArrayLike]:
        """Finite static ``(low, high)`` of :meth:`observe`."""

    @abstractmethod
    def load_day(self, day: datetime.date, rng: np.random.Generator) -> None:
        """Load ``day``'s data and set the initial device state.

        ``rng`` is the episode's generator (derived from the environment seed) for training
        randomization; forecast errors are seeded from the day itself (DESIGN §7) so that every
        method sees the same forecasts on a given day.
        """

    @abstractmethod
    def observe(self) -> ArrayLike:
        """Observation (flat, finite) for the decision at the current position."""

    @abstractmethod
    def simulate(self, setpoints: FloatArray) -> StepOutcome:
        """Simulate the current step with projected ``setpoints`` (inactive entries idle);
        advance the device state; return KPIs and reward."""

    # ------------------------------------------------------------------ overridable hooks
    def active_mask(self, layer: Layer) -> NDArray[np.bool_]:
        """Entries of the setpoint vector that ``layer`` uses (default: all)."""
        return np.ones(self._action_dim, dtype=bool)

    def step_bounds(self) -> tuple[ArrayLike, ArrayLike]:
        """State-dependent ``(low, high)`` at the current step (default: the static box of the
        current layer). Intersected with the static box before projecting."""
        return self.action_bounds(self.layer)

    def project_coupled(self, setpoints: FloatArray) -> FloatArray:
        """Project box-feasible setpoints onto coupled limits (default: none)."""
        return setpoints

    def on_layer_start(self, layer: Layer) -> None:
        """Called when ``layer`` begins (after :meth:`load_day` for the first layer). A two-layer
        core builds here its intraday references from :meth:`history` of ``day_ahead``."""
        return None

    def idle_action(self) -> FloatArray:
        """Setpoints that leave every device idle: 0 projected onto the union action box (the
        nearest bound where 0 lies outside, e.g. ``P_min`` of a must-run unit)."""
        if "idle" not in self._cache:
            low, high = self.union_action_bounds()
            self._cache["idle"] = np.clip(np.zeros(self._action_dim), low, high)
        return np.array(self._cache["idle"])

    def state_of_charge(self) -> FloatArray:
        """Current SOC of every storage (0–1), reported in the reset ``info["soc"]`` so that
        metrics know SOC(0); cores with storage override it (default: no storage)."""
        return np.zeros(0)

    def agent_roles(self) -> tuple[AgentRole, ...]:
        """Default agents of the multi-agent front-end (empty: single-agent case)."""
        return ()

    def agent_observation(self, agent: str) -> ArrayLike:
        """Observation of ``agent`` (default: the full observation)."""
        return self.observe()

    def split_reward(self, record: CoreStep) -> Mapping[str, float] | None:
        """Each agent's part of an executed step's reward, for the multi-agent front-end when
        ``simulate`` gave no ``agent_rewards`` (computed only there, so the single-agent path
        pays nothing). Default ``None``: every agent gets the shared reward."""
        return None

    def agent_observation_bounds(self, agent: str) -> tuple[ArrayLike, ArrayLike]:
        """Finite static bounds of :meth:`agent_observation` (default: the full ones)."""
        return self.observation_bounds()

    def schedule_rows(self, record: CoreStep) -> list[dict[str, Any]]:
        """Element rows of an executed step, for ``gridbench schedule`` (default: none, i.e.
        the case exports no schedule).

        One dict per grid element at ``record`` (a step of the executed layer, from
        :meth:`history`; called after the day, so the day's data are still loaded) with keys
        ``element`` (a name unique within the step), ``kind`` (``load``, ``pv``, ``wind``,
        ``storage``, ``gas_turbine``, ``thermal``, ``flexible_load``, ``ev`` or ``grid``),
        ``bus`` (numbered from 1 at the substation), ``p_mw`` and ``q_mvar`` (what the step
        executed; ``> 0`` injects into the grid, so loads are negative and the ``grid`` row
        is the substation's import) and optionally ``soc`` (storage SOC, 0–1, after the
        step). The rows must let a user re-run the power flow: ``−Σ p`` per bus over the
        non-``grid`` rows is the bus's net demand.
        """
        return []

    def schedule_parameters(self) -> dict[str, Any]:
        """Everything needed to recompute the day's cost from the :meth:`schedule_rows` and a
        power flow (prices, tariffs, device and market parameters, network data), JSON-ready,
        for the sidecar of ``gridbench schedule`` (default: empty). Called after the day."""
        return {}

    # ------------------------------------------------------------------ machinery
    @property
    def timeline(self) -> Timeline:
        return self._timeline

    @property
    def action_dim(self) -> int:
        return self._action_dim

    @property
    def day(self) -> datetime.date:
        """The day being simulated (after :meth:`reset`)."""
        if self._day is None:
            raise RefereeStateError("the core has no day yet; call reset(day, rng) first")
        return self._day

    @property
    def rng(self) -> np.random.Generator:
        """The episode's generator (after :meth:`reset`)."""
        if self._rng is None:
            raise RefereeStateError("the core has no generator yet; call reset(day, rng) first")
        return self._rng

    @property
    def position(self) -> int:
        """Global step counter of the day (0 … ``timeline.total_steps``)."""
        return self._t

    @property
    def done(self) -> bool:
        return self._t >= self._timeline.total_steps

    @property
    def layer_spec(self) -> LayerSpec:
        return self._timeline.position(self._t)[0]

    @property
    def layer(self) -> Layer:
        return self.layer_spec.layer

    @property
    def step_index(self) -> int:
        """Index of the current step within its layer."""
        return self._timeline.position(self._t)[1]

    @property
    def time_h(self) -> float:
        """Start of the current step, hours after midnight."""
        spec, k = self._timeline.position(self._t)
        return spec.time_h(k)

    def mask(self, layer: Layer) -> NDArray[np.bool_]:
        """Validated, cached :meth:`active_mask` of ``layer``."""
        key = ("mask", layer)
        if key not in self._cache:
            m = np.asarray(self.active_mask(layer), dtype=bool).reshape(-1)
            if m.shape != (self._action_dim,):
                raise RefereeError(
                    f"active_mask({layer.value}) has {m.size} entries; action_dim is "
                    f"{self._action_dim}"
                )
            if not m.any():
                raise RefereeError(f"layer {layer.value} has no active setpoint")
            m.setflags(write=False)
            self._cache[key] = m
        return self._cache[key]

    def _all_active(self, layer: Layer) -> bool:
        key = ("all", layer)
        if key not in self._cache:
            self._cache[key] = bool(self.mask(layer).all())
        return self._cache[key]

    def layer_action_bounds(self, layer: Layer) -> Bounds:
        """Validated, cached static box of ``layer``."""
        key = ("bounds", layer)
        if key not in self._cache:
            low, high = _as_bounds(
                f"action_bounds({layer.value})", self.action_bounds(layer), self._action_dim
            )
            m = self.mask(layer)
            if not (np.isfinite(low[m]).all() and np.isfinite(high[m]).all()):
                raise RefereeError(f"action_bounds({layer.value}) must be finite")
            self._cache[key] = (low, high)
        return self._cache[key]

    def union_action_bounds(self) -> Bounds:
        """Per entry, the widest bounds over the layers where the entry is active: the box of
        the front-ends' action space."""
        if "union" not in self._cache:
            low = np.full(self._action_dim, np.inf)
            high = np.full(self._action_dim, -np.inf)
            for spec in self._timeline:
                m = self.mask(spec.layer)
                lo, hi = self.layer_action_bounds(spec.layer)
                low[m] = np.minimum(low[m], lo[m])
                high[m] = np.maximum(high[m], hi[m])
            dead = np.flatnonzero(~np.isfinite(low))
            if dead.size:
                raise RefereeError(f"setpoints {list(dead)} are active in no layer")
            self._cache["union"] = (low, high)
        low, high = self._cache["union"]
        return low.copy(), high.copy()

    def observation_box(self) -> Bounds:
        """Validated :meth:`observation_bounds` (finite)."""
        if "obs" not in self._cache:
            self._cache["obs"] = _finite_bounds("observation_bounds()", self.observation_bounds())
        return self._cache["obs"]

    def current_bounds(self) -> Bounds:
        """Box of the current step: :meth:`step_bounds` ∩ static box of the current layer."""
        s_low, s_high = self.layer_action_bounds(self._timeline.position(self._t)[0].layer)
        low, high = _as_bounds("step_bounds()", self.step_bounds(), self._action_dim)
        return np.maximum(low, s_low), np.minimum(high, s_high)

    def reset(self, day: datetime.date, rng: np.random.Generator) -> None:
        """Start ``day``: load data and state, rewind the clock, clear the record."""
        self._day = coerce_day(day)
        self._rng = rng
        self._t = 0
        self._history = {spec.layer: [] for spec in self._timeline}
        self.load_day(self._day, rng)
        self.on_layer_start(self.layer)

    def preview(self, setpoints: ArrayLike, entries: NDArray[np.intp]) -> FloatArray:
        """Box projection (current step) of ``setpoints`` at ``entries`` only, without
        stepping: what a leader's decision will be executed as, shown to its followers
        (entries inactive in the current layer show their idle value)."""
        low, high = self.current_bounds()
        raw = np.asarray(setpoints, dtype=np.float64).reshape(-1)
        idle = self.idle_action()
        active = entries[self.mask(self.layer)[entries]]
        idle[active], _ = project_onto_box(raw[active], low[active], high[active], idle[active])
        return idle[entries]

    def step(self, setpoints: ArrayLike, layer: Layer | str | None = None) -> CoreStep:
        """Project ``setpoints``, simulate the current step, advance the clock.

        ``layer`` (optional) asserts which layer the setpoints are meant for; a mismatch is a
        :class:`RefereeStateError`. Values never raise (NaN, ±inf are projected); a wrong number
        of entries raises :class:`~gridbench.cases.projection.ProjectionError`.
        """
        if self._day is None:
            raise RefereeStateError("call reset(day, rng) before step()")
        if self.done:
            raise RefereeStateError(f"the day {self._day.isoformat()} is over; call reset()")
        spec, k = self._timeline.position(self._t)
        if layer is not None and _coerce_layer(layer) is not spec.layer:
            raise RefereeStateError(
                f"setpoints for layer {Layer(layer).value} but the core is in {spec.layer.value}"
            )
        raw = _as_float_array(setpoints, "action")
        if raw.size != self._action_dim:
            raise ProjectionError(
                f"action has {raw.size} entries (shape {raw.shape}); the core expects "
                f"{self._action_dim}"
            )
        raw = raw.reshape(self._action_dim)
        m = self.mask(spec.layer)
        all_active = self._all_active(spec.layer)
        low, high = self.current_bounds()
        box_report: ProjectionReport | None = None
        if all_active:  # single-layer cores: no masking copies on the hot path
            # current_bounds() validated low <= high: the fast path skips that check
            fast = _fast_box_projection(raw, low, high, DEFAULT_TOL, ordered=True)
            if fast is None:
                fast = project_onto_box(raw, low, high, self.idle_action())
            boxed, box_report = fast
        else:
            idle = self.idle_action()
            boxed = idle.copy()
            boxed[m], _ = project_onto_box(raw[m], low[m], high[m], idle[m])
        # without a coupled-limit hook, ``boxed`` (a fresh array nobody else holds) is what the
        # physics executes, and the box projection's report is the raw → applied report
        plain = all_active and type(self).project_coupled is DispatchCore.project_coupled
        if plain:
            applied = boxed
        else:
            applied = np.asarray(self.project_coupled(boxed), dtype=np.float64).reshape(-1)
            if applied.shape != (self._action_dim,):
                raise RefereeError(f"project_coupled returned {applied.size} entries")
        outcome = self.simulate(applied.copy())
        if not isinstance(outcome, StepOutcome) or not isinstance(outcome.kpi, StepKPI):
            raise RefereeError(
                "simulate() must return a StepOutcome holding a StepKPI, got "
                f"{type(outcome).__name__}"
            )
        if outcome.applied is not None:
            plain = False
            applied = np.asarray(outcome.applied, dtype=np.float64).reshape(-1)
            if applied.shape != (self._action_dim,):
                raise RefereeError(f"StepOutcome.applied has {applied.size} entries")
        if plain and box_report is not None and type(raw) is np.ndarray:
            # every entry active: np.where(m, applied, idle) would copy ``applied`` unchanged,
            # and measure_projection(raw, applied) would recompute ``box_report`` (same
            # arithmetic on the same arrays, see cases/projection.py)
            report = box_report
        else:
            applied = np.where(m, applied, self.idle_action())
            report = measure_projection(raw, applied, mask=None if all_active else m)
        applied.setflags(write=False)
        reward = float(outcome.reward)
        if not math.isfinite(reward):
            raise RefereeError(f"simulate() returned a non-finite reward {reward!r}")
        record = CoreStep(
            layer=spec.layer,
            step=k,
            time_h=spec.time_h(k),
            step_hours=spec.step_hours,
            kpi=outcome.kpi,
            reward=reward,
            reward_terms={str(n): float(v) for n, v in outcome.reward_terms.items()},
            agent_rewards=(
                None
                if outcome.agent_rewards is None
                else {str(n): float(v) for n, v in outcome.agent_rewards.items()}
            ),
            applied=applied,
            projection=report,
            done=self._t + 1 >= self._timeline.total_steps,
        )
        self._history[spec.layer].append(record)
        self._t += 1
        if not record.done:
            nxt = self._timeline.position(self._t)[0].layer
            if nxt is not spec.layer:
                self.on_layer_start(nxt)
        return record

    def history(self, layer: Layer | str) -> tuple[CoreStep, ...]:
        """Steps of ``layer`` executed so far in this day."""
        return tuple(self._history.get(_coerce_layer(layer), ()))

    def applied_setpoints(self, layer: Layer | str) -> FloatArray:
        """Executed setpoints of ``layer`` so far, shape ``(steps done, action_dim)``."""
        rows = [cs.applied for cs in self.history(layer)]
        return np.array(rows).reshape(len(rows), self._action_dim)

    def position_info(
        self, layer: Layer, step: int, time_h: float, step_hours: float
    ) -> dict[str, Any]:
        """Fresh ``info`` entries locating a step: layer, step, time_h, step_hours, day."""
        day = self.day
        if self._day_iso[0] is not day:
            self._day_iso = (day, day.isoformat())
        return {
            "layer": layer.value,
            "step": int(step),
            "time_h": float(time_h),
            "step_hours": float(step_hours),
            "day": self._day_iso[1],
        }

    def reset_info(self) -> dict[str, Any]:
        """Fresh reset ``info``: position, day, ``idle_action`` and the initial ``soc``."""
        spec, k = self._timeline.position(self._t)
        info = self.position_info(spec.layer, k, spec.time_h(k), spec.step_hours)
        info["idle_action"] = self.idle_action()
        info["soc"] = np.asarray(self.state_of_charge(), dtype=np.float64).copy()
        return info

    def step_info(self, record: CoreStep) -> dict[str, Any]:
        """Fresh step ``info`` of ``record``: KPI schema + referee keys + ``reward_terms``."""
        info = record.kpi.to_info()
        info["projection"] = record.projection.to_info()
        info.update(self.position_info(record.layer, record.step, record.time_h, record.step_hours))
        info["reward_terms"] = dict(record.reward_terms)
        return info


def _resolve_day(
    options: Mapping[str, Any] | None,
    fixed: datetime.date | None,
    sampler: DaySampler | None,
    rng: np.random.Generator,
) -> datetime.date:
    requested = (options or {}).get("day")
    if requested is not None:
        return coerce_day(requested)
    if fixed is not None:
        return fixed
    if sampler is None:
        raise DayError(
            "no day given: pass options={'day': date} to reset(), a day to the constructor, "
            "or a day_sampler"
        )
    return coerce_day(sampler(rng))


def _as_float_array(value: ArrayLike, what: str) -> FloatArray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ProjectionError(
            f"{what} must be numeric, got {type(value).__name__}: {value!r:.80}"
        ) from None


def _f32_box(low: FloatArray, high: FloatArray) -> spaces.Box:
    return spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)


def _episode_rng(rng: np.random.Generator) -> np.random.Generator:
    """The core's generator for one episode, drawn from the front-end's seeded generator."""
    return np.random.default_rng(int(rng.integers(0, 2**63 - 1)))


class RefereeEnv(gymnasium.Env[NDArray[np.float32], NDArray[np.float32]]):
    """Single-agent Gymnasium front-end over a :class:`DispatchCore`.

    Args:
        core: the case's physics core.
        day: fixed day of every episode unless ``reset(options={"day": …})`` says otherwise.
        day_sampler: draws the day when neither is given (the case's ``train`` days).
        seed: seed of the first ``reset()`` called without one.

    ``reset(seed=None, options={"day": date | "YYYY-MM-DD"})``; other option keys are ignored
    (Gymnasium's and PettingZoo's checkers pass arbitrary ones); ``info["day"]`` always says
    which day ran. Spaces: ``action_space`` = the core's union box (``float32``, physical
    units, see the module docstring); ``observation_space`` = the core's bounds plus, for a
    multi-layer timeline, a one-hot of the current layer.
    """

    metadata: dict[str, Any] = {"render_modes": [], "name": "gridbench-referee"}  # noqa: RUF012

    def __init__(
        self,
        core: DispatchCore,
        *,
        day: datetime.date | str | None = None,
        day_sampler: DaySampler | None = None,
        seed: int | None = None,
    ) -> None:
        if not isinstance(core, DispatchCore):
            raise RefereeError(f"core must be a DispatchCore, got {type(core).__name__}")
        self.core = core
        self._day = None if day is None else coerce_day(day)
        self._day_sampler = day_sampler
        self._first_seed = seed
        low, high = core.union_action_bounds()
        self.action_space = _f32_box(low, high)
        olo, ohi = core.observation_box()
        if len(core.timeline) > 1:
            n = len(core.timeline)
            olo, ohi = np.concatenate([olo, np.zeros(n)]), np.concatenate([ohi, np.ones(n)])
        self.observation_space = _f32_box(olo, ohi)

    @property
    def timeline(self) -> Timeline:
        return self.core.timeline

    def idle_action(self) -> NDArray[np.float32]:
        """The setpoints leaving every device idle (0 projected onto the action box)."""
        return self.core.idle_action().astype(np.float32)

    def _observe(self) -> NDArray[np.float32]:
        obs = np.array(self.core.observe(), dtype=np.float32).reshape(-1)  # a fresh copy
        if len(self.core.timeline) > 1:
            obs = np.concatenate([obs, self.core.timeline.layer_one_hot(self.core.layer)])
        return obs

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        if seed is None and self._first_seed is not None:
            seed = self._first_seed
        self._first_seed = None
        super().reset(seed=seed)
        day = _resolve_day(options, self._day, self._day_sampler, self.np_random)
        self.core.reset(day, _episode_rng(self.np_random))
        return self._observe(), self.core.reset_info()

    def step(
        self, action: ArrayLike
    ) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        record = self.core.step(action)
        return (
            self._observe(),
            record.reward,
            bool(record.done),
            False,
            self.core.step_info(record),
        )

    def render(self) -> None:
        """No rendering (``render_modes`` is empty); use ``gridbench schedule`` for plots."""
        return None


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
    ``info`` without KPIs (``layer``, ``step``, ``time_h``, ``step_hours``, ``day``, ``stage``,
    ``kpi=False``); the last stage returns the rewards and the KPI ``info`` (``kpi=True``).
    Every ``info`` carries ``stage``. Observations then end with a one-hot of the stage.
    An agent's reset ``info["idle_action"]`` is its own slice of the idle setpoints.

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
        self._idx: dict[str, NDArray[np.intp]] = {}
        owner = np.full(dim, -1)
        for i, role in enumerate(self._roles):
            if role.name in self._idx:
                raise RoleError(f"agent name {role.name!r} is declared twice")
            idx = role.resolve(dim)
            taken = idx[owner[idx] >= 0]
            if taken.size:
                other = self._roles[int(owner[taken[0]])].name
                raise RoleError(
                    f"agents {other!r} and {role.name!r} both control setpoint {int(taken[0])}"
                )
            owner[idx] = i
            self._idx[role.name] = idx
        free = np.flatnonzero(owner < 0)
        if free.size:
            raise RoleError(f"setpoints {list(free)} belong to no agent; roles must cover all")
        self.sequential_stages = bool(sequential_stages)
        stage_values = sorted({r.stage for r in self._roles}) if self.sequential_stages else [0]
        self._stage_of = {
            r.name: (stage_values.index(r.stage) if self.sequential_stages else 0)
            for r in self._roles
        }
        self._n_stages = len(stage_values)
        self._earlier: dict[str, NDArray[np.intp]] = {
            r.name: np.sort(
                np.concatenate(
                    [np.empty(0, np.intp)]
                    + [
                        self._idx[o.name]
                        for o in self._roles
                        if self._stage_of[o.name] < self._stage_of[r.name]
                    ]
                )
            ).astype(np.intp)
            for r in self._roles
        }
        self.possible_agents: list[str] = [r.name for r in self._roles]
        self.agents: list[str] = []
        self._day = None if day is None else coerce_day(day)
        self._day_sampler = day_sampler
        self._first_seed = seed
        self._np_random: np.random.Generator | None = None
        self._stage = 0
        self._raw = np.full(dim, np.nan)
        self._decided = core.idle_action()

        low, high = core.union_action_bounds()
        self._action_spaces = {
            name: _f32_box(low[idx], high[idx]) for name, idx in self._idx.items()
        }
        self._observation_spaces: dict[str, spaces.Box] = {}
        for name in self.possible_agents:
            olo, ohi = _finite_bounds(
                f"agent_observation_bounds({name!r})", core.agent_observation_bounds(name)
            )
            extra_lo, extra_hi = self._extra_bounds(name, low, high)
            self._observation_spaces[name] = _f32_box(
                np.concatenate([olo, extra_lo]), np.concatenate([ohi, extra_hi])
            )
        slo, shi = core.observation_box()
        n_layers = len(core.timeline)
        if n_layers > 1:
            slo, shi = (
                np.concatenate([slo, np.zeros(n_layers)]),
                np.concatenate([shi, np.ones(n_layers)]),
            )
        self.state_space = _f32_box(slo, shi)

    # ------------------------------------------------------------------ spaces
    def _extra_bounds(self, name: str, low: FloatArray, high: FloatArray) -> Bounds:
        parts_lo: list[FloatArray] = []
        parts_hi: list[FloatArray] = []
        if self.sequential_stages:
            e = self._earlier[name]
            parts_lo.append(low[e])
            parts_hi.append(high[e])
            if self._n_stages > 1:
                parts_lo.append(np.zeros(self._n_stages))
                parts_hi.append(np.ones(self._n_stages))
        n_layers = len(self.core.timeline)
        if n_layers > 1:
            parts_lo.append(np.zeros(n_layers))
            parts_hi.append(np.ones(n_layers))
        if not parts_lo:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(parts_lo), np.concatenate(parts_hi)

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
        if len(self.core.timeline) > 1:
            parts.append(self.core.timeline.layer_one_hot(self.core.layer))
        return np.concatenate(parts).astype(np.float32, copy=False)

    def state(self) -> NDArray[np.float32]:
        """Global state for centralized critics: the core's full observation (‖ layer one-hot)."""
        obs = np.asarray(self.core.observe(), dtype=np.float32).reshape(-1)
        if len(self.core.timeline) > 1:
            obs = np.concatenate([obs, self.core.timeline.layer_one_hot(self.core.layer)])
        return obs.copy()

    # ------------------------------------------------------------------ API
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, NDArray[np.float32]], dict[str, dict[str, Any]]]:
        if seed is None and self._first_seed is not None:
            seed = self._first_seed
        self._first_seed = None
        if seed is not None or self._np_random is None:
            self._np_random, _ = seeding.np_random(seed)
        day = _resolve_day(options, self._day, self._day_sampler, self.np_random)
        self.core.reset(day, _episode_rng(self.np_random))
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
            infos[name] = info
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
            a = _as_float_array(actions[name], f"action of agent {name!r}")
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
            infos = {name: {**base, "stage": self._stage - 1, "kpi": False} for name in self.agents}
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
            infos[name] = info
        terminated = dict.fromkeys(live, bool(record.done))
        truncated = dict.fromkeys(live, False)
        if record.done:
            self.agents = []
        return obs, rewards, terminated, truncated, infos

    def render(self) -> None:
        return None

    def close(self) -> None:
        return None
