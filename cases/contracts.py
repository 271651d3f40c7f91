"""Contracts between cases, methods and the harness (DESIGN §2), as typing Protocols.

The harness accepts anything that satisfies these protocols (like Stable-Baselines3's
``PolicyPredictor``), not only gridbench's own classes:

* :class:`Controller` — ``reset(obs, info)`` then ``act(obs, info) -> action`` each step;
* :class:`Method` — ``name``, ``family``, ``supports(case)``, ``fit(case, seed, budget)``,
  ``controller(case, day)``;
* :class:`Case` — a registered, versioned problem with ``days(split)`` and
  ``make_env(day=None, seed=0)``; :class:`MultiAgentCase` adds ``make_parallel_env``;
* :class:`PlanningCase` — what a solver needs besides the environment: the day's data as
  the referee sees it (:meth:`~PlanningCase.day_data`, a :class:`DayData`), the
  :class:`ActionLayout` of the setpoint vector and the names of the observation's entries.

:class:`BaseCase` is the ready-made implementation the built-in cases derive from: it
validates the config (pydantic, unknown keys are errors), derives ``steps``/``step_hours``
from the case's :class:`~gridbench.cases.referee.Timeline` and builds both referee
front-ends over the case's :class:`~gridbench.cases.referee.DispatchCore`.

Multi-agent methods: a method whose class sets ``multi_agent = True`` gets the case's parallel
environment; its controller's ``reset``/``act`` then receive ``dict`` s keyed by agent and
``act`` returns a ``dict`` of per-agent actions (see :func:`wants_parallel_env`). Every other
method plays the single-agent environment, on every case (same core, same KPIs).

This module imports no method and nothing heavy (the referee is imported lazily).
"""

from __future__ import annotations

import datetime
import inspect
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Final,
    Literal,
    Protocol,
    TypeVar,
    runtime_checkable,
)

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, ValidationError

from gridbench.cases.params import PlannerModel, Season

if TYPE_CHECKING:
    import gymnasium
    from pettingzoo import ParallelEnv

    from gridbench.cases.referee import AgentRole, DispatchCore, Timeline

__all__ = [
    "METHOD_CALLABLES",
    "METHOD_NAME_RE",
    "Action",
    "ActionEntry",
    "ActionLayout",
    "BaseCase",
    "Budget",
    "Case",
    "CaseConfig",
    "CaseConfigError",
    "Controller",
    "DayData",
    "DaySpecError",
    "FormulatedCase",
    "Formulation",
    "InfoSet",
    "Method",
    "MethodContractError",
    "MethodFamily",
    "MultiAgentCase",
    "Plan",
    "PlanningCase",
    "SolveOutcome",
    "Split",
    "UnknownChoiceError",
    "method_problems",
    "parse_day",
    "wants_parallel_env",
]

#: An action: a setpoint array (single-agent env) or a dict of them keyed by agent.
Action = NDArray[np.floating[Any]] | Mapping[str, NDArray[np.floating[Any]]]

#: Valid method names: lower case, digits, ``_`` and ``-``, starting with a letter.
METHOD_NAME_RE: Final[re.Pattern[str]] = re.compile(r"^[a-z][a-z0-9_-]*$")


class UnknownChoiceError(ValueError):
    """A value outside a closed set of choices (split, budget, family)."""


class CaseConfigError(ValueError):
    """A case config with unknown keys or invalid values."""


class DaySpecError(ValueError):
    """A ``DAY`` argument that is neither an ISO date nor ``SPLIT:K`` within range."""


class MethodContractError(ValueError):
    """A method class that does not satisfy the :class:`Method` contract."""


_E = TypeVar("_E", bound=StrEnum)


def _parse_choice(enum: type[_E], value: object, what: str) -> _E:
    """``enum`` member named ``value``, in any letter case (as :meth:`Budget.parse`)."""
    try:
        return enum(value.strip().lower() if isinstance(value, str) else value)
    except ValueError:
        raise UnknownChoiceError(
            f"unknown {what} {value!r}; valid: {', '.join(m.value for m in enum)}"
        ) from None


class Split(StrEnum):
    """Fixed day splits of every case (stored in the repo, never reshuffled by a seed)."""

    TRAIN = "train"
    VAL = "val"
    TEST = "test"

    @classmethod
    def parse(cls, value: object) -> Split:
        """``Split`` from its name; :class:`UnknownChoiceError` naming the valid ones."""
        return _parse_choice(cls, value, "split")


class MethodFamily(StrEnum):
    """What a method is. ``bound`` methods (the perfect-foresight oracle) are reported as the
    denominator of the optimality gap and never ranked as competitors."""

    SOLVER = "solver"
    RL = "rl"
    BASELINE = "baseline"
    BOUND = "bound"

    @classmethod
    def parse(cls, value: object) -> MethodFamily:
        return _parse_choice(cls, value, "method family")


class Budget(StrEnum):
    """Compute budget of ``fit`` (training steps, solver time limits), chosen by each method.

    ``smoke``: seconds, for CI (every method must run end to end); ``quick``: minutes, a
    sanity run; ``reference``: the budget of the shipped leaderboard; ``paper``: the papers'
    own budgets (may take hours). The CLI's ``--budget full`` is an alias of ``reference``
    (``Budget("full") is Budget.REFERENCE``).
    """

    SMOKE = "smoke"
    QUICK = "quick"
    REFERENCE = "reference"
    PAPER = "paper"

    @classmethod
    def _missing_(cls, value: object) -> Budget | None:
        """Names in any letter case (``Smoke``, ``FULL``); ``full`` is ``reference``."""
        if not isinstance(value, str):
            return None
        name = value.strip().lower()
        if name == "full":
            return cls.REFERENCE
        return next((member for member in cls if member.value == name), None)

    @classmethod
    def parse(cls, value: object) -> Budget:
        """``Budget`` from its name or the alias ``full``."""
        try:
            return cls(value)
        except ValueError:
            raise UnknownChoiceError(
                f"unknown budget {value!r}; valid: {', '.join(m.value for m in cls)} "
                "(full = reference)"
            ) from None


@runtime_checkable
class Controller(Protocol):
    """Acts in one day's episode. The harness calls ``reset`` once after ``env.reset`` (a
    planning method computes its plan here; the harness times it) and ``act`` every step (the
    decision time). ``obs``/``info`` are the environment's; the action is in physical units."""

    def reset(self, obs: Any, info: Mapping[str, Any]) -> None: ...

    def act(self, obs: Any, info: Mapping[str, Any]) -> Any: ...


@runtime_checkable
class Case(Protocol):
    """A registered problem (DESIGN §2). ``steps``/``step_hours`` describe the executed
    layer; ``config`` is a pydantic model whose unknown keys are errors."""

    id: str
    grid: str
    steps: int
    step_hours: float
    paper: str
    config: BaseModel

    def days(self, split: Split | str) -> tuple[datetime.date, ...]: ...

    def make_env(self, day: datetime.date | None = None, seed: int = 0) -> gymnasium.Env: ...


@runtime_checkable
class MultiAgentCase(Case, Protocol):
    """A case that also offers a PettingZoo parallel environment over the same core."""

    def make_parallel_env(self, day: datetime.date | None = None, seed: int = 0) -> ParallelEnv: ...


#: Which data a :meth:`PlanningCase.day_data` call returns: the realized day or a forecast.
InfoSet = Literal["actual", "forecast"]


@runtime_checkable
class DayData(Protocol):
    """One day's data as a formulation reads it (every case's day class satisfies it; each
    adds its own fields). Common names across cases: ``load_p_mw``/``load_q_mvar`` (per bus,
    ``(n_steps, n_bus)``), ``price_usd_per_mwh`` (the upstream tariff, ``(n_steps,)``);
    ``info`` says whether the arrays are the realized day or a forecast issued at step
    ``issue_step``."""

    day: datetime.date
    info: InfoSet
    issue_step: int
    load_p_mw: NDArray[np.float64]
    load_q_mvar: NDArray[np.float64]
    price_usd_per_mwh: NDArray[np.float64]

    @property
    def n_steps(self) -> int: ...

    @property
    def step_hours(self) -> float: ...


@dataclass(frozen=True)
class ActionEntry:
    """One entry of a case's setpoint vector.

    ``kind`` is the schedule's element kind (``storage``, ``gas_turbine``, ``thermal``,
    ``flexible_load``, ``supercapacitor``, …: the ``kind`` of the case's schedule rows),
    ``bus`` the grid bus it acts at (numbered from 1 at the substation; ``None`` for an entry
    spread over several buses, as SGLS's flexible loads on IEEE 33), ``unit`` its unit
    (``MW``); ``layers`` the timeline layers in which the referee applies it. Sign: ``> 0``
    injects into the grid (generation, storage discharge, demand removed). ``neutral`` says
    where a learned agent's 0 lands on the step's feasible box (the ``feasible`` action map of
    ``rl_agents/agent_view.py``): ``idle`` (the idle setpoint clipped into the box: storage,
    flexible loads) or ``middle`` (the middle of the box: a ramp-limited generator, whose idle
    setpoint is out of reach once it runs and whose box is centred on its last output)."""

    name: str
    kind: str
    bus: int | None
    unit: str = "MW"
    layers: tuple[str, ...] = ("intraday",)
    neutral: Literal["idle", "middle"] = "idle"


@dataclass(frozen=True)
class ActionLayout:
    """The setpoint vector of a case, entry by entry (:class:`ActionEntry`), in order."""

    entries: tuple[ActionEntry, ...]

    def __post_init__(self) -> None:
        names = [e.name for e in self.entries]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"action layout repeats entry names {repeated}; names are unique")

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[ActionEntry]:
        return iter(self.entries)

    @property
    def names(self) -> tuple[str, ...]:
        """Entry names, in setpoint order."""
        return tuple(e.name for e in self.entries)

    def middle_mask(self) -> NDArray[np.bool_]:
        """Entries whose ``neutral`` is ``middle`` (see :class:`ActionEntry`)."""
        return np.array([e.neutral == "middle" for e in self.entries], dtype=bool)

    def indices(self, kind: str) -> NDArray[np.intp]:
        """Positions of the entries of ``kind`` (empty if none), in setpoint order."""
        return np.array([i for i, e in enumerate(self.entries) if e.kind == kind], dtype=np.intp)

    def index(self, name: str) -> int:
        """Position of entry ``name``; :class:`ValueError` naming the valid names."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(
                f"no action entry {name!r}; entries: {', '.join(self.names)}"
            ) from None


@runtime_checkable
class PlanningCase(Case, Protocol):
    """What a planning method (oracle, day-ahead, MPC, rules) reads of a case, besides its
    environment. Every built-in case satisfies it.

    ``day_data(day, info, issue_step=k, lead_h=h)`` is the day as the referee shows it:
    ``info="actual"`` the realized day (perfect foresight), ``"forecast"`` the forecast
    issued at step ``issue_step`` (rows ``< issue_step`` are already realized), ``lead_h``
    hours earlier still (the day-ahead forecast: ``lead_h=12``, issued at noon the day
    before). The forecast errors are those of the referee's observations (the case's
    forecast seed) unless ``seed`` asks for another draw (scenario methods)."""

    def day_data(
        self,
        day: datetime.date | str,
        info: InfoSet = "actual",
        *,
        issue_step: int = 0,
        lead_h: float = 0.0,
        seed: int | None = None,
    ) -> DayData: ...

    def action_layout(self) -> ActionLayout: ...

    def observation_names(self) -> tuple[str, ...]: ...


class SolveOutcome(Protocol):
    """What a planning controller reads of a :class:`Formulation` solve: ``ok`` (a usable
    plan), ``status`` (a :class:`~gridbench.cases.solve_status.SolveStatus`-like ``StrEnum``
    whose value is ``"timeout"`` for a time or iteration limit), the solve time and a
    one-line message."""

    @property
    def ok(self) -> bool: ...

    status: Any
    solve_time_s: float
    message: str


class Plan(Protocol):
    """The schedule of a solved horizon: ``action(k)`` is the setpoint vector of slot ``k``,
    i.e. of day step ``t0 + k`` (``0 <= k < n_steps``)."""

    t0: int

    @property
    def n_steps(self) -> int: ...

    def action(self, k: int) -> NDArray[Any]: ...


class Formulation(Protocol):
    """A case's optimization model of the day, built once and refilled: ``update`` fills it
    for day steps ``t0 …`` from a :class:`DayData` and the measured state (the keyword
    arguments of :meth:`FormulatedCase.measured_state`), ``solve`` solves it (``dpp``: keep
    a compiled parametric problem for re-solves), ``plan`` reads the last solution."""

    def update(self, data: Any, *, t0: int = 0, **state: Any) -> None: ...

    def solve(
        self,
        *,
        time_limit_s: float | None = None,
        dpp: bool = True,
        warm_start: bool = True,
        **solver_options: Any,
    ) -> SolveOutcome: ...

    def plan(self) -> Plan: ...


@runtime_checkable
class FormulatedCase(PlanningCase, Protocol):
    """A :class:`PlanningCase` whose day is one :class:`Formulation` over the executed layer:
    the generic planning controllers (``oracle``, ``day-ahead``, ``mpc`` of
    :mod:`gridbench.solvers.planning`) then need nothing else of it.

    ``measured_state(obs, info)`` is the state a solve starts from, read from the referee's
    reset or step ``info`` (the observation where ``info`` lacks it), as keyword arguments of
    the formulation's ``update``; ``day_start`` is the state measured at the day's reset,
    for formulations that settle against it (an MPC's re-solves)."""

    def formulation(self) -> Formulation: ...

    def measured_state(
        self,
        obs: Any,
        info: Mapping[str, Any],
        *,
        day_start: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]: ...


@runtime_checkable
class Method(Protocol):
    """A benchmarked method (solver, RL agent, baseline or bound)."""

    name: str
    family: MethodFamily

    def supports(self, case: Case) -> bool: ...

    def fit(self, case: Case, seed: int, budget: Budget) -> None: ...

    def controller(self, case: Case, day: datetime.date) -> Controller: ...


#: The callables of :class:`Method` and the positional arguments the harness passes.
METHOD_CALLABLES: Final[Mapping[str, tuple[str, ...]]] = {
    "supports": ("case",),
    "fit": ("case", "seed", "budget"),
    "controller": ("case", "day"),
}


def wants_parallel_env(method: object) -> bool:
    """True when ``method`` declares ``multi_agent = True`` (plays the parallel env)."""
    return bool(getattr(method, "multi_agent", False))


def _callable_problem(cls: type, attr: str, args: tuple[str, ...]) -> str | None:
    raw = inspect.getattr_static(cls, attr, None)
    if raw is None:
        return f"missing method {attr}({', '.join(args)})"
    if isinstance(raw, staticmethod | classmethod):
        func = getattr(cls, attr)
        bind_args: tuple[object, ...] = tuple(object() for _ in args)
    else:
        func = raw
        bind_args = (object(), *(object() for _ in args))
    if not callable(func):
        return f"{attr} is not callable"
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return None  # builtins without signature: trust them
    try:
        sig.bind(*bind_args)
    except TypeError:
        return f"{attr}{sig} cannot be called as {attr}({', '.join(args)})"
    return None


def method_problems(cls: object) -> tuple[str, ...]:
    """Why the class ``cls`` does not satisfy :class:`Method` (empty when it does).

    Checks, without instantiating: ``cls`` is a class constructible with no arguments; class
    attributes ``name`` (matching :data:`METHOD_NAME_RE`) and ``family`` (a
    :class:`MethodFamily` value); ``supports``, ``fit``, ``controller`` callable with the
    arguments of :data:`METHOD_CALLABLES` (via ``inspect.signature``).
    """
    if not inspect.isclass(cls):
        return (f"expected a class, got {type(cls).__name__}",)
    problems: list[str] = []
    try:
        inspect.signature(cls).bind()
    except TypeError:
        problems.append(f"{cls.__name__}{inspect.signature(cls)} needs constructor arguments")
    except ValueError:
        pass
    name = getattr(cls, "name", None)
    if not isinstance(name, str):
        problems.append("missing class attribute name (str)")
    elif not METHOD_NAME_RE.match(name):
        problems.append(f"name {name!r} must match {METHOD_NAME_RE.pattern}")
    family = getattr(cls, "family", None)
    if family is None:
        problems.append(
            f"missing class attribute family (one of {', '.join(f.value for f in MethodFamily)})"
        )
    else:
        try:
            MethodFamily(family)
        except ValueError:
            problems.append(
                f"family {family!r} is not one of {', '.join(f.value for f in MethodFamily)}"
            )
    for attr, args in METHOD_CALLABLES.items():
        problem = _callable_problem(cls, attr, args)
        if problem is not None:
            problems.append(problem)
    return tuple(problems)


_DAY_SPEC_RE: Final[re.Pattern[str]] = re.compile(r"^(?P<split>[a-z]+):(?P<k>-?\d+)$")


def parse_day(text: str | datetime.date, case: Case) -> datetime.date:
    """Resolve the CLI's ``DAY``: an ISO date, or ``SPLIT:K`` (the K-th day of a split, from
    0; ``test:0``). An ISO date need not lie in a split (a user may schedule any day the data
    covers; the case refuses days it has no data for)."""
    if isinstance(text, datetime.date):
        return text.date() if isinstance(text, datetime.datetime) else text
    m = _DAY_SPEC_RE.match(text.strip())
    if m:
        split = Split.parse(m["split"])
        days = case.days(split)
        k = int(m["k"])
        if not 0 <= k < len(days):
            raise DaySpecError(
                f"day {text!r}: split {split.value} of {case.id} has {len(days)} days "
                f"(valid K: 0..{len(days) - 1})"
            )
        return days[k]
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise DaySpecError(
            f"day {text!r} is neither an ISO date (2016-07-01) nor SPLIT:K (test:0); "
            f"splits: {', '.join(s.value for s in Split)}"
        ) from None


class CaseConfig(BaseModel):
    """Base of every case's config: frozen, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _scale_path(node: Any, parts: Sequence[str], factor: float, path: str) -> None:
    """Multiply the efficiency at ``parts`` (``*``: every entry of a list) of a dumped config
    in place by ``factor``, capped at 1."""
    head, rest = parts[0], parts[1:]
    targets = list(range(len(node))) if head == "*" else [head]
    for key in targets:
        if isinstance(node, dict) and key not in node:
            raise KeyError(f"efficiency field {path!r}: no {key!r} in the config")
        if rest:
            _scale_path(node[key], rest, factor, path)
        else:
            node[key] = min(1.0, float(node[key]) * factor)


class BaseCase(ABC):
    """Base of the built-in cases: config validation, day handling, both referee front-ends.

    A subclass sets the class attributes ``id``, ``grid``, ``paper``, ``timeline`` and
    ``config_model`` and implements :meth:`make_core` (and :meth:`days` when its days are not
    the shared 2016 splits); a multi-agent case also returns its roles from the core's
    ``agent_roles`` (or overrides :meth:`agent_roles`).
    """

    id: ClassVar[str]
    grid: ClassVar[str]
    paper: ClassVar[str]
    timeline: ClassVar[Timeline]
    config_model: ClassVar[type[CaseConfig]] = CaseConfig
    #: The case's day-data function ``(config, day, *, info, seed, issue_step,
    #: lead_offset_h) -> DayData`` behind :meth:`day_data` (a ``staticmethod``; ``None``: the
    #: case offers no day data to planners).
    day_source: ClassVar[Callable[..., DayData] | None] = None
    #: Dotted paths of the config's storage efficiencies (``*``: every entry of a tuple), the
    #: values ``planner_efficiency_error`` perturbs in :meth:`planner_view`.
    efficiency_fields: ClassVar[tuple[str, ...]] = ()
    #: The formulation physics the case's planners implement (``planner_model`` values,
    #: :class:`~gridbench.cases.params.PlannerModel`); the exact one always.
    planner_models: ClassVar[frozenset[PlannerModel]] = frozenset({PlannerModel.EXACT})

    def __init__(
        self,
        config: CaseConfig | Mapping[str, Any] | None = None,
        *,
        formulation_model: PlannerModel = PlannerModel.EXACT,
    ) -> None:
        """``formulation_model``: the physics of this case's own formulations; the referee's
        (default) for every case the referee and the bounds run, a planner's simplified one
        only in :meth:`planner_view`'s case."""
        self.config = self.validate_config(config)
        model = getattr(self.config, "planner_model", PlannerModel.EXACT)
        for what, value in (("planner_model", model), ("formulation_model", formulation_model)):
            if value not in self.planner_models:
                valid = ", ".join(sorted(m.value for m in self.planner_models))
                raise CaseConfigError(
                    f"bad config for {self.id}: {what} {str(value)!r} has no formulation in "
                    f"this case; valid: {valid}"
                )
        self.formulation_model = PlannerModel(formulation_model)

    @classmethod
    def validate_config(cls, config: CaseConfig | Mapping[str, Any] | None) -> CaseConfig:
        """The validated config; one-line :class:`CaseConfigError` naming every bad key (and
        the value given, where the config's own check did not already name it)."""
        if isinstance(config, cls.config_model):
            return config
        data = {} if config is None else config
        if isinstance(data, BaseModel):
            data = data.model_dump()
        try:
            return cls.config_model.model_validate(dict(data))
        except ValidationError as exc:
            parts = []
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"]) or "<root>"
                msg = err["msg"].removeprefix("Value error, ")
                if err["type"] == "value_error":  # the config's validator names the value
                    parts.append(f"{loc}: {msg}")
                else:
                    parts.append(f"{loc}: {msg}, got {err.get('input')!r}")
            fields = ", ".join(cls.config_model.model_fields)
            raise CaseConfigError(
                f"bad config for {cls.id}: {'; '.join(parts)} (fields: {fields or 'none'})"
            ) from None

    @property
    def steps(self) -> int:
        """Steps of the executed layer."""
        return self.timeline.executed.n_steps

    @property
    def step_hours(self) -> float:
        """Step length of the executed layer (h)."""
        return self.timeline.executed.step_hours

    def days(self, split: Split | str) -> tuple[datetime.date, ...]:
        """The fixed days of ``split``: the shared 2016 splits of
        :func:`gridbench.cases.data.days` (a case with other days overrides this)."""
        from gridbench.cases.data import days

        return days(Split.parse(split).value)

    @abstractmethod
    def make_core(self) -> DispatchCore:
        """A fresh physics core for this case and config."""

    def day_data(
        self,
        day: datetime.date | str,
        info: InfoSet = "actual",
        *,
        issue_step: int = 0,
        lead_h: float = 0.0,
        seed: int | None = None,
    ) -> DayData:
        """The day's data for formulations (:meth:`PlanningCase.day_data`): the case's
        :attr:`day_source` with this config; forecasts carry the errors the referee's
        observations show (``config.forecast_seed``) unless ``seed`` is given."""
        from gridbench.cases.referee import coerce_day

        source = type(self).day_source
        if source is None:
            raise NotImplementedError(f"{self.id} offers no day data (no day_source)")
        return source(
            self.config,
            coerce_day(day),
            info=info,
            seed=getattr(self.config, "forecast_seed", 0) if seed is None else seed,
            issue_step=issue_step,
            lead_offset_h=lead_h,
        )

    def agent_roles(self) -> Sequence[AgentRole] | None:
        """Roles of the multi-agent front-end (``None``: the core's own)."""
        return None

    def planner_view(self) -> BaseCase:
        """The case as the deployable planners model it (the crossover study's model-mismatch
        axes): ``self`` unless the config sets a ``planner_efficiency_error`` ``e`` or a
        ``planner_model`` other than exact; then a case of the same class whose config has
        every storage efficiency of :attr:`efficiency_fields` times ``(1 + e)``, capped at 1,
        and whose formulations use that physics (:attr:`formulation_model`), the conditions
        themselves reset. The referee, bounds and RL always run ``self``. A case without
        efficiency fields refuses an error (one line)."""
        error = float(getattr(self.config, "planner_efficiency_error", 0.0))
        model = PlannerModel(getattr(self.config, "planner_model", PlannerModel.EXACT))
        if error == 0.0 and model is PlannerModel.EXACT:
            return self
        cached = self.__dict__.get("_planner_view")
        if cached is not None:
            return cached
        if error and not self.efficiency_fields:
            raise CaseConfigError(
                f"{self.id} declares no storage efficiencies; planner_efficiency_error must "
                f"be 0 there, got {error}"
            )
        data = self.config.model_dump(mode="json")  # tuples as lists: changed in place
        if error:
            for path in self.efficiency_fields:
                _scale_path(data, path.split("."), 1.0 + error, path)
            data["planner_efficiency_error"] = 0.0
        if "planner_model" in data:
            data["planner_model"] = PlannerModel.EXACT.value
        view = type(self)(data, formulation_model=model)  # type: ignore[call-arg]
        self.__dict__["_planner_view"] = view
        return view

    def _held_out_season(self) -> Season:
        """The config's ``train_season_held_out`` (none where the config has no such field)."""
        return Season(getattr(self.config, "train_season_held_out", Season.NONE))

    def training_days(self) -> tuple[datetime.date, ...]:
        """The days learned methods train on: the ``train`` split, less the months of the
        config's ``train_season_held_out`` (the crossover study's distribution shift)."""
        months = self._held_out_season().months
        days = self.days(Split.TRAIN)
        return tuple(d for d in days if d.month not in months) if months else days

    def trains_like_shipped(self) -> bool:
        """Whether an agent shipped for this case id was trained on :meth:`training_days`
        (the shipped agents train on every train day: not with a season held out)."""
        return self._held_out_season() is Season.NONE

    def sample_train_day(self, rng: np.random.Generator) -> datetime.date:
        """A day of :meth:`training_days` drawn with ``rng`` (the environments' day sampler)."""
        days = self.training_days()
        return days[int(rng.integers(len(days)))]

    def resolve_day(self, day: str | datetime.date) -> datetime.date:
        """:func:`parse_day` for this case."""
        return parse_day(day, self)

    def make_env(self, day: datetime.date | None = None, seed: int = 0) -> gymnasium.Env:
        """Single-agent referee; ``day=None`` samples ``train`` days each reset."""
        from gridbench.cases.referee import RefereeEnv

        return RefereeEnv(self.make_core(), day=day, day_sampler=self.sample_train_day, seed=seed)

    def make_parallel_env(
        self,
        day: datetime.date | None = None,
        seed: int = 0,
        *,
        sequential_stages: bool = False,
    ) -> ParallelEnv:
        """Multi-agent referee over the same core (raises if the case declares no roles)."""
        from gridbench.cases.referee import ParallelRefereeEnv

        return ParallelRefereeEnv(
            self.make_core(),
            roles=self.agent_roles(),
            sequential_stages=sequential_stages,
            day=day,
            day_sampler=self.sample_train_day,
            seed=seed,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r})"
