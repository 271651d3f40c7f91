"""The cost of an SGLS dispatch block, eq (1) of Li et al. (2026) plus the tie line: one
``*_cost`` expression per family, :func:`block_cost` their sum.

The thermal cost (2) ``a P² + b P + c`` is replaced by the maximum of ``K`` tangents at ``K``
equidistant points ``p_k`` of ``[P_min, P_max]`` (HiGHS has no MIQP), written as its ``K``
segments (:func:`tangent_segments`); it under-estimates the quadratic by at most
:func:`cut_error_bound`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gridbench.cases.sgls.config import SglsConfig
from gridbench.cases.sgls.day import FloatArray
from gridbench.cases.sgls.formulation.network import LINE_PENALTY, NetworkRows

__all__ = [
    "SHIFT_BALANCE_PENALTY",
    "balance_cost",
    "block_cost",
    "cut_error_bound",
    "day_ahead_cost",
    "flexible_cost",
    "network_cost",
    "storage_cost",
    "tangent_segments",
    "thermal_cost",
]

#: Price ($/MWh) of a shift's end-of-window balance beyond what the rest of its window can
#: serve (a measured balance may exceed what the forecast window can serve).
SHIFT_BALANCE_PENALTY: float = 1000.0


def tangent_segments(config: SglsConfig) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(f(P_min) (G,), segment lengths (G, K), slopes (G, K))`` of the maximum of ``K``
    tangents of each unit's cost (eq (2)) at ``K`` equidistant points of ``[P_min, P_max]``:
    tangents ``k`` and ``k+1`` of a quadratic meet half-way between their points, so segment
    ``k`` (slope ``2 a p_k + b``) spans ``Δp/2`` at both ends and ``Δp`` inside. The slopes
    increase, so the LP fills the segments in order and the cost is exactly the tangents'
    maximum, with one row per unit and step instead of ``K`` epigraph cuts."""
    K = config.tangent_cuts
    units = config.thermal
    f0 = np.array([u.a * u.p_min_mw**2 + u.b * u.p_min_mw + u.c for u in units])
    length = np.zeros((len(units), K))
    slope = np.zeros((len(units), K))
    for g, u in enumerate(units):
        dp = (u.p_max_mw - u.p_min_mw) / (K - 1)
        length[g] = dp
        length[g, [0, -1]] = dp / 2
        slope[g] = 2 * u.a * (u.p_min_mw + dp * np.arange(K)) + u.b
    return f0, length, slope


def cut_error_bound(config: SglsConfig) -> float:
    """Largest under-estimate ($/h, all units together) of the tangent-cut thermal cost:
    ``Σ_g a_g (Δp_g/2)²`` with ``Δp = (P_max − P_min)/(K − 1)`` (IEEE 30, ``K = 16``: ≤ 0.54
    $/h, i.e. ≤ 13 $/day)."""
    k = config.tangent_cuts
    return float(sum(u.a * ((u.p_max_mw - u.p_min_mw) / (k - 1) / 2) ** 2
                     for u in config.thermal))


def block_cost(b, config: SglsConfig, *, tie: str, track: bool, network: bool,
               rows: NetworkRows | None) -> Any:
    """The block's cost: thermal (2), storage (3), flexible loads (4), network penalty and
    tie line, summed in that order."""
    cost = thermal_cost(b, config) if config.thermal else 0.0
    cost = cost + storage_cost(b, config, track) + flexible_cost(b, config)
    if network:
        cost = cost + network_cost(b, rows)
    return cost + balance_cost(b, config, tie)


def thermal_cost(b, config: SglsConfig) -> Any:
    """Eq (2) as the tangents' maximum: ``Σ_t on_t Δt (Σ_g f_g(P_min) + Σ_g,k slope_g,k
    δ_g,t,k)``."""
    import pyomo.environ as pyo

    f0, _, slope = tangent_segments(config)
    # one flat sum of monomials (a nested sum per unit and step is slow to build and compile)
    return pyo.quicksum(
        [b.on[t] * (b.dt * float(f0.sum())) for t in b.T]
        + [(b.on[t] * (b.dt * float(slope[g, k]))) * b.seg[g, t, k]
           for g in b.G for t in b.T for k in b.K])


def storage_cost(b, config: SglsConfig, track: bool = False) -> Any:
    """Eq (3) ``Σ (c_ch P_ch + c_dis P_dis) Δt``, plus the terminal SOC deviation at
    ``w_target`` $/MWh and, with ``track``, the per-step deviation at ``w_ref`` $/MWh."""
    st = config.storage
    op = sum(b.on[t] * b.dt * (st[s].cost_charge * b.ch[s, t]
                                   + st[s].cost_discharge * b.dis[s, t])
             for s in b.S for t in b.T)
    soft = b.w_target * sum(b.tp[s] + b.tm[s] for s in b.S)
    if track:
        soft = soft + b.w_ref * sum(b.on[t] * (b.rp[s, t] + b.rm[s, t])
                                    for s in b.S for t in b.T)
    return op + soft


def flexible_cost(b, config: SglsConfig) -> Any:
    """Eq (4) ``Σ c_j (up + dn) Δt``, plus the shifts' balance slack at
    :data:`SHIFT_BALANCE_PENALTY`."""
    fl = config.flexible
    return sum(b.on[t] * b.dt * fl[j].cost * (b.up[j, t] + b.dn[j, t])
               for j in b.F for t in b.T) + SHIFT_BALANCE_PENALTY * sum(b.xi[j] for j in b.SH)


def network_cost(b, rows: NetworkRows | None) -> Any:
    """Line overloads at :data:`~.network.LINE_PENALTY` $/MWh (0 without soft rows)."""
    if rows is None or not rows.soft:
        return 0.0
    import pyomo.environ as pyo

    return pyo.quicksum([b.on[t] * (b.dt * LINE_PENALTY) * b.over[i, t] for i, t in b.over])


def balance_cost(b, config: SglsConfig, tie: str) -> Any:
    """The tie line's cost: the day-ahead purchase (``tie="linear"``,
    :func:`day_ahead_cost`) or the two-price settlement of the deviation from the schedule
    (``tie="imbalance"``); the loss estimate is paid at the tariff (``network_loss``), the
    imbalance term settles the rest."""
    if tie == "linear":
        return day_ahead_cost(b, config)
    return sum(b.on[t] * b.dt * b.price[t] * (config.imbalance_buy * b.dp[t]
                                                  - config.imbalance_sell * b.dm[t])
               for t in b.T)


def day_ahead_cost(b, config: SglsConfig) -> Any:
    """Day-ahead purchase ``λ (f_buy T⁺ − f_sell T⁻) Δt`` of a ``tie="linear"`` block
    (``f_buy = 1``, ``f_sell = export_price_factor`` unless changed)."""
    return sum(b.on[t] * b.dt * b.price[t] * (b.fbuy * b.dp[t] - b.fsell * b.dm[t])
               for t in b.T)
