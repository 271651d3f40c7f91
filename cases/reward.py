"""Rewards, apart from the physics (as grid2op's ``Reward`` classes).

A case's core computes each step's KPI terms in dollars: the cost terms that are scored
(``info["cost"]``) and the penalties of soft limits that are not (voltage band, line ratings,
SOC window). A reward object turns those terms into the reward an agent trains on and its
named parts (``info["reward_terms"]``, which sum to the reward); the referee's KPIs never
depend on it. A case picks its reward where it builds its core; a case with several (SGLS:
``config.reward``) chooses by config, and a new reward is a new class, not an edit of the
physics.

:class:`ScaledCostReward` is the reward of the SES-carbon and loss-arbitrage cases: minus every
dollar, scored or penalized, in units of ``scale_usd``, so the reward is aligned with the
scored cost exactly up to the penalties.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ScaledCostReward"]


@dataclass(frozen=True, slots=True)
class ScaledCostReward:
    """``r = −(Σ cost terms + Σ penalty terms) / scale_usd``, one reward term per KPI term
    (``−value / scale_usd``, the cost terms first), summed with :func:`math.fsum`."""

    scale_usd: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.scale_usd) and self.scale_usd > 0.0):
            raise ValueError(f"reward scale_usd must be a positive number, got {self.scale_usd}")

    def __call__(
        self, cost: Mapping[str, float], penalties: Mapping[str, float]
    ) -> tuple[float, dict[str, float]]:
        """``(reward, reward_terms)`` of a step with KPI ``cost`` and ``penalties`` ($)."""
        scale = self.scale_usd
        terms = {name: -value / scale for name, value in cost.items()}
        terms.update({name: -value / scale for name, value in penalties.items()})
        return math.fsum(terms.values()), terms
