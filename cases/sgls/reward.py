"""Rewards of the SGLS cases, apart from the physics (:mod:`gridbench.cases.reward`).

The core reports each step's signals (:class:`PlanSignals` in the day-ahead layer,
:class:`ExecutionSignals` intraday); a reward turns them into named reward terms whose sum is
the step's reward. ``config.reward`` chooses the reward (:data:`REWARDS`):

``paper`` (:class:`PaperReward`, the default)
    eqs (22)–(26) with the weights of Tables 2 / 5: in the plan ``−w_cost·C/(4·C₀) −
    w_tie·((T*_h − T*_{h−1})/T₀)²``; intraday ``−w_cost·C/C₀ − w_fluct·((T − T*)/T₀)² −
    w_track·Σ_s|P_s − P*_s|/P_s,max − w_socdev·Σ_s|SOC − SOC*| − w_curt·Σ_j curtail_j/base_j,max
    − λ·Σ violations``, plus at the last step ``− w_soccorr·Σ_s|SOC(T) − SOC*(T)| −
    w_coop·Σ_i|π_i − φ_i|/C₀``. The day-ahead dollars weigh a quarter of the intraday ones
    (``C₀`` is per 15 min), and the smoothing, tracking and cooperation terms are not costs.
``cost`` (:class:`CostReward`)
    the scored cost itself: ``−C/C₀`` in both layers (the day-ahead purchase and every
    intraday cost term, dollar for dollar) and ``−λ·Σ violations``; the reward a
    practitioner aligns with the leaderboard's metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from gridbench.cases.sgls.config import SglsConfig

__all__ = [
    "REWARDS",
    "CostReward",
    "ExecutionSignals",
    "PaperReward",
    "PlanSignals",
    "SglsReward",
    "make_reward",
]


@dataclass(frozen=True, slots=True)
class PlanSignals:
    """A day-ahead step ``h``: the purchase it commits (``cost_usd`` = λ_h·T*_h·1 h with the
    export factor), its scheduled tie line ``tie_mw`` and the previous hour's
    ``tie_prev_mw`` (``tie_mw`` itself at ``h = 0``)."""

    cost_usd: float
    tie_mw: float
    tie_prev_mw: float


@dataclass(frozen=True, slots=True)
class ExecutionSignals:
    """An intraday step: the sum of its cost terms ``cost_usd``, the tie line's deviation
    from the schedule ``tie_deviation_mw`` (``T − T*``), the storages' plan tracking
    ``Σ_s|P_s − P*_s|/P_s,max``, SOC deviation ``Σ_s|SOC − SOC*|``, curtailment
    ``Σ_j curtail_j/base_j,max``, the network's violations (voltage pu + line overload);
    on the last step the end-of-day SOC gap ``soc_correction`` and, where a reward asks for
    it (:attr:`SglsReward.needs_cooperation`), the payoffs' distance from the Shapley shares
    ``cooperation_gap_usd`` (``None`` otherwise)."""

    cost_usd: float
    tie_deviation_mw: float
    tracking: float
    soc_deviation: float
    curtailment: float
    violation: float
    soc_correction: float | None = None
    cooperation_gap_usd: float | None = None


class SglsReward(Protocol):
    """What the SGLS core asks of a reward."""

    #: Whether the last step's signals must carry ``cooperation_gap_usd`` (16 MILPs a day).
    needs_cooperation: bool

    def plan(self, s: PlanSignals) -> dict[str, float]: ...

    def execution(self, s: ExecutionSignals) -> dict[str, float]: ...


class PaperReward:
    """The paper's reward, eqs (22)–(26) (module docstring)."""

    def __init__(self, config: SglsConfig) -> None:
        self.weights = config.weights
        self.cost_scale = config.cost_scale
        self.tie_scale_mw = config.tie_scale_mw
        self.needs_cooperation = self.weights.cooperation > 0.0

    def plan(self, s: PlanSignals) -> dict[str, float]:
        w = self.weights
        change = (s.tie_mw - s.tie_prev_mw) / self.tie_scale_mw
        return {
            "cost": -w.cost * s.cost_usd / (4 * self.cost_scale),
            "tie_smoothing": -w.tie_smoothing * change**2,
        }

    def execution(self, s: ExecutionSignals) -> dict[str, float]:
        w = self.weights
        terms = {
            "cost": -w.cost * s.cost_usd / self.cost_scale,
            "fluctuation": -w.fluctuation * (s.tie_deviation_mw / self.tie_scale_mw) ** 2,
            "storage_tracking": -w.storage_tracking * s.tracking,
            "soc_deviation": -w.soc_deviation * s.soc_deviation,
            "curtailment": -w.curtailment * s.curtailment,
            "violation": -w.violation * s.violation,
        }
        if s.soc_correction is not None:
            terms["soc_correction"] = -w.soc_correction * s.soc_correction
        if s.cooperation_gap_usd is not None:
            terms["cooperation"] = -w.cooperation * s.cooperation_gap_usd / self.cost_scale
        return terms


class CostReward:
    """The scored cost, dollar for dollar in both layers, and the violation penalty (module
    docstring)."""

    needs_cooperation = False

    def __init__(self, config: SglsConfig) -> None:
        self.cost_scale = config.cost_scale
        self.violation_weight = config.weights.violation

    def plan(self, s: PlanSignals) -> dict[str, float]:
        return {"cost": -s.cost_usd / self.cost_scale}

    def execution(self, s: ExecutionSignals) -> dict[str, float]:
        return {
            "cost": -s.cost_usd / self.cost_scale,
            "violation": -self.violation_weight * s.violation,
        }


#: ``config.reward`` → reward class.
REWARDS: Final[dict[str, type[PaperReward] | type[CostReward]]] = {
    "paper": PaperReward,
    "cost": CostReward,
}


def make_reward(config: SglsConfig) -> SglsReward:
    """The reward ``config.reward`` names."""
    return REWARDS[config.reward](config)
