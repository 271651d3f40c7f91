"""Validated parameters of the SES-carbon case (Zhong et al., Processes 12 (2024) 1791).

One frozen pydantic model, :class:`SesCarbonConfig`, holding every number the referee and the
optimization formulations use; unknown keys and bad values are one-line errors. Values come
from the paper where it gives them (Table 1, §5.1) and are otherwise documented choices; the
reasons are next to each field and in ``README.md`` (parameters table).

Bus numbers follow the paper (1 at the substation, IEEE 33 numbering); array indices are
``bus − 1``. Powers are MW, energies MWh, prices $/MWh, carbon in t (tCO2).

Sign conventions: a storage setpoint ``p > 0`` discharges into the grid, ``p < 0`` charges;
the tie line ``> 0`` imports from the upstream grid.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, Self

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator

from gridbench.cases.contracts import CaseConfig
from gridbench.cases.params import (
    Efficiency,
    FeederNetworkParams,
    ForecastErrorScale,
    Fraction,
    FrozenParams,
    NonNeg,
    PlannerEfficiencyError,
    PlannerModel,
    PlannerTimeLimit,
    Positive,
    Season,
    check_tariff,
)

__all__ = [
    "IEEE33_N_BUS",
    "CarbonMarketParams",
    "GasTurbineParams",
    "NetworkParams",
    "PvParams",
    "RewardParams",
    "SesCarbonConfig",
    "StorageParams",
]

#: Buses of the IEEE 33 feeder (device buses must lie in 2..33; bus 1 is the substation).
IEEE33_N_BUS: Final[int] = 33


def _check_buses(buses: tuple[int, ...], what: str) -> None:
    if not buses:
        raise ValueError(f"{what} needs at least one bus")
    bad = [b for b in buses if not 2 <= b <= IEEE33_N_BUS]
    if bad:
        raise ValueError(f"{what} buses {bad} outside 2..{IEEE33_N_BUS} (bus 1 is the substation)")
    if len(set(buses)) != len(buses):
        raise ValueError(f"{what} buses {list(buses)} repeat a bus")


class _DevicesAtBuses(FrozenParams):
    """A group of identical devices, one per entry of ``buses`` (paper numbering, 1 =
    substation)."""

    buses: tuple[int, ...]

    @property
    def n(self) -> int:
        return len(self.buses)

    @property
    def bus_index(self) -> NDArray[np.intp]:
        """0-based bus indices."""
        return np.asarray(self.buses, dtype=np.intp) - 1


class StorageParams(_DevicesAtBuses):
    """The five shared energy storages (SES) of the SES operator, identical units.

    Paper: five grid-connected SES stations (§5.1, Figure 3), power range ±300 kW (§5.1),
    η_ch = 0.95 and η_dis = 0.8 (Table 1), SOC kept in 0.2–0.8 by a soft constraint (§5.3,
    eq (17)), energy update eq (11), hard energy limits eq (12). Not given by the paper and
    chosen here: buses, energy capacity, initial SOC, penalty weight, degradation cost.
    """

    #: Spread over the trunk and every lateral, each about halfway out: bus 8 and 13 (main
    #: trunk), 20 (lateral at bus 2), 23 (industrial lateral at bus 3), 29 (commercial
    #: lateral at bus 6). Figure 3 of the paper is not legible in the text. Halfway rather
    #: than at the lateral ends: with all five charging at full power at night the voltages
    #: stay within 0.95 pu (at the ends, 18/22/25/33, they fall to 0.936 pu), so the voltage
    #: band binds only when charging coincides with load peaks.
    buses: tuple[int, ...] = (8, 13, 20, 23, 29)
    #: Charge and discharge power limit, MW (paper §5.1: [−300, 300] kW).
    p_max_mw: Positive = 0.3
    #: Energy capacity per storage, MWh (4 h at rated power; the paper gives none).
    energy_mwh: Positive = 1.2
    #: Charging efficiency η_ch (Table 1).
    eta_charge: Efficiency = 0.95
    #: Discharging efficiency η_dis (Table 1).
    eta_discharge: Efficiency = 0.8
    #: SOC at the start of every day (the middle of the soft window).
    soc_init: Fraction = 0.5
    #: Soft SOC window (paper §5.3: 0.2–0.8); the hard limits are 0–1 (eq (12)).
    soc_min: Fraction = 0.2
    soc_max: Fraction = 0.8
    #: λ1 of eq (17): $ per MWh of stored energy outside the soft window per hour. The paper
    #: gives λ^G = $500/MWh as its only penalty-like value (Table 1); we use it for both
    #: soft constraints of eq (17).
    soc_penalty_usd_per_mwh_h: NonNeg = 500.0
    #: λ^BESS of eq (17): $ per MWh of throughput (charge + discharge, grid side). 20 $/MWh
    #: ≈ a 300 $/kWh Li-ion pack over ~7,500 full-equivalent cycles of both directions.
    degradation_usd_per_mwh: NonNeg = 20.0
    #: π_T, $ per MWh of *stored* energy: the price of the terminal energy settlement
    #: (``accounting.terminal_energy_settlement``). At the day's last step the DSO buys back
    #: the energy the storages hold less than at the start of the day (E(0) − E(T) > 0) and
    #: is credited for any surplus, at π_T. ``None`` (default): the tariff's valley price / η_ch
    #: — what it costs to put a stored MWh back in the next valley (cn-3level: 34.2 / 0.95 =
    #: 36 $/MWh); 0 switches the settlement off (the day's end energy is free, as in the paper).
    #: Keep it below what storing a MWh costs, (valley + λ^BESS) / η_ch ≈ 57 $/MWh here: above
    #: that, charging only to be credited at midnight pays by itself.
    terminal_value_usd_per_mwh: NonNeg | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_buses(self.buses, "storage")
        if not self.soc_min < self.soc_max:
            raise ValueError(
                f"storage SOC window inverted: soc_min={self.soc_min} >= soc_max={self.soc_max}"
            )
        return self


class GasTurbineParams(_DevicesAtBuses):
    """The three micro gas turbines (MGT) of the user microgrids, identical units.

    Paper: three MGTs (§5.1), output range 0–300 kW (§5.1), fuel cost a·P² + b·P + c
    (eq (1)), carbon intensity C^G = 0.55 t/MWh (Table 1). Chosen here: buses and cost
    coefficients (the paper prints none).
    """

    #: The three largest-load users off the main trunk's first kilometres: bus 7 (200 kW),
    #: bus 24 (420 kW, industrial), bus 30 (200 kW + 600 kvar, commercial) — microgrid users
    #: large enough to own a turbine.
    buses: tuple[int, ...] = (7, 24, 30)
    #: Output range, MW (eq (10); §5.1: 0–300 kW).
    p_min_mw: NonNeg = 0.0
    p_max_mw: Positive = 0.3
    #: Quadratic cost a, $/(MW²·h): marginal cost 2aP + b.
    cost_a_usd_per_mw2h: NonNeg = 100.0
    #: Linear cost b, $/MWh. With a = 100 the marginal cost runs 80 → 140 $/MWh over
    #: 0–0.3 MW: above the flat tariff (90 $/MWh) beyond 0.05 MW and below the peak tariff
    #: (153 $/MWh), so the turbines pay off in peak hours only (≈ gas at 30 $/MWh_th and 38 %
    #: electric efficiency).
    cost_b_usd_per_mwh: NonNeg = 80.0
    #: Constant cost c, $/h, charged every hour as eq (1) writes it (a commitment-free
    #: constant; 0 keeps the objective free of a decision-independent offset).
    cost_c_usd_per_h: NonNeg = 0.0
    #: C^G, t/MWh (Table 1).
    carbon_t_per_mwh: NonNeg = 0.55

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_buses(self.buses, "gas turbine")
        if self.p_min_mw > self.p_max_mw:
            raise ValueError(
                f"gas turbine range inverted: p_min_mw={self.p_min_mw} > p_max_mw={self.p_max_mw}"
            )
        return self


class PvParams(_DevicesAtBuses):
    """The five PV plants with inverters (§5.1). Chosen here: buses, ratings, profiles.

    The plants run at unity power factor (the action space of eq (16) has no reactive
    setpoint and the paper curtails nothing), so ``inverter_s_mva`` only bounds the active
    output; it is kept for formulations that add Q control.
    """

    #: Mid-lateral and trunk buses distinct from the storages and turbines.
    buses: tuple[int, ...] = (10, 16, 21, 28, 32)
    #: Installed capacity per plant, MW (2.5 MW in all ≈ 0.67 of the feeder's 3.715 MW
    #: nominal peak; with SimBench's PV peaks of ≈ 0.6 p.u. the fleet meets about half of the
    #: midday load in summer, as the paper's Figure 7 suggests, with local reverse flows).
    rated_mw: Positive = 0.5
    #: Inverter apparent-power rating, MVA (1.1 × rated, a common oversizing).
    inverter_s_mva: Positive = 0.55
    #: SimBench PV profiles, one per plant (distinct sites for spatial diversity).
    profiles: tuple[str, ...] = ("PV1", "PV2", "PV3", "PV4", "PV5")

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_buses(self.buses, "PV")
        if len(self.profiles) != len(self.buses):
            raise ValueError(
                f"PV needs one profile per plant: {len(self.buses)} buses, "
                f"{len(self.profiles)} profiles"
            )
        from gridbench.cases.data import PV_PROFILES

        bad = [p for p in self.profiles if p not in PV_PROFILES]
        if bad:
            raise ValueError(f"unknown PV profiles {bad}; valid: {', '.join(PV_PROFILES)}")
        if self.inverter_s_mva < self.rated_mw:
            raise ValueError(
                f"PV inverter_s_mva={self.inverter_s_mva} below rated_mw={self.rated_mw}"
            )
        return self


class CarbonMarketParams(FrozenParams):
    """Upstream carbon intensity and the ladder-type carbon trading of eq (14).

    The paper gives the ladder's form (four tiers of length d, prices ε, (1+λ)ε, (1+2λ)ε,
    (1+3λ)ε) but no numbers; these follow its references [36, 37] (base price 250 CNY/t,
    growth rate 25 %), converted at 7.1 CNY/$.

    The traded quantity is ΔQ = day's emissions − free allowance, with the allowance
    ``allowance_t_per_mwh`` × the day's served load energy (a consumption-based quota, the
    usual benchmark allocation of the ladder literature); below the allowance (ΔQ < 0) the
    surplus is sold at the base price ε (the first tier extended linearly: still convex).
    """

    #: ε, $/t (≈ 250 CNY/t).
    base_price_usd_per_t: Positive = 35.0
    #: d, t: tier length. An idle day emits ≈ 4–8 t above the allowance, so its ΔQ crosses
    #: the tiers and the ladder's marginal price matters.
    step_t: Positive = 2.0
    #: λ, growth of the price per tier (25 %).
    growth_rate: NonNeg = 0.25
    #: Number of priced tiers (eq (14): 4, the last unbounded).
    n_tiers: Annotated[int, Field(ge=1, le=10)] = 4
    #: Free allowance per MWh of served load, t/MWh (≈ 0.75 × the 0.5–0.6 upstream range).
    allowance_t_per_mwh: NonNeg = 0.42
    #: Range of the upstream intensity C^UPG, t/MWh (paper Figure 6: 0.5–0.6 t/MWh).
    upstream_lo_t_per_mwh: NonNeg = 0.5
    upstream_hi_t_per_mwh: NonNeg = 0.6
    #: Shape of C^UPG (``cases/data/carbon.py``): ENTSO-E 2019 (the paper's provincial
    #: platform data is not public) or the modelled residual-load share.
    upstream_source: Literal["entsoe-2019", "residual-load"] = "entsoe-2019"

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.upstream_lo_t_per_mwh > self.upstream_hi_t_per_mwh:
            raise ValueError(
                f"upstream intensity range inverted: lo={self.upstream_lo_t_per_mwh} > "
                f"hi={self.upstream_hi_t_per_mwh}"
            )
        return self

    @property
    def max_price_usd_per_t(self) -> float:
        """Price of the last tier: ``(1 + (n_tiers − 1)·λ)·ε``."""
        return (1.0 + (self.n_tiers - 1) * self.growth_rate) * self.base_price_usd_per_t


class NetworkParams(FeederNetworkParams):
    """Voltage band and line ratings of the IEEE 33 feeder (eqs (4), (6)).

    IEEE 33 has no thermal ratings. Rule: ``rating_k = max(line_rating_factor · S_k,
    line_rating_min_mva)`` with ``S_k`` the apparent flow of branch k in the published
    Baran–Wu base case (every load at its nominal peak, no DER): 20 % headroom over the
    coincident nominal peak, at least 1 MVA. Measured over the 366 days of 2016: idle
    operation never overloads a line; all five storages charging at full power overload the
    industrial lateral's first branch (bus 3 → 23) or the trunk at bus 7 → 8 in 2 % of the
    hours (3 night hours of the year, the rest at load peaks); PV reverse flows (≤ 0.3 MW
    per plant) stay below the 1 MVA floor, so reverse flow binds on voltage, not on lines.

    The substation voltage is 1.02 pu instead of IEEE 33's 1.0 pu (an on-load tap changer
    set-point): at 1.0 pu the published base case sits at 0.913 pu and the hourly 2016 loads
    alone violate the 0.95 pu limit; at 1.02 pu idle operation is feasible every hour of
    2016 (minimum 0.964 pu) and the band still binds on both sides: all five storages
    charging at night bring it down to 0.952 pu, and storages and turbines injecting at full
    power exceed 1.05 pu in 70 hours of the year (around the PV peak).
    """


class RewardParams(FrozenParams):
    """Scale and penalties of the reward of eq (17) (the cost terms themselves are fixed).

    ``reward = −(Σ cost terms + SOC penalty + voltage penalty + line penalty) / scale``. The
    paper's eq (17) penalizes only its soft constraints (10) and (12); voltages and line
    loadings are hard constraints of its model (eqs (4), (6)) that an RL policy can only
    learn through a penalty, so we add one (weights chosen so that a 0.01 pu excursion at a
    bus costs about as much as an hour of 0.1 MW at the flat tariff).
    """

    #: $ per reward unit: a typical hour costs 100–300 $, so the reward is O(1) per step.
    scale_usd: Positive = 100.0
    #: $ per (pu · h) of voltage outside the band, summed over buses.
    voltage_penalty_usd_per_pu_h: NonNeg = 1000.0
    #: $ per (MVA · h) above the line ratings, summed over branches.
    line_penalty_usd_per_mva_h: NonNeg = 1000.0


class SesCarbonConfig(CaseConfig):
    """Every parameter of the SES-carbon case (nested groups; see each class).

    ``tariff``: time-of-use preset of ``cases/data/prices.py`` (``cn-3level``: Guangdong
    windows, the paper's "time-of-day tariff in a region"). ``forecast_seed``: seed of the
    forecast errors shown to controllers (the same for every method on a day);
    ``forecast_error_scale``: the factor on the error model's spreads (1 = nominal);
    ``planner_efficiency_error``: the relative error of the storage efficiencies in the
    deployable planners' model (0 = exact; ``BaseCase.planner_view``);
    ``planner_model``: the physics of the deployable planners' formulation (``exact``; the
    simplified variants of ``PlannerModel``, the structural model-mismatch axis);
    ``train_season_held_out``: the season left out of the learned methods' training days
    (``none``; ``Season``, the distribution-shift axis);
    ``planner_time_limit_s``: the limit of every solve of a deployable planner (``None``:
    the planner's own; timeouts then fall back as deployed, ``solvers/fallback.py``).
    """

    storage: StorageParams = StorageParams()
    gas_turbine: GasTurbineParams = GasTurbineParams()
    pv: PvParams = PvParams()
    carbon: CarbonMarketParams = CarbonMarketParams()
    network: NetworkParams = NetworkParams()
    reward: RewardParams = RewardParams()
    tariff: str = "cn-3level"
    forecast_seed: Annotated[int, Field(ge=0)] = 0
    forecast_error_scale: ForecastErrorScale = 1.0
    planner_efficiency_error: PlannerEfficiencyError = 0.0
    planner_model: PlannerModel = PlannerModel.EXACT
    train_season_held_out: Season = Season.NONE
    planner_time_limit_s: PlannerTimeLimit | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_tariff(self.tariff)
        return self

    @property
    def action_dim(self) -> int:
        """Setpoints: the turbines first, then the storages (eq (16))."""
        return self.gas_turbine.n + self.storage.n

    @property
    def terminal_price_usd_per_mwh(self) -> float:
        """π_T of the terminal energy settlement, $ per stored MWh: ``storage.
        terminal_value_usd_per_mwh``, or when ``None`` the valley (lowest) price of
        ``tariff`` divided by η_ch (:func:`~.accounting.terminal_energy_price`)."""
        st = self.storage
        if st.terminal_value_usd_per_mwh is not None:
            return float(st.terminal_value_usd_per_mwh)
        from gridbench.cases.data import tou_tariff
        from gridbench.cases.ses_carbon.accounting import terminal_energy_price

        valley = float(np.min(tou_tariff(self.tariff).price(1.0)))
        return terminal_energy_price(valley, st.eta_charge)
