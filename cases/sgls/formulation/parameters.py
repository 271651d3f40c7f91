"""The index sets and mutable parameters of an SGLS dispatch block, and the functions that
write a block's data into them (a compiled model is re-solved by rewriting its parameters).

:func:`define_block_parameters` declares them (every data value a mutable ``Param``);
:func:`set_block` writes a block's data and initial state, :func:`set_loss_model` the
linearized losses of a ``marginal_losses`` block, :func:`set_trust_region` the box its
injections must stay in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gridbench.cases.sgls.config import SglsConfig
from gridbench.cases.sgls.day import FloatArray
from gridbench.cases.sgls.formulation.data import BlockData
from gridbench.cases.sgls.formulation.network import MONITORED_BUSES, line_limits, line_ratings

__all__ = ["define_block_parameters", "set_block", "set_loss_model", "set_trust_region"]


def define_block_parameters(m, name: str, config: SglsConfig, T: int, dt: float, *,
                            tie: str, own_ref: bool, marginal_losses: bool) -> Any:
    """Add the block ``m.<name>`` of ``T`` steps of ``dt`` h with its index sets (steps ``T``,
    units ``G``, storages ``S``, flexible loads ``F`` and the shifting ones ``SH``, tangent
    segments ``K``, monitored buses ``M``, lines ``L``) and its mutable parameters, all at a
    neutral value until :func:`set_block` writes them; returns the block. ``own_ref``: a
    ``tie="imbalance"`` block settles against its own schedule parameter ``ref`` (not one
    given by a first stage); ``marginal_losses``: the loss-model coefficients and the trust
    region (:func:`set_loss_model`, :func:`set_trust_region`)."""
    import pyomo.environ as pyo

    b = pyo.Block()
    m.add_component(name, b)
    b.T = pyo.RangeSet(0, T - 1)
    b.G = pyo.RangeSet(0, len(config.thermal) - 1) if config.thermal else pyo.Set(initialize=[])
    b.S = pyo.RangeSet(0, len(config.storage) - 1)
    b.F = pyo.RangeSet(0, len(config.flexible) - 1)
    if config.thermal:
        b.K = pyo.RangeSet(0, config.tangent_cuts - 1)
    b.SH = pyo.Set(initialize=[j for j in b.F if config.flexible[j].kind == "shift"])
    b.dt = dt
    mut = {"mutable": True}
    b.net = pyo.Param(b.T, initialize=0.0, **mut)
    b.loss = pyo.Param(b.T, initialize=0.0, **mut)
    b.price = pyo.Param(b.T, initialize=0.0, **mut)
    b.on = pyo.Param(b.T, initialize=1.0, **mut)
    b.base = pyo.Param(b.F, b.T, initialize=0.0, **mut)
    b.rest = pyo.Param(b.F, initialize=0.0, **mut)
    b.e0 = pyo.Param(b.S, initialize=0.0, **mut)
    b.e_target = pyo.Param(b.S, initialize=0.0, **mut)
    b.w_target = pyo.Param(initialize=0.0, **mut)  # $/MWh of terminal energy deviation
    b.e_floor = pyo.Param(b.S, initialize=0.0, **mut)  # MWh the block must end with, at least
    b.bal0 = pyo.Param(b.F, initialize=0.0, **mut)
    b.bal_target = pyo.Param(b.F, initialize=0.0, **mut)
    # day-ahead purchase factors of a tie="linear" block: imports at fbuy·λ, exports fsell·λ
    b.fbuy = pyo.Param(initialize=1.0, **mut)
    b.fsell = pyo.Param(initialize=config.export_price_factor, **mut)
    b.prev = pyo.Param(b.G, initialize=0.0, **mut)
    b.has_prev = pyo.Param(initialize=0.0, **mut)
    b.e_ref = pyo.Param(b.S, b.T, initialize=0.0, **mut)
    n_mon = len(MONITORED_BUSES) if config.grid == "ieee33" else 0
    b.M = pyo.RangeSet(0, n_mon - 1) if n_mon else pyo.Set(initialize=[])
    b.vidle = pyo.Param(b.M, b.T, initialize=1.0, **mut)
    n_line = len(line_ratings(config))
    b.L = pyo.RangeSet(0, n_line - 1) if n_line else pyo.Set(initialize=[])
    b.fidle = pyo.Param(b.L, b.T, initialize=0.0, **mut)
    b.fmax = pyo.Param(b.L, b.T, initialize=1e6, **mut)  # flow limit (MW), line_limits()
    b.w_ref = pyo.Param(initialize=0.0, **mut)  # $/MWh of per-step energy deviation
    if marginal_losses:  # k = 1 − ∂L/∂x per device (set_loss_model) and the trust region
        b.kth = pyo.Param(b.G, b.T, initialize=1.0, mutable=True)
        b.kst = pyo.Param(b.S, b.T, initialize=1.0, mutable=True)
        b.kfl = pyo.Param(b.F, b.T, initialize=1.0, mutable=True)
        b.D = pyo.RangeSet(0, len(b.G) + len(b.S) + len(b.F) - 1)
        b.x_lo = pyo.Param(b.D, b.T, initialize=-1e3, mutable=True)
        b.x_hi = pyo.Param(b.D, b.T, initialize=1e3, mutable=True)
    if tie != "linear" and own_ref:
        b.ref = pyo.Param(b.T, initialize=0.0, mutable=True)
    return b


def set_block(b, config: SglsConfig, data: BlockData, *, soc0: Sequence[float],
              soc_target: Sequence[float] | None = None, w_target: float = 0.0,
              bal0: Sequence[float] | None = None, prev: Sequence[float] | None = None,
              ref: Sequence[float] | None = None, soc_ref: FloatArray | None = None,
              w_ref: float = 0.0, bal_target: Sequence[float] | None = None,
              soc_floor: Sequence[float] | None = None) -> None:
    """Write ``data`` and the initial state into the block's parameters. ``bal_target``
    (MWh per flexible load): shifted energy the block must end with, give or take
    ``data.rest`` (default 0). ``soc_floor``: SOC each storage must end the block with, at
    least (hard; :func:`~.data.return_floor` for the referee's end-of-day return; default
    none)."""
    _set_steps(b, config, data, ref, soc_ref)
    st = config.storage
    e = np.array([s.e_mwh for s in st])
    for j in range(len(config.flexible)):
        b.rest[j] = float(data.rest[j])
        b.bal0[j] = 0.0 if bal0 is None else float(bal0[j])
        b.bal_target[j] = 0.0 if bal_target is None else float(bal_target[j])
    for s in range(len(st)):
        soc_in = min(max(float(soc0[s]), st[s].soc_min), st[s].soc_max)
        b.e0[s] = soc_in * e[s]
        b.e_target[s] = float((soc0[s] if soc_target is None else soc_target[s]) * e[s])
        b.e_floor[s] = 0.0 if soc_floor is None else float(soc_floor[s]) * e[s]
    b.w_target = float(w_target)
    b.w_ref = float(w_ref)
    if prev is not None and config.thermal:
        for g in range(len(config.thermal)):
            b.prev[g] = float(prev[g])
        b.has_prev = 1.0
    else:
        b.has_prev = 0.0


def _set_steps(b, config: SglsConfig, data: BlockData, ref: Sequence[float] | None,
               soc_ref: FloatArray | None) -> None:
    """The per-step parameters of :func:`set_block`."""
    e = np.array([s.e_mwh for s in config.storage])
    for t in range(data.T):
        b.net[t] = float(data.net[t])
        b.loss[t] = float(data.loss[t])
        b.price[t] = float(data.price[t])
        b.on[t] = float(data.active[t])
        if data.v_idle is not None:
            for i in range(data.v_idle.shape[1]):
                b.vidle[i, t] = float(data.v_idle[t, i])
        if data.flow_idle is not None and data.flow_idle.shape[1]:
            fmax = line_limits(config, data.flow_idle)
            for i in range(data.flow_idle.shape[1]):
                b.fidle[i, t] = float(data.flow_idle[t, i])
                b.fmax[i, t] = float(fmax[t, i])
        for j in range(len(config.flexible)):
            b.base[j, t] = float(data.base[t, j])
        if ref is not None:
            b.ref[t] = float(ref[t])
        if soc_ref is not None:
            for s in range(len(config.storage)):
                b.e_ref[s, t] = float(soc_ref[t, s] * e[s])


def set_loss_model(b, loss: FloatArray, sensitivity: FloatArray, point: FloatArray) -> None:
    """Linearize a ``marginal_losses`` block's losses around the setpoints ``point``
    (``(T, dim)``, the referee's layout): ``loss`` (``(T,)``, MW) are the losses there and
    ``sensitivity`` (``(T, dim)``) their derivatives ``∂L_t/∂x_{d,t}``
    (:func:`~.constraints.define_power_balance_constraints`)."""
    G, S = len(b.G), len(b.S)
    for t in range(len(b.T)):
        b.loss[t] = float(loss[t] - sensitivity[t] @ point[t])
        for d, a in enumerate(sensitivity[t].tolist()):
            if d < G:
                b.kth[d, t] = 1.0 - a
            elif d < G + S:
                b.kst[d - G, t] = 1.0 - a
            else:
                b.kfl[d - G - S, t] = 1.0 - a


def set_trust_region(b, center: FloatArray, radius: FloatArray | None) -> None:
    """Keep a ``marginal_losses`` block's injections within ``center ± radius`` (``(T, dim)``
    and ``(dim,)``, MW; ``None`` opens the region): the linearized losses are then off by at
    most the curvature times ``radius²``, which the sequential solves shrink to nothing."""
    for t in range(len(b.T)):
        for d in range(center.shape[1]):
            r = 1e3 if radius is None else float(radius[d])
            b.x_lo[d, t] = float(center[t, d]) - r
            b.x_hi[d, t] = float(center[t, d]) + r
