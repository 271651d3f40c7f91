"""Pyomo MILP of the SGLS dispatch, eqs (1)–(12) of Li et al. (2026), solved by HiGHS.

One *block* is a dispatch over ``T`` steps of ``Δt`` hours on one data set (a forecast, a
scenario or the actual day). Its constraint families (PyPSA style, one function each):

* :func:`define_thermal` — capacity (6) ``P_min ≤ P_g,t ≤ P_max``, ramp (7)
  ``|P_g,t − P_g,t−1| ≤ R_g Δt`` and the cost (2) ``a P² + b P + c`` as the epigraph of
  ``K`` tangent cuts ``z_g,t ≥ a(2 p_k P − p_k²) + b P + c`` at ``K`` equidistant points
  ``p_k`` of ``[P_min, P_max]`` (HiGHS has no MIQP). The tangents under-estimate the convex
  quadratic by at most ``a (Δp/2)²`` with ``Δp = (P_max − P_min)/(K − 1)``: with ``K = 16``
  on IEEE 30 that is ≤ 0.11 $/h per unit (unit 3: a = 0.0625, Δp = 3.3 MW), ≤ 0.66 $/h
  for all six units together, i.e. ≤ 16 $/day; :func:`cut_error_bound` computes it;
* :func:`define_storage` — SOC dynamics with efficiencies, SOC band (9), power limits (10),
  (11), no simultaneous charge and discharge (12) by a binary ``u``: ``P_ch ≤ P_max u``,
  ``P_dis ≤ P_max (1 − u)``;
* :func:`define_flexible` — curtailment ``0 ≤ c ≤ base`` and shifts ``s⁺, s⁻ ≤ base`` inside the
  window, energy neutral at its end (the balance left at the block's end is bounded by what
  the rest of the window can still serve);
* :func:`define_balance` — power balance (5) with the tie line as the balancing player:
  ``T_t = D_t + L_t − R_t − Σ P_g − Σ (P_dis − P_ch) − Σ c − Σ (s⁺ − s⁻)``, ``D`` the load,
  ``R`` the available renewables (eq (8) at its bound: renewables are not curtailed), ``L`` a
  loss estimate (IEEE 33: the losses of the radial AC flow with all devices idle, IEEE 30: 0);
  its cost is ``λ T Δt`` (``tie="linear"``: a day-ahead purchase) or the two-price settlement
  of ``T − T*`` (``tie="imbalance"``, ``T*`` a parameter or the first stage's schedule).

* :func:`define_voltage` — IEEE 33: linearized voltage limits at :data:`MONITORED_BUSES`.

Every data value is a mutable ``Param``, so that :class:`Mpc` re-solves one compiled window
with ``appsi_highs`` (a persistent interface that pushes only the changed values) instead of
rebuilding. Models: :func:`plan_model` (one block, deterministic), :func:`two_stage_model`
(an hourly day-ahead plan whose schedule ``T*_h`` is the first stage, and one 15-min recourse
block per scenario weighted by its probability: the ``scenario`` method, and ``oracle`` with
the realized day as the only scenario).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.sgls.config import SglsConfig
from gridbench.cases.sgls.day import SglsDay, flex_weights

__all__ = [
    "BlockData",
    "BlockResult",
    "Mpc",
    "SolveStatus",
    "add_block",
    "block_data",
    "cut_error_bound",
    "loss_estimate",
    "plan_model",
    "read_block",
    "set_block",
    "solve",
    "two_stage_model",
]

FloatArray = NDArray[np.float64]


class SolveStatus(StrEnum):
    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    TIMEOUT = "timeout"
    ERROR = "error"


@dataclasses.dataclass(frozen=True)
class BlockData:
    """Data of one block: ``T`` steps of ``dt`` h. ``net``: load − renewables (MW, ``(T,)``),
    ``loss`` estimate, ``price`` ($/MWh), ``base`` (``(T, F)``, flexible base demand, 0 where a
    shift is outside its window), ``rest`` (``(F,)``, shiftable energy left in the window after
    the block, MWh), ``active`` (``(T,)``, 1 for real steps, 0 for padding)."""

    dt: float
    net: FloatArray
    loss: FloatArray
    price: FloatArray
    base: FloatArray
    rest: FloatArray
    active: FloatArray
    v_idle: FloatArray | None = None  # (T, M) voltages of the monitored buses, devices idle

    @property
    def T(self) -> int:
        return int(self.net.shape[0])


#: Buses whose voltage the IEEE 33 MILPs keep in band (0-based indices of buses 7, 17, 18, 22,
#: 25, 32, 33): the feeder ends, where the extremes occur (undervoltage at the load ends,
#: overvoltage at the wind and PV ends), and the storage buses.
MONITORED_BUSES: tuple[int, ...] = (6, 16, 17, 21, 24, 31, 32)
#: Margin (pu) kept from the band for the linearization error of the voltage constraints
#: (0.002 pu left 0.001–0.006 pu·h of violations on 1–2 of 5 test days).
VOLTAGE_MARGIN_PU: float = 0.005


def loss_estimate(config: SglsConfig, data: SglsDay) -> FloatArray:
    """Losses of the radial AC flow with every device idle (IEEE 33), 0 on IEEE 30."""
    return idle_flow(config, data)[0]


def idle_flow(config: SglsConfig, data: SglsDay) -> tuple[FloatArray, FloatArray]:
    """``(losses (T,), voltages of MONITORED_BUSES (T, M))`` of the radial AC flow with every
    device idle (IEEE 33); zeros and ``(T, 0)`` on IEEE 30."""
    if config.grid != "ieee33":
        return np.zeros(data.n_steps), np.zeros((data.n_steps, 0))
    from gridbench.cases.grid import RadialPowerFlow, load_grid

    feeder = dataclasses.replace(load_grid("ieee33"), v_slack_pu=config.v_slack_pu)
    p = np.array(data.load_p_mw)
    q = np.array(data.load_q_mvar)
    tan = config.renewable_tan_phi
    for i, bus in enumerate(config.pv_buses):
        p[:, bus - 1] -= data.pv_mw[:, i]
        q[:, bus - 1] += tan * data.pv_mw[:, i]
    p[:, config.wind_bus - 1] -= data.wind_mw
    q[:, config.wind_bus - 1] += tan * data.wind_mw
    res = RadialPowerFlow(feeder).solve(p, q)
    vm = np.asarray(res.vm_pu).reshape(data.n_steps, -1)
    return (np.asarray(res.total_loss_mw, dtype=float).reshape(-1),
            vm[:, list(MONITORED_BUSES)].copy())


def voltage_sensitivity(config: SglsConfig) -> FloatArray:
    """dV/dP (pu per MW) of the monitored buses to each storage and flexible load, shape
    ``(M, S + F)`` (IEEE 33; finite differences of the AC flow at the nominal loads, a flexible
    load's MW spread over its buses and keeping each bus's power factor, as the referee does).
    """
    return _voltage_sensitivity(config)


@functools.lru_cache(maxsize=8)
def _voltage_sensitivity(config: SglsConfig) -> FloatArray:
    from gridbench.cases.grid import RadialPowerFlow, load_grid

    feeder = dataclasses.replace(load_grid("ieee33"), v_slack_pu=config.v_slack_pu)
    pf = RadialPowerFlow(feeder)
    p0, q0 = np.array(feeder.load_p_mw), np.array(feeder.load_q_mvar)
    ratio = np.divide(q0, p0, out=np.zeros_like(p0), where=p0 > 0)
    w = flex_weights(config)
    delta = 0.05
    cols = []
    for s in config.storage:
        p = p0.copy()
        p[s.bus - 1] -= delta
        cols.append((p, q0))
    for j in range(len(config.flexible)):
        cols.append((p0 - delta * w[j], q0 - delta * w[j] * ratio))
    base = pf.solve(p0, q0).vm_pu.reshape(-1)
    out = np.stack([(pf.solve(p, q).vm_pu.reshape(-1) - base) / delta for p, q in cols], axis=1)
    return out[list(MONITORED_BUSES)]


def block_data(config: SglsConfig, data: SglsDay, start: int = 0, length: int | None = None,
               pad_to: int | None = None, loss: FloatArray | None = None) -> BlockData:
    """Block data for steps ``start … start+length−1`` of ``data`` (padded with inactive steps
    to ``pad_to``)."""
    n = data.n_steps
    length = n - start if length is None else min(length, n - start)
    sl = slice(start, start + length)
    dt = data.step_hours
    t_h = np.arange(n) * dt
    base = np.array(data.flex_base_mw)
    rest = np.zeros(len(config.flexible))
    for j, f in enumerate(config.flexible):
        if f.kind == "shift":
            inside = (t_h >= f.window_h[0]) & (t_h < f.window_h[1])
            base[~inside, j] = 0.0
            rest[j] = float(base[start + length:, j].sum() * dt)
    net = data.load_p_mw.sum(axis=1) - data.renewable_mw
    los, vid = idle_flow(config, data)
    if loss is not None:
        los = np.asarray(loss)
    out = BlockData(dt, net[sl].copy(), los[sl].copy(), np.array(data.price[sl]),
                    base[sl].copy(), rest, np.ones(length), vid[sl].copy())
    if pad_to is not None and pad_to > length:
        extra = pad_to - length

        def pad(a: FloatArray, value: float | None = None) -> FloatArray:
            tail = np.repeat(a[-1:], extra, axis=0) if value is None else np.full(
                (extra, *a.shape[1:]), value)
            return np.concatenate([a, tail])

        out = BlockData(dt, pad(out.net), pad(out.loss), pad(out.price), pad(out.base, 0.0),
                        rest, pad(out.active, 0.0), pad(out.v_idle))
    return out


def cut_error_bound(config: SglsConfig) -> float:
    """Largest under-estimate ($/h, all units together) of the tangent-cut thermal cost."""
    k = config.tangent_cuts
    return float(sum(u.a * ((u.p_max_mw - u.p_min_mw) / (k - 1) / 2) ** 2
                     for u in config.thermal))


# ---------------------------------------------------------------------------- model pieces
def _pyo():  # heavy import kept out of module import
    import pyomo.environ as pyo

    return pyo


def _new_block(m, name: str, config: SglsConfig, T: int, dt: float):
    pyo = _pyo()
    b = pyo.Block()
    m.add_component(name, b)
    b.T = pyo.RangeSet(0, T - 1)
    b.G = pyo.RangeSet(0, len(config.thermal) - 1) if config.thermal else pyo.Set(initialize=[])
    b.S = pyo.RangeSet(0, len(config.storage) - 1)
    b.F = pyo.RangeSet(0, len(config.flexible) - 1)
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
    b.w_ref = pyo.Param(initialize=0.0, **mut)  # $/MWh of per-step energy deviation
    return b


def define_thermal(b, config: SglsConfig) -> Any:
    """Eqs (2), (6), (7): capacity, ramp, tangent-cut epigraph of the quadratic cost."""
    pyo = _pyo()
    units = config.thermal
    b.p = pyo.Var(b.G, b.T, bounds=lambda _, g, t: (units[g].p_min_mw, units[g].p_max_mw))
    b.z = pyo.Var(b.G, b.T, within=pyo.NonNegativeReals)
    K = config.tangent_cuts
    b.K = pyo.RangeSet(0, K - 1)

    def cut(_, g, t, k):
        u = units[g]
        pk = u.p_min_mw + (u.p_max_mw - u.p_min_mw) * k / (K - 1)
        return b.z[g, t] >= u.a * (2 * pk * b.p[g, t] - pk * pk) + u.b * b.p[g, t] + u.c

    b.cuts = pyo.Constraint(b.G, b.T, b.K, rule=cut)
    big = max((u.p_max_mw for u in units), default=0.0)

    def ramp_up(_, g, t):
        prev = b.p[g, t - 1] if t > 0 else b.prev[g]
        slack = 0.0 if t > 0 else big * (1 - b.has_prev)
        return b.p[g, t] - prev <= units[g].ramp_mw_per_h * b.dt + slack

    def ramp_dn(_, g, t):
        prev = b.p[g, t - 1] if t > 0 else b.prev[g]
        slack = 0.0 if t > 0 else big * (1 - b.has_prev)
        return prev - b.p[g, t] <= units[g].ramp_mw_per_h * b.dt + slack

    b.ramp_up = pyo.Constraint(b.G, b.T, rule=ramp_up)
    b.ramp_dn = pyo.Constraint(b.G, b.T, rule=ramp_dn)
    return sum(b.on[t] * b.dt * b.z[g, t] for g in b.G for t in b.T)


def define_storage(b, config: SglsConfig) -> Any:
    """Eqs (3), (9)–(12): energy balance, SOC band, power limits, binary exclusivity."""
    pyo = _pyo()
    st = config.storage
    b.ch = pyo.Var(b.S, b.T, within=pyo.NonNegativeReals)
    b.dis = pyo.Var(b.S, b.T, within=pyo.NonNegativeReals)
    b.u = pyo.Var(b.S, b.T, within=pyo.Binary)
    b.e = pyo.Var(b.S, b.T, bounds=lambda _, s, t: (st[s].soc_min * st[s].e_mwh,
                                                     st[s].soc_max * st[s].e_mwh))
    b.ch_max = pyo.Constraint(b.S, b.T, rule=lambda _, s, t:
                              b.ch[s, t] <= st[s].p_max_mw * b.u[s, t] * b.on[t])
    b.dis_max = pyo.Constraint(b.S, b.T, rule=lambda _, s, t:
                               b.dis[s, t] <= st[s].p_max_mw * (1 - b.u[s, t]) * b.on[t])

    def energy(_, s, t):
        prev = b.e[s, t - 1] if t > 0 else b.e0[s]
        return b.e[s, t] == prev + b.dt * (st[s].eta_charge * b.ch[s, t]
                                           - b.dis[s, t] / st[s].eta_discharge)

    b.energy = pyo.Constraint(b.S, b.T, rule=energy)
    last = max(b.T)
    b.tp = pyo.Var(b.S, within=pyo.NonNegativeReals)
    b.tm = pyo.Var(b.S, within=pyo.NonNegativeReals)
    b.terminal = pyo.Constraint(b.S, rule=lambda _, s:
                                b.e[s, last] - b.e_target[s] == b.tp[s] - b.tm[s])
    b.rp = pyo.Var(b.S, b.T, within=pyo.NonNegativeReals)
    b.rm = pyo.Var(b.S, b.T, within=pyo.NonNegativeReals)
    b.track = pyo.Constraint(b.S, b.T, rule=lambda _, s, t:
                             b.e[s, t] - b.e_ref[s, t] == b.rp[s, t] - b.rm[s, t])
    op = sum(b.on[t] * b.dt * (st[s].cost_charge * b.ch[s, t]
                                   + st[s].cost_discharge * b.dis[s, t])
             for s in b.S for t in b.T)
    soft = b.w_target * sum(b.tp[s] + b.tm[s] for s in b.S) + b.w_ref * sum(
        b.on[t] * (b.rp[s, t] + b.rm[s, t]) for s in b.S for t in b.T)
    return op + soft


def define_flexible(b, config: SglsConfig) -> Any:
    """Eq (4): curtailment and energy-neutral shifting within the window."""
    pyo = _pyo()
    fl = config.flexible
    b.up = pyo.Var(b.F, b.T, within=pyo.NonNegativeReals)  # demand removed
    b.dn = pyo.Var(b.F, b.T, within=pyo.NonNegativeReals)  # moved demand served (shift only)
    b.up_max = pyo.Constraint(b.F, b.T, rule=lambda _, j, t: b.up[j, t] <= b.base[j, t])
    b.dn_max = pyo.Constraint(b.F, b.T, rule=lambda _, j, t: b.dn[j, t] <= (
        b.base[j, t] if fl[j].kind == "shift" else 0.0))
    shifts = [j for j in b.F if fl[j].kind == "shift"]
    b.SH = pyo.Set(initialize=shifts)

    def bal(_, j):
        return b.bal0[j] + b.dt * sum(b.up[j, t] - b.dn[j, t] for t in b.T)

    # soft (1000 $/MWh): a measured balance may exceed what the forecast window can serve
    b.xi = pyo.Var(b.SH, within=pyo.NonNegativeReals)
    b.bal_hi = pyo.Constraint(b.SH, rule=lambda _, j:
                              bal(_, j) <= b.bal_target[j] + b.rest[j] + b.xi[j])
    b.bal_lo = pyo.Constraint(b.SH, rule=lambda _, j:
                              bal(_, j) >= b.bal_target[j] - b.rest[j] - b.xi[j])
    return sum(b.on[t] * b.dt * fl[j].cost * (b.up[j, t] + b.dn[j, t])
               for j in b.F for t in b.T) + 1000.0 * sum(b.xi[j] for j in b.SH)


def define_voltage(b, config: SglsConfig) -> None:
    """IEEE 33 only: voltages of the monitored buses in ``[v_min + m, v_max − m]``, linearized
    around the idle flow of the block's data: ``V = V_idle + Σ_d (dV/dP_d) · P_d`` with ``P_d``
    the net injection of storage or flexible load ``d`` (:func:`voltage_sensitivity`)."""
    if not len(b.M):
        return
    pyo = _pyo()
    sens = voltage_sensitivity(config)
    n_st = len(config.storage)

    def v(i, t):
        return b.vidle[i, t] + sum(float(sens[i, s]) * (b.dis[s, t] - b.ch[s, t]) for s in b.S) \
            + sum(float(sens[i, n_st + j]) * (b.up[j, t] - b.dn[j, t]) for j in b.F)

    lo, hi = config.v_min_pu + VOLTAGE_MARGIN_PU, config.v_max_pu - VOLTAGE_MARGIN_PU
    b.v_lo = pyo.Constraint(b.M, b.T, rule=lambda _, i, t: v(i, t) >= lo)
    b.v_hi = pyo.Constraint(b.M, b.T, rule=lambda _, i, t: v(i, t) <= hi)


def define_balance(b, config: SglsConfig, tie: str, ref: Any = None) -> Any:
    """Eq (5) with the tie line closing the balance, and the tie-line cost."""
    pyo = _pyo()
    b.tie = pyo.Var(b.T)
    b.bal_eq = pyo.Constraint(b.T, rule=lambda _, t: b.tie[t] == b.net[t] + b.loss[t]
                              - sum(b.p[g, t] for g in b.G)
                              - sum(b.dis[s, t] - b.ch[s, t] for s in b.S)
                              - sum(b.up[j, t] - b.dn[j, t] for j in b.F))
    b.dp = pyo.Var(b.T, within=pyo.NonNegativeReals)
    b.dm = pyo.Var(b.T, within=pyo.NonNegativeReals)
    if tie == "linear":
        b.split = pyo.Constraint(b.T, rule=lambda _, t: b.tie[t] == b.dp[t] - b.dm[t])
        return day_ahead_cost(b, config)
    if ref is None:
        b.ref = pyo.Param(b.T, initialize=0.0, mutable=True)
        ref = b.ref
    b.dev = pyo.Constraint(b.T, rule=lambda _, t: b.tie[t] - ref[t] == b.dp[t] - b.dm[t])
    # the loss estimate is paid at the tariff (network_loss); the imbalance term settles the rest
    return sum(b.on[t] * b.dt * b.price[t] * (config.imbalance_buy * b.dp[t]
                                                  - config.imbalance_sell * b.dm[t])
               for t in b.T)


def day_ahead_cost(b, config: SglsConfig) -> Any:
    """Day-ahead purchase ``λ (f_buy T⁺ − f_sell T⁻) Δt`` of a ``tie="linear"`` block
    (``f_buy = 1``, ``f_sell = export_price_factor`` unless changed)."""
    return sum(b.on[t] * b.dt * b.price[t] * (b.fbuy * b.dp[t] - b.fsell * b.dm[t])
               for t in b.T)


def add_block(m, name: str, config: SglsConfig, T: int, dt: float, tie: str,
              ref: Any = None):
    """A full dispatch block; returns ``(block, cost expression)``."""
    b = _new_block(m, name, config, T, dt)
    cost = define_thermal(b, config) if config.thermal else 0.0
    if not config.thermal:
        pyo = _pyo()
        b.p = pyo.Var(b.G, b.T)
    cost = cost + define_storage(b, config) + define_flexible(b, config)
    define_voltage(b, config)
    cost = cost + define_balance(b, config, tie, ref)
    return b, cost


def set_block(b, config: SglsConfig, data: BlockData, *, soc0: Sequence[float],
              soc_target: Sequence[float] | None = None, w_target: float = 0.0,
              bal0: Sequence[float] | None = None, prev: Sequence[float] | None = None,
              ref: Sequence[float] | None = None, soc_ref: FloatArray | None = None,
              w_ref: float = 0.0, bal_target: Sequence[float] | None = None) -> None:
    """Write ``data`` and the initial state into the block's parameters. ``bal_target``
    (MWh per flexible load): shifted energy the block must end with, give or take
    ``data.rest`` (default 0)."""
    st = config.storage
    e = np.array([s.e_mwh for s in st])
    for t in range(data.T):
        b.net[t] = float(data.net[t])
        b.loss[t] = float(data.loss[t])
        b.price[t] = float(data.price[t])
        b.on[t] = float(data.active[t])
        if data.v_idle is not None:
            for i in range(data.v_idle.shape[1]):
                b.vidle[i, t] = float(data.v_idle[t, i])
        for j in range(len(config.flexible)):
            b.base[j, t] = float(data.base[t, j])
        if ref is not None:
            b.ref[t] = float(ref[t])
        if soc_ref is not None:
            for s in range(len(st)):
                b.e_ref[s, t] = float(soc_ref[t, s] * e[s])
    for j in range(len(config.flexible)):
        b.rest[j] = float(data.rest[j])
        b.bal0[j] = 0.0 if bal0 is None else float(bal0[j])
        b.bal_target[j] = 0.0 if bal_target is None else float(bal_target[j])
    for s in range(len(st)):
        soc_in = min(max(float(soc0[s]), st[s].soc_min), st[s].soc_max)
        b.e0[s] = soc_in * e[s]
        b.e_target[s] = float((soc0[s] if soc_target is None else soc_target[s]) * e[s])
    b.w_target = float(w_target)
    b.w_ref = float(w_ref)
    if prev is not None and config.thermal:
        for g in range(len(config.thermal)):
            b.prev[g] = float(prev[g])
        b.has_prev = 1.0
    else:
        b.has_prev = 0.0


@dataclasses.dataclass(frozen=True)
class BlockResult:
    """A block's solution as setpoints ``(T, dim)`` in the referee's layout, its tie line and
    planned SOC after each step."""

    setpoints: FloatArray
    tie: FloatArray
    soc: FloatArray


def read_block(b, config: SglsConfig) -> BlockResult:
    pyo = _pyo()
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


# ---------------------------------------------------------------------------- models
def plan_model(config: SglsConfig, T: int, dt: float, tie: str = "linear"):
    """One deterministic block ``m.b`` minimizing its cost (eq (1) + tie-line cost)."""
    pyo = _pyo()
    m = pyo.ConcreteModel()
    _, cost = add_block(m, "b", config, T, dt, tie)
    m.obj = pyo.Objective(expr=cost, sense=pyo.minimize)
    return m


def two_stage_model(config: SglsConfig, probabilities: Sequence[float], link: bool = False):
    """Hourly day-ahead plan ``m.da`` (first stage: its schedule ``T*_h`` is bought at ``λ_h``)
    and one 15-min recourse block ``m.s<i>`` per scenario settling ``T − T*`` (second stage),
    expected cost minimized. The plan's device setpoints only shape ``T*`` (as in the
    referee, where intraday setpoints are free)."""
    pyo = _pyo()
    m = pyo.ConcreteModel()
    da, _ = add_block(m, "da", config, 24, 1.0, "linear")
    ref = {t: da.tie[t // 4] for t in range(96)}
    exp = 0.0
    m.scen = []
    for i, prob in enumerate(probabilities):
        b, cost = add_block(m, f"s{i}", config, 96, 0.25, "imbalance", ref=ref)
        m.scen.append(b)
        exp = exp + float(prob) * cost
    if link:  # the plan's hourly setpoints are the hourly means of the (only) recourse
        b0 = m.scen[0]

        def net_st(b, s, t):
            return b.dis[s, t] - b.ch[s, t]

        def net_fl(b, j, t):
            return b.up[j, t] - b.dn[j, t]

        m.link_st = pyo.Constraint(da.S, da.T, rule=lambda _, s, h: net_st(da, s, h) == sum(
            net_st(b0, s, 4 * h + q) for q in range(4)) / 4)
        m.link_fl = pyo.Constraint(da.F, da.T, rule=lambda _, j, h: net_fl(da, j, h) == sum(
            net_fl(b0, j, 4 * h + q) for q in range(4)) / 4)
        m.link_th = pyo.Constraint(da.G, da.T, rule=lambda _, g, h: da.p[g, h] == sum(
            b0.p[g, 4 * h + q] for q in range(4)) / 4)
    # the first stage pays only its energy purchase: the device costs of the plan are the
    # recourse blocks' (the referee charges executed setpoints, not planned ones)
    first = day_ahead_cost(da, config)
    m.obj = pyo.Objective(expr=first + exp, sense=pyo.minimize)
    return m


@dataclasses.dataclass
class SolveInfo:
    status: SolveStatus
    objective: float
    seconds: float
    message: str = ""


def solve(m, time_limit_s: float = 60.0, mip_gap: float = 1e-4, solver: Any = None) -> SolveInfo:
    """Solve ``m`` with HiGHS through Pyomo's persistent ``appsi_highs`` (pass ``solver`` to
    reuse one: only changed parameters are pushed)."""
    from pyomo.contrib.appsi.base import TerminationCondition
    from pyomo.contrib.appsi.solvers.highs import Highs

    opt = solver if solver is not None else Highs()
    opt.config.time_limit = time_limit_s
    opt.config.mip_gap = mip_gap
    opt.config.load_solution = False
    opt.config.stream_solver = False
    opt.highs_options = {"threads": 1, "output_flag": False, "random_seed": 0}
    t0 = time.perf_counter()
    try:
        res = opt.solve(m)
    except Exception as exc:
        return SolveInfo(SolveStatus.ERROR, float("nan"), time.perf_counter() - t0, str(exc))
    seconds = time.perf_counter() - t0
    tc = res.termination_condition
    if tc == TerminationCondition.optimal or (
        tc == TerminationCondition.maxTimeLimit and res.best_feasible_objective is not None
    ):
        res.solution_loader.load_vars()
        status = SolveStatus.OPTIMAL if tc == TerminationCondition.optimal else SolveStatus.TIMEOUT
        return SolveInfo(status, float(res.best_feasible_objective), seconds)
    if tc in (TerminationCondition.infeasible, TerminationCondition.infeasibleOrUnbounded):
        return SolveInfo(SolveStatus.INFEASIBLE, float("nan"), seconds, str(tc))
    if tc == TerminationCondition.maxTimeLimit:
        return SolveInfo(SolveStatus.TIMEOUT, float("nan"), seconds, str(tc))
    return SolveInfo(SolveStatus.ERROR, float("nan"), seconds, str(tc))


class Mpc:
    """A compiled intraday window of ``length`` 15-min steps, re-solved persistently.

    Each :meth:`solve` writes the window's forecast, the measured state, the schedule ``T*``
    and the planned SOC at the window's end (a soft terminal target, ``w_target`` $/MWh)
    into the parameters and re-solves with the same ``appsi_highs`` object.
    """

    def __init__(self, config: SglsConfig, length: int = 16, *, persistent: bool = True,
                 w_target: float | None = None) -> None:
        self.config = config
        self.length = length
        self.persistent = persistent
        #: terminal SOC deviation price: three times the highest tariff (never worth leaving
        #: the plan's end SOC for an arbitrage inside the window)
        self.w_target = w_target if w_target is not None else 3.0 * 153.0 * config.tariff_scale
        self._m = None
        self._opt = None

    def _model(self):
        if self._m is None or not self.persistent:
            from pyomo.contrib.appsi.solvers.highs import Highs

            self._m = plan_model(self.config, self.length, 0.25, tie="imbalance")
            self._opt = Highs()
            if self.persistent:
                uc = self._opt.update_config
                uc.check_for_new_or_removed_constraints = False
                uc.check_for_new_or_removed_vars = False
                uc.check_for_new_or_removed_params = False
                uc.update_constraints = False
                uc.update_vars = False
                uc.update_named_expressions = False
                uc.check_for_new_objective = False
                uc.update_objective = False
        return self._m

    def solve(self, data: BlockData, *, soc0, bal0, prev, ref, soc_target,
              time_limit_s: float = 10.0, soc_ref: FloatArray | None = None,
              w_ref: float = 0.0, bal_target: Sequence[float] | None = None
              ) -> tuple[SolveInfo, BlockResult | None]:
        m = self._model()
        set_block(m.b, self.config, data, soc0=soc0, soc_target=soc_target,
                  w_target=self.w_target, bal0=bal0, prev=prev, ref=ref, soc_ref=soc_ref,
                  w_ref=w_ref, bal_target=bal_target)
        info = solve(m, time_limit_s=time_limit_s, solver=self._opt)
        if info.status not in (SolveStatus.OPTIMAL, SolveStatus.TIMEOUT):
            return info, None
        return info, read_block(m.b, self.config)


def flex_bus_weights(config: SglsConfig) -> FloatArray:
    """Re-export of :func:`~gridbench.cases.sgls.day.flex_weights` for formulations."""
    return flex_weights(config)
