"""The grid as the SGLS MILPs see it: the operating point with every device idle and the
devices' linear effect on it.

IEEE 33 (radial, AC): the losses and the voltages of :data:`MONITORED_BUSES` of the radial AC
flow with the devices idle (:func:`idle_flow`) and the voltages' sensitivities to the devices
(:func:`voltage_sensitivity`). IEEE 30 (meshed, DC): the referee's PTDF, the idle branch flows
(:func:`idle_line_flows`), their sensitivities (:func:`line_sensitivity`) and limits
(:func:`line_limits`). :func:`binding_rows` tells which network rows the devices' box bounds
(:func:`device_box`) already satisfy, so that the constraints can leave them out;
:func:`network_rows` selects a block's rows.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING

import numpy as np

from gridbench.cases.sgls.config import SglsConfig
from gridbench.cases.sgls.day import FloatArray, SglsDay, flex_weights

if TYPE_CHECKING:
    from gridbench.cases.sgls.formulation.data import BlockData

__all__ = [
    "LINE_MARGIN",
    "LINE_PENALTY",
    "MONITORED_BUSES",
    "VOLTAGE_MARGIN_PU",
    "NetworkRows",
    "binding_rows",
    "device_box",
    "idle_flow",
    "idle_line_flows",
    "line_limits",
    "line_ratings",
    "line_sensitivity",
    "loss_estimate",
    "network_rows",
    "voltage_sensitivity",
]

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
        p[:, bus - 1] -= data.pv_available_mw[:, i]
        q[:, bus - 1] += tan * data.pv_available_mw[:, i]
    p[:, config.wind_bus - 1] -= data.wind_available_mw
    q[:, config.wind_bus - 1] += tan * data.wind_available_mw
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
        inj[:, bus - 1] += data.pv_available_mw[:, i]
    inj[:, config.wind_bus - 1] += data.wind_available_mw
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


@dataclasses.dataclass(frozen=True)
class NetworkRows:
    """The network rows of one block, ``center_{i,t} + Σ_d sens[i, d] x_{d,t}`` within its
    limits, for the ``(i, t)`` of ``lower`` / ``upper`` (:func:`network_rows`).

    ``prefix``: ``"v"`` (IEEE 33 voltages, hard, within ``band``) or ``"line"`` (IEEE 30 DC
    flows within ``± fmax``, soft); ``used``: the devices with a nonzero sensitivity."""

    prefix: str
    sens: FloatArray
    used: list[int]
    band: tuple[float, float] | None
    lower: list[tuple[int, int]]
    upper: list[tuple[int, int]]

    @property
    def soft(self) -> bool:
        """Line limits may be exceeded at :data:`LINE_PENALTY`; voltage limits may not."""
        return self.prefix == "line"


def network_rows(config: SglsConfig, T: int, data: BlockData | None = None
                 ) -> NetworkRows | None:
    """The network rows of a block of ``T`` steps (``None`` without a monitored quantity).
    With ``data`` the rows its box bounds already satisfy are left out (:func:`binding_rows`);
    the block must then be set with the same data. Without it every row is kept (a persistent
    window re-solved on changing data)."""
    G = len(config.thermal)
    n_mon = len(MONITORED_BUSES) if config.grid == "ieee33" else 0
    band = None
    if n_mon:
        sens = voltage_sensitivity(config)
        sens = np.concatenate([np.zeros((sens.shape[0], G)), sens], axis=1)
        band = (config.v_min_pu + VOLTAGE_MARGIN_PU, config.v_max_pu - VOLTAGE_MARGIN_PU)
        n, prefix = n_mon, "v"
    elif len(line_ratings(config)):
        sens = line_sensitivity(config)
        n, prefix = len(line_ratings(config)), "line"
    else:
        return None
    if data is None:
        lo_rows = hi_rows = [(i, t) for i in range(n) for t in range(T)]
    else:
        if band is not None:
            center, (lower, upper) = data.v_idle, band
        else:
            center, upper = data.flow_idle, line_limits(config, data.flow_idle)
            lower = -upper
        low, high = device_box(config, data)
        need_lo, need_hi = binding_rows(center, sens, low, high, lower, upper)
        lo_rows = [(int(i), int(t)) for t, i in zip(*np.nonzero(need_lo), strict=True)]
        hi_rows = [(int(i), int(t)) for t, i in zip(*np.nonzero(need_hi), strict=True)]
    used = [d for d in range(sens.shape[1]) if np.any(sens[:, d] != 0.0)]
    return NetworkRows(prefix, sens, used, band, lo_rows, hi_rows)
