"""The SOCP's objective (eq (1) with the referee's cost terms, plus eq (17)'s soft SOC term at
the referee's weight λ1), one named expression per term::

    Σ_k [ λ_k·P_k^UPG + Σ_g (a·P_gk² + b·P_gk + c) + λ^BESS·Σ_s (P_sk^ch + P_sk^dis) ]·Δt
    + z − C_ce(ΔQ_so_far)                                    (carbon settlement, eq (14))
    + π_T·Σ_s (E_s^day0 − E_s,H)                             (terminal energy settlement)
    + λ1·Δt·Σ_ks (σ_sk^lo + σ_sk^hi)                         (MWh outside the SOC window)

and the emissions of eq (13)'s numerator the ladder's epigraph prices
(:func:`emissions_expression`). Every term is the one
:mod:`~gridbench.cases.ses_carbon.accounting` and the referee charge, so that the objective
equals the referee's day cost plus its SOC penalty, up to the relaxation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridbench.cases.grid import branch_flow as bf
from gridbench.cases.ses_carbon.config import SesCarbonConfig
from gridbench.cases.ses_carbon.formulation.parameters import Parameters
from gridbench.cases.ses_carbon.formulation.variables import Variables

if TYPE_CHECKING:
    import cvxpy as cp

__all__ = ["define_objective_terms", "emissions_expression"]


def emissions_expression(
    var: Variables, par: Parameters, config: SesCarbonConfig, dt_h: float
) -> cp.Expression:
    """The horizon's emissions, t: ``Σ_k (C_k^UPG·P_k^imp + C^G·Σ_g P_gk)·Δt``
    (:func:`~gridbench.cases.ses_carbon.accounting.step_emissions_t` with the import
    epigraph of :func:`~.constraints.define_emission_constraints`)."""
    import cvxpy as cp

    gt = config.gas_turbine
    return (par.intensity @ var.p_import + gt.carbon_t_per_mwh * cp.sum(var.p_gt)) * dt_h


def define_objective_terms(
    net: bf.BranchFlowNetwork,
    var: Variables,
    par: Parameters,
    config: SesCarbonConfig,
    dt_h: float,
) -> dict[str, cp.Expression]:
    """The objective's terms by name (module docstring): the referee's cost terms
    (:data:`~gridbench.cases.ses_carbon.core.COST_TERMS`) and ``soc_penalty``."""
    import cvxpy as cp

    st, gt, dt = config.storage, config.gas_turbine, dt_h
    h = var.energy.shape[0] - 1
    return {
        # λ·P^UPG·Δt with P^UPG = Σ P_1j + P_1^l; λ·P_1^l (parameter × parameter) is
        # precomputed in update() to keep the product DPP
        "energy_purchase": (par.price @ (var.p @ net.root)) * dt + par.purchase_const_usd,
        "gas_turbine_fuel": (
            gt.cost_a_usd_per_mw2h * cp.sum_squares(var.p_gt)
            + gt.cost_b_usd_per_mwh * cp.sum(var.p_gt)
        )
        * dt
        + par.fuel_const_usd,
        "storage_degradation": st.degradation_usd_per_mwh * dt * cp.sum(var.p_ch + var.p_dis),
        "carbon_settlement": var.z_carbon - par.carbon_cost_so_far_usd,
        # π_T·Σ_s (E_s^day0 − E_s,H); the padding slots keep E constant, so row H is the
        # energy after the last active slot. π_T·ΣE^day0 (parameter × parameter) is
        # precomputed in update() to keep the product DPP
        "storage_terminal_energy": par.terminal_const_usd
        - par.terminal_price * cp.sum(var.energy[h]),
        "soc_penalty": st.soc_penalty_usd_per_mwh_h
        * dt
        * cp.sum(par.active @ (var.soc_lo + var.soc_hi)),
    }
