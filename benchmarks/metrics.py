"""Day KPIs of DESIGN §3, computed from the referee's step ``info`` s only.

:func:`day_metrics` turns the ``info`` s of one day's episode into one row of metrics. Nothing
here looks at a method, an observation or a case object: the referee already computed every
KPI term (:mod:`gridbench.cases.kpi`); this module only aggregates them over the day.

Definitions (fixed here; every case is scored by the same rules)
----------------------------------------------------------------
Which steps count
    Only ``info`` s carrying the KPI schema count (a reset ``info`` has no ``cost``; the
    intermediate stages of a sequential multi-agent step carry ``kpi=False``). The *executed*
    layer is the layer of the last step of the day (the timeline's last layer, ``intraday``);
    steps of earlier layers are *planning* steps.

``profit_<player>``, ``regret_<player>``
    Where the referee reports ``agent_profit`` (the Stackelberg cases' DSO and followers): Σ
    over all steps of each player's profit ($); where it reports ``agent_regret``, each
    follower's regret against its exact best response ($, spec §7's ε_f).

``penalty_usd``
    Σ over all steps of the referee's ``penalty_usd``: the soft-limit penalties (voltage band,
    line ratings, SOC window) at the case's declared prices, which the reward charges and the
    scored cost leaves out (0 where a case reports none). ``cost + penalty_usd`` is the
    penalized cost the crossover study compares.

Day KPIs of a case (``day_kpis``)
    Where a step ``info`` carries ``day_kpis`` (a mapping name → number the referee computed
    for the whole day, e.g. the Stackelberg cases' ``prices_at_bound_share``,
    ``import_peak_valley_mw``, ``import_par``), each becomes the row's ``kpi_<name>``.

``cost``, ``cost_<term>``, ``emissions_t``
    Σ over **all** steps (planning steps included) of the cost terms ($) and of the emissions
    (t). A planning step's KPI record holds what the plan commits (e.g. a day-ahead energy
    purchase, see :class:`~gridbench.cases.referee.Timeline`), which is money really spent;
    it holds no physics. ``cost_<term>`` is the day's sum of one named term; ``cost`` their sum.

Physical trajectories (everything below)
    Executed-layer steps only.

SOC(0)
    The initial state of charge, taken from, in this order: the ``initial_soc`` argument; the
    ``soc`` of a reset ``info`` passed as the first element of ``infos``; the ``soc`` of the last
    planning step (planning steps do not move storage); the ``soc`` after the first executed
    step (an approximation that misses the first step's own move — used only when the
    referee gives nothing better, since a step ``info`` holds the SOC *after* the step).

``soc_dev_max``
    max over storages and executed steps of ``|SOC_t − SOC_ref,t|``. ``SOC_ref`` is the
    day-ahead plan where given — the ``soc_reference`` argument (shape ``(n_storage,)`` or
    ``(n_executed_steps, n_storage)``) or else an optional ``soc_ref`` array in every executed
    step ``info`` — and SOC(0) otherwise. 0 for a case without storage.

``soc_dev_end``
    max over storages of ``|SOC(T) − SOC(0)|`` (the day's storage imbalance). 0 without storage.

``tie_mse`` (MW²)
    Time-weighted mean over executed steps of ``(tie_line_mw − ref)²``. ``ref`` is the step's
    ``tie_line_ref_mw`` when the case has a day-ahead layer (planning steps are present) or
    sets a non-zero reference on some executed step; otherwise the tie line's own time-weighted
    daily mean (so the metric measures how flat the substation profile is).

Violations (Σ over executed steps of magnitude × ``step_hours``)
    ``viol_voltage_puh`` (pu·h, from ``voltage_violation_pu``), ``viol_soc`` (SOC fraction · h,
    from ``soc_violation``), ``viol_line`` (pu·h, from ``line_overload``), ``viol_balance``
    (MWh, from ``balance_slack_mw``).

``feasible``
    Every violation at most its tolerance in :data:`TOLERANCES` (numerical noise of power
    flows and efficiency arithmetic, well below anything physical: 1e-4 pu·h is a 0.4 mpu
    excursion during 15 min).

Also reported: ``v_min_pu`` / ``v_max_pu`` (extremes over executed steps) and ``n_executed``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "METRIC_KEYS",
    "TOLERANCES",
    "VIOLATION_METRICS",
    "MetricsError",
    "day_metrics",
    "nan_metrics",
]

#: Violation metrics and the step KPI each sums (magnitude × step_hours).
VIOLATION_METRICS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "viol_voltage_puh": "voltage_violation_pu",
        "viol_soc": "soc_violation",
        "viol_line": "line_overload",
        "viol_balance": "balance_slack_mw",
    }
)

#: Largest violation still counted as feasible (units of each metric).
TOLERANCES: Final[Mapping[str, float]] = MappingProxyType(
    {
        "viol_voltage_puh": 1e-4,  # pu·h
        "viol_soc": 1e-6,  # SOC fraction · h
        "viol_line": 1e-4,  # pu·h
        "viol_balance": 1e-3,  # MWh (1 kWh a day)
    }
)

#: The fixed metric keys of every row (``cost_<term>`` columns come on top, per case).
METRIC_KEYS: Final[tuple[str, ...]] = (
    "cost",
    "emissions_t",
    "soc_dev_max",
    "soc_dev_end",
    "tie_mse",
    *VIOLATION_METRICS,
    "feasible",
    "v_min_pu",
    "v_max_pu",
    "n_executed",
)


class MetricsError(ValueError):
    """``infos`` that do not describe a day (no KPI step, inconsistent SOC arrays)."""


def nan_metrics() -> dict[str, Any]:
    """The metric columns of a day that did not complete: NaN, ``feasible=False``."""
    out: dict[str, Any] = dict.fromkeys(METRIC_KEYS, math.nan)
    out["feasible"] = False
    out["n_executed"] = 0
    return out


def _is_kpi_step(info: Mapping[str, Any]) -> bool:
    return "cost" in info and bool(info.get("kpi", True))


def _soc(info: Mapping[str, Any]) -> NDArray[np.float64]:
    return np.asarray(info.get("soc", ()), dtype=np.float64).reshape(-1)


def _initial_soc(
    initial_soc: ArrayLike | None,
    infos: Sequence[Mapping[str, Any]],
    planning: Sequence[Mapping[str, Any]],
    executed: Sequence[Mapping[str, Any]],
) -> NDArray[np.float64]:
    if initial_soc is not None:
        return np.asarray(initial_soc, dtype=np.float64).reshape(-1)
    first = infos[0]
    if not _is_kpi_step(first) and "soc" in first:
        return _soc(first)
    if planning:
        return _soc(planning[-1])
    return _soc(executed[0])


def _reference(
    soc_reference: ArrayLike | None,
    executed: Sequence[Mapping[str, Any]],
    soc0: NDArray[np.float64],
    shape: tuple[int, int],
) -> NDArray[np.float64]:
    if soc_reference is not None:
        ref = np.asarray(soc_reference, dtype=np.float64)
    elif all("soc_ref" in info for info in executed):
        ref = np.array([np.asarray(info["soc_ref"], dtype=np.float64) for info in executed])
    else:
        ref = soc0
    try:
        return np.broadcast_to(ref.reshape(-1) if ref.ndim < 2 else ref, shape)
    except ValueError:
        raise MetricsError(
            f"SOC reference of shape {ref.shape} does not fit {shape[0]} executed steps × "
            f"{shape[1]} storages"
        ) from None


def day_metrics(
    infos: Sequence[Mapping[str, Any]],
    *,
    soc_reference: ArrayLike | None = None,
    initial_soc: ArrayLike | None = None,
) -> dict[str, Any]:
    """Every KPI of DESIGN §3 for one day from the referee's ``info`` s (see module docstring).

    Args:
        infos: the step ``info`` s of the day in order (a reset ``info`` may come first).
        soc_reference: the day-ahead SOC plan, ``(n_storage,)`` or ``(n_executed, n_storage)``.
        initial_soc: SOC(0) per storage, where the caller knows it.

    Returns:
        ``{metric: value}``: floats, ``feasible`` a bool, ``n_executed`` an int, plus one
        ``cost_<term>`` per cost term met during the day and, where the steps report
        ``agent_profit`` (a game's players), one ``profit_<player>`` with the day's sum (and
        ``regret_<player>`` from ``agent_regret``).
    """
    infos = list(infos)
    steps = [info for info in infos if _is_kpi_step(info)]
    if not steps:
        raise MetricsError("no step info with KPIs (need the infos returned by env.step)")
    executed_layer = steps[-1].get("layer")
    executed = [info for info in steps if info.get("layer") == executed_layer]
    planning = [info for info in steps if info.get("layer") != executed_layer]

    out: dict[str, Any] = {}
    terms: dict[str, float] = {}
    for info in steps:
        for term, value in info["cost"].items():
            terms[term] = terms.get(term, 0.0) + float(value)
    out["cost"] = float(sum(terms.values()))
    for term, value in terms.items():
        out[f"cost_{term}"] = value
    out["emissions_t"] = float(sum(float(info.get("emissions_t", 0.0)) for info in steps))
    profits: dict[str, float] = {}
    for info in steps:  # multi-player cases: each player's money (Stackelberg)
        for agent, value in (info.get("agent_profit") or {}).items():
            profits[agent] = profits.get(agent, 0.0) + float(value)
    for agent, value in profits.items():
        out[f"profit_{agent}"] = value
    for info in steps:  # ... and each follower's regret against its exact best response
        for agent, value in (info.get("agent_regret") or {}).items():
            out[f"regret_{agent}"] = out.get(f"regret_{agent}", 0.0) + float(value)
    out["penalty_usd"] = float(sum(float(info.get("penalty_usd", 0.0)) for info in steps))
    for info in steps:  # a case's own day KPIs, computed by its referee
        for name, value in (info.get("day_kpis") or {}).items():
            out[f"kpi_{name}"] = float(value)

    dt = np.array([float(info["step_hours"]) for info in executed])

    socs = [_soc(info) for info in executed]
    n_storage = socs[0].size
    if any(s.size != n_storage for s in socs):
        raise MetricsError("the number of storages changes during the day")
    if n_storage:
        soc = np.array(socs)
        soc0 = _initial_soc(initial_soc, infos, planning, executed)
        if soc0.size != n_storage:
            raise MetricsError(f"initial SOC has {soc0.size} entries; the day has {n_storage}")
        ref = _reference(soc_reference, executed, soc0, soc.shape)
        out["soc_dev_max"] = float(np.max(np.abs(soc - ref)))
        out["soc_dev_end"] = float(np.max(np.abs(soc[-1] - soc0)))
    else:
        out["soc_dev_max"] = out["soc_dev_end"] = 0.0

    tie = np.array([float(info.get("tie_line_mw", 0.0)) for info in executed])
    tie_ref = np.array([float(info.get("tie_line_ref_mw", 0.0)) for info in executed])
    weights = dt / dt.sum()
    if planning or np.any(tie_ref != 0.0):
        dev = tie - tie_ref
    else:
        dev = tie - float(np.dot(weights, tie))
    out["tie_mse"] = float(np.dot(weights, dev**2))

    for metric, key in VIOLATION_METRICS.items():
        values = np.array([float(info.get(key, 0.0)) for info in executed])
        out[metric] = float(np.dot(values, dt))
    out["feasible"] = all(out[metric] <= tol for metric, tol in TOLERANCES.items())
    out["v_min_pu"] = float(min(float(info.get("v_min_pu", 1.0)) for info in executed))
    out["v_max_pu"] = float(max(float(info.get("v_max_pu", 1.0)) for info in executed))
    out["n_executed"] = len(executed)
    return out
