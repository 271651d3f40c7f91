"""A solved horizon read back as a schedule: :class:`Plan`, and its cost terms priced by
:mod:`~gridbench.cases.ses_carbon.accounting` (:func:`horizon_cost_terms`) — the referee's
equations, so that a plan's cost is what the referee would charge for the same flows."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.ses_carbon import accounting as acc
from gridbench.cases.ses_carbon.config import SesCarbonConfig

__all__ = ["Plan", "horizon_cost_terms"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Plan:
    """The schedule of a solved horizon (active slots only) and its priced terms.

    Arrays have one row per active slot ``k`` (day step ``t0 + k``). ``storage_mw`` is the
    referee's setpoint ``p = P^dis − P^ch`` (``> 0`` discharges); ``soc`` has ``n + 1`` rows
    (before the first slot, then after each). ``cost_usd`` holds the referee's cost terms of
    the horizon computed by :func:`horizon_cost_terms` from the planned flows
    (``carbon_settlement`` = ``C_ce(ΔQ_end) − C_ce(ΔQ_so_far)``; ``storage_terminal_energy`` =
    the settlement of the planned end energies against the day's initial ones, 0 unless the
    horizon reaches the end of the day), ``penalty_usd`` the model's SOC penalty, and
    ``objective_terms_usd`` the same terms as the model's objective evaluates them (the
    ladder through its epigraph ``z``). ``v_min_pu``/``v_max_pu`` are the model's voltage
    extremes, ``max_loading`` its largest ``max(S_from, S_to) / S^max`` over branches.
    """

    t0: int
    gas_turbine_mw: FloatArray
    storage_mw: FloatArray
    charge_mw: FloatArray
    discharge_mw: FloatArray
    soc: FloatArray
    tie_line_mw: FloatArray
    losses_mw: FloatArray
    emissions_t: FloatArray
    carbon_net_end_t: float
    cost_usd: dict[str, float] = field(default_factory=dict)
    penalty_usd: dict[str, float] = field(default_factory=dict)
    objective_terms_usd: dict[str, float] = field(default_factory=dict)
    v_min_pu: float = math.nan
    v_max_pu: float = math.nan
    max_loading: float = math.nan

    @property
    def n_steps(self) -> int:
        return int(self.gas_turbine_mw.shape[0])

    @property
    def cost_total_usd(self) -> float:
        """Σ of the referee's cost terms over the plan (the KPI ``cost``, penalties excluded)."""
        return math.fsum(self.cost_usd.values())

    def action(self, k: int) -> NDArray[np.float32]:
        """The referee action of slot ``k``: ``[P_g … , p_s …]`` (MW, float32)."""
        if not 0 <= k < self.n_steps:
            raise IndexError(f"plan slot {k} outside 0..{self.n_steps - 1}")
        return np.concatenate([self.gas_turbine_mw[k], self.storage_mw[k]]).astype(np.float32)

    def actions(self) -> NDArray[np.float32]:
        """All actions, ``(n_steps, n_gt + n_storage)``."""
        return np.hstack([self.gas_turbine_mw, self.storage_mw]).astype(np.float32)


def horizon_cost_terms(
    config: SesCarbonConfig,
    *,
    tie_line_mw: FloatArray,
    price_usd_per_mwh: FloatArray,
    upstream_t_per_mwh: FloatArray,
    gas_turbine_mw: FloatArray,
    storage_mw: FloatArray,
    carbon_net_so_far_t: float,
    allowance_t: float,
    energy_day_start_mwh: FloatArray,
    energy_end_mwh: FloatArray,
    terminal_price_usd_per_mwh: float | None,
    dt_h: float,
) -> tuple[FloatArray, float, dict[str, float]]:
    """The referee's cost terms of a planned horizon (one row per active slot), priced by
    :mod:`~gridbench.cases.ses_carbon.accounting`: returns the emissions of each slot, ΔQ at
    the end and the cost terms (``carbon_settlement`` = ``C_ce(ΔQ_end) − C_ce(ΔQ_so_far)``;
    ``storage_terminal_energy`` 0 where ``terminal_price_usd_per_mwh`` is None, a horizon
    that does not reach the end of the day)."""
    st, gt, dt = config.storage, config.gas_turbine, dt_h
    p_gt = gas_turbine_mw
    emissions = acc.elementwise(
        acc.step_emissions_t,
        tie_line_mw,
        upstream_t_per_mwh,
        p_gt.sum(axis=1),
        gt.carbon_t_per_mwh,
        dt,
    )
    net_end = carbon_net_so_far_t + float(emissions.sum()) - allowance_t
    fuel = acc.gas_turbine_fuel_usd(
        float((p_gt * p_gt).sum()),
        float(p_gt.sum()),
        p_gt.size,
        gt.cost_a_usd_per_mw2h,
        gt.cost_b_usd_per_mwh,
        gt.cost_c_usd_per_h,
        dt,
    )
    degradation = acc.storage_degradation_usd(np.abs(storage_mw), st.degradation_usd_per_mwh, dt)
    cost = {
        "energy_purchase": float(acc.energy_purchase_usd(tie_line_mw, price_usd_per_mwh, dt).sum()),
        "gas_turbine_fuel": fuel,
        "storage_degradation": float(degradation.sum()),
        "carbon_settlement": acc.CarbonLadder.from_params(config.carbon).settlement_usd(
            carbon_net_so_far_t, net_end
        ),
        "storage_terminal_energy": (
            acc.terminal_energy_settlement(
                energy_day_start_mwh, energy_end_mwh, terminal_price_usd_per_mwh
            )
            if terminal_price_usd_per_mwh is not None
            else 0.0
        ),
    }
    return emissions, net_end, cost
