"""The decision variables of an SGLS dispatch block, one ``define_*_variables`` per device
family (their box bounds are the paper's capacity limits), and :func:`read_block`, which
reads a solved block back as setpoints in the referee's layout."""

from __future__ import annotations

import dataclasses

import numpy as np

from gridbench.cases.sgls.config import SglsConfig
from gridbench.cases.sgls.day import FloatArray
from gridbench.cases.sgls.formulation.network import NetworkRows
from gridbench.cases.sgls.formulation.objective import tangent_segments

__all__ = [
    "BlockResult",
    "define_balance_variables",
    "define_flexible_variables",
    "define_network_variables",
    "define_storage_variables",
    "define_thermal_variables",
    "define_variables",
    "read_block",
]


def define_variables(b, config: SglsConfig, *, track: bool, rows: NetworkRows | None) -> None:
    """Every variable of a block: thermal, storage, flexible, network slack, tie line."""
    define_thermal_variables(b, config)
    define_storage_variables(b, config, track)
    define_flexible_variables(b)
    define_network_variables(b, rows)
    define_balance_variables(b)


def define_thermal_variables(b, config: SglsConfig) -> None:
    """Output ``P_g,t ∈ [P_min, P_max]`` (eq (6)) and its tangent segments
    ``0 ≤ δ_g,t,k ≤ ℓ_k`` (:func:`~.objective.tangent_segments`); without thermal units an
    empty ``p``."""
    import pyomo.environ as pyo

    units = config.thermal
    if not units:
        b.p = pyo.Var(b.G, b.T)
        return
    b.p = pyo.Var(b.G, b.T, bounds=lambda _, g, t: (units[g].p_min_mw, units[g].p_max_mw))
    length = tangent_segments(config)[1]
    b.seg = pyo.Var(b.G, b.T, b.K, bounds=lambda _, g, t, k: (0.0, float(length[g, k])))


def define_storage_variables(b, config: SglsConfig, track: bool = False) -> None:
    """Charge and discharge ``≥ 0``, the binary ``u`` (1: may charge, eq (12)), the energy
    ``E ∈ [SOC_min, SOC_max] E_max`` (eq (9)), the terminal deviation ``tp − tm`` and, with
    ``track``, the per-step deviation ``rp − rm`` from a reference SOC."""
    import pyomo.environ as pyo

    st = config.storage
    b.ch = pyo.Var(b.S, b.T, within=pyo.NonNegativeReals)
    b.dis = pyo.Var(b.S, b.T, within=pyo.NonNegativeReals)
    b.u = pyo.Var(b.S, b.T, within=pyo.Binary)
    b.e = pyo.Var(b.S, b.T, bounds=lambda _, s, t: (st[s].soc_min * st[s].e_mwh,
                                                     st[s].soc_max * st[s].e_mwh))
    b.tp = pyo.Var(b.S, within=pyo.NonNegativeReals)
    b.tm = pyo.Var(b.S, within=pyo.NonNegativeReals)
    if track:
        b.rp = pyo.Var(b.S, b.T, within=pyo.NonNegativeReals)
        b.rm = pyo.Var(b.S, b.T, within=pyo.NonNegativeReals)


def define_flexible_variables(b) -> None:
    """Demand removed ``up ≥ 0`` and moved demand served ``dn ≥ 0`` (shift only) per flexible
    load, and the priced slack ``ξ ≥ 0`` of each shift's end-of-window balance."""
    import pyomo.environ as pyo

    b.up = pyo.Var(b.F, b.T, within=pyo.NonNegativeReals)  # demand removed
    b.dn = pyo.Var(b.F, b.T, within=pyo.NonNegativeReals)  # moved demand served (shift only)
    # soft (1000 $/MWh): a measured balance may exceed what the forecast window can serve
    b.xi = pyo.Var(b.SH, within=pyo.NonNegativeReals)


def define_network_variables(b, rows: NetworkRows | None) -> None:
    """The overload ``σ ≥ 0`` of each kept line row (soft line limits; none for voltages)."""
    if rows is None or not rows.soft:
        return
    import pyomo.environ as pyo

    b.over = pyo.Var(pyo.Set(initialize=sorted(set(rows.lower) | set(rows.upper)), dimen=2),
                     within=pyo.NonNegativeReals)


def define_balance_variables(b) -> None:
    """The tie line ``T_t`` (import positive) and its split ``dp − dm`` (purchase and sale, or
    the deviation from the schedule)."""
    import pyomo.environ as pyo

    b.tie = pyo.Var(b.T)
    b.dp = pyo.Var(b.T, within=pyo.NonNegativeReals)
    b.dm = pyo.Var(b.T, within=pyo.NonNegativeReals)


@dataclasses.dataclass(frozen=True)
class BlockResult:
    """A block's solution as setpoints ``(T, dim)`` in the referee's layout, its tie line and
    planned SOC after each step."""

    setpoints: FloatArray
    tie: FloatArray
    soc: FloatArray


def read_block(b, config: SglsConfig) -> BlockResult:
    import pyomo.environ as pyo

    T = len(b.T)
    G, S, F = len(config.thermal), len(config.storage), len(config.flexible)
    sp = np.zeros((T, G + S + F))
    soc = np.zeros((T, S))
    e = np.array([s.e_mwh for s in config.storage])
    tie = np.zeros(T)
    for t in range(T):
        for g in range(G):
            sp[t, g] = pyo.value(b.p[g, t])
        for s in range(S):
            sp[t, G + s] = pyo.value(b.dis[s, t]) - pyo.value(b.ch[s, t])
            soc[t, s] = pyo.value(b.e[s, t]) / e[s]
        for j in range(F):
            sp[t, G + S + j] = pyo.value(b.up[j, t]) - pyo.value(b.dn[j, t])
        tie[t] = pyo.value(b.tie[t])
    return BlockResult(sp, tie, soc)
