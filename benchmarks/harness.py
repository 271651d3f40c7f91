"""The harness: roll a method's controller through the referee, one row per day (DESIGN §3–5).

Public API
----------
* :func:`evaluate_day` — one day: ``env = case.make_env(day, seed)``, ``env.reset(seed)``,
  ``controller = method.controller(case, day)``, ``controller.reset(obs, info)`` (timed:
  ``solve_s``, ``plan_ms``), ``controller.act(obs, info)`` each step (timed:
  ``decision_ms_p50/p95``, ``decide_s``; with the plan: ``compute_ms_per_decision``, see
  :mod:`~gridbench.benchmarks.compute_cost`), step to the end of the day,
  :func:`~gridbench.benchmarks.metrics.day_metrics` of the step ``info`` s. Returns the row;
  never raises for what a method or a case does during the day (a raising controller gives a
  row with a non-``ok`` :class:`RowStatus` and the message).
* :func:`run_unit` — one unit (case, method, seed, budget): ``fit`` once (timed: ``fit_s``),
  then every requested day not already stored (resume), each row appended to the store as
  soon as it is finished. A unit whose ``fit`` raises is recorded with
  ``store.append_failure`` and reported in the returned :class:`UnitResult`.
* :func:`plan_run` — the units of ``gridbench run``: validates every case and method name
  before anything runs, skips (with a note) methods that do not support a case.
* :class:`UnitTask` / :func:`execute_task` — a unit as plain, picklable data (entry points,
  not objects) and its execution with a row callback: the common core of :func:`run_unit` and
  of the process-pool executor (:mod:`gridbench.benchmarks.executors`), so that inline and
  pool runs give identical rows.

Row columns
-----------
Keys ``case, method, seed, day, budget``; ``family``, ``split``, ``status``, ``message``;
the metrics of :mod:`~gridbench.benchmarks.metrics` (``cost``, ``cost_<term>`` …,
``feasible``); ``reward_sum``, ``n_steps``; timings :data:`TIMING_COLUMNS`; the provenance
columns (``run_id`` …). The optimality ``gap`` needs the oracle's row and is computed by the
leaderboard.

Status
------
``ok``; ``timeout`` (a ``TimeoutError`` was raised); ``solver_failed`` / ``error``: an exception
carrying ``status = "solver_failed"`` (or ``row_status``) gives that status, any other
exception ``error``. A controller that finished the day but had to fall back (e.g. its solver
failed and it played a safe action) may say so by setting its attribute ``status`` to a
:class:`RowStatus` value after the day (and ``status_message``); the row keeps the day's metrics.

Determinism
-----------
Python's and numpy's global generators (and torch's, when already imported) are seeded from
the unit's seed before ``fit`` and from ``(seed, day)`` before each day, so a day's row does not
depend on which days ran before it (a resumed run equals a full one). Methods should draw
their own randomness from ``(seed, day)`` as well.

Multi-agent methods (``multi_agent = True``, :func:`~gridbench.cases.contracts.wants_parallel_env`)
play the case's parallel environment (one agent per declared role): their controller's
``reset``/``act`` get ``dict`` s keyed by agent and ``act`` returns one; the row's KPIs come
from the same referee record as a single-agent run's, its ``reward_sum`` is summed over the
agents. On a case that declares no roles they are a user error
(:class:`MultiAgentNotSupported`), or skipped with a note when not named.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import math
import random
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from gridbench.benchmarks.compute_cost import COMPUTE_COLUMNS, per_decision_ms
from gridbench.benchmarks.metrics import day_metrics, nan_metrics
from gridbench.cases.contracts import (
    Budget,
    Case,
    Method,
    MethodFamily,
    Split,
    parse_day,
    wants_parallel_env,
)
from gridbench.cases.referee import DispatchCore

if TYPE_CHECKING:
    from gridbench.benchmarks.provenance import Provenance
    from gridbench.benchmarks.store import ResultsStore, UnitKey
    from gridbench.cases.registry import CaseSpec, MethodSpec

__all__ = [
    "EVAL_SPLITS",
    "MAX_STEPS",
    "TIMING_COLUMNS",
    "VOLATILE_COLUMNS",
    "DayRun",
    "DayTimeout",
    "HarnessError",
    "MultiAgentNotSupported",
    "RowStatus",
    "RunPlan",
    "UnitResult",
    "UnitTask",
    "core_of",
    "day_deadline",
    "declares_agents",
    "evaluate_day",
    "execute_task",
    "fit_timed",
    "hung_day_row",
    "make_provenance",
    "make_task",
    "plan_run",
    "run_day",
    "run_missing_days",
    "run_task",
    "run_unit",
    "unit_config",
]

_log = logging.getLogger(__name__)

#: Wall-clock columns: they differ between two runs of the same seed.
TIMING_COLUMNS: Final[tuple[str, ...]] = (
    "fit_s",
    "solve_s",
    "decide_s",
    "decision_ms_p50",
    "decision_ms_p95",
    *COMPUTE_COLUMNS,
)
#: Columns that may differ between two runs of the same seed (timings and the run id).
VOLATILE_COLUMNS: Final[tuple[str, ...]] = (*TIMING_COLUMNS, "run_id")
#: Splits the harness evaluates on (``train`` is for fitting only).
EVAL_SPLITS: Final[tuple[Split, ...]] = (Split.TEST, Split.VAL)
#: Steps after which a day that has not terminated is stopped with an error row.
MAX_STEPS: Final[int] = 100_000
_MESSAGE_CHARS: Final[int] = 500


class HarnessError(ValueError):
    """A run that cannot be set up (user error: printed as one line by the CLI)."""


class MultiAgentNotSupported(HarnessError, NotImplementedError):
    """A multi-agent method on a case that declares no agent roles."""


class RowStatus(StrEnum):
    """Outcome of one day of one method (the ``status`` column)."""

    OK = "ok"
    SOLVER_FAILED = "solver_failed"
    TIMEOUT = "timeout"
    ERROR = "error"
    INVALID_ACTION = "invalid_action"
    """The controller sent non-finite action entries (NaN, ±inf): the referee played its
    projection (idle for NaN), so the day's metrics are not the method's; never ranked."""

    @classmethod
    def of_exception(cls, exc: BaseException) -> RowStatus:
        """``timeout`` for a ``TimeoutError``; the exception's ``status``/``row_status``
        attribute when it names a status; ``error`` otherwise."""
        if isinstance(exc, TimeoutError):
            return cls.TIMEOUT
        for attr in ("row_status", "status"):
            value = getattr(exc, attr, None)
            if isinstance(value, str) and value in cls._value2member_map_ and value != "ok":
                return cls(value)
        return cls.ERROR


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return line[:_MESSAGE_CHARS]


class DayTimeout(TimeoutError):
    """A day's rollout ran past its wall-clock limit (row status ``timeout``)."""


@contextlib.contextmanager
def day_deadline(seconds: float | None) -> Iterator[None]:
    """Raise :class:`DayTimeout` in the body once ``seconds`` of wall-clock time have passed
    (``SIGALRM``; main thread on POSIX only, elsewhere a no-op: the executors' driver-side
    limit is the backstop, and also stops native code that never returns to Python)."""
    if (
        not seconds
        or not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    armed = True

    def expire(signum: int, frame: Any) -> None:
        if armed:
            raise DayTimeout(f"the day ran past its time limit of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


def _projection_counts(infos: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
    """``(non-finite, clipped)`` action entries over the day, from the referee's
    ``info["projection"]`` (:mod:`gridbench.cases.projection`); zeros where a case reports
    none."""
    nonfinite = clipped = 0
    for info in infos:
        report = info.get("projection")
        if isinstance(report, Mapping):
            nonfinite += int(report.get("n_nonfinite", 0) or 0)
            clipped += int(report.get("n_clipped", 0) or 0)
    return nonfinite, clipped


def _seed_globals(seed: int, day: datetime.date | None = None) -> None:
    """Seed Python's, numpy's (and torch's, if imported) global generators."""
    value = seed if day is None else seed * 1_000_003 + day.toordinal()
    value %= 2**32
    random.seed(value)
    np.random.seed(value)  # the legacy global generator some methods still use
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(value)


def _split_of(case: Case, day: datetime.date) -> str:
    for split in Split:
        try:
            if day in case.days(split):
                return split.value
        except Exception:  # a case with no such split
            continue
    return "none"


def declares_agents(case: Case) -> bool:
    """Whether ``case`` offers a parallel (multi-agent) environment: it or its core declares
    agent roles."""
    roles = case.agent_roles() if callable(getattr(case, "agent_roles", None)) else None
    if roles is None and callable(getattr(case, "make_core", None)):
        roles = case.make_core().agent_roles()
    return bool(roles)


def _check_playable(method: Method, case: Case) -> None:
    """A multi-agent method needs a case with agent roles (:class:`MultiAgentNotSupported`)."""
    if wants_parallel_env(method) and not declares_agents(case):
        raise MultiAgentNotSupported(
            f"method {method.name!r} is multi-agent (plays the parallel environment) but case "
            f"{case.id} declares no agent roles"
        )


def fit_timed(method: Method, case: Case, seed: int, budget: Budget | str) -> float:
    """``method.fit(case, seed, budget)`` after seeding the global generators with ``seed``,
    as every unit does; returns its wall time (``fit_s``, s)."""
    _seed_globals(int(seed))
    t0 = time.perf_counter()
    method.fit(case, int(seed), Budget.parse(budget))
    return time.perf_counter() - t0


@dataclass(frozen=True, eq=False)
class DayRun:
    """One day of one method through the referee: the row, and the referee's core after the
    day (its day's data still loaded, :meth:`DispatchCore.history` holding every step), or
    ``None`` where the environment exposes no core or the day failed before it was built."""

    row: dict[str, Any]
    core: DispatchCore | None


def evaluate_day(
    case: Case, method: Method, day: datetime.date | str, seed: int, **options: Any
) -> dict[str, Any]:
    """The row of :func:`run_day` (same arguments: ``budget``, ``fit_s``, ``split``,
    ``time_limit_s`` as keywords)."""
    return run_day(case, method, day, seed, **options).row


def _day_row(
    case: Case,
    method: Method,
    day: datetime.date,
    seed: int,
    budget: Budget,
    split: Split | str | None,
) -> dict[str, Any]:
    """The identity columns of a day's row (case, method, seed, day, budget, family, split),
    status ``ok`` until the day says otherwise."""
    return {
        "case": case.id,
        "method": method.name,
        "seed": int(seed),
        "day": day.isoformat(),
        "budget": budget.value,
        "family": MethodFamily(method.family).value,
        "split": Split.parse(split).value if split is not None else _split_of(case, day),
        "status": RowStatus.OK.value,
        "message": "",
    }


def _set_day_status(
    row: dict[str, Any], controller: Any, infos: Sequence[Mapping[str, Any]]
) -> None:
    """The status of a day that ran to its end: the controller's own (a solver's ``status``),
    else ``invalid_action`` where the referee projected non-finite action entries."""
    status = getattr(controller, "status", None)
    if isinstance(status, str) and status in RowStatus._value2member_map_:
        row["status"] = RowStatus(status).value
        row["message"] = str(getattr(controller, "status_message", ""))[:_MESSAGE_CHARS]
    nonfinite, _ = _projection_counts(infos)
    if nonfinite and row["status"] == RowStatus.OK.value:
        row["status"] = RowStatus.INVALID_ACTION.value
        row["message"] = (
            f"the controller sent {nonfinite} non-finite action entr"
            f"{'y' if nonfinite == 1 else 'ies'}; the referee played its projection instead"
        )


def _set_day_failure(row: dict[str, Any], exc: Exception, where: str) -> None:
    """The status and message of a day the method or case failed (called while ``exc`` is
    handled: the traceback goes to the debug log)."""
    row["status"] = RowStatus.of_exception(exc).value
    row["message"] = _one_line(exc)
    _log.warning("%s: %s (row status %s)", where, row["message"], row["status"])
    _log.debug("%s:\n%s", where, traceback.format_exc())


def _add_day_columns(
    row: dict[str, Any],
    metrics: Mapping[str, Any],
    reward_sum: float,
    infos: Sequence[Mapping[str, Any]],
    times: list[float],
    fit_s: float,
    controller: Any,
) -> None:
    """The row's projection counts, metrics, reward, timings and certified bound; ``times``:
    the controller's reset (planning) first, then one entry per decision."""
    solve_s = times.pop(0) if times else math.nan  # the controller's reset (planning)
    row["action_nonfinite"], row["action_clipped"] = _projection_counts(infos)
    ms = np.asarray(times) * 1e3
    row.update(metrics)
    row["reward_sum"] = reward_sum
    row["n_steps"] = len(times)
    row["fit_s"] = float(fit_s)
    row["solve_s"] = float(solve_s)
    row["decide_s"] = float(ms.sum() / 1e3) if ms.size else math.nan
    row["decision_ms_p50"] = float(np.percentile(ms, 50)) if ms.size else math.nan
    row["decision_ms_p95"] = float(np.percentile(ms, 95)) if ms.size else math.nan
    # a certified lower bound on the day's cost, from a bound whose model under-estimates the
    # referee's cost (leaderboard.BOUND_COLUMN: the gap and the bound check use it)
    bound = getattr(controller, "certified_bound", math.nan)
    row["certified_bound"] = float(bound) if isinstance(bound, (int, float)) else math.nan
    row["plan_ms"] = float(solve_s * 1e3)
    row["compute_ms_per_decision"] = float(per_decision_ms(row["plan_ms"], ms.sum(), ms.size))


def run_day(
    case: Case,
    method: Method,
    day: datetime.date | str,
    seed: int,
    *,
    budget: Budget | str = Budget.REFERENCE,
    fit_s: float = math.nan,
    split: Split | str | None = None,
    time_limit_s: float | None = None,
) -> DayRun:
    """Roll ``method``'s controller through one day of ``case``; return the row and the
    referee's core (:class:`DayRun`: ``gridbench schedule`` and the report read the day's
    steps from it).

    ``day`` is a date or a ``DAY`` spec (``test:0``). The method must be fitted already
    (``fit_s`` is copied into the row). ``split`` defaults to the split holding ``day``.
    Exceptions raised by the environment or the controller during the day give a row with
    ``status`` ≠ ``ok`` and NaN metrics; :class:`MultiAgentNotSupported` is raised up front.
    ``time_limit_s``: wall-clock limit of the day (:func:`day_deadline`; status ``timeout``).
    The row counts the action entries the referee had to project (``action_nonfinite``,
    ``action_clipped``); a day with non-finite entries gets status ``invalid_action``.
    """
    _check_playable(method, case)
    day = parse_day(day, case)
    budget = Budget.parse(budget)
    row = _day_row(case, method, day, seed, budget, split)
    _seed_globals(int(seed), day)
    metrics: dict[str, Any] = nan_metrics()
    times: list[float] = []
    reward_sum = 0.0
    infos: list[dict[str, Any]] = []
    rewards: list[float] = []
    controller: Any = None
    cores: list[DispatchCore] = []
    try:
        with day_deadline(time_limit_s):
            initial_soc, controller = _roll_out(
                case, method, day, int(seed), infos, rewards, times, cores
            )
        reward_sum = sum(rewards)
        metrics = day_metrics(infos, initial_soc=initial_soc)
        _set_day_status(row, controller, infos)
    except Exception as exc:  # a method or case failing on a day is a result, not a crash
        _set_day_failure(row, exc, f"{case.id} / {method.name} / seed {seed} / {day}")
        metrics = nan_metrics()
        reward_sum = math.nan
    _add_day_columns(row, metrics, reward_sum, infos, times, fit_s, controller)
    return DayRun(row, cores[0] if cores else None)


def core_of(env: Any) -> DispatchCore | None:
    """The referee core behind ``env`` (a :class:`~gridbench.cases.referee.RefereeEnv` or
    ``ParallelRefereeEnv``, wrapped or not), or ``None`` for an environment without one."""
    for candidate in (env, getattr(env, "unwrapped", None)):
        core = getattr(candidate, "core", None)
        if isinstance(core, DispatchCore):
            return core
    return None


def _timed(times: list[float], fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, its wall time appended to ``times``."""
    t0 = time.perf_counter()
    out = fn(*args)
    times.append(time.perf_counter() - t0)
    return out


def _roll_out(
    case: Case,
    method: Method,
    day: datetime.date,
    seed: int,
    infos: list[dict[str, Any]],
    rewards: list[float],
    times: list[float],
    cores: list[DispatchCore],
) -> tuple[Any, Any]:
    """One day: the env, reset, the controller's timed ``reset`` and ``act`` per step; fills
    ``infos``, ``rewards`` (one per step of ``infos``) and ``times`` as it goes (first
    the ``reset``, then every ``act``; a day that raises keeps what was measured) and
    ``cores`` with the env's referee core (:func:`core_of`). Returns
    ``(initial_soc, controller)``; the env is closed on the way out.

    A multi-agent method plays the case's parallel environment: its controller gets and
    returns ``dict`` s keyed by agent; every agent's step ``info`` holds the same KPI record,
    the first agent's is kept (the day's KPIs equal the single-agent referee's for the same
    joint action) with the step's reward summed over the agents."""
    parallel = wants_parallel_env(method)
    env = (case.make_parallel_env if parallel else case.make_env)(day=day, seed=seed)
    core = core_of(env)
    if core is not None:
        cores.append(core)
    try:
        obs, info = env.reset(seed=seed)
        initial_soc = (next(iter(info.values()), {}) if parallel else info).get("soc")
        controller = method.controller(case, day)
        _timed(times, controller.reset, obs, info)
        done = False
        while not done:
            if len(infos) >= MAX_STEPS:
                raise RuntimeError(f"the day did not end within {MAX_STEPS} steps")
            action = _timed(times, controller.act, obs, info)
            obs, reward, terminated, truncated, info = env.step(action)
            if parallel:
                step = next(iter(info.values()))
                if step.get("kpi", True):  # sequential stages: only the last has KPIs
                    infos.append(step)
                    rewards.append(sum(float(r) for r in reward.values()))
                done = not env.agents
            else:
                infos.append(info)
                rewards.append(float(reward))
                done = bool(terminated or truncated)
    finally:
        try:
            env.close()
        except Exception:  # closing must not turn a row into a crash
            pass
    return initial_soc, controller


# --------------------------------------------------------------------------- units


@dataclass(frozen=True, slots=True)
class UnitTask:
    """One unit of work as plain, picklable data (strings, numbers, tuples, dicts).

    The case is rebuilt from its entry point and kwargs, the method from its class's entry
    point (``module:QualName``), so a task can cross a process boundary without the
    registries of the parent. ``days`` are ISO dates; ``provenance`` the row columns of
    :meth:`Provenance.columns` (filled by the executor when the unit starts).
    """

    case_id: str
    case_entry_point: str
    case_kwargs: dict[str, Any]
    method_name: str
    method_entry_point: str
    seed: int
    budget: str
    split: str
    days: tuple[str, ...]
    provenance: dict[str, Any] = field(default_factory=dict)
    #: Train even where a shipped agent exists (``gridbench run --retrain``); methods without
    #: a ``retrain`` attribute (solvers) ignore it.
    retrain: bool = False
    #: Wall-clock limit of each day's rollout in seconds (``None``: none); see
    #: :func:`evaluate_day`.
    day_time_limit_s: float | None = None
    #: The condition of a sweep (``forecast_error=2``; :mod:`.sweep`), written into every row
    #: as the ``condition`` column; ``""``: a nominal run, no column.
    condition: str = ""

    @property
    def row_columns(self) -> dict[str, Any]:
        """Columns every row of this task carries besides its metrics: the provenance and,
        in a sweep, the condition."""
        extra = {"condition": self.condition} if self.condition else {}
        return {**self.provenance, **extra}

    @property
    def unit(self) -> UnitKey:
        from gridbench.benchmarks.store import UnitKey

        return UnitKey(self.case_id, self.method_name, self.seed, self.budget)

    def with_days(self, days: Iterable[str]) -> UnitTask:
        return _replace(self, days=tuple(days))

    def with_provenance(self, columns: Mapping[str, Any]) -> UnitTask:
        return _replace(self, provenance=dict(columns))

    def with_day_time_limit(self, seconds: float | None) -> UnitTask:
        return _replace(self, day_time_limit_s=seconds)

    def describe(self) -> str:
        return f"{self.case_id} / {self.method_name} / seed {self.seed}"


def _replace(task: UnitTask, **changes: Any) -> UnitTask:
    from dataclasses import replace

    return replace(task, **changes)


@dataclass(frozen=True, slots=True)
class UnitResult:
    """What a unit did: rows written, days skipped as already stored, row statuses, fit time,
    and the error (one line) when the unit failed as a whole (``fit`` raised, the process
    died)."""

    unit: UnitKey
    n_written: int = 0
    n_skipped: int = 0
    statuses: Mapping[str, int] = field(default_factory=dict)
    fit_s: float = math.nan
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


def unit_config(case: Case, method_name: str, budget: Budget | str) -> dict[str, Any]:
    """What the provenance ``config_hash`` of a unit covers: case id and config, method, budget."""
    config = getattr(case, "config", None)
    dumped = config.model_dump(mode="json") if hasattr(config, "model_dump") else {}
    return {
        "case": case.id,
        "case_config": dumped,
        "method": method_name,
        "budget": Budget.parse(budget).value,
    }


def make_provenance(task: UnitTask, case: Case | None = None) -> Provenance:
    """The provenance of ``task`` (run id stamped now)."""
    from gridbench.benchmarks.provenance import Provenance

    case = case if case is not None else _build_case(task)
    return Provenance.create(
        task.case_id,
        task.method_name,
        task.seed,
        unit_config(case, task.method_name, task.budget),
    )


def _build_case(task: UnitTask) -> Case:
    from gridbench.cases.registry import CaseSpec

    return CaseSpec(task.case_id, task.case_entry_point, dict(task.case_kwargs)).make()


def _build_method(task: UnitTask) -> Method:
    from gridbench.cases.registry import METHODS, load_entry_point

    spec = METHODS.snapshot().get(task.method_name)
    if spec is not None and spec.entry_point == task.method_entry_point:
        method = spec.make()
    else:
        method = load_entry_point(task.method_entry_point)()
        if getattr(method, "name", None) != task.method_name:
            raise HarnessError(
                f"entry point {task.method_entry_point!r} made method "
                f"{getattr(method, 'name', None)!r}, expected {task.method_name!r}"
            )
    if task.retrain and hasattr(method, "retrain"):
        method.retrain = True
    return method


def execute_task(
    task: UnitTask,
    emit: Callable[[dict[str, Any]], None],
    *,
    case: Case | None = None,
    method: Method | None = None,
    fitted: Callable[[], None] | None = None,
) -> UnitResult:
    """Fit the task's method once, then evaluate each of ``task.days`` and ``emit`` its row
    (with the task's provenance columns merged in) as soon as it is finished. ``fitted`` is
    called once ``fit`` returned (the executors time each day from there).

    Raises what ``fit`` (or building the case/method) raises: the caller records the unit as
    failed. Rows already emitted stay valid.
    """
    case = case if case is not None else _build_case(task)
    method = method if method is not None else _build_method(task)
    _check_playable(method, case)
    budget = Budget.parse(task.budget)
    fit_s = fit_timed(method, case, task.seed, budget)
    if fitted is not None:
        fitted()
    statuses: dict[str, int] = {}
    for day in task.days:
        row = evaluate_day(
            case,
            method,
            day,
            task.seed,
            budget=budget,
            fit_s=fit_s,
            split=task.split,
            time_limit_s=task.day_time_limit_s,
        )
        row.update(task.row_columns)
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
        emit(row)
    return UnitResult(task.unit, n_written=len(task.days), statuses=statuses, fit_s=fit_s)


def run_task(task: UnitTask, store: ResultsStore, *, case: Case | None = None) -> UnitResult:
    """Run ``task`` in this process against ``store``: only its days not stored yet; each row
    appended when finished; a failure of the unit recorded with ``store.append_failure``.
    ``case``: the task's case, already built (else built here)."""
    missing = store.missing_days(task.unit, task.days)
    skipped = len(task.days) - len(missing)
    if not missing:
        return UnitResult(task.unit, n_skipped=skipped)
    return run_missing_days(task.with_days(missing), store, skipped, case=case)


def run_missing_days(
    task: UnitTask, store: ResultsStore, skipped: int = 0, *, case: Case | None = None
) -> UnitResult:
    """:func:`run_task` for a task already cut to its days not stored yet (``skipped``: how
    many of its days were stored already): the case built once (unless given), the unit's
    provenance stamped, each row appended when finished, a failure recorded."""
    unit = task.unit
    case = case if case is not None else _build_case(task)
    provenance = make_provenance(task, case)
    task = task.with_provenance(provenance.columns())
    written = 0

    def emit(row: dict[str, Any]) -> None:
        nonlocal written
        written += store.append([row]).n_written

    try:
        result = execute_task(task, emit, case=case)
    except Exception as exc:
        error = _one_line(exc)
        store.append_failure(unit, f"{error}\n{traceback.format_exc()}", provenance)
        _log.warning("%s failed: %s", task.describe(), error)
        return UnitResult(unit, n_written=written, n_skipped=skipped, error=error)
    return UnitResult(
        unit,
        n_written=written,
        n_skipped=skipped,
        statuses=result.statuses,
        fit_s=result.fit_s,
    )


def hung_day_row(task: UnitTask, day: str, family: str, message: str) -> dict[str, Any]:
    """The row of a day whose rollout never came back (the executor stopped its process past
    the day's limit): status ``timeout``, NaN metrics, the task's provenance."""
    row: dict[str, Any] = {
        "case": task.case_id,
        "method": task.method_name,
        "seed": int(task.seed),
        "day": day,
        "budget": task.budget,
        "family": family,
        "split": task.split,
        "status": RowStatus.TIMEOUT.value,
        "message": message[:_MESSAGE_CHARS],
        "action_nonfinite": 0,
        "action_clipped": 0,
        **nan_metrics(),
        "reward_sum": math.nan,
        "n_steps": 0,
        **{column: math.nan for column in TIMING_COLUMNS},
    }
    row.update(task.row_columns)
    return row


def make_task(
    case: Case,
    method_name: str,
    seed: int,
    budget: Budget | str,
    split: Split | str,
    days: Sequence[datetime.date | str] | None = None,
    *,
    case_entry_point: str | None = None,
    case_kwargs: Mapping[str, Any] | None = None,
    method_entry_point: str | None = None,
    retrain: bool = False,
    condition: str = "",
) -> UnitTask:
    """A :class:`UnitTask` for a registered case and method (entry points from the
    registries unless given). ``days=None``: every day of ``split``; ``condition``: the
    sweep's condition (:attr:`UnitTask.condition`)."""
    from gridbench.cases.registry import case_spec, get_method

    split = Split.parse(split)
    if split not in EVAL_SPLITS:
        raise HarnessError(
            f"split {split.value!r} is for fitting; evaluate on {', '.join(EVAL_SPLITS)}"
        )
    if case_entry_point is None:
        spec = case_spec(case.id)
        case_entry_point, case_kwargs = spec.entry_point, dict(spec.kwargs)
    if method_entry_point is None:
        method_entry_point = get_method(method_name).entry_point
    chosen = case.days(split) if days is None else [parse_day(d, case) for d in days]
    return UnitTask(
        case_id=case.id,
        case_entry_point=case_entry_point,
        case_kwargs=dict(case_kwargs or {}),
        method_name=method_name,
        method_entry_point=method_entry_point,
        seed=int(seed),
        budget=Budget.parse(budget).value,
        split=split.value,
        days=tuple(d.isoformat() for d in chosen),
        retrain=bool(retrain),
        condition=condition,
    )


def run_unit(
    case_id: str,
    method_name: str,
    seed: int,
    budget: Budget | str,
    split: Split | str,
    days: Sequence[datetime.date | str] | None,
    store: ResultsStore,
) -> UnitResult:
    """Fit ``method_name`` on ``case_id`` with ``seed`` and ``budget`` (timed: ``fit_s``), then
    evaluate each of ``days`` (``None``: all of ``split``) not yet in ``store``, appending each
    row as soon as it is finished. Both names must be registered. Nothing is fitted when every
    day is stored already. A unit that fails as a whole is recorded in the store and returned
    with ``error`` set (this function does not raise for it)."""
    from gridbench.cases.registry import get_method, make_case

    case = make_case(case_id)
    _check_playable(get_method(method_name).make(), case)
    return run_task(make_task(case, method_name, seed, budget, split, days), store, case=case)


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True, slots=True)
class RunPlan:
    """The units of a run, the notes about what was skipped and the warnings about broken
    plugins left out (one line each)."""

    tasks: tuple[UnitTask, ...]
    notes: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def _dedupe(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _check_plan_arguments(
    budget: Budget | str, split: Split | str, n_days: int | None, seeds: Iterable[int]
) -> tuple[Budget, Split, list[int]]:
    """``(budget, split, seeds)`` parsed and checked (an evaluation split, ``n_days >= 1``,
    a non-empty list of seeds ``>= 0``)."""
    budget = Budget.parse(budget)
    split = Split.parse(split)
    if split not in EVAL_SPLITS:
        raise HarnessError(
            f"unknown evaluation split {split.value!r}; valid: "
            f"{', '.join(s.value for s in EVAL_SPLITS)}"
        )
    if n_days is not None and n_days < 1:
        raise HarnessError(f"--days {n_days} must be >= 1")
    seeds = [int(s) for s in seeds]
    if not seeds or min(seeds) < 0:
        raise HarnessError(f"seeds {seeds} must be a non-empty list of ints >= 0")
    return budget, split, seeds


def _requested_specs(
    cases: Sequence[str] | None,
    methods: Sequence[str] | None,
    families: Sequence[str] | None,
) -> tuple[list[CaseSpec], list[MethodSpec]]:
    """The specs of the requested cases and methods (``None``: every registered one), the
    methods cut to ``families``; every name checked before any case is built."""
    from gridbench.cases.registry import case_ids, case_spec, get_method, method_names

    case_names = _dedupe(cases) if cases else list(case_ids())
    method_list = _dedupe(methods) if methods else list(method_names())
    case_specs = [case_spec(name) for name in case_names]  # unknown ⇒ one line, nothing run
    method_specs = [get_method(name) for name in method_list]
    if families:
        wanted = {MethodFamily.parse(f) for f in families}  # unknown ⇒ one line
        named = method_specs
        method_specs = [m for m in method_specs if m.family in wanted]
        if not method_specs and named:
            of = ", ".join(f"{m.name} is {m.family}" for m in named[:5])
            raise HarnessError(
                f"no requested method is of family {', '.join(sorted(wanted))} ({of})"
            )
    if not case_specs:
        raise HarnessError("no cases registered; nothing to run")
    if not method_specs:
        raise HarnessError("no methods registered; nothing to run")
    return case_specs, method_specs


def _case_kwargs(cspec: CaseSpec, case_config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The spec's constructor kwargs with ``case_config``'s fields set in its ``config``."""
    kwargs = dict(cspec.kwargs)
    if case_config:
        base = kwargs.get("config") or {}
        if not isinstance(base, Mapping):
            base = base.model_dump()
        kwargs["config"] = {**dict(base), **dict(case_config)}
    return kwargs


def _build_planned_cases(
    case_specs: Sequence[CaseSpec], named: bool, warnings: list[str],
    case_config: Mapping[str, Any] | None = None,
) -> list[tuple[CaseSpec, Case]]:
    """Each spec with its case (``case_config`` applied), built; a case that cannot be built
    is an error when cases were ``named``, else a warning in ``warnings`` and left out."""
    from gridbench.benchmarks.plugins import PLUGIN_ERRORS, one_line
    from gridbench.cases.registry import origin

    built = []
    for cspec in case_specs:
        try:
            built.append((cspec, cspec.make(**_case_kwargs(cspec, case_config))))
        except PLUGIN_ERRORS as exc:  # a broken case plugin (factory, config) costs itself
            problem = f"case {cspec.id!r} from {origin(cspec)} cannot be built ({one_line(exc)})"
            if named:
                raise HarnessError(problem) from None
            warnings.append(f"{problem}; left out")
    return built


def _method_supports(
    mspec: MethodSpec,
    method: Method,
    cspec: CaseSpec,
    case: Case,
    explicit: bool,
    notes: list[str],
    warnings: list[str],
) -> bool:
    """Whether ``method`` plays ``case``; why not goes to ``notes`` (a multi-agent method on a
    case without agent roles, unsupported) or ``warnings`` (``supports`` raised). A method
    named ``explicit``-ly that cannot play the case raises :class:`MultiAgentNotSupported`."""
    from gridbench.benchmarks.plugins import PLUGIN_ERRORS, one_line
    from gridbench.cases.registry import origin

    if wants_parallel_env(method) and not declares_agents(case):
        if explicit:
            _check_playable(method, case)
        notes.append(
            f"skipped {mspec.name} on {cspec.id}: multi-agent, the case declares no "
            "agent roles"
        )
        return False
    try:
        supported = bool(method.supports(case))
    except PLUGIN_ERRORS as exc:
        warnings.append(
            f"method {mspec.name!r} from {origin(mspec)}: supports({cspec.id}) raised "
            f"({one_line(exc)}); left out on this case"
        )
        return False
    if not supported:
        notes.append(f"skipped {mspec.name} on {cspec.id}: not supported by the method")
    return supported


def plan_run(
    cases: Sequence[str] | None,
    methods: Sequence[str] | None,
    seeds: Iterable[int],
    budget: Budget | str,
    split: Split | str,
    n_days: int | None = None,
    families: Sequence[str] | None = None,
    retrain: bool = False,
    case_config: Mapping[str, Any] | None = None,
    condition: str = "",
) -> RunPlan:
    """The units of ``gridbench run`` (registries must be loaded).

    ``cases``/``methods`` ``None``: every registered one. Every name is checked before any
    case is built (unknown ⇒ ``UnknownNameError`` with a suggestion). A method that does not
    support a case is skipped with a note; so is a multi-agent method unless it was named
    explicitly (then :class:`MultiAgentNotSupported`). ``n_days``: the first K days of the
    split (all when ``None`` or larger than the split). ``families``: only methods of these
    families (``solver``, ``rl``, ``baseline``, ``bound``). ``retrain``: RL methods train at
    ``budget`` even where a shipped agent exists. ``case_config``: top-level config fields
    set on every case (a sweep's condition, e.g. ``{"forecast_error_scale": 2.0}``), their
    rows marked with ``condition``.
    """
    from gridbench.benchmarks.plugins import PLUGIN_ERRORS, one_line
    from gridbench.cases.registry import origin

    budget, split, seeds = _check_plan_arguments(budget, split, n_days, seeds)
    explicit_methods = methods is not None and len(methods) > 0
    case_specs, method_specs = _requested_specs(cases, methods, families)
    tasks: list[UnitTask] = []
    notes: list[str] = []
    warnings: list[str] = []
    built = _build_planned_cases(case_specs, bool(cases), warnings, case_config)
    for mspec in method_specs:
        try:
            method = mspec.make()
        except PLUGIN_ERRORS as exc:
            warnings.append(
                f"method {mspec.name!r} from {origin(mspec)} cannot be constructed "
                f"({one_line(exc)}); left out"
            )
            continue
        for cspec, case in built:
            if not _method_supports(mspec, method, cspec, case, explicit_methods, notes, warnings):
                continue
            days = case.days(split)
            if n_days is not None:
                days = days[:n_days]
            for seed in seeds:
                tasks.append(
                    make_task(
                        case,
                        mspec.name,
                        seed,
                        budget,
                        split,
                        days,
                        case_entry_point=cspec.entry_point,
                        case_kwargs=_case_kwargs(cspec, case_config),
                        method_entry_point=mspec.entry_point,
                        retrain=retrain,
                        condition=condition,
                    )
                )
    return RunPlan(tuple(tasks), tuple(notes), tuple(warnings))
