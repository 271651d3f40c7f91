"""The SOCP's constraints, one ``define_*_constraints`` function per family with its equation
in the docstring (PyPSA's ``optimization/constraints.py`` style), and
:func:`define_constraints`, every family in the model's order.

The network's — nodal balance, voltage drop, branch-flow cone, voltage band and line limits,
eqs (2)–(6) — are the shared ones of :mod:`gridbench.cases.grid.branch_flow` (``bf``); the
devices' (eqs (8)–(12)) and the carbon accounting's (eqs (13)–(14)) are here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridbench.cases.grid import branch_flow as bf
from gridbench.cases.ses_carbon.config import SesCarbonConfig
from gridbench.cases.ses_carbon.formulation.parameters import Parameters
from gridbench.cases.ses_carbon.formulation.variables import Variables

if TYPE_CHECKING:
    import cvxpy as cp
    import numpy as np
    from numpy.typing import NDArray

    FloatArray = NDArray[np.float64]

__all__ = [
    "define_carbon_ladder_constraints",
    "define_constraints",
    "define_emission_constraints",
    "define_gas_turbine_constraints",
    "define_storage_energy_constraints",
    "define_storage_power_constraints",
    "tie_line",
]


def define_gas_turbine_constraints(var: Variables, par: Parameters) -> list[cp.Constraint]:
    """Turbine output range, eq (10) (``P_g^max = 0`` in inactive slots)::

    P_g^min ≤ P_gk ≤ P_g^max
    """
    return [var.p_gt >= par.gt_min, var.p_gt <= par.gt_max]


def define_storage_power_constraints(var: Variables, par: Parameters) -> list[cp.Constraint]:
    """Charge and discharge ranges, eqs (8)–(9) (limit 0 in inactive slots)::

    0 ≤ P_sk^ch ≤ P_s^max,    0 ≤ P_sk^dis ≤ P_s^max
    """
    return [var.p_ch <= par.st_max, var.p_dis <= par.st_max]


def define_storage_energy_constraints(
    var: Variables,
    par: Parameters,
    eta_ch: float,
    eta_dis: float,
    e_max: float,
    soc_min: float,
    soc_max: float,
    dt_h: float,
) -> list[cp.Constraint]:
    """Energy balance, eq (11), hard energy limits, eq (12), and the soft SOC window::

    E_s,0 = E_s^init
    E_s,k+1 = E_s,k + η^ch·P_sk^ch·Δt − P_sk^dis/η^dis·Δt
    0 ≤ E_s,k+1 ≤ E_s^max
    SOC_min·E_s^max − σ_sk^lo ≤ E_s,k+1 ≤ SOC_max·E_s^max + σ_sk^hi,    σ ≥ 0
    """
    e_next = var.energy[1:]
    return [
        var.energy[0] == par.energy_init,
        e_next == var.energy[:-1] + (eta_ch * dt_h) * var.p_ch - (dt_h / eta_dis) * var.p_dis,
        e_next >= 0.0,
        e_next <= e_max,
        e_next >= soc_min * e_max - var.soc_lo,
        e_next <= soc_max * e_max + var.soc_hi,
    ]


def define_emission_constraints(
    net: bf.BranchFlowNetwork, var: Variables, par: Parameters
) -> list[cp.Constraint]:
    """Import epigraph for the emissions of eq (13)'s numerator
    (:func:`~gridbench.cases.ses_carbon.accounting.step_emissions_t`: exports carry no credit)::

        P_k^imp ≥ P_k^UPG,   P_k^imp ≥ 0,   with P_k^UPG = Σ_{1j} P_1j,k + P_1,k^l

    so that ``Σ_k (C_k^UPG·P_k^imp + C^G·Σ_g P_gk)·Δt`` is the day's emissions at the optimum
    (the emissions are priced with a positive slope, so ``P^imp = max(P^UPG, 0)``).
    """
    return [var.p_import >= tie_line(net, var, par), var.p_import >= 0.0]


def define_carbon_ladder_constraints(
    var: Variables,
    par: Parameters,
    emissions: cp.Expression,
    slopes: FloatArray,
    intercepts: FloatArray,
) -> list[cp.Constraint]:
    """Epigraph of the ladder-type carbon cost of eq (14), convex piecewise linear
    (:func:`~gridbench.cases.ses_carbon.accounting.ladder_affine_pieces`)::

        ΔQ = ΔQ_so_far + Σ_k emissions_k − allowance
        z ≥ s_m·ΔQ + b_m      for every tier m

    so that ``z = C_ce(ΔQ)`` at the optimum (``z`` has a positive cost).
    """
    delta_q = par.carbon_net_so_far_t + emissions - par.allowance_t
    return [
        var.z_carbon >= float(s) * delta_q + float(b)
        for s, b in zip(slopes, intercepts, strict=True)
    ]


def tie_line(net: bf.BranchFlowNetwork, var: Variables, par: Parameters) -> cp.Expression:
    """``P^UPG = Σ_{1j} P_1j + P_1^l`` per slot."""
    return var.p @ net.root + par.load_p[:, 0]


def define_constraints(
    net: bf.BranchFlowNetwork,
    var: Variables,
    par: Parameters,
    config: SesCarbonConfig,
    injection: cp.Expression,
    emissions: cp.Expression,
    ladder: tuple[FloatArray, FloatArray],
    dt_h: float,
) -> list[cp.Constraint]:
    """Every constraint family, in the model's order: the network's (eqs (2)–(6), with the
    devices' ``injection`` per bus), the turbines', the storages' power and energy, the
    emissions' import epigraph and the ladder's epigraph (``ladder`` = its slopes and
    intercepts, :func:`~gridbench.cases.ses_carbon.accounting.ladder_affine_pieces`)."""
    nw, st = config.network, config.storage
    slopes, intercepts = ladder
    return [
        *bf.define_nodal_balance_constraints(net, var, par.load_p, par.load_q, injection),
        *bf.define_voltage_drop_constraints(net, var),
        *bf.define_branch_flow_cone_constraints(net, var),
        *bf.define_voltage_limit_constraints(net, var, nw.v_min_pu, nw.v_max_pu),
        *bf.define_line_limit_constraints(net, var),
        *define_gas_turbine_constraints(var, par),
        *define_storage_power_constraints(var, par),
        *define_storage_energy_constraints(
            var,
            par,
            st.eta_charge,
            st.eta_discharge,
            st.energy_mwh,
            st.soc_min,
            st.soc_max,
            dt_h,
        ),
        *define_emission_constraints(net, var, par),
        *define_carbon_ladder_constraints(var, par, emissions, slopes, intercepts),
    ]
