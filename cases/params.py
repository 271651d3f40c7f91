"""Config building blocks shared by the radial-feeder cases (SES-carbon, loss-arbitrage).

Constrained float types (:data:`Positive`, :data:`NonNeg`, :data:`Fraction`, :data:`Efficiency`:
finite, with the bounds their names say; :data:`ForecastErrorScale`), the frozen parameter-group
base :class:`FrozenParams` (unknown keys are errors), the feeder's network parameters
:class:`FeederNetworkParams` (voltage band, substation voltage, the line-rating rule) with the
ratings that rule gives (:func:`feeder_line_ratings_mva`), and the tariff-name check
(:func:`check_tariff`).
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Self

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridbench.cases.data.forecast import MAX_ERROR_SCALE

__all__ = [
    "MAX_MODEL_ERROR",
    "Efficiency",
    "FeederNetworkParams",
    "ForecastErrorScale",
    "Fraction",
    "FrozenParams",
    "NonNeg",
    "PlannerEfficiencyError",
    "PlannerModel",
    "PlannerTimeLimit",
    "Positive",
    "Season",
    "check_tariff",
    "feeder_line_ratings_mva",
]

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Efficiency = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
#: A case's ``forecast_error_scale``: the factor on every spread of the forecast-error model
#: (:meth:`gridbench.cases.data.forecast.ForecastErrorModel.scaled`; 1 = nominal, 0 = perfect
#: forecasts), the crossover study's forecast-error axis.
ForecastErrorScale = Annotated[float, Field(ge=0, le=MAX_ERROR_SCALE, allow_inf_nan=False)]
#: A case's ``planner_time_limit_s``: the wall-clock limit of every solve of a deployable
#: planner (the crossover study's decision-time axis; ``None`` = each planner's own limit).
PlannerTimeLimit = Annotated[float, Field(gt=0, le=3600, allow_inf_nan=False)]
#: Largest relative model error a case's ``planner_efficiency_error`` accepts (either sign).
MAX_MODEL_ERROR: float = 0.5
#: A case's ``planner_efficiency_error``: the relative error of every storage efficiency in
#: the deployable planners' model (:meth:`gridbench.cases.contracts.BaseCase.planner_view`;
#: 0 = the referee's values), the crossover study's model-mismatch axis.
PlannerEfficiencyError = Annotated[
    float, Field(ge=-MAX_MODEL_ERROR, le=MAX_MODEL_ERROR, allow_inf_nan=False)
]


class PlannerModel(StrEnum):
    """A case's ``planner_model``: the physics of the deployable planners' formulation against
    the referee's (the crossover study's structural model-mismatch axis;
    :meth:`gridbench.cases.contracts.BaseCase.planner_view`). The referee, the bounds and RL
    always run the exact physics; a case lists the variants its formulations implement in
    ``planner_models``.
    """

    #: The referee's physics: branch flow with losses (Farivar–Low SOCP), the full storage model.
    EXACT = "exact"
    #: LinDistFlow: the branch flows without losses (``ℓ = 0``): linear voltage drop, the
    #: substation supplies the loads net of the devices exactly, losses are invisible.
    LOSSLESS = "lossless"
    #: A DC model of the radial feeder: lossless, flat voltage (no voltage band) and line
    #: ratings on the active flow only (the reactive power is not modelled).
    DC = "dc"
    #: Every line's resistance and reactance 10 % below the referee's.
    IMPEDANCE_LOW = "impedance-10"
    #: Every line's resistance and reactance 10 % above the referee's.
    IMPEDANCE_HIGH = "impedance+10"
    #: A linear battery: no joule heat and no polarization (the remaining-available-energy
    #: model's window applied to the stored energy itself); loss-arbitrage only.
    LINEAR_BATTERY = "linear-battery"

    @property
    def losses(self) -> bool:
        """The network model has the branches' ohmic losses."""
        return self not in (PlannerModel.LOSSLESS, PlannerModel.DC)

    @property
    def voltage_band(self) -> bool:
        """The network model keeps the voltage band."""
        return self is not PlannerModel.DC

    @property
    def reactive(self) -> bool:
        """The network model carries reactive power into the line ratings."""
        return self is not PlannerModel.DC

    @property
    def impedance_scale(self) -> float:
        """The factor on every line's resistance and reactance."""
        return {PlannerModel.IMPEDANCE_LOW: 0.9, PlannerModel.IMPEDANCE_HIGH: 1.1}.get(self, 1.0)

    @property
    def exact_storage(self) -> bool:
        """The storage model is the referee's (not :attr:`LINEAR_BATTERY`)."""
        return self is not PlannerModel.LINEAR_BATTERY


class Season(StrEnum):
    """A case's ``train_season_held_out``: the meteorological season left out of the learned
    methods' training days (the crossover study's distribution-shift axis;
    :meth:`gridbench.cases.contracts.BaseCase.training_days`). The test days are unchanged:
    the held-out season's test days are days of a season the agent never trained on."""

    NONE = "none"
    WINTER = "winter"
    SPRING = "spring"
    SUMMER = "summer"
    AUTUMN = "autumn"

    @property
    def months(self) -> frozenset[int]:
        """The season's calendar months (none: no month)."""
        return {
            Season.WINTER: frozenset({12, 1, 2}),
            Season.SPRING: frozenset({3, 4, 5}),
            Season.SUMMER: frozenset({6, 7, 8}),
            Season.AUTUMN: frozenset({9, 10, 11}),
        }.get(self, frozenset())


class FrozenParams(BaseModel):
    """A frozen group of parameters; unknown keys are validation errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FeederNetworkParams(FrozenParams):
    """Voltage band and line ratings of the IEEE 33 feeder (Zhong et al., Processes 12 (2024)
    1791, eqs (4), (6); the loss-arbitrage article's power-flow constraints).

    IEEE 33 has no thermal ratings. Rule: ``rating_k = max(line_rating_factor · S_k,
    line_rating_min_mva)`` with ``S_k`` the apparent flow of branch k in the published
    Baran–Wu base case (every load at its nominal peak, no DER): 20 % headroom over the
    coincident nominal peak, at least 1 MVA (:func:`feeder_line_ratings_mva`).

    The substation voltage is 1.02 pu instead of IEEE 33's 1.0 pu (an on-load tap changer
    set-point): at 1.0 pu the published base case sits at 0.913 pu and the hourly 2016 loads
    alone violate the 0.95 pu limit. Each case's ``NetworkParams`` says what the band and
    ratings do in that case.
    """

    v_min_pu: Positive = 0.95
    v_max_pu: Positive = 1.05
    #: Substation voltage, pu (IEEE 33: 1.0; see above).
    v_slack_pu: Positive = 1.02
    line_rating_factor: Positive = 1.2
    line_rating_min_mva: NonNeg = 1.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.v_min_pu < self.v_max_pu:
            raise ValueError(
                f"voltage band inverted: v_min_pu={self.v_min_pu} >= v_max_pu={self.v_max_pu}"
            )
        return self


@lru_cache(maxsize=16)
def feeder_line_ratings_mva(grid: str, factor: float, min_mva: float) -> NDArray[np.float64]:
    """``max(factor · S_k, min_mva)`` per branch of the radial feeder ``grid``, ``S_k`` the
    apparent power entering branch ``k`` in its published base case (nominal loads, no DER),
    MVA, read-only."""
    from gridbench.cases.grid import RadialPowerFlow, load_grid

    feeder = load_grid(grid)
    flow = RadialPowerFlow(feeder).solve(feeder.load_p_mw, feeder.load_q_mvar)
    out = np.array(np.maximum(factor * flow.branch_s_from_mva, min_mva), dtype=np.float64)
    out.setflags(write=False)
    return out


def check_tariff(name: str) -> None:
    """Refuse a time-of-use tariff name that is not a preset of ``cases/data/prices.py``."""
    from gridbench.cases.data import TOU_PRESETS

    if name not in TOU_PRESETS:
        raise ValueError(f"unknown tariff {name!r}; valid: {', '.join(TOU_PRESETS)}")
