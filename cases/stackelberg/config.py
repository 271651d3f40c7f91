"""Validated parameters of the Stackelberg GSESS case (``../shared/specs/stackelberg-gsess.md``
§4). The paper (000, abstract only) fixes the players and the game, no number: every value
here is a documented choice (the reason next to each field; the spec's table says where each
comes from). Powers MW, energies MWh, prices and costs $/MWh, quadratic costs $/(MW²·h).

One frozen pydantic model, :class:`StackelbergConfig`; unknown keys and bad values are
one-line errors.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final, Self

import numpy as np
from pydantic import Field, model_validator

from gridbench.cases.contracts import CaseConfig
from gridbench.cases.params import (
    Efficiency,
    FeederNetworkParams,
    ForecastErrorScale,
    Fraction,
    FrozenParams,
    NonNeg,
    Positive,
    check_tariff,
)

__all__ = [
    "CI_BUSES",
    "RESIDENTIAL_BUSES",
    "TOU3_WINDOWS",
    "EnergyAggregatorParams",
    "EvFleetParams",
    "FlexibleLoadParams",
    "GsessParams",
    "LeaderCommitment",
    "LoadAggregatorParams",
    "NetworkParams",
    "PriceParametrization",
    "PriceRules",
    "StackelbergConfig",
    "StorageKind",
]

Hour = Annotated[int, Field(ge=0, le=24)]
#: Buses (paper numbers) of the residential part (the storage player's flexible load) and of
#: the C&I part (the LA's curtailable and shiftable load), spec §1.
RESIDENTIAL_BUSES: Final[range] = range(2, 23)
CI_BUSES: Final[range] = range(23, 34)
#: Windows of the ``tou3`` price parametrization: the tariff's levels (valley, flat, peak).
TOU3_WINDOWS: Final[int] = 3


class StorageKind(StrEnum):
    """What the storage player may control: ``gsess`` (batteries, EV charging and flexible
    load) or ``csess`` (batteries only; EVs charge on arrival, the flexible load is fixed,
    billed the same)."""

    GSESS = "gsess"
    CSESS = "csess"


class LeaderCommitment(StrEnum):
    """When the DSO posts its prices (spec §2): ``day_ahead`` (the day's 96 prices in one
    step before the day, then the followers' 24 hours: the bilevel MILP's timing) or
    ``hourly`` (each hour the DSO posts that hour's 4 prices first and the followers answer
    in the same hour: the paper-like MADDPG timing, where the MILP is the commitment
    benchmark)."""

    DAY_AHEAD = "day_ahead"
    HOURLY = "hourly"


class PriceParametrization(StrEnum):
    """How many free prices the DSO posts (spec §2): ``hourly`` (each of the 4 price vectors
    hour by hour: 96 prices) or ``tou3`` (each vector one level per window of the tariff's 3
    levels: 12 prices; every hour of a window posts its level). Only under day-ahead
    commitment."""

    HOURLY = "hourly"
    TOU3 = "tou3"


class PriceRules(FrozenParams):
    """The leader's price box and rules (spec §3): ``λFIT ≤ λEA ≤ λTOU``,
    ``π^up ≤ λLA, λGB ≤ λTOU`` with day means ``≤ ρ·mean(λTOU)``, ``λFIT ≤ λGS ≤ λGB``."""

    #: Regulated retail tariff = the followers' outside option and every price's cap.
    tariff: str = "cn-3level"
    #: π^up = ratio × λTOU: the upstream price the DSO pays (a 25 % distribution margin).
    upstream_ratio: Fraction = 0.75
    #: λFIT, the feed-in floor of the EA's and the storage's sales (below the valley 34.2).
    feed_in_usd_per_mwh: NonNeg = 30.0
    #: ρ of the average-price cap on λLA and λGB (Zugno et al. 2013-style retailer rule).
    average_cap_ratio: Fraction = 0.9

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_tariff(self.tariff)
        if self.average_cap_ratio < self.upstream_ratio:
            raise ValueError(
                f"average_cap_ratio={self.average_cap_ratio} below upstream_ratio="
                f"{self.upstream_ratio}: no price of LA or GSESS could meet the cap"
            )
        return self


class EnergyAggregatorParams(FrozenParams):
    """EA (spec §1, §4): PV at bus 34 and wind at 35 (must-sell data, paid λEA) and two
    micro gas turbines, cost ``a g² + b g``."""

    pv_mwp: NonNeg = 1.5
    pv_profile: str = "PV3"
    wind_mw: NonNeg = 1.0
    wind_profile: str = "WP4"
    mgt_max_mw: tuple[Positive, ...] = (0.4, 0.4)
    mgt_a: tuple[Positive, ...] = (60.0, 80.0)
    mgt_b: tuple[NonNeg, ...] = (60.0, 65.0)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not len(self.mgt_max_mw) == len(self.mgt_a) == len(self.mgt_b) >= 1:
            raise ValueError(
                "mgt_max_mw, mgt_a and mgt_b need one entry per turbine (at least one), got "
                f"{len(self.mgt_max_mw)}, {len(self.mgt_a)}, {len(self.mgt_b)}"
            )
        return self


class LoadAggregatorParams(FrozenParams):
    """LA (spec §1, §4): all load but the storage player's flexible share; of the C&I load
    (buses 23–33) a curtailable and a shiftable share (shifts energy-neutral over the
    window)."""

    curtail_share: Fraction = 0.1
    #: κ, the value of curtailed load.
    curtail_cost: NonNeg = 60.0
    curtail_q: Positive = 500.0
    shift_share: Fraction = 0.1
    shift_start_h: Hour = 8
    shift_end_h: Hour = 22
    shift_q: Positive = 50.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.shift_start_h < self.shift_end_h:
            raise ValueError(
                f"shift window inverted: shift_start_h={self.shift_start_h} >= "
                f"shift_end_h={self.shift_end_h}"
            )
        return self


class EvFleetParams(FrozenParams):
    """The overnight EV fleet at bus 38 (spec §4; distributions of M. Wang et al., IEEE TSG
    11(5) 2020 as coded in CURENT/ams ``eva.py``, whose ``var`` is a standard deviation;
    truncation to overnight stays and capping each need at ``η·p̄·dwell`` are our choices).
    Hours are clock hours; arrivals in [12, 24), departures in [0, 12) of the next day."""

    n_ev: Annotated[int, Field(ge=1)] = 150
    arrival_mean_h: float = 17.5
    arrival_std_h: Positive = 3.4
    departure_mean_h: float = 8.9
    departure_std_h: Positive = 3.4
    capacity_kwh: tuple[Positive, Positive] = (20.0, 30.0)
    charger_kw: tuple[Positive, Positive] = (5.0, 7.0)
    efficiency: tuple[Efficiency, Efficiency] = (0.88, 0.95)
    soc_arrival_mean: Fraction = 0.3
    soc_arrival_std: NonNeg = 0.05
    soc_arrival_range: tuple[Fraction, Fraction] = (0.2, 0.4)
    soc_departure_mean: Fraction = 0.8
    soc_departure_std: NonNeg = 0.03
    soc_departure_range: tuple[Fraction, Fraction] = (0.7, 0.9)
    #: Lowest state of charge of a connected EV that is not about to leave.
    soc_floor: Fraction = 0.2
    #: Seed of the fleet draw; the day's ordinal is added, so each day has its own fleet.
    seed: int = 38
    #: ``q_EV`` of the storage player's charging regularizer (uniqueness).
    charge_q: Positive = 5.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        for name in ("capacity_kwh", "charger_kw", "efficiency", "soc_arrival_range",
                     "soc_departure_range"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"{name} inverted: ({lo}, {hi})")
        if self.soc_arrival_range[1] > self.soc_departure_range[0]:
            raise ValueError(
                f"soc_arrival_range {self.soc_arrival_range} overlaps soc_departure_range "
                f"{self.soc_departure_range}: an EV could leave emptier than it came"
            )
        return self


class FlexibleLoadParams(FrozenParams):
    """The flexible-load virtual storage (spec §4): a share of the residential load (buses
    2–22) the storage player owns and may shift, ``|f| ≤ f_max_ratio × share``, its energy
    within ``± energy_hours × mean share``, back to zero by midnight."""

    share: Fraction = 0.1
    f_max_ratio: Fraction = 0.5
    energy_hours: Positive = 2.0
    q: Positive = 30.0


class GsessParams(FrozenParams):
    """The storage player's batteries at buses 36 and 37 (spec §4), modelled as one aggregate
    split 50/50: ``E_t = E_{t−1} + η·pc_t − pd_t/η``, SOC window, cyclic day, cost
    ``c_B (pc + pd) + ½ q_B (pc² + pd²)``."""

    n_battery: Annotated[int, Field(ge=1)] = 2
    battery_mw: Positive = 0.5
    battery_mwh: Positive = 2.0
    efficiency: Efficiency = 0.95
    soc_min: Fraction = 0.1
    soc_max: Fraction = 0.9
    soc_initial: Fraction = 0.5
    degradation_usd_per_mwh: NonNeg = 10.0
    q: Positive = 10.0
    ev: EvFleetParams = EvFleetParams()
    flexible_load: FlexibleLoadParams = FlexibleLoadParams()

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.soc_min <= self.soc_initial <= self.soc_max:
            raise ValueError(
                f"soc_initial={self.soc_initial} outside [soc_min, soc_max] = "
                f"[{self.soc_min}, {self.soc_max}]"
            )
        return self


class NetworkParams(FeederNetworkParams):
    """feeder38's voltage band at the referee (0.95–1.05 pu, slack 1.02 pu as the other IEEE
    33 cases) and the DSO's network model in the MILP (spec §3): the band narrowed by
    ``milp_margin_pu`` on each side (0.955–1.045, room for the AC referee's losses and
    nonlinearity), ``loss_tangents`` cuts per branch and hour; ``losses = False`` drops the
    network rows (a copper plate)."""

    milp_margin_pu: Annotated[float, Field(ge=0, le=0.02, allow_inf_nan=False)] = 0.005
    loss_tangents: Annotated[int, Field(ge=2, le=64)] = 12
    losses: bool = True


class RewardParams(FrozenParams):
    """Each agent's reward is its own profit of the step / ``scale_usd`` (spec §5); the DSO's
    also pays the voltage and line penalties, our addition (the band and ratings are hard in
    the MILP, a learned leader can only learn them as penalties; the weights of the other
    IEEE 33 cases)."""

    scale_usd: Positive = 100.0
    voltage_penalty_usd_per_pu_h: NonNeg = 1000.0
    line_penalty_usd_per_mva_h: NonNeg = 1000.0


class StackelbergConfig(CaseConfig):
    """The case's parameters; ``storage`` chooses GSESS or CSESS. ``forecast_seed``: seed of
    the load, PV and wind forecasts the players are shown (the same for every method on a
    day); ``forecast_error_scale``: the factor on the error model's spreads (1 = nominal);
    ``day_ahead_lead_h``: how long before midnight the DSO posts the day's prices (and
    issues the forecast it prices on); ``leader_commitment``: when it posts them
    (:class:`LeaderCommitment`); ``price_parametrization``: how many free prices
    (:class:`PriceParametrization`)."""

    storage: StorageKind = StorageKind.GSESS
    leader_commitment: LeaderCommitment = LeaderCommitment.DAY_AHEAD
    price_parametrization: PriceParametrization = PriceParametrization.HOURLY
    forecast_seed: Annotated[int, Field(ge=0)] = 0
    forecast_error_scale: ForecastErrorScale = 1.0
    day_ahead_lead_h: Annotated[float, Field(ge=0, le=48, allow_inf_nan=False)] = 12.0
    prices: PriceRules = PriceRules()
    ea: EnergyAggregatorParams = EnergyAggregatorParams()
    la: LoadAggregatorParams = LoadAggregatorParams()
    gsess: GsessParams = GsessParams()
    network: NetworkParams = NetworkParams()
    reward: RewardParams = RewardParams()

    @model_validator(mode="after")
    def _check_parametrization(self) -> Self:
        if self.price_parametrization is not PriceParametrization.TOU3:
            return self
        if self.leader_commitment is not LeaderCommitment.DAY_AHEAD:
            raise ValueError(
                "price_parametrization='tou3' needs leader_commitment='day_ahead' (under "
                "hourly commitment each hour's prices are posted in that hour)"
            )
        from gridbench.cases.data import tou_tariff

        levels = np.unique(tou_tariff(self.prices.tariff).price(1.0)).size
        if levels != TOU3_WINDOWS:
            raise ValueError(
                f"price_parametrization='tou3' needs a tariff of {TOU3_WINDOWS} levels; "
                f"{self.prices.tariff!r} has {levels}"
            )
        return self
