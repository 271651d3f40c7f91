"""Validated parameters of the loss-arbitrage case (DRL scheduling of distributed energy
storage batteries with a remaining-available-energy model, IEEE 33 at 12.66 kV).

One frozen pydantic model, :class:`LossArbitrageConfig`; unknown keys and bad values are
one-line errors. The paper (``shared/papers/003_4637cda3d619d1e8.txt``) gives the device
buses, the technology contrast of its Table 2 and the parameter list of its Table 1, and no
other number; every other value is a documented choice (reason next to each field and in
``README.md``).

Ratings (Table 2 deviation): the paper's power limits of 20 MW (battery) and 15 MW
(supercapacitor) are five times the whole feeder's 3.715 MW nominal load. We read them as
1/100: 0.2 MW per battery and 0.15 MW per supercapacitor (the 4 : 3 ratio kept), i.e. 1.4 MW
for the eight devices, 38 % of the nominal peak. Energy keeps Table 2's energy-density
contrast (25–105 vs 2–11 Wh/kg, ≈ 10 : 1 at the midpoints): 0.8 MWh per battery (4 h at
rated power) and 0.075 MWh per supercapacitor (30 min), a ratio of 10.7. Cycle life
(10⁴ vs 10⁵) is kept as a parameter that turns the day's equivalent full cycles into the
fraction of life used (reported per step, ``info["life_used"]``).

Bus numbers follow the paper (1 = substation); powers MW, energies MWh, prices $/MWh,
temperatures °C (Kelvin inside the Arrhenius factor only).
"""

from __future__ import annotations

from typing import Annotated, Final, Self

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

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
    "TMY_FILES",
    "DeviceArrays",
    "LossArbitrageConfig",
    "NetworkParams",
    "RewardParams",
    "TechnologyParams",
]

#: Buses of the IEEE 33 feeder (device buses must lie in 2..33; bus 1 is the substation).
IEEE33_N_BUS: Final[int] = 33
#: Typical-year weather files shipped with pvlib 0.16.1 (``pvlib/data``) that the case reads.
TMY_FILES: Final[tuple[str, ...]] = ("723170TYA.CSV", "703165TY.csv")


class TechnologyParams(FrozenParams):
    """A group of identical storage devices of one technology (paper Table 1 and 2).

    Remaining-available-energy model (Table 1; ``storage.py`` has the equations):

    * capacity ``E_cap = state_of_health · energy_mwh`` (H of Table 1 scales the capacity);
    * theoretical energy ``F_b = SOC · E_cap``;
    * joule heat ``I²·R_i``: ``joule_loss_at_rated`` is the fraction of rated power lost in
      the internal resistance at rated current (current ∝ DC power);
    * polarization energy ``F_c = polarization_at_rated · E_cap · |I|/I_rated ·
      exp(B·(1/T − 1/T_ref))`` with ``B = polarization_activation_k`` (Arrhenius, large in
      the cold);
    * the available energy ``F_a`` is kept in ``[f_min, f_max] · E_cap``;
    * cell temperature: first-order model with time constant ``thermal_tau_h`` towards the
      ambient plus the joule heating (``thermal_rise_k_at_rated`` K above ambient in steady
      state at rated current).
    """

    #: Buses of the group's devices (may be empty: a case without this technology).
    buses: tuple[int, ...]
    #: Grid-side power limit (charge and discharge), MW.
    p_max_mw: Positive
    #: Nameplate energy, MWh (before the state of health).
    energy_mwh: Positive
    #: Converter (PCS) efficiencies, grid side ↔ DC terminals.
    eta_charge: Efficiency = 0.97
    eta_discharge: Efficiency = 0.97
    #: I_r²·R_i / P_rated: fraction of rated power lost as joule heat at rated current.
    joule_loss_at_rated: Annotated[float, Field(ge=0, lt=0.25, allow_inf_nan=False)]
    #: Fraction of the capacity locked by polarization at rated current and T_ref.
    polarization_at_rated: Fraction
    #: Arrhenius constant E_a / R_gas of the polarization resistance, K.
    polarization_activation_k: NonNeg
    #: Reference temperature of the polarization term, °C.
    polarization_ref_c: float = 25.0
    #: Window of the available energy F_a as fractions of the capacity E_cap.
    f_min: Fraction
    f_max: Fraction
    #: SOC (of E_cap) at the start of every day; the day must end at the same energy.
    soc_init: Fraction
    #: H of Table 1 (0–1], a case parameter.
    state_of_health: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    #: Rated cycle life (Table 2), full cycles.
    cycle_life: Positive
    #: Thermal time constant of the cell/enclosure, h.
    thermal_tau_h: Positive
    #: Steady-state temperature rise above ambient under continuous rated current, K.
    thermal_rise_k_at_rated: NonNeg

    @model_validator(mode="after")
    def _check(self) -> Self:
        bad = [b for b in self.buses if not 2 <= b <= IEEE33_N_BUS]
        if bad:
            raise ValueError(
                f"storage buses {bad} outside 2..{IEEE33_N_BUS} (bus 1 is the substation)"
            )
        if len(set(self.buses)) != len(self.buses):
            raise ValueError(f"storage buses {list(self.buses)} repeat a bus")
        if not self.f_min < self.f_max:
            raise ValueError(f"energy window inverted: f_min={self.f_min} >= f_max={self.f_max}")
        if not self.f_min < self.soc_init < self.f_max:
            raise ValueError(
                f"soc_init={self.soc_init} must lie strictly inside the window "
                f"f_min={self.f_min}..f_max={self.f_max}"
            )
        return self

    @property
    def n(self) -> int:
        return len(self.buses)


class NetworkParams(FeederNetworkParams):
    """Voltage band and line ratings of the feeder (the paper's power-flow constraints).

    As in the SES-carbon case: substation at 1.02 pu (an OLTC set-point; at IEEE 33's 1.0 pu
    the base case sits at 0.913 pu, below any 0.95 pu limit) and ratings ``max(1.2 · S_k,
    1 MVA)`` with ``S_k`` the branch's apparent flow in the Baran–Wu base case.
    """


class RewardParams(FrozenParams):
    """Reward = −(cost + voltage and line penalties) / ``scale_usd`` per step."""

    #: $ per reward unit (a day's revenue is O(100 $), a step's O(10 $)).
    scale_usd: Positive = 10.0
    #: $ per (pu · h) of voltage outside the band, summed over buses.
    voltage_penalty_usd_per_pu_h: NonNeg = 1000.0
    #: $ per (MVA · h) above the line ratings, summed over branches.
    line_penalty_usd_per_mva_h: NonNeg = 1000.0


#: Lithium-ion batteries at buses 13, 16, 31, 32 (Table 2; values in the module docstring and
#: README). Internal resistance: 1.5 % of rated power at rated (0.25 C) current; polarization
#: 3 % of the capacity at rated current and 25 °C, B = 4000 K (E_a ≈ 33 kJ/mol): ×6 at −10 °C,
#: so about 18 % of the capacity is locked at rated current in the cold.
DEFAULT_BATTERY = TechnologyParams(
    buses=(13, 16, 31, 32),
    p_max_mw=0.2,
    energy_mwh=0.8,
    eta_charge=0.97,
    eta_discharge=0.97,
    joule_loss_at_rated=0.015,
    polarization_at_rated=0.03,
    polarization_activation_k=4000.0,
    f_min=0.1,
    f_max=0.9,
    soc_init=0.5,
    state_of_health=0.9,
    cycle_life=1e4,
    thermal_tau_h=3.0,
    thermal_rise_k_at_rated=6.0,
)
#: Supercapacitors at buses 9, 17, 29, 30 (Table 2). Joule loss 2 % at rated (2 C) current;
#: polarization (electrolyte resistance) 1 % of the capacity with B = 1500 K: ×1.9 at −10 °C.
#: Window 0.25–0.95 of the energy: E ∝ V², so discharging to half voltage leaves 25 %.
DEFAULT_SUPERCAP = TechnologyParams(
    buses=(9, 17, 29, 30),
    p_max_mw=0.15,
    energy_mwh=0.075,
    eta_charge=0.98,
    eta_discharge=0.98,
    joule_loss_at_rated=0.02,
    polarization_at_rated=0.01,
    polarization_activation_k=1500.0,
    f_min=0.25,
    f_max=0.95,
    soc_init=0.6,
    state_of_health=0.95,
    cycle_life=1e5,
    thermal_tau_h=1.0,
    thermal_rise_k_at_rated=6.0,
)


class DeviceArrays(BaseModel):
    """Per-device constants, batteries first then supercapacitors (the action order)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    kind: tuple[str, ...]
    buses: tuple[int, ...]
    p_max: NDArray[np.float64]
    e_cap: NDArray[np.float64]
    eta_c: NDArray[np.float64]
    eta_d: NDArray[np.float64]
    joule: NDArray[np.float64]  # r_J / P_r, 1/MW
    pol: NDArray[np.float64]  # φ·E_cap/P_r, h (MWh locked per MW of DC power at T_ref)
    pol_b: NDArray[np.float64]  # K
    pol_ref_k: NDArray[np.float64]
    f_min: NDArray[np.float64]  # MWh
    f_max: NDArray[np.float64]  # MWh
    e_init: NDArray[np.float64]  # MWh
    budget: NDArray[np.float64]  # MWh of DC throughput per day
    cycle_life: NDArray[np.float64]
    tau_h: NDArray[np.float64]
    r_th: NDArray[np.float64]  # K per MW of heat

    @property
    def n(self) -> int:
        return len(self.buses)

    @property
    def bus_index(self) -> NDArray[np.intp]:
        return np.asarray(self.buses, dtype=np.intp) - 1

    @property
    def window(self) -> NDArray[np.float64]:
        """Usable window ``F_max − F_min`` per device, MWh."""
        return self.f_max - self.f_min


class LossArbitrageConfig(CaseConfig):
    """Every parameter of the loss-arbitrage case (nested groups; see each class).

    ``tariff``: the two-level preset ``peak-valley-6-20`` (peak 6–20 h, the paper's
    windows). ``weather_file``: the pvlib TMY3 file giving the hourly ambient temperature
    (``723170TYA.CSV``: Greensboro NC, −17…36 °C, a cold winter and a hot summer).
    ``forecast_seed``: seed of the load forecasts shown to controllers;
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

    battery: TechnologyParams = DEFAULT_BATTERY
    supercapacitor: TechnologyParams = DEFAULT_SUPERCAP
    #: Equivalent full cycles allowed per day (paper: one), counted on DC throughput.
    max_cycles_per_day: Positive = 1.0
    #: $ per MWh of stored energy the day ends away from its initial energy (either side).
    #: Above any value a stored MWh can earn (peak price · η_d plus its loss reduction), so
    #: ending away from the initial energy never pays; the referee also steers the last step
    #: onto the initial energy (``core.py``) so this is paid only when that is out of reach.
    terminal_penalty_usd_per_mwh: NonNeg = 300.0
    network: NetworkParams = NetworkParams()
    reward: RewardParams = RewardParams()
    tariff: str = "peak-valley-6-20"
    weather_file: str = "723170TYA.CSV"
    forecast_seed: Annotated[int, Field(ge=0)] = 0
    forecast_error_scale: ForecastErrorScale = 1.0
    planner_efficiency_error: PlannerEfficiencyError = 0.0
    planner_model: PlannerModel = PlannerModel.EXACT
    train_season_held_out: Season = Season.NONE
    planner_time_limit_s: PlannerTimeLimit | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_tariff(self.tariff)
        if self.weather_file not in TMY_FILES:
            raise ValueError(
                f"unknown weather_file {self.weather_file!r}; valid: {', '.join(TMY_FILES)}"
            )
        if self.action_dim < 1:
            raise ValueError("no storage: battery.buses and supercapacitor.buses are both empty")
        both = set(self.battery.buses) & set(self.supercapacitor.buses)
        if both:
            raise ValueError(f"buses {sorted(both)} hold a battery and a supercapacitor")
        return self

    @property
    def action_dim(self) -> int:
        return self.battery.n + self.supercapacitor.n

    def devices(self) -> DeviceArrays:
        """Per-device constant arrays (batteries, then supercapacitors)."""
        groups = (("battery", self.battery), ("supercapacitor", self.supercapacitor))

        def col(fn: object) -> NDArray[np.float64]:
            return np.array([fn(g) for _, g in groups for _ in g.buses], dtype=float)  # type: ignore[operator]

        e_cap = col(lambda g: g.state_of_health * g.energy_mwh)
        p_max = col(lambda g: g.p_max_mw)
        f_min = col(lambda g: g.f_min) * e_cap
        f_max = col(lambda g: g.f_max) * e_cap
        joule = col(lambda g: g.joule_loss_at_rated) / p_max
        heat_rated = joule * p_max**2  # MW of joule heat at rated DC power
        rise = col(lambda g: g.thermal_rise_k_at_rated)
        r_th = np.divide(rise, heat_rated, out=np.zeros_like(rise), where=heat_rated > 0)
        return DeviceArrays(
            kind=tuple(name for name, g in groups for _ in g.buses),
            buses=tuple(b for _, g in groups for b in g.buses),
            p_max=p_max,
            e_cap=e_cap,
            eta_c=col(lambda g: g.eta_charge),
            eta_d=col(lambda g: g.eta_discharge),
            joule=joule,
            pol=col(lambda g: g.polarization_at_rated) * e_cap / p_max,
            pol_b=col(lambda g: g.polarization_activation_k),
            pol_ref_k=col(lambda g: g.polarization_ref_c) + 273.15,
            f_min=f_min,
            f_max=f_max,
            e_init=col(lambda g: g.soc_init) * e_cap,
            budget=2.0 * self.max_cycles_per_day * (f_max - f_min),
            cycle_life=col(lambda g: g.cycle_life),
            tau_h=col(lambda g: g.thermal_tau_h),
            r_th=r_th,
        )
