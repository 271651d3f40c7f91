"""The per-step KPI schema of every referee environment (DESIGN §2) and its checker.

Every ``env.step`` of every case returns an ``info`` holding these terms, computed by the
referee from the simulated physics (never by the method):

============================  ==========================================================  =====
key                           meaning                                                     unit
============================  ==========================================================  =====
``cost``                      named cost terms of the step (energy, carbon settlement,   $
                              degradation, penalties …); the day's cost is the sum over
                              steps and terms
``emissions_t``               CO2 emitted (or attributed) during the step                 t
``soc``                       state of charge per storage after the step                  0–1
``tie_line_mw``               substation (tie-line) import, > 0 drawn from upstream       MW
``tie_line_ref_mw``           its reference (day-ahead schedule where the case has one)   MW
``v_min_pu``, ``v_max_pu``    lowest / highest bus voltage magnitude                      pu
``voltage_violation_pu``      Σ over buses of the distance outside the voltage band       pu
``soc_violation``             Σ over storages of the distance outside the SOC band        0–1
``line_overload``             Σ over branches of the loading above rating                 pu
``balance_slack_mw``          unserved or spilled power that closed the balance           MW
============================  ==========================================================  =====

Missing terms are 0 (``cost`` empty, ``soc`` empty) except ``v_min_pu``/``v_max_pu``, which
default to the nominal 1.0 pu so that a case without a network model implies no voltage
excursion (0 pu would read as a collapse). Violation terms are magnitudes (>= 0); whether they
are within tolerance is decided by the harness. Step-to-day aggregation (pu·h, MW²) uses
``info["step_hours"]``, added by the referee next to these keys, together with
``projection``, ``layer``, ``step``, ``time_h``, ``day``, ``next_layer`` and ``next_step``
(:data:`REFEREE_INFO_KEYS`).
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.projection import PROJECTION_KEYS

__all__ = [
    "DEFAULT_ACTION_KEY",
    "KPI_KEYS",
    "REFEREE_INFO_KEYS",
    "SCALAR_KPI_KEYS",
    "VIOLATION_KEYS",
    "StepInfoError",
    "StepKPI",
    "validate_step_info",
]

#: Keys of the KPI schema, in the order of DESIGN §2.
KPI_KEYS: Final[tuple[str, ...]] = (
    "cost",
    "emissions_t",
    "soc",
    "tie_line_mw",
    "tie_line_ref_mw",
    "v_min_pu",
    "v_max_pu",
    "voltage_violation_pu",
    "soc_violation",
    "line_overload",
    "balance_slack_mw",
)
#: The float-valued KPI keys.
SCALAR_KPI_KEYS: Final[tuple[str, ...]] = tuple(k for k in KPI_KEYS if k not in ("cost", "soc"))
#: Keys holding violation magnitudes (>= 0).
VIOLATION_KEYS: Final[tuple[str, ...]] = (
    "voltage_violation_pu",
    "soc_violation",
    "line_overload",
    "balance_slack_mw",
)
#: Keys the referee adds to every step ``info`` next to the KPIs (see ``cases/referee/``):
#: ``next_layer``/``next_step`` locate the step the next action applies to and
#: ``next_action_low``/``next_action_high`` are its feasible box in MW and
#: ``next_penalty_free_low``/``_high`` that box without the reward's soft limits (all six
#: ``None`` once the day is over).
REFEREE_INFO_KEYS: Final[tuple[str, ...]] = (
    "projection",
    "layer",
    "step",
    "time_h",
    "step_hours",
    "day",
    "next_layer",
    "next_step",
    "next_action_low",
    "next_action_high",
    "next_penalty_free_low",
    "next_penalty_free_high",
)

#: The ``info`` keys of the next step's boxes (``DispatchCore.next_boxes``).
NEXT_BOX_KEYS: Final[tuple[str, ...]] = (
    "next_action_low",
    "next_action_high",
    "next_penalty_free_low",
    "next_penalty_free_high",
)

#: The ``info`` key of the case's default operation of the next step, where the case has one
#: (``DispatchCore.default_setpoints``; ``None`` after the day's last step).
DEFAULT_ACTION_KEY: Final[str] = "next_default_action"

_NEXT_KEYS: Final[frozenset[str]] = frozenset({"next_layer", "next_step", *NEXT_BOX_KEYS})

#: Tolerance on the SOC range check of :func:`validate_step_info`.
_SOC_TOL: Final[float] = 1e-6


class StepInfoError(ValueError):
    """A step ``info`` (or a :class:`StepKPI`) that does not follow the KPI schema."""


_FAST_REALS: Final[tuple[type, ...]] = (float, int, np.floating, np.integer)
#: Vectors up to this size are checked in Python floats (faster than numpy's call overhead).
_SHORT: Final[int] = 32


def _finite_float(name: str, value: object) -> float:
    # concrete types first: the ABC check of numbers.Real is slow on the step path
    if isinstance(value, bool | np.bool_) or not (
        isinstance(value, _FAST_REALS) or isinstance(value, Real)
    ):
        raise StepInfoError(f"KPI {name} must be a real number, got {type(value).__name__}")
    out = float(value)  # type: ignore[arg-type]
    if not math.isfinite(out):
        raise StepInfoError(f"KPI {name} must be finite, got {out!r}")
    return out


def _all_finite(x: NDArray[np.float64]) -> bool:
    """``np.isfinite(x).all()`` for a 1-D float64 array, faster in floats on the short SOC
    vectors of a step (``v − v`` is 0 exactly when ``v`` is finite, NaN otherwise)."""
    if x.size > _SHORT:
        return bool(np.isfinite(x).all())
    for v in x.tolist():
        if v - v != 0.0:
            return False
    return True


@dataclass(frozen=True, slots=True)
class StepKPI:
    """KPI terms of one referee step (see the module docstring for meanings and units).

    Values are normalized at construction: ``cost`` becomes a read-only mapping of ``str`` to
    finite ``float``, ``soc`` a read-only 1-D ``float64`` copy, scalars ``float``. Non-finite
    values and negative violations raise :class:`StepInfoError`: a KPI the referee cannot
    compute is a bug in the case, not something to average over.
    """

    cost: Mapping[str, float] = field(default_factory=dict)
    emissions_t: float = 0.0
    soc: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    tie_line_mw: float = 0.0
    tie_line_ref_mw: float = 0.0
    v_min_pu: float = 1.0
    v_max_pu: float = 1.0
    voltage_violation_pu: float = 0.0
    soc_violation: float = 0.0
    line_overload: float = 0.0
    balance_slack_mw: float = 0.0

    def __post_init__(self) -> None:
        if type(self.cost) is not dict and not isinstance(self.cost, Mapping):
            raise StepInfoError(
                f"KPI cost must be a mapping of term name to $, got {type(self.cost).__name__}"
            )
        # hot path (one record per referee step): plain finite floats are taken as they are
        # (``x - x == 0.0`` is False for NaN and ±inf); anything else goes through the
        # general check, which converts or raises
        cost: dict[str, float] = {}
        for term, value in self.cost.items():
            if not isinstance(term, str):
                raise StepInfoError(f"KPI cost term names must be str, got {term!r}")
            if type(value) is float and value - value == 0.0:
                cost[term] = value
            else:
                cost[term] = _finite_float(f"cost[{term!r}]", value)
        object.__setattr__(self, "cost", types.MappingProxyType(cost))
        soc = self.soc
        if type(soc) is list:  # the usual case: np.array of a list of floats is float64
            soc = np.array(soc)
            if soc.dtype != np.float64:
                soc = soc.astype(np.float64)
            soc = soc.reshape(-1)
        else:
            soc = np.array(soc, dtype=np.float64).reshape(-1)
        if not _all_finite(soc):
            raise StepInfoError(f"KPI soc must be finite, got {soc!r}")
        soc.setflags(write=False)
        object.__setattr__(self, "soc", soc)
        for key in SCALAR_KPI_KEYS:
            value = getattr(self, key)
            if type(value) is not float or value - value != 0.0:
                object.__setattr__(self, key, _finite_float(key, value))
        for key in VIOLATION_KEYS:
            if getattr(self, key) < 0.0:
                raise StepInfoError(
                    f"KPI {key} is a magnitude and must be >= 0, got {getattr(self, key)!r}"
                )

    @property
    def total_cost(self) -> float:
        """Σ of the step's cost terms ($)."""
        return float(sum(self.cost.values()))

    def to_info(self) -> dict[str, Any]:
        """A fresh ``dict`` with :data:`KPI_KEYS` (new ``cost`` dict and ``soc`` array each
        call, so that infos kept by a user never share mutable objects)."""
        return {
            "cost": dict(self.cost),
            "emissions_t": self.emissions_t,
            "soc": self.soc.copy(),
            "tie_line_mw": self.tie_line_mw,
            "tie_line_ref_mw": self.tie_line_ref_mw,
            "v_min_pu": self.v_min_pu,
            "v_max_pu": self.v_max_pu,
            "voltage_violation_pu": self.voltage_violation_pu,
            "soc_violation": self.soc_violation,
            "line_overload": self.line_overload,
            "balance_slack_mw": self.balance_slack_mw,
        }

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> StepKPI:
        """Rebuild the KPI record from a step ``info`` (extra keys are ignored)."""
        validate_step_info(info, referee=False)
        return cls(**{key: info[key] for key in KPI_KEYS})


def _check_kpi_value(key: str, value: object) -> str | None:
    """Return a description of what is wrong with ``info[key]``, or None."""
    if key == "cost":
        if not isinstance(value, Mapping):
            return f"cost (expected a mapping of str to finite $, got {type(value).__name__})"
        for term, v in value.items():
            if not isinstance(term, str) or isinstance(v, bool) or not isinstance(v, Real):
                return f"cost[{term!r}] (expected str -> real, got {type(v).__name__})"
            if not math.isfinite(float(v)):
                return f"cost[{term!r}] (not finite: {v!r})"
        return None
    if key == "soc":
        if not isinstance(value, np.ndarray) or value.ndim != 1:
            return f"soc (expected a 1-D numpy array, got {type(value).__name__})"
        if not np.issubdtype(value.dtype, np.floating):
            return f"soc (expected a float array, got dtype {value.dtype})"
        if value.size and not (
            np.isfinite(value).all() and value.min() >= -_SOC_TOL and value.max() <= 1.0 + _SOC_TOL
        ):
            return f"soc (values must be finite and within 0-1, got {value!r})"
        return None
    if isinstance(value, bool) or not isinstance(value, Real):
        return f"{key} (expected a real number, got {type(value).__name__})"
    if not math.isfinite(float(value)):
        return f"{key} (not finite: {value!r})"
    if key in VIOLATION_KEYS and float(value) < 0.0:
        return f"{key} (a magnitude must be >= 0, got {value!r})"
    return None


def _check_referee_value(key: str, value: object) -> str | None:
    if key == "projection":
        if not isinstance(value, Mapping):
            return f"projection (expected a mapping, got {type(value).__name__})"
        missing = [k for k in PROJECTION_KEYS if k not in value]
        if missing:
            return f"projection (missing {', '.join(missing)})"
        return None
    if key in _NEXT_KEYS and value is None:  # the day is over
        return None
    if key in NEXT_BOX_KEYS:
        box = np.asarray(value) if isinstance(value, (np.ndarray, list, tuple)) else None
        if box is None or box.ndim != 1 or box.dtype.kind not in "fiu":
            return f"{key} (expected a 1-D array of MW setpoints, got {type(value).__name__})"
        if not np.all(np.isfinite(box)):
            return f"{key} (expected finite bounds, got {box.tolist()})"
        return None
    if key in ("layer", "day", "next_layer"):
        if not isinstance(value, str):
            return f"{key} (expected str, got {type(value).__name__})"
        return None
    if key in ("step", "next_step"):
        if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < 0:
            return f"{key} (expected an int >= 0, got {value!r})"
        return None
    # time_h, step_hours
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        return f"{key} (expected a finite real, got {value!r})"
    if key == "step_hours" and float(value) <= 0.0:
        return f"step_hours (must be > 0, got {value!r})"
    return None


def validate_step_info(info: Mapping[str, Any], *, referee: bool = True) -> None:
    """Check that a step ``info`` follows the KPI schema; raise :class:`StepInfoError` if not.

    The error is one line listing every missing and every ill-typed key, e.g.
    ``step info does not follow the KPI schema: missing soc, v_min_pu; ill-typed cost
    (expected a mapping of str to finite $, got list)``. With ``referee=True`` (default) the
    referee's keys (:data:`REFEREE_INFO_KEYS`) are required too. Extra keys are allowed.
    Meant for the tests of every case, like Gymnasium's env checker.
    """
    if not isinstance(info, Mapping):
        raise StepInfoError(f"step info must be a mapping, got {type(info).__name__}")
    keys: list[tuple[str, bool]] = [(k, True) for k in KPI_KEYS]
    if referee:
        keys += [(k, False) for k in REFEREE_INFO_KEYS]
    missing: list[str] = []
    bad: list[str] = []
    for key, is_kpi in keys:
        if key not in info:
            missing.append(key)
            continue
        problem = (_check_kpi_value if is_kpi else _check_referee_value)(key, info[key])
        if problem is not None:
            bad.append(problem)
    if missing or bad:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if bad:
            parts.append(f"ill-typed {'; '.join(bad)}")
        raise StepInfoError(f"step info does not follow the KPI schema: {'; '.join(parts)}")
