"""Planning methods shared by every case: one method name, one controller per case family.

``oracle``, ``day-ahead``, ``mpc`` and ``rule`` mean the same thing on every case (perfect
foresight, plan once on the day-ahead forecast, re-plan on the rolling forecast, a tariff rule),
but each case solves its own formulation. So the *method* is registered once, here, and each
case's solver module registers the *controller* that implements it for that case::

    @register_planner("oracle", case_prefix="ses-carbon-")
    def ses_carbon_oracle(case, day):
        return OracleController(case, day, time_limit_s=60.0)

``Oracle().supports(case)`` is then true exactly for the cases whose id starts with a prefix
some module registered a planner for, and ``Oracle().controller(case, day)`` calls that
planner. A case family with methods of its own (SGLS's ``scenario``, ``full-smoothing``,
``single-step``) declares them with :func:`define_planner_method` and registers planners the
same way. A planner registered twice for the same (method, prefix) from different places is
an error naming both; an unknown method name gets the registry's "did you mean" line.

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
    "PLANNER_METHODS",
    "PlannerMethod",
    "PlannerSpec",
    "define_planner_method",
    "planner_for",
    "planner_specs",
    "register_planner",
]

PlannerFactory = Callable[[Case, datetime.date], Controller]
_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class PlannerSpec:
    """One case family's implementation of a planning method."""

    method: str
    case_prefix: str
    factory: PlannerFactory
    source: str  # ``module:qualname`` of the factory


#: method name → case prefix → planner.
_PLANNERS: dict[str, dict[str, PlannerSpec]] = {}
#: Planning method classes by name (filled by :func:`define_planner_method`).
PLANNER_METHODS: dict[str, type[PlannerMethod]] = {}


def _source(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"


def register_planner(method: str, case_prefix: str) -> Callable[[_F], _F]:
    """Decorator: ``factory(case, day) -> Controller`` implements planning method ``method``
    for every case whose id starts with ``case_prefix`` (e.g. ``"ses-carbon-"``)."""
    if method not in PLANNER_METHODS:
        raise UnknownNameError(unknown_name_message("planning method", method, PLANNER_METHODS))
    if not case_prefix or not case_prefix.endswith("-"):
        raise ValueError(
            f"case prefix {case_prefix!r} must be a case name prefix ending in '-', "
            "e.g. 'ses-carbon-'"
        )

    def decorate(factory: _F) -> _F:
        spec = PlannerSpec(method, case_prefix, factory, _source(factory))
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


def planner_for(method: str, case: Case) -> PlannerSpec | None:
    """The planner of ``method`` for ``case`` (longest matching prefix), or ``None``."""
    case_id = str(getattr(case, "id", ""))
    matches = [s for p, s in _PLANNERS.get(method, {}).items() if case_id.startswith(p)]
    return max(matches, key=lambda s: len(s.case_prefix)) if matches else None


def planner_specs() -> tuple[PlannerSpec, ...]:
    """Every registered planner, sorted by (method, prefix)."""
    return tuple(
        spec
        for method in sorted(_PLANNERS)
        for _, spec in sorted(_PLANNERS[method].items())
    )


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
        return spec.factory(case, day)


def define_planner_method(name: str, family: MethodFamily, summary: str) -> type[PlannerMethod]:
    """Create and register the planning method ``name`` (idempotent for the same family)."""
    existing = PLANNER_METHODS.get(name)
    if existing is not None:
        if existing.family is not family:
            raise DuplicateNameError(
                f"planning method {name!r} defined twice with families "
                f"{existing.family} and {family}"
            )
        return existing
    class_name = "".join(part.capitalize() for part in name.split("-")) + "Method"
    cls = type(
        class_name,
        (PlannerMethod,),
        {"name": name, "family": family, "__doc__": summary, "__module__": __name__,
         "__qualname__": class_name},
    )
    globals()[class_name] = cls  # importable by name, so instances pickle to worker processes
    register_method(cls)
    PLANNER_METHODS[name] = cls
    return cls


#: The planning methods every case family may implement.
COMMON_PLANNERS: Final[tuple[tuple[str, MethodFamily, str], ...]] = (
    ("oracle", MethodFamily.BOUND,
     "Perfect-foresight bound: one solve of the case's formulation on the realized day."),
    ("day-ahead", MethodFamily.SOLVER,
     "Plan once on the day-ahead forecast, executed open loop."),
    ("mpc", MethodFamily.SOLVER,
     "Model-predictive control: re-solve the case's formulation on the rolling forecast."),
    ("rule", MethodFamily.BASELINE,
     "Time-of-use rule: charge in the valley, discharge at the peak."),
)

for _name, _family, _summary in COMMON_PLANNERS:
    define_planner_method(_name, _family, _summary)
