"""The physics core every case implements (:class:`DispatchCore`): the case's hooks, and the
machinery shared by every case — the clock along the :class:`Timeline`, the projection of
every action, the episode record and the ``info`` it turns into."""

from __future__ import annotations

import datetime
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridbench.cases.kpi import DEFAULT_ACTION_KEY, NEXT_BOX_KEYS, StepKPI
from gridbench.cases.projection import (
    DEFAULT_TOL,
    ProjectionError,
    ProjectionReport,
    fast_box_projection,
    measure_projection,
    project_onto_box,
)
from gridbench.cases.referee.boxes import Bounds, FloatArray, checked_bounds, finite_bounds
from gridbench.cases.referee.episode import coerce_day
from gridbench.cases.referee.errors import RefereeError, RefereeStateError
from gridbench.cases.referee.records import AgentRole, CoreStep, StepOutcome
from gridbench.cases.referee.timeline import Layer, LayerSpec, Timeline, coerce_layer

__all__ = ["DispatchCore", "as_float_array"]


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
    :meth:`agent_roles`, :meth:`agent_observation`, :meth:`agent_observation_bounds`, the
    learned agents' optional :meth:`observation_context` with its
    :meth:`observation_context_bounds`, and the schedule export hooks :meth:`schedule_rows`,
    :meth:`schedule_parameters` (``gridbench schedule``).

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
        # the boxes of the step about to be played, computed once per step: (resets, t) → the
        # feasible box and the penalty-free one (next_boxes and the next step's projection)
        self._resets = 0
        self._boxes_at: tuple[tuple[int, int], Bounds, Bounds | None] | None = None
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

    def step_boxes(self) -> tuple[tuple[ArrayLike, ArrayLike],
                                  tuple[ArrayLike, ArrayLike] | None]:
        """:meth:`step_bounds` and :meth:`penalty_free_step_bounds` of the current state
        together (the referee asks for both once per step); a case computing both in one pass
        overrides this."""
        return self.step_bounds(), self.penalty_free_step_bounds()

    def penalty_free_step_bounds(self) -> tuple[ArrayLike, ArrayLike] | None:
        """The part of :meth:`step_bounds` that the reward does not penalize either, where the
        case has *soft* device limits (e.g. SES-carbon's SOC window 0.2–0.8, a penalty beyond
        it, inside the hard 0–1 that :meth:`step_bounds` enforces); ``None`` (the default)
        where it has none, so the two boxes coincide. It must lie inside :meth:`step_bounds`
        wherever the state allows (an SOC already outside its window allows only moves back
        into it, or idling)."""
        return None

    def project_coupled(self, setpoints: FloatArray) -> FloatArray:
        """Project box-feasible setpoints onto coupled limits (default: none)."""
        return setpoints

    def observation_context(self) -> ArrayLike | None:
        """Entries beside :meth:`observe` that the referee reports for the step about to be
        played as ``info["next_context"]`` (``None`` once the day is over), for an agent that
        chooses to see them (``rl_agents``' ``env.obs_context``), e.g. the day-ahead plan a
        two-layer case's execution is settled against. ``None`` (the default): the case has
        none. Within :meth:`observation_context_bounds`."""
        return None

    def default_setpoints(self) -> ArrayLike | None:
        """The setpoints of the case's default (non-optimizing) operation for the step about
        to be played, where idling is not what an operator would do (ramp-limited generators,
        a plan to execute): e.g. SGLS, day-ahead, the thermal units follow the forecast net
        load pro rata to capacity and the rest idles; intraday, the plan is executed, the
        units taking up the forecast's deviation. Reported as ``info["next_default_action"]``
        (``None`` once the day is over), computed from what the observation and the day's
        plan already hold, and not projected (the step's box may cut it). ``None``: the case
        has no such operation (a core that does not override this hook reports no key at
        all)."""
        return None

    def observation_context_bounds(self) -> tuple[ArrayLike, ArrayLike] | None:
        """Finite static ``(low, high)`` of :meth:`observation_context` (``None``: no
        context)."""
        return None

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
            low, high = checked_bounds(
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
            self._cache["obs"] = finite_bounds("observation_bounds()", self.observation_bounds())
        return self._cache["obs"]

    def current_bounds(self) -> Bounds:
        """Box of the current step: :meth:`step_bounds` ∩ static box of the current layer
        (computed once per step with the penalty-free box, :meth:`_boxes`; do not modify)."""
        return self._boxes()[0]

    def _boxes(self) -> tuple[Bounds, Bounds | None]:
        """The current step's feasible box and its penalty-free box (``None``: the case has no
        soft limits), validated; cached until the clock moves or the day is reset (the state
        only changes in :meth:`step` and :meth:`reset`)."""
        key = (self._resets, self._t)
        cached = self._boxes_at
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        s_low, s_high = self.layer_action_bounds(self._timeline.position(self._t)[0].layer)
        hard, soft = self.step_boxes()
        low, high = checked_bounds("step_bounds()", hard, self._action_dim)
        low, high = np.maximum(low, s_low), np.minimum(high, s_high)
        free: Bounds | None = None
        if soft is not None:
            f_low, f_high = checked_bounds("penalty_free_step_bounds()", soft, self._action_dim)
            f_low = np.minimum(np.maximum(f_low, low), high)
            free = (f_low, np.minimum(np.maximum(f_high, f_low), high))
        self._boxes_at = (key, (low, high), free)
        return (low, high), free

    def next_boxes(self) -> dict[str, FloatArray]:
        """The boxes of the step about to be played, as the ``info`` keys that carry them:
        ``next_action_low``/``_high`` (:meth:`current_bounds`, what the referee executes without
        projecting) and ``next_penalty_free_low``/``_high`` (that box narrowed to
        :meth:`penalty_free_step_bounds`, clipped into it; the same arrays where the case has
        no soft limits)."""
        (low, high), free = self._boxes()
        free_low, free_high = (low, high) if free is None else free
        return {  # copies: an info is the caller's to keep and modify
            "next_action_low": low.copy(),
            "next_action_high": high.copy(),
            "next_penalty_free_low": free_low.copy(),
            "next_penalty_free_high": free_high.copy(),
        }

    def reset(self, day: datetime.date, rng: np.random.Generator) -> None:
        """Start ``day``: load data and state, rewind the clock, clear the record."""
        self._day = coerce_day(day)
        self._rng = rng
        self._t = 0
        self._history = {spec.layer: [] for spec in self._timeline}
        self.load_day(self._day, rng)
        self.on_layer_start(self.layer)
        self._resets += 1  # a new state: the boxes are computed afresh

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
        if layer is not None and coerce_layer(layer) is not spec.layer:
            raise RefereeStateError(
                f"setpoints for layer {Layer(layer).value} but the core is in {spec.layer.value}"
            )
        raw = as_float_array(setpoints, "action")
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
            fast = fast_box_projection(raw, low, high, DEFAULT_TOL, ordered=True)
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
        record = self._step_record(spec, k, outcome, applied, report)
        self._history[spec.layer].append(record)
        self._t += 1
        if not record.done:
            nxt = self._timeline.position(self._t)[0].layer
            if nxt is not spec.layer:
                self.on_layer_start(nxt)
        return record

    def _step_record(
        self,
        spec: LayerSpec,
        k: int,
        outcome: StepOutcome,
        applied: FloatArray,
        report: ProjectionReport,
    ) -> CoreStep:
        """The record of step ``k`` of ``spec``'s layer: the outcome's KPI and rewards (a
        non-finite reward is a :class:`RefereeError`), the setpoints applied, the projection
        report, whether the day is over after it."""
        reward = float(outcome.reward)
        if not math.isfinite(reward):
            raise RefereeError(f"simulate() returned a non-finite reward {reward!r}")
        return CoreStep(
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
            penalty_usd=float(outcome.penalty_usd),
        )

    def history(self, layer: Layer | str) -> tuple[CoreStep, ...]:
        """Steps of ``layer`` executed so far in this day."""
        return tuple(self._history.get(coerce_layer(layer), ()))

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

    def context_box(self) -> Bounds | None:
        """Validated :meth:`observation_context_bounds` (finite), ``None`` without context."""
        if "context" not in self._cache:
            bounds = self.observation_context_bounds()
            self._cache["context"] = (
                None if bounds is None else finite_bounds("observation_context_bounds()", bounds)
            )
        return self._cache["context"]

    def _add_context(self, info: dict[str, Any], done: bool) -> None:
        """``info["next_context"]`` (:meth:`observation_context`) where the case has one."""
        if self.context_box() is None:
            return
        context = None if done else self.observation_context()
        info["next_context"] = None if context is None else np.array(context, dtype=np.float64)

    def _add_default(self, info: dict[str, Any], done: bool) -> None:
        """``info["next_default_action"]`` (:meth:`default_setpoints`) where the case has one."""
        if type(self).default_setpoints is DispatchCore.default_setpoints:
            return
        value = None if done else self.default_setpoints()
        info[DEFAULT_ACTION_KEY] = (
            None if value is None else np.array(value, dtype=np.float64).reshape(-1)
        )

    def reset_info(self) -> dict[str, Any]:
        """Fresh reset ``info``: position, day, ``next_layer``/``next_step`` (the first step),
        ``next_action_low``/``next_action_high`` (its feasible box, :meth:`current_bounds`),
        ``next_penalty_free_low``/``_high`` (:meth:`next_boxes`), ``idle_action`` and the
        initial ``soc``."""
        spec, k = self._timeline.position(self._t)
        info = self.position_info(spec.layer, k, spec.time_h(k), spec.step_hours)
        info["next_layer"], info["next_step"] = spec.layer.value, k  # the day's first step
        info.update(self.next_boxes())
        self._add_context(info, done=False)
        self._add_default(info, done=False)
        info["idle_action"] = self.idle_action()
        info["soc"] = np.asarray(self.state_of_charge(), dtype=np.float64).copy()
        return info

    def step_info(self, record: CoreStep) -> dict[str, Any]:
        """Fresh step ``info`` of ``record``: KPI schema + referee keys + ``reward_terms`` and
        ``penalty_usd`` (:attr:`~.records.StepOutcome.penalty_usd`);
        ``next_layer``/``next_step`` name the step after ``record`` (where the core stands once
        it has executed ``record``), ``None`` after the day's last step; so are
        ``next_action_low``/``next_action_high``, the feasible box of that next step
        (:meth:`current_bounds`: the static box of its layer ∩ the state-dependent
        :meth:`step_bounds`, e.g. what the storage's energy still allows), and
        ``next_penalty_free_low``/``_high``, that box without the reward's soft limits
        (:meth:`next_boxes`)."""
        info = record.kpi.to_info()
        info["projection"] = record.projection.to_info()
        info.update(self.position_info(record.layer, record.step, record.time_h, record.step_hours))
        info["next_layer"], info["next_step"] = self._timeline.next_decision(
            record.layer, record.step
        )
        info.update(dict.fromkeys(NEXT_BOX_KEYS) if record.done else self.next_boxes())
        self._add_context(info, done=record.done)
        self._add_default(info, done=record.done)
        info["reward_terms"] = dict(record.reward_terms)
        info["penalty_usd"] = record.penalty_usd
        return info


def as_float_array(value: ArrayLike, what: str) -> FloatArray:
    """``value`` (an action) as a float64 array; a
    :class:`~gridbench.cases.projection.ProjectionError` naming ``what`` if it is not numeric."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ProjectionError(
            f"{what} must be numeric, got {type(value).__name__}: {value!r:.80}"
        ) from None
