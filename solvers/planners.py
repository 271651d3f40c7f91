"""Planning methods shared by every case: one method name, one controller per case family.

``oracle``, ``day-ahead``, ``mpc`` and ``rule`` mean the same thing on every case (perfect
foresight, plan once on the day-ahead forecast, re-plan on the rolling forecast, a tariff rule),
but each case solves its own formulation. So the *method* is registered once, here, and each
case's solver module registers the *controller* that implements it for that case. The methods
are explicit classes (:class:`OracleMethod`, :class:`DayAheadMethod`, :class:`MpcMethod`,
:class:`RuleMethod`) registered by :func:`planning_method`::

    @register_planner("oracle", case_prefix="ses-carbon-")
    def ses_carbon_oracle(case, day):
        return OracleController(case, day, time_limit_s=60.0)

``OracleMethod().supports(case)`` is then true exactly for the cases whose id starts with a
prefix some module registered a planner for, and ``OracleMethod().controller(case, day)``
calls that planner. A case family with methods of its own (SGLS's ``scenario``,
``full-smoothing``, ``single-step``) declares them as :class:`PlannerMethod` subclasses with
:func:`planning_method` and registers planners the same way. A planner registered twice for
the same (method, prefix) from different places is an error naming both; an unknown method
name gets the registry's "did you mean" line.

Deployable methods plan on the case as its planners model it (:meth:`PlannerMethod.model_of`:
``case.planner_view()``, which differs from the case only under the crossover study's model
mismatch); bounds always plan on the case itself.

This keeps one leaderboard row name per idea across cases (``mpc`` on SES-carbon and ``mpc``
on SGLS are comparable rows) without a hand-kept list of cases in any method.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final, TypeVar

from gridbench.cases.contracts import Budget, Case, Controller, MethodFamily
from gridbench.cases.naming import unknown_name_message
from gridbench.cases.registry import DuplicateNameError, UnknownNameError, register_method

__all__ = [
    "COMMON_PLANNERS",
    "PLANNER_METHODS",
    "BoundTolerance",
    "DayAheadMethod",
    "MpcMethod",
    "OracleMethod",
    "PlannerMethod",
    "PlannerSpec",
    "RuleMethod",
    "limit_planner",
    "planner_for",
    "planning_method",
    "register_planner",
]

PlannerFactory = Callable[[Case, datetime.date], Controller]
_F = TypeVar("_F", bound=Callable[..., Any])
_M = TypeVar("_M", bound="PlannerMethod")


@dataclass(frozen=True, slots=True)
class BoundTolerance:
    """How far below a bound's value of a day a deployable method's cost may lie before the
    bound counts as beaten ($ and relative: ``max(usd, rel·|B|)``): the bound's solver
    tolerance, stated where the bound is registered (:func:`register_planner`)."""

    usd: float
    rel: float


@dataclass(frozen=True, slots=True)
class PlannerSpec:
    """One case family's implementation of a planning method (``tolerance``: a bound's
    :class:`BoundTolerance`, ``None`` where it states none)."""

    method: str
    case_prefix: str
    factory: PlannerFactory
    source: str  # ``module:qualname`` of the factory
    tolerance: BoundTolerance | None = None


#: method name → case prefix → planner.
_PLANNERS: dict[str, dict[str, PlannerSpec]] = {}
#: Planning method classes by name (filled by :func:`planning_method`).
PLANNER_METHODS: dict[str, type[PlannerMethod]] = {}


def _source(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"


def register_planner(method: str, case_prefix: str, *,
                     tolerance: BoundTolerance | None = None) -> Callable[[_F], _F]:
    """Decorator: ``factory(case, day) -> Controller`` implements planning method ``method``
    for every case whose id starts with ``case_prefix`` (e.g. ``"ses-carbon-"``); a bound
    states its solver ``tolerance`` (the bound check's, ``benchmarks/bound_check.py``)."""
    if method not in PLANNER_METHODS:
        raise UnknownNameError(unknown_name_message("planning method", method, PLANNER_METHODS))
    if not case_prefix or not case_prefix.endswith("-"):
        raise ValueError(
            f"case prefix {case_prefix!r} must be a case name prefix ending in '-', "
            "e.g. 'ses-carbon-'"
        )

    def decorate(factory: _F) -> _F:
        spec = PlannerSpec(method, case_prefix, factory, _source(factory), tolerance)
        by_prefix = _PLANNERS.setdefault(method, {})
        old = by_prefix.get(case_prefix)
        if old is not None and old.source != spec.source:
            raise DuplicateNameError(
                f"planner {method!r} for cases {case_prefix}* registered twice: "
                f"{old.source} and {spec.source}"
            )
        by_prefix[case_prefix] = spec
        return factory

    return decorate


def planner_for(method: str, case: Case | str) -> PlannerSpec | None:
    """The planner of ``method`` for ``case`` (or a case id; longest matching prefix), or
    ``None``."""
    case_id = case if isinstance(case, str) else str(getattr(case, "id", ""))
    matches = [s for p, s in _PLANNERS.get(method, {}).items() if case_id.startswith(p)]
    return max(matches, key=lambda s: len(s.case_prefix)) if matches else None


class PlannerMethod:
    """A planning method: fits nothing, supports the cases it has a planner for."""

    name: ClassVar[str]
    family: ClassVar[MethodFamily]

    def supports(self, case: Case) -> bool:
        return planner_for(self.name, case) is not None

    def fit(self, case: Case, seed: int, budget: Budget) -> None:
        return None

    def controller(self, case: Case, day: datetime.date) -> Controller:
        spec = planner_for(self.name, case)
        if spec is None:
            raise ValueError(
                f"method {self.name!r} does not support case {getattr(case, 'id', case)!r}; "
                f"it has planners for: {', '.join(sorted(_PLANNERS.get(self.name, {})))}"
            )
        controller = spec.factory(self.model_of(case), day)
        if self.family is MethodFamily.SOLVER:  # bounds and rule baselines are not limited
            limit_planner(controller, case, self.name)
        return controller

    def model_of(self, case: Case) -> Case:
        """The case this method plans on: a bound the referee's own case, a deployable method
        the case as planners model it (``case.planner_view()``, the crossover study's model
        mismatch; the case itself where there is none)."""
        if self.family is MethodFamily.BOUND:
            return case
        view = getattr(case, "planner_view", None)
        return case if view is None else view()


def limit_planner(controller: Controller, case: Case, method: str) -> None:
    """Apply the case's decision-time condition (``config.planner_time_limit_s``, the crossover
    study's axis) to a deployable planner's controller: its per-solve ``time_limit_s`` capped
    at the limit, timeouts tolerated (the deployed fallback of ``solvers/fallback.py``). A
    controller without a settable ``time_limit_s`` refuses a limit (one line)."""
    limit = getattr(getattr(case, "config", None), "planner_time_limit_s", None)
    if limit is None:
        return
    if not hasattr(controller, "time_limit_s") or not hasattr(controller, "tolerate_timeouts"):
        raise ValueError(
            f"method {method!r} on {getattr(case, 'id', case)} has no per-solve time limit to "
            f"set; planner_time_limit_s={limit} applies to the planners that have one"
        )
    own = controller.time_limit_s
    controller.time_limit_s = float(limit) if own is None else min(float(own), float(limit))
    controller.tolerate_timeouts = True


def planning_method(cls: type[_M]) -> type[_M]:
    """Class decorator: register the planning method ``cls`` (a :class:`PlannerMethod` with its
    ``name``, ``family`` and a docstring) with the method registry and in
    :data:`PLANNER_METHODS`, so that :func:`register_planner` accepts its name. A second class
    for the same name is an error naming both."""
    old = PLANNER_METHODS.get(cls.name)
    if old is not None and old is not cls:
        raise DuplicateNameError(
            f"planning method {cls.name!r} defined twice: {_source(old)} and {_source(cls)}"
        )
    register_method(cls)
    PLANNER_METHODS[cls.name] = cls
    return cls


@planning_method
class OracleMethod(PlannerMethod):
    """Perfect-foresight bound: one solve of the case's formulation on the realized day."""

    name: ClassVar[str] = "oracle"
    family: ClassVar[MethodFamily] = MethodFamily.BOUND


@planning_method
class DayAheadMethod(PlannerMethod):
    """Plan once on the day-ahead forecast, executed open loop."""

    name: ClassVar[str] = "day-ahead"
    family: ClassVar[MethodFamily] = MethodFamily.SOLVER


@planning_method
class MpcMethod(PlannerMethod):
    """Model-predictive control: re-solve the case's formulation on the rolling forecast."""

    name: ClassVar[str] = "mpc"
    family: ClassVar[MethodFamily] = MethodFamily.SOLVER


@planning_method
class RuleMethod(PlannerMethod):
    """Time-of-use rule: charge in the valley, discharge at the peak."""

    name: ClassVar[str] = "rule"
    family: ClassVar[MethodFamily] = MethodFamily.BASELINE


#: The planning methods every case family may implement.
COMMON_PLANNERS: Final[tuple[type[PlannerMethod], ...]] = (
    OracleMethod,
    DayAheadMethod,
    MpcMethod,
    RuleMethod,
)
