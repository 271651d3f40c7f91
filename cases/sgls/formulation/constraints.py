"""The constraints of an SGLS dispatch block, one ``define_*_constraints`` per family (PyPSA
style), the equation of Li et al. (2026) in each docstring; :func:`define_constraints` adds
them in the block's row order."""

from __future__ import annotations

from typing import Any

from gridbench.cases.sgls.config import SglsConfig
from gridbench.cases.sgls.formulation.network import NetworkRows

__all__ = [
    "define_constraints",
    "define_flexible_limit_constraints",
    "define_network_constraints",
    "define_power_balance_constraints",
    "define_ramp_constraints",
    "define_shift_balance_constraints",
    "define_storage_energy_constraints",
    "define_storage_power_constraints",
    "define_storage_terminal_constraints",
    "define_storage_tracking_constraints",
    "define_thermal_segment_constraints",
    "define_tie_line_constraints",
    "define_trust_region_constraints",
]


def define_constraints(b, config: SglsConfig, *, tie: str, ref: Any, track: bool,
                       rows: NetworkRows | None, marginal_losses: bool) -> None:
    """Every constraint family of a block, in its row order: thermal, storage, flexible
    loads, network, power balance, tie line."""
    if config.thermal:
        define_thermal_segment_constraints(b, config)
        define_ramp_constraints(b, config)
    define_storage_power_constraints(b, config)
    define_storage_energy_constraints(b, config)
    define_storage_terminal_constraints(b)
    if track:
        define_storage_tracking_constraints(b)
    define_flexible_limit_constraints(b, config)
    define_shift_balance_constraints(b)
    if rows is not None:
        define_network_constraints(b, config, rows)
    define_power_balance_constraints(b, marginal_losses)
    if marginal_losses:
        define_trust_region_constraints(b)
    define_tie_line_constraints(b, tie, ref)


def define_thermal_segment_constraints(b, config: SglsConfig) -> None:
    """The output as its tangent segments (eq (2) as the tangents' maximum):
    ``P_g,t = P_min,g + Σ_k δ_g,t,k``."""
    import pyomo.environ as pyo

    units = config.thermal
    b.seg_sum = pyo.Constraint(b.G, b.T, rule=lambda _, g, t: b.p[g, t] == units[g].p_min_mw
                               + sum(b.seg[g, t, k] for k in b.K))


def define_ramp_constraints(b, config: SglsConfig) -> None:
    """Eq (7): ``|P_g,t − P_g,t−1| ≤ R_g Δt``; at ``t = 0`` against ``prev`` where
    ``has_prev`` (else relaxed by ``max P_max``)."""
    import pyomo.environ as pyo

    units = config.thermal
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


def define_storage_power_constraints(b, config: SglsConfig) -> None:
    """Eqs (10)–(12): ``P_ch ≤ P_max u``, ``P_dis ≤ P_max (1 − u)`` with the binary ``u``
    (no simultaneous charge and discharge), both 0 on padding steps."""
    import pyomo.environ as pyo

    st = config.storage
    b.ch_max = pyo.Constraint(b.S, b.T, rule=lambda _, s, t:
                              b.ch[s, t] <= st[s].p_max_mw * b.u[s, t] * b.on[t])
    b.dis_max = pyo.Constraint(b.S, b.T, rule=lambda _, s, t:
                               b.dis[s, t] <= st[s].p_max_mw * (1 - b.u[s, t]) * b.on[t])


def define_storage_energy_constraints(b, config: SglsConfig) -> None:
    """SOC dynamics with efficiencies: ``E_t = E_t−1 + Δt (η_ch P_ch − P_dis / η_dis)``
    (``E_−1 = e0``); the band (9) is the variable's bounds."""
    import pyomo.environ as pyo

    st = config.storage

    def energy(_, s, t):
        prev = b.e[s, t - 1] if t > 0 else b.e0[s]
        return b.e[s, t] == prev + b.dt * (st[s].eta_charge * b.ch[s, t]
                                           - b.dis[s, t] / st[s].eta_discharge)

    b.energy = pyo.Constraint(b.S, b.T, rule=energy)


def define_storage_terminal_constraints(b) -> None:
    """The end of the block: ``E_T − E_target = tp − tm`` (priced at ``w_target``) and the
    referee's end-of-day return ``E_T ≥ e_floor`` (hard, not priced)."""
    import pyomo.environ as pyo

    last = max(b.T)
    b.terminal = pyo.Constraint(b.S, rule=lambda _, s:
                                b.e[s, last] - b.e_target[s] == b.tp[s] - b.tm[s])
    # the referee's end-of-day return (storage_return_floor): hard, not priced
    b.floor = pyo.Constraint(b.S, rule=lambda _, s: b.e[s, last] >= b.e_floor[s])


def define_storage_tracking_constraints(b) -> None:
    """Soft per-step tracking of a reference SOC: ``E_t − e_ref_t = rp_t − rm_t`` (priced at
    ``w_ref``; :class:`~.mpc.Mpc`)."""
    import pyomo.environ as pyo

    b.track = pyo.Constraint(b.S, b.T, rule=lambda _, s, t:
                             b.e[s, t] - b.e_ref[s, t] == b.rp[s, t] - b.rm[s, t])


def define_flexible_limit_constraints(b, config: SglsConfig) -> None:
    """Eq (4)'s adjustments: curtailment ``0 ≤ up ≤ base`` and, for a shift, moved demand
    served ``0 ≤ dn ≤ base`` (0 outside its window, where ``base`` is 0)."""
    import pyomo.environ as pyo

    fl = config.flexible
    b.up_max = pyo.Constraint(b.F, b.T, rule=lambda _, j, t: b.up[j, t] <= b.base[j, t])
    b.dn_max = pyo.Constraint(b.F, b.T, rule=lambda _, j, t: b.dn[j, t] <= (
        b.base[j, t] if fl[j].kind == "shift" else 0.0))


def define_shift_balance_constraints(b) -> None:
    """Energy-neutral shifting: the balance ``bal0 + Δt Σ_t (up − dn)`` at the block's end is
    ``bal_target`` within what the rest of the window can still serve (``rest``), give or
    take the priced slack ``ξ``."""
    import pyomo.environ as pyo

    def bal(_, j):
        return b.bal0[j] + b.dt * sum(b.up[j, t] - b.dn[j, t] for t in b.T)

    b.bal_hi = pyo.Constraint(b.SH, rule=lambda _, j:
                              bal(_, j) <= b.bal_target[j] + b.rest[j] + b.xi[j])
    b.bal_lo = pyo.Constraint(b.SH, rule=lambda _, j:
                              bal(_, j) >= b.bal_target[j] - b.rest[j] - b.xi[j])


def define_network_constraints(b, config: SglsConfig, rows: NetworkRows) -> None:
    """Network limits, linear in the devices' net injections ``x_d`` (thermal output,
    storage discharge − charge, demand a flexible load removes), on ``rows``
    (:func:`~.network.network_rows`):

    * IEEE 33: voltages of the monitored buses in ``[v_min + m, v_max − m]``, linearized around
      the idle flow of the block's data, ``V = V_idle + Σ_d (dV/dP_d) x_d``
      (:func:`~.network.voltage_sensitivity`);
    * IEEE 30: DC branch flows ``F = F_idle + Σ_d PTDF_d x_d`` (the referee's PTDF,
      :func:`~.network.line_sensitivity`) within ``± F_max`` (:func:`~.network.line_limits`:
      the rating, or the idle flow where that is larger), soft: ``σ ≥ 0`` beyond it costs
      ``LINE_PENALTY`` $/MWh (:func:`~.objective.network_cost`). Idle operation meets these
      limits, so a full-day MILP never pays the penalty; a window whose thermal units cannot
      ramp to idle within it might."""
    import pyomo.environ as pyo

    G, S = len(config.thermal), len(config.storage)
    sens, soft = rows.sens, rows.soft
    center = b.fidle if soft else b.vidle

    def terms(d, t, c):  # c·x_d as monomials (flat sums build and compile fast)
        if d < G:
            return [c * b.p[d, t]]
        if d < G + S:
            return [c * b.dis[d - G, t], -c * b.ch[d - G, t]]
        return [c * b.up[d - G - S, t], -c * b.dn[d - G - S, t]]

    if soft:  # limits are parameters (line_limits of the data set_block writes)
        def lo_b(i, t):
            return -b.fmax[i, t]

        def hi_b(i, t):
            return b.fmax[i, t]
    else:
        lower, upper = rows.band

        def lo_b(i, t):
            return lower

        def hi_b(i, t):
            return upper

    def expr(i, t):
        out = [center[i, t]]
        for d in rows.used:
            if sens[i, d] != 0.0:
                out += terms(d, t, float(sens[i, d]))
        return pyo.quicksum(out)

    def slack(i, t, sign):
        return sign * b.over[i, t] if soft else 0.0

    b.add_component(f"{rows.prefix}_lo", pyo.Constraint(
        pyo.Set(initialize=rows.lower, dimen=2),
        rule=lambda _, i, t: expr(i, t) + slack(i, t, 1.0) >= lo_b(i, t)))
    b.add_component(f"{rows.prefix}_hi", pyo.Constraint(
        pyo.Set(initialize=rows.upper, dimen=2),
        rule=lambda _, i, t: expr(i, t) - slack(i, t, 1.0) <= hi_b(i, t)))


def define_power_balance_constraints(b, marginal_losses: bool = False) -> None:
    """Eq (5) with the tie line closing the balance: ``T_t = net_t + loss_t − Σ_d k_{d,t}
    x_{d,t}`` over the devices' injections ``x`` (thermal output, storage discharge − charge,
    demand removed), ``net = D − R`` (the load less the available renewables, eq (8) at its
    bound: renewables are not curtailed). Without ``marginal_losses`` ``k = 1`` and ``loss``
    is a constant estimate; with it, ``k_{d,t} = 1 − ∂L_t/∂x_d`` (mutable:
    :func:`~.parameters.set_loss_model`), i.e. the losses linearized around a point ``x⁰``:
    ``L(x) ≈ L(x⁰) + ∇L·(x − x⁰)`` with ``loss_t = L_t(x⁰) − ∇L_t·x⁰``."""
    import pyomo.environ as pyo

    if marginal_losses:
        b.bal_eq = pyo.Constraint(b.T, rule=lambda _, t: b.tie[t] == b.net[t] + b.loss[t]
                                  - sum(b.kth[g, t] * b.p[g, t] for g in b.G)
                                  - sum(b.kst[s, t] * (b.dis[s, t] - b.ch[s, t]) for s in b.S)
                                  - sum(b.kfl[j, t] * (b.up[j, t] - b.dn[j, t]) for j in b.F))
    else:
        b.bal_eq = pyo.Constraint(b.T, rule=lambda _, t: b.tie[t] == b.net[t] + b.loss[t]
                                  - sum(b.p[g, t] for g in b.G)
                                  - sum(b.dis[s, t] - b.ch[s, t] for s in b.S)
                                  - sum(b.up[j, t] - b.dn[j, t] for j in b.F))


def define_trust_region_constraints(b) -> None:
    """The injections of a ``marginal_losses`` block within ``[x_lo, x_hi]`` around the
    linearization point (:func:`~.parameters.set_trust_region`; open by default)."""
    import pyomo.environ as pyo

    n_g, n_s = len(b.G), len(b.S)

    def injection(d, t):
        if d < n_g:
            return b.p[d, t]
        if d < n_g + n_s:
            return b.dis[d - n_g, t] - b.ch[d - n_g, t]
        return b.up[d - n_g - n_s, t] - b.dn[d - n_g - n_s, t]

    b.trust = pyo.Constraint(b.D, b.T, rule=lambda _, d, t: (
        b.x_lo[d, t], injection(d, t), b.x_hi[d, t]))


def define_tie_line_constraints(b, tie: str, ref: Any = None) -> None:
    """The tie line's split: ``T_t = dp_t − dm_t`` (``tie="linear"``: purchase and sale) or
    ``T_t − T*_t = dp_t − dm_t`` (``tie="imbalance"``: the deviation from the schedule ``T*``,
    ``ref`` or the block's own ``ref`` parameter)."""
    import pyomo.environ as pyo

    if tie == "linear":
        b.split = pyo.Constraint(b.T, rule=lambda _, t: b.tie[t] == b.dp[t] - b.dm[t])
        return
    if ref is None:
        ref = b.ref
    b.dev = pyo.Constraint(b.T, rule=lambda _, t: b.tie[t] - ref[t] == b.dp[t] - b.dm[t])

