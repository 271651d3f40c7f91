"""The SOCP's parameters (:class:`Parameters`, :func:`define_parameters`): everything that
changes between re-solves, so that the problem is DPP and compiles once.

Loads, PV, tariff and upstream intensity per slot; which slots are active and the device
limits (0 in a padded slot); the initial energies; the free allowance of the active slots,
ΔQ so far and its ladder cost; and the constants a parameter × parameter product would make
non-DPP, precomputed in :meth:`~.build.SesCarbonFormulation.update` (the turbines' fixed fuel
cost, the substation bus's purchase, the terminal settlement's price and constant).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import cvxpy as cp

__all__ = ["Parameters", "define_parameters"]


@dataclass(frozen=True, eq=False)
class Parameters:
    """Every parameter of the SOCP (module docstring)."""

    load_p: cp.Parameter  # (H, nb) MW
    load_q: cp.Parameter  # (H, nb) Mvar
    pv: cp.Parameter  # (H, npv) MW
    price: cp.Parameter  # (H,) $/MWh
    intensity: cp.Parameter  # (H,) t/MWh, nonneg
    active: cp.Parameter  # (H,) 1 for active slots, 0 for padding, nonneg
    gt_min: cp.Parameter  # (H, ng)
    gt_max: cp.Parameter  # (H, ng)
    st_max: cp.Parameter  # (H, ns)
    energy_init: cp.Parameter  # (ns,) MWh
    allowance_t: cp.Parameter  # () free allowance of the active slots
    carbon_net_so_far_t: cp.Parameter  # () ΔQ before slot 0
    carbon_cost_so_far_usd: cp.Parameter  # () C_ce(ΔQ so far)
    fuel_const_usd: cp.Parameter  # () Σ over active slots of c·n_g·Δt
    purchase_const_usd: cp.Parameter  # () Σ_k λ_k·P_1,k^l·Δt (load at the substation bus)
    terminal_price: cp.Parameter  # () π_T if the horizon reaches the day's end, else 0; nonneg
    terminal_const_usd: cp.Parameter  # () terminal_price·Σ_s E_s^day0


def define_parameters(
    horizon: int, n_bus: int, n_pv: int, n_turbine: int, n_storage: int
) -> Parameters:
    """The parameters of a ``horizon``-slot problem (created in this order), without values."""
    import cvxpy as cp

    h, nb, npv, ng, ns = horizon, n_bus, n_pv, n_turbine, n_storage
    return Parameters(
        load_p=cp.Parameter((h, nb), name="load_p"),
        load_q=cp.Parameter((h, nb), name="load_q"),
        pv=cp.Parameter((h, npv), name="pv"),
        price=cp.Parameter(h, name="price"),
        intensity=cp.Parameter(h, nonneg=True, name="intensity"),
        active=cp.Parameter(h, nonneg=True, name="active"),
        gt_min=cp.Parameter((h, ng), name="gt_min"),
        gt_max=cp.Parameter((h, ng), name="gt_max"),
        st_max=cp.Parameter((h, ns), nonneg=True, name="st_max"),
        energy_init=cp.Parameter(ns, name="energy_init"),
        allowance_t=cp.Parameter(name="allowance_t"),
        carbon_net_so_far_t=cp.Parameter(name="carbon_net_so_far_t"),
        carbon_cost_so_far_usd=cp.Parameter(name="carbon_cost_so_far_usd"),
        fuel_const_usd=cp.Parameter(name="fuel_const_usd"),
        purchase_const_usd=cp.Parameter(name="purchase_const_usd"),
        terminal_price=cp.Parameter(nonneg=True, name="terminal_price"),
        terminal_const_usd=cp.Parameter(name="terminal_const_usd"),
    )
