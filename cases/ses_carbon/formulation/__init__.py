"""The SES-carbon dispatch as a convex SOCP: branch flow (DistFlow) with the Farivar–Low
relaxation, built in cvxpy from the same
:class:`~gridbench.cases.ses_carbon.config.SesCarbonConfig` and
:class:`~gridbench.cases.ses_carbon.day.SesCarbonDay` objects the referee (``core.py``)
simulates.

Model (Zhong et al., Processes 12 (2024) 1791, eqs (1)–(14); every cost term is the one
:mod:`~gridbench.cases.ses_carbon.accounting` and the referee charge, so that the objective
equals the referee's day cost plus its SOC penalty, up to the relaxation). Indices: slot ``k
= 0 … H−1`` of the horizon (slot ``k`` is day step ``t0 + k``), branch ``ij`` feeding bus
``j`` (the feeder's branch order), storage ``s``, turbine ``g``, PV plant ``p``; per unit on
``S_base = 1 MVA`` (powers in pu = MW), ``z_pu = z_ohm / base_kv²``.

Variables: branch flows ``P_ij, Q_ij`` (sending end), squared currents ``ℓ_ij``, squared
voltages ``v_j`` (``v_1 = V_slack²`` fixed), turbine outputs ``P_g``, storage charge and
discharge powers ``P_s^ch, P_s^dis ≥ 0`` (separate, no binaries; the executed setpoint is
``p_s = P_s^dis − P_s^ch``), stored energies ``E_s``, the import ``P^imp ≥ max(P^UPG, 0)``,
the ladder epigraph ``z`` and the SOC-window slacks ``σ ≥ 0``.

Objective (eq (1) with the referee's cost terms, plus eq (17)'s soft SOC term at the
referee's weight λ1)::

    Σ_k [ λ_k·P_k^UPG + Σ_g (a·P_gk² + b·P_gk + c) + λ^BESS·Σ_s (P_sk^ch + P_sk^dis) ]·Δt
    + z − C_ce(ΔQ_so_far)                                    (carbon settlement, eq (14))
    + π_T·Σ_s (E_s^day0 − E_s,H)                             (terminal energy settlement)
    + λ1·Δt·Σ_ks (σ_sk^lo + σ_sk^hi)                         (MWh outside the SOC window)

The terminal settlement
(:func:`~gridbench.cases.ses_carbon.accounting.terminal_energy_settlement`) compares the energy
at the end of the horizon with the energy at the start of the *day* ``E^day0`` (a parameter:
for a re-solve at hour t0 > 0 it is not the re-solve's initial energy), and is active only
when the horizon reaches the end of the day (``t0 + H ≥ 24``), where the referee charges it;
``π_T`` is the config's
:attr:`~gridbench.cases.ses_carbon.config.SesCarbonConfig.terminal_price_usd_per_mwh`.

Voltage band (eq (6)) and line ratings (eq (4)) are hard constraints, as in the paper's
model; the referee penalizes their violation and the harness counts it as infeasible.

Built PyPSA-style, one module per stage: :mod:`.build` (:class:`SesCarbonFormulation`:
check → variables → parameters → constraints → objective; ``update``, ``solve``, ``plan``),
:mod:`.variables` (and each variable's :class:`~.variables.SlotPadding`), :mod:`.parameters`,
:mod:`.constraints` (one ``define_*_constraints`` function per family with its equation in the
docstring, PyPSA's ``optimization/constraints.py`` style: the network's — nodal balance,
voltage drop, branch-flow cone, voltage band and line limits, eqs (2)–(6) — are the shared
ones of :mod:`gridbench.cases.grid.branch_flow`, the devices' and the carbon accounting's are
there), :mod:`.objective`, :mod:`.plan` (the solution read back and priced by the referee's
equations) and :mod:`.active_slots` (the DPP re-solver).

Everything that changes between re-solves — loads, PV, tariff, upstream intensity, the
initial energies, the terminal settlement (price, and its constant with the day's initial
energies), ΔQ so far and which slots are active — is a :class:`cvxpy.Parameter`, and the
problem is DPP (``SesCarbonFormulation.is_dpp``): it compiles once and a re-solve only
refills the parameters. A horizon reaching past the end of the day is padded with *inactive*
slots (zero loads, PV, prices, intensity and device limits, no SOC penalty), so a
shrinking-horizon MPC re-solves one compiled 24-slot model all day. DPP solves call Clarabel
directly on the *active* slots of the compiled problem's data
(:class:`~.active_slots.ActiveSlotSolver`: the padded slots are a zero-cost block, removed
from the data cvxpy applies the parameters to; one Clarabel solver per number of active
slots, refilled in place): the same optimum as the padded problem (objectives within 1e-9
relative, first actions within ~1e-5 MW in the tests), at a fraction of the interior-point
work late in the day.

Differences from the referee, by construction:

* the referee runs an AC power flow; here the branch-flow equations are relaxed to
  ``ℓ·v ≥ P² + Q²`` (exact when :attr:`SolveResult.relaxation_gap` is ~0);
* the line limit is one cone on the branch's midpoint flow, conservative by the branch's
  own loss (:func:`~gridbench.cases.grid.branch_flow.define_line_limit_constraints`), and
  only on branches whose flow can reach their rating;
* the allowance of eq (14) uses the model's loads (the forecast in MPC / day-ahead runs).
"""

from __future__ import annotations

from gridbench.cases.grid.branch_flow import SolveResult, SolveStatus
from gridbench.cases.ses_carbon.formulation.build import SesCarbonFormulation
from gridbench.cases.ses_carbon.formulation.constraints import (
    define_carbon_ladder_constraints,
    define_emission_constraints,
    define_gas_turbine_constraints,
    define_storage_energy_constraints,
    define_storage_power_constraints,
)
from gridbench.cases.ses_carbon.formulation.plan import Plan

__all__ = [
    "Plan",
    "SesCarbonFormulation",
    "SolveResult",
    "SolveStatus",
    "define_carbon_ladder_constraints",
    "define_emission_constraints",
    "define_gas_turbine_constraints",
    "define_storage_energy_constraints",
    "define_storage_power_constraints",
]
