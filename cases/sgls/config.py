"""Parameters of the SGLS cases (Li et al. 2026, §4): one validated, frozen config per grid.

Every value the paper gives is marked *paper*; every value it leaves out carries its reason
next to it (shared/papers/README: "choose a value a power-systems engineer would defend").
Units: MW, MWh, $, hours. Bus numbers count from 1 at the substation / slack, as in the paper.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridbench.cases.contracts import CaseConfig
from gridbench.cases.params import (
    ForecastErrorScale,
    PlannerEfficiencyError,
    PlannerTimeLimit,
    Season,
)

__all__ = [
    "FlexibleLoad",
    "RewardWeights",
    "SglsConfig",
    "Storage",
    "ThermalUnit",
    "ieee30_config",
    "ieee33_config",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThermalUnit(_Frozen):
    """A thermal unit of eqs (2), (6), (7): ``C = a·P² + b·P + c`` ($/h, P in MW)."""

    bus: int = Field(ge=1)
    p_min_mw: float = Field(ge=0.0)
    p_max_mw: float = Field(gt=0.0)
    ramp_mw_per_h: float = Field(gt=0.0)
    a: float = Field(ge=0.0, description="quadratic cost coefficient, $/MW²h")
    b: float = Field(ge=0.0, description="linear cost coefficient, $/MWh")
    c: float = Field(ge=0.0, description="constant cost, $/h")

    @model_validator(mode="after")
    def _check(self) -> ThermalUnit:
        if self.p_min_mw > self.p_max_mw:
            raise ValueError(f"p_min_mw {self.p_min_mw} > p_max_mw {self.p_max_mw}")
        return self


class Storage(_Frozen):
    """A storage of eqs (3), (9)–(12); ``p > 0`` discharges into the grid."""

    bus: int = Field(ge=1)
    p_max_mw: float = Field(gt=0.0)
    e_mwh: float = Field(gt=0.0)
    soc_min: float = Field(default=0.1, ge=0.0, le=1.0)  # usual Li-ion band, 10–90 %
    soc_max: float = Field(default=0.9, ge=0.0, le=1.0)
    soc0: float = Field(default=0.5, ge=0.0, le=1.0)  # mid-band start, also the end target
    eta_charge: float = Field(default=0.95, gt=0.0, le=1.0)  # 0.95² ≈ 90 % round trip
    eta_discharge: float = Field(default=0.95, gt=0.0, le=1.0)
    cost_charge: float = Field(default=5.0, ge=0.0, description="$/MWh, eq (3)")
    cost_discharge: float = Field(default=5.0, ge=0.0, description="$/MWh, eq (3)")

    @model_validator(mode="after")
    def _check(self) -> Storage:
        if not self.soc_min <= self.soc0 <= self.soc_max:
            raise ValueError(
                f"need soc_min <= soc0 <= soc_max, got {self.soc_min}, {self.soc0}, {self.soc_max}"
            )
        return self


class FlexibleLoad(_Frozen):
    """An adjustable load of eq (4): ``kind="curtail"`` sheds up to its base demand at
    ``cost`` $/MWh; ``kind="shift"`` moves demand in time within ``window_h`` (energy
    neutral over the day: what is moved away is served later or earlier), at ``cost`` $/MWh
    moved.

    The base demand is either a ``fraction`` of the grid's bus loads (every bus, pro rata:
    the IEEE 33 extension, "two types of flexible loads at each bus") or a separate load of
    ``peak_mw`` at ``bus`` following the SimBench profile ``profile`` (IEEE 30, buses 6, 29).
    """

    kind: Literal["curtail", "shift"]
    cost: float = Field(ge=0.0)
    fraction: float | None = Field(default=None, gt=0.0, le=1.0)
    bus: int | None = Field(default=None, ge=1)
    peak_mw: float | None = Field(default=None, gt=0.0)
    profile: str = "mv_comm"
    window_h: tuple[float, float] = (0.0, 24.0)

    @model_validator(mode="after")
    def _check(self) -> FlexibleLoad:
        if (self.fraction is None) == (self.bus is None or self.peak_mw is None):
            raise ValueError("give either fraction, or bus and peak_mw")
        lo, hi = self.window_h
        if not 0.0 <= lo < hi <= 24.0:
            raise ValueError(f"window_h must satisfy 0 <= start < end <= 24, got {self.window_h}")
        return self


class RewardWeights(_Frozen):
    """Weights of the reward, eqs (22)–(26), Table 2 (IEEE 33) / Table 5 (IEEE 30).

    ``cost``: operating-cost weight; ``tie_smoothing``: day-ahead tie-line smoothing;
    ``storage_tracking``: intraday tracking of the day-ahead storage plan; ``fluctuation``:
    intraday tie-line fluctuation (deviation from the day-ahead schedule); ``soc_correction``:
    end-of-day SOC back to plan; ``soc_deviation``: per-step SOC deviation from plan;
    ``curtailment``: curtailable-load regulation (Table 5 only; 0 in Table 2);
    ``cooperation``: penalty on the deviation of the players' payoffs from their Shapley shares
    (§3; the paper gives no value: 0.1 keeps it below every Table 2 weight); ``violation``:
    λ of eq (26) on each constraint violation.
    """

    cost: float = 0.5
    tie_smoothing: float = 0.3
    storage_tracking: float = 0.4
    fluctuation: float = 0.2
    soc_correction: float = 0.6
    soc_deviation: float = 0.1
    curtailment: float = 0.0
    cooperation: float = 0.1
    violation: float = 10.0


class SglsConfig(CaseConfig):
    """One SGLS case: grid, devices, prices and reward scales (see ``README.md``)."""

    grid: Literal["ieee33", "ieee30"]
    thermal: tuple[ThermalUnit, ...] = ()
    storage: tuple[Storage, ...]
    flexible: tuple[FlexibleLoad, ...]
    wind_bus: int = Field(ge=1)
    wind_mw: float = Field(gt=0.0)
    wind_profile: str = "WP4"
    pv_buses: tuple[int, ...]
    pv_mw: tuple[float, ...]
    pv_profile: str = "PV3"
    #: Tariff of the upstream grid (tie line) and its scale ($/MWh = preset × scale).
    tariff: str = "cn-3level"
    tariff_scale: float = Field(default=1.0, gt=0.0)
    #: Intraday imbalance settlement: buy deviations at ``buy × price``, sell at ``sell × price``
    #: (a two-price imbalance scheme; 1.5 / 0.5 are typical European imbalance spreads).
    imbalance_buy: float = Field(default=1.5, ge=1.0)
    imbalance_sell: float = Field(default=0.5, ge=0.0, le=1.0)
    #: Day-ahead exports are paid ``export_price_factor × price`` (IEEE 33: 1, net metering;
    #: IEEE 30: 0, the upstream connection only balances and buys nothing).
    export_price_factor: float = Field(default=1.0, ge=0.0, le=1.0)
    #: Day-ahead forecasts are issued this many hours before midnight (gate closure at noon).
    day_ahead_lead_h: float = Field(default=12.0, ge=0.0)
    forecast_seed: int = 0
    #: The factor on the forecast-error model's spreads (1 = nominal, 0 = perfect forecasts).
    forecast_error_scale: ForecastErrorScale = 1.0
    #: The relative error of every storage efficiency in the deployable planners' model.
    planner_efficiency_error: PlannerEfficiencyError = 0.0
    #: The wall-clock limit of every solve of a deployable planner (None: the planner's own).
    planner_time_limit_s: PlannerTimeLimit | None = None
    #: The season left out of the learned methods' training days (none: every train day).
    train_season_held_out: Season = Season.NONE
    v_min_pu: float = 0.95
    v_max_pu: float = 1.05
    #: Substation voltage (IEEE 33 radial flow only), an on-load tap changer set-point: at
    #: IEEE 33's 1.0 pu the 15-min loads alone fall below 0.95 pu on 14 % of the val/test days;
    #: at 1.015 pu with the renewables' power factor below, idle operation stays within
    #: 0.957–1.044 pu on every val/test day (1 MW of wind at the feeder end pushes the top).
    v_slack_pu: float = Field(default=1.015, gt=0.0)
    #: Renewables run at a constant power factor (paper: "constant power factor"), 0.95
    #: absorbing reactive power (tan φ = 0.329), the usual grid-code setting against the
    #: voltage rise of feeder-end generation.
    renewable_tan_phi: float = Field(default=0.329, ge=0.0)
    weights: RewardWeights = RewardWeights()
    #: The reward (:mod:`~gridbench.cases.sgls.reward`): ``paper``, eqs (22)–(26) with
    #: ``weights``; ``cost``, the scored cost dollar for dollar plus the violation penalty.
    reward: Literal["paper", "cost"] = "paper"
    #: Scales that make the reward terms O(1): $ per step, MW of tie-line deviation.
    cost_scale: float = Field(default=100.0, gt=0.0)
    tie_scale_mw: float = Field(default=1.0, gt=0.0)
    #: Tangent cuts per thermal unit in the MILPs (error bound in README).
    tangent_cuts: int = Field(default=16, ge=2)

    def default_thermal_mw(self, net_load_mw: ArrayLike) -> NDArray[np.float64]:
        """The generation player's default dispatch, ``(len(N), units)`` MW: every thermal unit
        follows the net load ``N`` (load − PV − wind) pro rata to its capacity, no economic
        dispatch, ``P_g = clip(clip(N, 0, Σ P̄) · P̄_g / Σ P̄, P_min,g, P̄_g)``. It is the
        cooperative game's default of ``generation`` (:mod:`.shapley`) and the day-ahead layer's
        default operation the referee reports (``SglsCore.default_setpoints``)."""
        net = np.asarray(net_load_mw, dtype=np.float64).reshape(-1)
        cap = np.array([u.p_max_mw for u in self.thermal])
        if cap.size == 0:
            return np.zeros((net.size, 0))
        share = np.clip(net, 0.0, cap.sum())[:, None] * cap / cap.sum()
        return np.clip(share, [u.p_min_mw for u in self.thermal], cap)

    def following_thermal_mw(self, planned_mw: ArrayLike,
                             deviation_mw: ArrayLike) -> NDArray[np.float64]:
        """The thermal units executing their day-ahead plan ``P*`` (``(units,)`` or
        ``(steps, units)``) while taking up the net load's deviation ``ΔN`` (a number or
        ``(steps,)``) from the plan's forecast pro rata to capacity (the intraday default: the
        tie line keeps its schedule as far as the units can),
        ``P_g = clip(P*_g + ΔN · P̄_g / Σ P̄, P_min,g, P̄_g)``."""
        cap = np.array([u.p_max_mw for u in self.thermal])
        planned = np.asarray(planned_mw, dtype=np.float64)
        if cap.size == 0:
            return planned
        deviation = np.asarray(deviation_mw, dtype=np.float64)[..., None]
        return np.clip(planned + deviation * cap / cap.sum(),
                       [u.p_min_mw for u in self.thermal], cap)

    @model_validator(mode="after")
    def _check(self) -> SglsConfig:
        if len(self.pv_buses) != len(self.pv_mw):
            raise ValueError(
                f"pv_buses has {len(self.pv_buses)} entries but pv_mw {len(self.pv_mw)}"
            )
        if not self.storage:
            raise ValueError("an SGLS case needs at least one storage")
        return self


def ieee33_config() -> dict:
    """The extended IEEE 33 system of §4.1 (paper values marked)."""
    return {
        "grid": "ieee33",
        "storage": (  # paper: buses 7, 17, 32; 0.4/0.2/0.2 MW; 1.2/0.6/0.6 MWh
            {"bus": 7, "p_max_mw": 0.4, "e_mwh": 1.2, "cost_charge": 10.0, "cost_discharge": 10.0},
            {"bus": 17, "p_max_mw": 0.2, "e_mwh": 0.6, "cost_charge": 10.0, "cost_discharge": 10.0},
            {"bus": 32, "p_max_mw": 0.2, "e_mwh": 0.6, "cost_charge": 10.0, "cost_discharge": 10.0},
        ),
        "flexible": (
            # paper: time-of-day shiftable loads at every bus; 15 % of each bus's load may move
            # within 8–23 h (Fig. 12 moves 15–19 h load to 9–14 h and 21–22 h)
            {"kind": "shift", "fraction": 0.15, "cost": 15.0, "window_h": (8.0, 23.0)},
            # paper: distributed controllable (curtailable) loads; 10 % of each bus's load,
            # compensated at 200 $/MWh (above the 153 $/MWh peak tariff: shed only when it pays)
            {"kind": "curtail", "fraction": 0.10, "cost": 200.0},
        ),
        "wind_bus": 18,  # paper: 1 MW wind at bus 18
        "wind_mw": 1.0,
        "pv_buses": (33, 21),  # paper: 0.6 MW at bus 33, 0.3 MW at bus 21
        "pv_mw": (0.6, 0.3),
        "cost_scale": 50.0,  # $ of a 15-min step is O(10–100) on a 3.7 MW feeder
        "tie_scale_mw": 0.5,
    }


def ieee30_config() -> dict:
    """The IEEE 30 hybrid of §4.6 (paper values marked)."""
    # the six units of MATPOWER case30 (bus, Pmax, a, b); ramp 50 % of Pmax per hour (the
    # paper gives ramp limits but no values; 50 %/h is a mid-size coal/CCGT unit)
    units = ((1, 80.0, 0.02, 2.0), (2, 80.0, 0.0175, 1.75), (22, 50.0, 0.0625, 1.0),
             (27, 55.0, 0.00834, 3.25), (23, 30.0, 0.025, 3.0), (13, 40.0, 0.025, 3.0))
    return {
        "grid": "ieee30",
        "thermal": tuple(
            {"bus": bus, "p_min_mw": 0.0, "p_max_mw": pmax, "ramp_mw_per_h": 0.5 * pmax,
             "a": a, "b": b, "c": 0.0}
            for bus, pmax, a, b in units
        ),
        "storage": (  # paper: bus 5 18 MWh / 28 MW, bus 22 25 MWh / 35 MW
            {"bus": 5, "p_max_mw": 28.0, "e_mwh": 18.0, "cost_charge": 1.0, "cost_discharge": 1.0},
            {"bus": 22, "p_max_mw": 35.0, "e_mwh": 25.0, "cost_charge": 1.0,
             "cost_discharge": 1.0},
        ),
        "flexible": (  # paper: adjustable loads at buses 6 and 29, 18 MW peak curtailment
            {"kind": "curtail", "bus": 6, "peak_mw": 9.0, "cost": 20.0, "profile": "mv_comm"},
            {"kind": "curtail", "bus": 29, "peak_mw": 9.0, "cost": 20.0, "profile": "mv_comm"},
        ),
        "wind_bus": 28,  # paper: 55 MW wind at bus 28
        "wind_mw": 55.0,
        "pv_buses": (14,),  # paper: 45 MW PV at bus 14
        "pv_mw": (45.0,),
        # the upstream connection at the slack bus only balances: thermal costs 2–6 $/MWh, so
        # an upstream tariff 0.25 × (34–153) $/MWh makes imports a last resort
        "tariff_scale": 0.25,
        "export_price_factor": 0.0,
        "imbalance_sell": 0.0,  # nor pays for intraday surplus
        "cost_scale": 200.0,
        "tie_scale_mw": 10.0,
        "weights": {  # Table 5
            "cost": 0.45, "tie_smoothing": 0.35, "fluctuation": 0.35, "storage_tracking": 0.25,
            "curtailment": 0.15, "soc_correction": 0.50, "soc_deviation": 0.08,
        },
    }
