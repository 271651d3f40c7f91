"""Pyomo MILP of the SGLS dispatch, eqs (1)–(12) of Li et al. (2026), solved by HiGHS.

One *block* is a dispatch over ``T`` steps of ``Δt`` hours on one data set (a forecast, a
scenario or the actual day). Its constraint families (PyPSA style, one function each):

* :func:`define_thermal` — capacity (6) ``P_min ≤ P_g,t ≤ P_max``, ramp (7)
  ``|P_g,t − P_g,t−1| ≤ R_g Δt`` and the cost (2) ``a P² + b P + c`` replaced by the maximum
  of ``K`` tangents at ``K`` equidistant points ``p_k`` of ``[P_min, P_max]`` (HiGHS has no
  MIQP). That maximum is written as its ``K`` segments (consecutive tangents meet half-way
  between their points): ``P = P_min + Σ_k δ_k``, ``0 ≤ δ_k ≤ ℓ_k`` (``ℓ = Δp/2, Δp, …, Δp,
  Δp/2``), cost ``f(P_min) + Σ_k (2 a p_k + b) δ_k``; the slopes increase, so the LP fills the
  segments in order and the cost is exactly the tangents' maximum, with one row per unit and
  step instead of ``K`` epigraph cuts. It under-estimates the convex quadratic by at most
  ``a (Δp/2)²`` with ``Δp = (P_max − P_min)/(K − 1)``: with ``K = 16`` on IEEE 30 that is
  ≤ 0.17 $/h per unit (unit 3: a = 0.0625, Δp = 3.3 MW), ≤ 0.54 $/h for all six units
  together, i.e. ≤ 13 $/day; :func:`cut_error_bound` computes it;
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
* :func:`define_network` — IEEE 33: linearized voltage limits at :data:`MONITORED_BUSES`;
  IEEE 30: the referee's DC line flows (PTDF) within the branch ratings. Given the block's
  data at build time, rows that the variables' box bounds already satisfy are left out
  (implied, so the optimum is unchanged; ≈ 90 % of the voltage and ≈ 80 % of the line rows).

Every data value is a mutable ``Param``. :func:`solve` compiles a model with Pyomo's
linear standard-form compiler and hands the matrices to ``highspy`` (an order of magnitude
faster than ``appsi``'s expression walk on these models), solves the LP relaxation first and,
where its storages charge and discharge at once, rounds the binaries by the larger of the two,
re-solves that LP and keeps it if it is within ``mip_gap`` of the relaxation's bound; only
otherwise it runs HiGHS's branch and bound from that incumbent. :class:`Mpc` re-solves one
compiled window with ``appsi_highs`` (a persistent interface that pushes only the changed
values) instead of rebuilding. Models: :func:`plan_model` (one block, deterministic),
:func:`two_stage_model` (an hourly day-ahead plan whose schedule ``T*_h`` is the first stage,
and one 15-min recourse block per scenario weighted by its probability: the ``scenario``
method, and ``oracle`` with the realized day as the only scenario).
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
    "return_floor",
    "set_block",
    "set_loss_model",
    "set_trust_region",
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
    flow_idle: FloatArray | None = None  # (T, L) DC line flows (MW), devices idle (IEEE 30)

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
#: Relative margin kept from each branch rating (IEEE 30): the MILP's DC flow is the referee's
#: exactly, the margin only absorbs the solver's feasibility tolerance.
LINE_MARGIN: float = 1e-4
#: Price ($/MWh) of a line flow beyond its limit (:func:`line_limits`): soft limits keep an
#: intraday window solvable where the thermal ramps cannot reach a compliant point in time;
#: far above any marginal cost of the system (imbalance ≤ 1.5 × 153 $/MWh × tariff scale,
#: curtailment 20 $/MWh).
LINE_PENALTY: float = 1.0e4


def return_floor(config: SglsConfig, steps_after: int, dt: float = 0.25) -> FloatArray:
    """SOC per storage from which the referee's end-of-day return is still reachable with
    ``steps_after`` steps of ``dt`` h left (:func:`~gridbench.cases.projection.
    storage_return_floor`; ``steps_after = 0``: the initial SOC itself)."""
    from gridbench.cases.projection import storage_return_floor

    st = config.storage
    return np.asarray(storage_return_floor(
        np.array([s.soc0 for s in st]), steps_after, np.array([s.e_mwh for s in st]),
        np.array([s.p_max_mw for s in st]), dt, np.array([s.eta_charge for s in st])),
        dtype=float)


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


def idle_line_flows(config: SglsConfig, data: SglsDay) -> FloatArray:
    """DC branch flows (MW, ``(T, L)``) of ``data`` with every device idle, as the referee
    computes them (PTDF, slack at bus 1); ``(T, 0)`` on IEEE 33."""
    if config.grid != "ieee30":
        return np.zeros((data.n_steps, 0))
    ptdf = _dc(config)[0]
    inj = -np.array(data.load_p_mw)
    for i, bus in enumerate(config.pv_buses):
        inj[:, bus - 1] += data.pv_mw[:, i]
    inj[:, config.wind_bus - 1] += data.wind_mw
    return inj @ ptdf.T


@functools.lru_cache(maxsize=8)
def _dc(config: SglsConfig) -> tuple[FloatArray, FloatArray]:
    """``(PTDF (L, n_bus), ratings (L,))`` of the meshed grid (the referee's DC model)."""
    from gridbench.cases.grid import load_grid
    from gridbench.cases.grid.dc import DcPowerFlow

    grid = load_grid(config.grid)
    return DcPowerFlow(grid).ptdf, np.asarray(grid.rate_mva, dtype=float)


def line_sensitivity(config: SglsConfig) -> FloatArray:
    """dF/dP (MW per MW) of every branch flow to each thermal unit, storage (discharge) and
    flexible load (demand removed, spread over its buses as in the referee), shape
    ``(L, G + S + F)`` (IEEE 30; ``(0, ·)`` on IEEE 33)."""
    n = len(config.thermal) + len(config.storage) + len(config.flexible)
    if config.grid != "ieee30":
        return np.zeros((0, n))
    ptdf = _dc(config)[0]
    cols = [ptdf[:, u.bus - 1] for u in config.thermal]
    cols += [ptdf[:, s.bus - 1] for s in config.storage]
    cols += [ptdf @ w for w in flex_weights(config)]
    return np.stack(cols, axis=1)


def line_ratings(config: SglsConfig) -> FloatArray:
    """Branch ratings (MW) the DC referee checks (IEEE 30; empty on IEEE 33)."""
    return _dc(config)[1] if config.grid == "ieee30" else np.zeros(0)


def line_limits(config: SglsConfig, flow_idle: FloatArray) -> FloatArray:
    """Flow limits (MW, ``(T, L)``) of the MILPs: the rating less :data:`LINE_MARGIN`, or the
    flow with every device idle where that is larger. Renewables are not curtailed, so on
    windy hours the 55 MW at bus 28 push line 6–28 past its 32 MW with the devices idle and
    no dispatch relieves it (its PTDF to every device is ≤ 0.1 in the relieving direction):
    there the MILP may not make the overload worse than idle ("do no harm") instead of being
    infeasible, or of distorting the whole day to shave a few MW (a penalty does that)."""
    rate = line_ratings(config) * (1.0 - LINE_MARGIN)
    return np.maximum(rate[None, :], np.abs(flow_idle))


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
    flows = idle_line_flows(config, data)
    out = BlockData(dt, net[sl].copy(), los[sl].copy(), np.array(data.price[sl]),
                    base[sl].copy(), rest, np.ones(length), vid[sl].copy(), flows[sl].copy())
    if pad_to is not None and pad_to > length:
        extra = pad_to - length

        def pad(a: FloatArray, value: float | None = None) -> FloatArray:
            tail = np.repeat(a[-1:], extra, axis=0) if value is None else np.full(
                (extra, *a.shape[1:]), value)
            return np.concatenate([a, tail])

        out = BlockData(dt, pad(out.net), pad(out.loss), pad(out.price), pad(out.base, 0.0),
                        rest, pad(out.active, 0.0), pad(out.v_idle), pad(out.flow_idle))
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
    return b


def tangent_segments(config: SglsConfig) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(f(P_min) (G,), segment lengths (G, K), slopes (G, K))`` of the maximum of ``K``
    tangents of each unit's cost (eq (2)) at ``K`` equidistant points of ``[P_min, P_max]``:
    tangents ``k`` and ``k+1`` of a quadratic meet half-way between their points, so segment
    ``k`` (slope ``2 a p_k + b``) spans ``Δp/2`` at both ends and ``Δp`` inside."""
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


def define_thermal(b, config: SglsConfig) -> Any:
    """Eqs (2), (6), (7): capacity, ramp, the tangent-maximum cost as segments (module
    docstring, :func:`tangent_segments`)."""
    pyo = _pyo()
    units = config.thermal
    b.p = pyo.Var(b.G, b.T, bounds=lambda _, g, t: (units[g].p_min_mw, units[g].p_max_mw))
    K = config.tangent_cuts
    b.K = pyo.RangeSet(0, K - 1)
    f0, length, slope = tangent_segments(config)
    b.seg = pyo.Var(b.G, b.T, b.K, bounds=lambda _, g, t, k: (0.0, float(length[g, k])))
    b.seg_sum = pyo.Constraint(b.G, b.T, rule=lambda _, g, t: b.p[g, t] == units[g].p_min_mw
                               + sum(b.seg[g, t, k] for k in b.K))
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
    # one flat sum of monomials (a nested sum per unit and step is slow to build and compile)
    return pyo.quicksum(
        [b.on[t] * (b.dt * float(f0.sum())) for t in b.T]
        + [(b.on[t] * (b.dt * float(slope[g, k]))) * b.seg[g, t, k]
           for g in b.G for t in b.T for k in b.K])


def define_storage(b, config: SglsConfig, track: bool = False) -> Any:
    """Eqs (3), (9)–(12): energy balance, SOC band, power limits, binary exclusivity; with
    ``track`` the soft per-step tracking of a reference SOC (``e_ref``, ``w_ref``)."""
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
    # the referee's end-of-day return (storage_return_floor): hard, not priced
    b.floor = pyo.Constraint(b.S, rule=lambda _, s: b.e[s, last] >= b.e_floor[s])
    op = sum(b.on[t] * b.dt * (st[s].cost_charge * b.ch[s, t]
                                   + st[s].cost_discharge * b.dis[s, t])
             for s in b.S for t in b.T)
    soft = b.w_target * sum(b.tp[s] + b.tm[s] for s in b.S)
    if track:
        b.rp = pyo.Var(b.S, b.T, within=pyo.NonNegativeReals)
        b.rm = pyo.Var(b.S, b.T, within=pyo.NonNegativeReals)
        b.track = pyo.Constraint(b.S, b.T, rule=lambda _, s, t:
                                 b.e[s, t] - b.e_ref[s, t] == b.rp[s, t] - b.rm[s, t])
        soft = soft + b.w_ref * sum(b.on[t] * (b.rp[s, t] + b.rm[s, t])
                                    for s in b.S for t in b.T)
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


def device_box(config: SglsConfig, data: BlockData) -> tuple[FloatArray, FloatArray]:
    """Box bounds ``(low, high)``, ``(T, G + S + F)``, of each device's injection in ``data``:
    thermal ``[P_min, P_max]``, storage ``[−P_max, P_max]`` (discharge positive), flexible load
    ``[−base, base]`` (shift) or ``[0, base]`` (curtailment) — what the MILP's bounds allow."""
    T = data.T
    th_lo = np.array([u.p_min_mw for u in config.thermal])
    th_hi = np.array([u.p_max_mw for u in config.thermal])
    st = np.array([s.p_max_mw for s in config.storage])
    shift = np.array([f.kind == "shift" for f in config.flexible], dtype=float)
    low = np.concatenate([np.tile(th_lo, (T, 1)), np.tile(-st, (T, 1)),
                          -data.base * shift], axis=1)
    high = np.concatenate([np.tile(th_hi, (T, 1)), np.tile(st, (T, 1)), data.base], axis=1)
    return low, high


def binding_rows(center: FloatArray, sens: FloatArray, low: FloatArray, high: FloatArray,
                 lower: FloatArray | float, upper: FloatArray | float
                 ) -> tuple[FloatArray, FloatArray]:
    """Which rows ``lower ≤ center[t, i] + Σ_d sens[i, d] x[t, d] ≤ upper`` the box
    ``low ≤ x ≤ high`` does not already satisfy: ``(lower side (T, M), upper side (T, M))``
    boolean masks (the others are implied and can be left out without changing the optimum)."""
    lo_x = np.minimum(sens[None] * low[:, None, :], sens[None] * high[:, None, :]).sum(2)
    hi_x = np.maximum(sens[None] * low[:, None, :], sens[None] * high[:, None, :]).sum(2)
    return center + lo_x < lower, center + hi_x > upper


def define_network(b, config: SglsConfig, data: BlockData | None = None) -> Any:
    """Network limits (IEEE 33: voltages, IEEE 30: line flows), linear in the devices' net
    injections ``x_d`` (thermal output, storage discharge − charge, demand a flexible load
    removes):

    * IEEE 33: voltages of the monitored buses in ``[v_min + m, v_max − m]``, linearized around
      the idle flow of the block's data, ``V = V_idle + Σ_d (dV/dP_d) x_d``
      (:func:`voltage_sensitivity`);
    * IEEE 30: DC branch flows ``F = F_idle + Σ_d PTDF_d x_d`` (the referee's PTDF,
      :func:`line_sensitivity`) within ``± F_max`` (:func:`line_limits`: the rating, or the
      idle flow where that is larger), soft: ``σ ≥ 0`` beyond it costs ``LINE_PENALTY``
      $/MWh (the returned cost expression; 0 on IEEE 33). Idle operation meets these limits,
      so a full-day MILP never pays the penalty; a window whose thermal units cannot ramp to
      idle within it might.

    With ``data`` the rows its box bounds already satisfy are left out (:func:`binding_rows`);
    the block must then be set with the same data. Without it every row is built (a persistent
    window re-solved on changing data)."""
    pyo = _pyo()
    G, S = len(config.thermal), len(config.storage)

    def terms(d, t, c):  # c·x_d as monomials (flat sums build and compile fast)
        if d < G:
            return [c * b.p[d, t]]
        if d < G + S:
            return [c * b.dis[d - G, t], -c * b.ch[d - G, t]]
        return [c * b.up[d - G - S, t], -c * b.dn[d - G - S, t]]

    if len(b.M):
        sens = voltage_sensitivity(config)
        sens = np.concatenate([np.zeros((sens.shape[0], G)), sens], axis=1)
        center = b.vidle
        lower = config.v_min_pu + VOLTAGE_MARGIN_PU
        upper = config.v_max_pu - VOLTAGE_MARGIN_PU
        idx, prefix, cen = b.M, "v", None if data is None else data.v_idle
    elif len(b.L):
        sens = line_sensitivity(config)
        center, idx, prefix = b.fidle, b.L, "line"
        cen = None if data is None else data.flow_idle
        if data is not None:
            upper = line_limits(config, data.flow_idle)
            lower = -upper
    else:
        return 0.0
    if data is None:
        lo_rows = hi_rows = [(i, t) for i in idx for t in b.T]
    else:
        low, high = device_box(config, data)
        need_lo, need_hi = binding_rows(cen, sens, low, high, lower, upper)
        lo_rows = [(int(i), int(t)) for t, i in zip(*np.nonzero(need_lo), strict=True)]
        hi_rows = [(int(i), int(t)) for t, i in zip(*np.nonzero(need_hi), strict=True)]
    used = [d for d in range(sens.shape[1]) if np.any(sens[:, d] != 0.0)]
    soft = prefix == "line"
    if soft:  # limits are parameters (line_limits of the data set_block writes)
        def lo_b(i, t):
            return -b.fmax[i, t]

        def hi_b(i, t):
            return b.fmax[i, t]
    else:
        def lo_b(i, t):
            return lower

        def hi_b(i, t):
            return upper

    def expr(i, t):
        out = [center[i, t]]
        for d in used:
            if sens[i, d] != 0.0:
                out += terms(d, t, float(sens[i, d]))
        return pyo.quicksum(out)

    if soft:
        b.over = pyo.Var(pyo.Set(initialize=sorted(set(lo_rows) | set(hi_rows)), dimen=2),
                         within=pyo.NonNegativeReals)

    def slack(i, t, sign):
        return sign * b.over[i, t] if soft else 0.0

    b.add_component(f"{prefix}_lo", pyo.Constraint(
        pyo.Set(initialize=lo_rows, dimen=2),
        rule=lambda _, i, t: expr(i, t) + slack(i, t, 1.0) >= lo_b(i, t)))
    b.add_component(f"{prefix}_hi", pyo.Constraint(
        pyo.Set(initialize=hi_rows, dimen=2),
        rule=lambda _, i, t: expr(i, t) - slack(i, t, 1.0) <= hi_b(i, t)))
    if not soft:
        return 0.0
    return pyo.quicksum([b.on[t] * (b.dt * LINE_PENALTY) * b.over[i, t] for i, t in b.over])


def define_balance(b, config: SglsConfig, tie: str, ref: Any = None,
                   marginal_losses: bool = False) -> Any:
    """Eq (5) with the tie line closing the balance, and the tie-line cost.

    ``T_t = net_t + loss_t − Σ_d k_{d,t} x_{d,t}`` over the devices' injections ``x`` (thermal
    output, storage discharge − charge, demand removed). Without ``marginal_losses``
    ``k = 1`` and ``loss`` is a constant estimate; with it, ``k_{d,t} = 1 − ∂L_t/∂x_d``
    (mutable: :func:`set_loss_model`), i.e. the losses linearized around a point ``x⁰``:
    ``L(x) ≈ L(x⁰) + ∇L·(x − x⁰)`` with ``loss_t = L_t(x⁰) − ∇L_t·x⁰``."""
    pyo = _pyo()
    b.tie = pyo.Var(b.T)
    if marginal_losses:
        b.kth = pyo.Param(b.G, b.T, initialize=1.0, mutable=True)
        b.kst = pyo.Param(b.S, b.T, initialize=1.0, mutable=True)
        b.kfl = pyo.Param(b.F, b.T, initialize=1.0, mutable=True)
        b.bal_eq = pyo.Constraint(b.T, rule=lambda _, t: b.tie[t] == b.net[t] + b.loss[t]
                                  - sum(b.kth[g, t] * b.p[g, t] for g in b.G)
                                  - sum(b.kst[s, t] * (b.dis[s, t] - b.ch[s, t]) for s in b.S)
                                  - sum(b.kfl[j, t] * (b.up[j, t] - b.dn[j, t]) for j in b.F))
        # trust region around the linearization point (set_trust_region; open by default)
        n_g, n_s = len(b.G), len(b.S)
        b.D = pyo.RangeSet(0, n_g + n_s + len(b.F) - 1)
        b.x_lo = pyo.Param(b.D, b.T, initialize=-1e3, mutable=True)
        b.x_hi = pyo.Param(b.D, b.T, initialize=1e3, mutable=True)

        def injection(d, t):
            if d < n_g:
                return b.p[d, t]
            if d < n_g + n_s:
                return b.dis[d - n_g, t] - b.ch[d - n_g, t]
            return b.up[d - n_g - n_s, t] - b.dn[d - n_g - n_s, t]

        b.trust = pyo.Constraint(b.D, b.T, rule=lambda _, d, t: (
            b.x_lo[d, t], injection(d, t), b.x_hi[d, t]))
    else:
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


def set_loss_model(b, loss: FloatArray, sensitivity: FloatArray, point: FloatArray) -> None:
    """Linearize a ``marginal_losses`` block's losses around the setpoints ``point``
    (``(T, dim)``, the referee's layout): ``loss`` (``(T,)``, MW) are the losses there and
    ``sensitivity`` (``(T, dim)``) their derivatives ``∂L_t/∂x_{d,t}`` (:func:`define_balance`)."""
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


def day_ahead_cost(b, config: SglsConfig) -> Any:
    """Day-ahead purchase ``λ (f_buy T⁺ − f_sell T⁻) Δt`` of a ``tie="linear"`` block
    (``f_buy = 1``, ``f_sell = export_price_factor`` unless changed)."""
    return sum(b.on[t] * b.dt * b.price[t] * (b.fbuy * b.dp[t] - b.fsell * b.dm[t])
               for t in b.T)


def add_block(m, name: str, config: SglsConfig, T: int, dt: float, tie: str,
              ref: Any = None, *, data: BlockData | None = None, track: bool = False,
              network: bool = True, marginal_losses: bool = False):
    """A full dispatch block; returns ``(block, cost expression)``. ``data``: the block's
    data, known at build time (network rows it makes redundant are left out,
    :func:`define_network`); ``track``: build the SOC-tracking term (:class:`Mpc`);
    ``network=False``: no network rows (copper plate)."""
    from pyomo.common.gc_manager import PauseGC

    with PauseGC():  # tens of thousands of small objects: the cyclic GC only slows this down
        b = _new_block(m, name, config, T, dt)
        cost = define_thermal(b, config) if config.thermal else 0.0
        if not config.thermal:
            pyo = _pyo()
            b.p = pyo.Var(b.G, b.T)
        cost = cost + define_storage(b, config, track) + define_flexible(b, config)
        if network:
            cost = cost + define_network(b, config, data)
        cost = cost + define_balance(b, config, tie, ref, marginal_losses)
    return b, cost


def set_block(b, config: SglsConfig, data: BlockData, *, soc0: Sequence[float],
              soc_target: Sequence[float] | None = None, w_target: float = 0.0,
              bal0: Sequence[float] | None = None, prev: Sequence[float] | None = None,
              ref: Sequence[float] | None = None, soc_ref: FloatArray | None = None,
              w_ref: float = 0.0, bal_target: Sequence[float] | None = None,
              soc_floor: Sequence[float] | None = None) -> None:
    """Write ``data`` and the initial state into the block's parameters. ``bal_target``
    (MWh per flexible load): shifted energy the block must end with, give or take
    ``data.rest`` (default 0). ``soc_floor``: SOC each storage must end the block with, at
    least (hard; :func:`return_floor` for the referee's end-of-day return; default none)."""
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
        b.e_floor[s] = 0.0 if soc_floor is None else float(soc_floor[s]) * e[s]
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
def plan_model(config: SglsConfig, T: int, dt: float, tie: str = "linear", *,
               data: BlockData | None = None, track: bool = False, network: bool = True):
    """One deterministic block ``m.b`` minimizing its cost (eq (1) + tie-line cost); ``data``,
    ``track`` and ``network`` as in :func:`add_block`."""
    pyo = _pyo()
    m = pyo.ConcreteModel()
    _, cost = add_block(m, "b", config, T, dt, tie, data=data, track=track, network=network)
    m.obj = pyo.Objective(expr=cost, sense=pyo.minimize)
    return m


def two_stage_model(config: SglsConfig, probabilities: Sequence[float], link: bool = False,
                    *, plan_data: BlockData | None = None,
                    scenario_data: Sequence[BlockData] | None = None,
                    marginal_losses: bool = False):
    """Hourly day-ahead plan ``m.da`` (first stage: its schedule ``T*_h`` is bought at ``λ_h``)
    and one 15-min recourse block ``m.s<i>`` per scenario settling ``T − T*`` (second stage),
    expected cost minimized. The plan's device setpoints only shape ``T*`` (as in the
    referee, where intraday setpoints are free). ``plan_data`` / ``scenario_data``: the
    blocks' data known at build time (:func:`add_block`); ``marginal_losses``: every block's
    losses linearized (:func:`define_balance`, :func:`set_loss_model`)."""
    pyo = _pyo()
    m = pyo.ConcreteModel()
    da, _ = add_block(m, "da", config, 24, 1.0, "linear", data=plan_data,
                      marginal_losses=marginal_losses)
    # the plan's own costs are not in the objective (below): its shifted energy must balance
    # exactly, as the referee's day-ahead layer enforces, not through the priced slack
    for j in da.SH:
        da.xi[j].fix(0.0)
    # the referee ramps the first executed quarter-hour from the plan's hour 0 (on_layer_start)
    if config.thermal:
        ramp = {g: config.thermal[g].ramp_mw_per_h * 0.25 for g in da.G}
        m.first_ramp = pyo.ConstraintList()
    ref = {t: da.tie[t // 4] for t in range(96)}
    exp = 0.0
    m.scen = []
    for i, prob in enumerate(probabilities):
        b, cost = add_block(m, f"s{i}", config, 96, 0.25, "imbalance", ref=ref,
                            data=None if scenario_data is None else scenario_data[i],
                            marginal_losses=marginal_losses)
        m.scen.append(b)
        if config.thermal:
            for g in da.G:
                m.first_ramp.add(b.p[g, 0] - da.p[g, 0] <= ramp[g])
                m.first_ramp.add(da.p[g, 0] - b.p[g, 0] <= ramp[g])
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
    """Outcome of :func:`solve`. ``gap``: certified relative gap of ``objective`` to the best
    bound (0 when the LP relaxation is integral; nan when unknown, e.g. ``appsi``);
    ``stage``: ``"lp"`` (relaxation integral), ``"rounded"`` (rounded binaries within the
    gap), ``"mip"`` (branch and bound), ``"appsi"`` (persistent interface)."""

    status: SolveStatus
    objective: float
    seconds: float
    message: str = ""
    gap: float = float("nan")
    stage: str = ""


@dataclasses.dataclass(frozen=True)
class _Compiled:
    """A model compiled to ``row_lower ≤ A x ≤ row_upper``, ``col_lower ≤ x ≤ col_upper``."""

    columns: list
    integer: NDArray[np.int32]
    col_lower: FloatArray
    col_upper: FloatArray


def _compile(m, h) -> _Compiled:
    """Compile ``m`` with Pyomo's linear standard-form compiler and pass it to ``highspy``
    object ``h`` as an LP (integrality left out)."""
    import highspy
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    sf = LinearStandardFormCompiler().write(m, mixed_form=True)
    A = sf.A.tocsc()
    n_row, n_col = A.shape
    rhs = np.asarray(sf.rhs, dtype=float).reshape(-1)
    kind = np.fromiter((r.bound_type for r in sf.rows), dtype=np.int8, count=n_row)
    row_lower = np.where(kind <= 0, rhs, -np.inf)  # 0: equality, -1: lower bound, 1: upper
    row_upper = np.where(kind >= 0, rhs, np.inf)
    cols = sf.columns
    col_lower = np.array([-np.inf if v.lb is None else v.lb for v in cols], dtype=float)
    col_upper = np.array([np.inf if v.ub is None else v.ub for v in cols], dtype=float)
    integer = np.flatnonzero([v.is_integer() for v in cols]).astype(np.int32)
    cost = sf.c.toarray()[0] if sf.c.shape[0] else np.zeros(n_col)
    offset = float(np.asarray(sf.c_offset, dtype=float).reshape(-1)[0]) \
        if np.size(sf.c_offset) else 0.0
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_col, n_row
    lp.col_cost_, lp.offset_ = cost, offset
    lp.col_lower_, lp.col_upper_ = col_lower, col_upper
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_col, n_row
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    h.passModel(lp)
    return _Compiled(cols, integer, col_lower, col_upper)


def _round_binaries(comp: _Compiled, x: FloatArray) -> FloatArray:
    """Integer values for a relaxation's solution ``x``: a storage's ``u`` is 1 where it
    charges more than it discharges, 0 where less (its integral value otherwise); any other
    integer variable is rounded to the nearest integer."""
    pos = {id(v): i for i, v in enumerate(comp.columns)}
    out = np.round(x[comp.integer])
    for k, j in enumerate(comp.integer):
        v = comp.columns[j]
        if v.parent_component().local_name != "u":
            continue
        b, idx = v.parent_block(), v.index()
        ic, idis = pos.get(id(b.ch[idx])), pos.get(id(b.dis[idx]))
        ch = x[ic] if ic is not None else 0.0
        dis = x[idis] if idis is not None else 0.0
        if ch > dis:
            out[k] = 1.0
        elif dis > ch:
            out[k] = 0.0
    return np.clip(out, comp.col_lower[comp.integer], comp.col_upper[comp.integer])


def _load(m, comp: _Compiled, x: FloatArray) -> None:
    for v, val in zip(comp.columns, x, strict=True):
        v.set_value(float(val), skip_validation=True)
    pyo = _pyo()
    for v in m.component_data_objects(pyo.Var, descend_into=True):
        if v.value is None:  # in no row and not in the objective: any value in bounds
            v.set_value(0.0 if v.lb is None else max(0.0, v.lb), skip_validation=True)


def _gap(upper: float, lower: float) -> float:
    return max(upper - lower, 0.0) / max(abs(upper), 1.0)


def solve(m, time_limit_s: float = 60.0, mip_gap: float = 1e-4, solver: Any = None,
          abs_gap: float = 0.0) -> SolveInfo:
    """Solve ``m`` with HiGHS, to a relative gap ``mip_gap`` or an absolute gap ``abs_gap``
    (objective units, $), whichever is reached first (HiGHS's own rule).

    Without ``solver``: compile the model (Pyomo's standard-form compiler → ``highspy``),
    solve the LP relaxation; if it is integral it is optimal (``gap`` 0). Otherwise round the
    binaries (:func:`_round_binaries`), re-solve the LP with them fixed and keep that solution
    if it is within the gap of the relaxation's bound; otherwise run HiGHS's branch and bound
    from it. ``SolveInfo.gap`` is the certified relative gap.

    With ``solver`` (a Pyomo ``appsi_highs`` object): solve through it, persistently (only
    changed parameters are pushed; :class:`Mpc`).
    """
    if solver is not None:
        return _solve_appsi(m, time_limit_s, mip_gap, solver, abs_gap)
    import highspy

    from gridbench.cases.highs import quiet_highs_banner

    quiet_highs_banner()
    t0 = time.perf_counter()
    h = highspy.Highs()
    for key, val in (("output_flag", False), ("threads", 1), ("random_seed", 0),
                     ("time_limit", float(time_limit_s)), ("mip_rel_gap", float(mip_gap)),
                     ("mip_abs_gap", max(float(abs_gap), 1e-6))):
        h.setOptionValue(key, val)
    MS = highspy.HighsModelStatus
    try:
        comp = _compile(m, h)
        h.run()
    except Exception as exc:  # an infeasible constant row, a nonlinear term, ...
        status = SolveStatus.INFEASIBLE if "infeasible" in str(exc).lower() \
            else SolveStatus.ERROR
        return SolveInfo(status, float("nan"), time.perf_counter() - t0, str(exc))

    def failed(stage: str) -> SolveInfo:
        ms = h.getModelStatus()
        status = {MS.kInfeasible: SolveStatus.INFEASIBLE,
                  MS.kUnboundedOrInfeasible: SolveStatus.INFEASIBLE,
                  MS.kTimeLimit: SolveStatus.TIMEOUT}.get(ms, SolveStatus.ERROR)
        return SolveInfo(status, float("nan"), time.perf_counter() - t0,
                         f"{stage}: {h.modelStatusToString(ms)}", stage=stage)

    if h.getModelStatus() != MS.kOptimal:
        return failed("lp")
    x = np.array(h.getSolution().col_value)
    bound = float(h.getInfo().objective_function_value)
    ints = comp.integer
    if not ints.size or np.all(np.abs(x[ints] - np.round(x[ints])) <= 1e-6):
        _load(m, comp, x)
        return SolveInfo(SolveStatus.OPTIMAL, bound, time.perf_counter() - t0, gap=0.0,
                         stage="lp")
    fixed = _round_binaries(comp, x)
    h.changeColsBounds(len(ints), ints, fixed, fixed)
    h.run()
    incumbent = None
    if h.getModelStatus() == MS.kOptimal:
        incumbent = np.array(h.getSolution().col_value)
        value = float(h.getInfo().objective_function_value)
        if _gap(value, bound) <= mip_gap or value - bound <= abs_gap:
            _load(m, comp, incumbent)
            return SolveInfo(SolveStatus.OPTIMAL, value, time.perf_counter() - t0,
                             gap=_gap(value, bound), stage="rounded")
    h.changeColsBounds(len(ints), ints, comp.col_lower[ints], comp.col_upper[ints])
    h.changeColsIntegrality(len(ints), ints,
                            np.full(len(ints), int(highspy.HighsVarType.kInteger), np.uint8))
    if incumbent is not None:
        h.setSolution(len(incumbent), np.arange(len(incumbent), dtype=np.int32), incumbent)
    h.setOptionValue("time_limit", max(float(time_limit_s) - (time.perf_counter() - t0), 1.0))
    h.run()
    ms, info = h.getModelStatus(), h.getInfo()
    feasible = info.primal_solution_status == 2
    if ms == MS.kOptimal or (ms == MS.kTimeLimit and feasible):
        x = np.array(h.getSolution().col_value)
        _load(m, comp, x)
        status = SolveStatus.OPTIMAL if ms == MS.kOptimal else SolveStatus.TIMEOUT
        return SolveInfo(status, float(info.objective_function_value),
                         time.perf_counter() - t0, gap=float(info.mip_gap), stage="mip")
    return failed("mip")


def _solve_appsi(m, time_limit_s: float, mip_gap: float, opt: Any,
                 abs_gap: float = 0.0) -> SolveInfo:
    from pyomo.contrib.appsi.base import TerminationCondition

    opt.config.time_limit = time_limit_s
    opt.config.mip_gap = mip_gap
    opt.config.load_solution = False
    opt.config.stream_solver = False
    opt.highs_options = {"threads": 1, "output_flag": False, "random_seed": 0,
                         "mip_abs_gap": max(float(abs_gap), 1e-6)}
    t0 = time.perf_counter()
    try:
        res = opt.solve(m)
    except Exception as exc:
        return SolveInfo(SolveStatus.ERROR, float("nan"), time.perf_counter() - t0, str(exc),
                         stage="appsi")
    seconds = time.perf_counter() - t0
    tc = res.termination_condition
    if tc == TerminationCondition.optimal or (
        tc == TerminationCondition.maxTimeLimit and res.best_feasible_objective is not None
    ):
        res.solution_loader.load_vars()
        status = SolveStatus.OPTIMAL if tc == TerminationCondition.optimal else SolveStatus.TIMEOUT
        return SolveInfo(status, float(res.best_feasible_objective), seconds, stage="appsi")
    if tc in (TerminationCondition.infeasible, TerminationCondition.infeasibleOrUnbounded):
        return SolveInfo(SolveStatus.INFEASIBLE, float("nan"), seconds, str(tc), stage="appsi")
    if tc == TerminationCondition.maxTimeLimit:
        return SolveInfo(SolveStatus.TIMEOUT, float("nan"), seconds, str(tc), stage="appsi")
    return SolveInfo(SolveStatus.ERROR, float("nan"), seconds, str(tc), stage="appsi")


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

            from gridbench.cases.highs import quiet_highs_banner

            quiet_highs_banner()

            self._m = plan_model(self.config, self.length, 0.25, tie="imbalance", track=True)
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
              w_ref: float = 0.0, bal_target: Sequence[float] | None = None,
              soc_floor: Sequence[float] | None = None
              ) -> tuple[SolveInfo, BlockResult | None]:
        m = self._model()
        set_block(m.b, self.config, data, soc0=soc0, soc_target=soc_target,
                  w_target=self.w_target, bal0=bal0, prev=prev, ref=ref, soc_ref=soc_ref,
                  w_ref=w_ref, bal_target=bal_target, soc_floor=soc_floor)
        info = solve(m, time_limit_s=time_limit_s, solver=self._opt)
        if info.status not in (SolveStatus.OPTIMAL, SolveStatus.TIMEOUT):
            return info, None
        return info, read_block(m.b, self.config)
