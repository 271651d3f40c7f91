"""The loss-arbitrage case: distributed batteries and supercapacitors on IEEE 33 earning
network-loss reduction and peak–valley arbitrage, with a remaining-available-energy model.

Paper: ``shared/papers/003_4637cda3d619d1e8.txt`` (DRL-based automatic optimization
scheduling of distributed energy storage batteries; SAC with automatic entropy tuning).
Parameters and deviations: ``README.md`` of this folder.
"""

from __future__ import annotations

import datetime
from typing import ClassVar

from gridbench.cases.contracts import BaseCase, CaseConfig
from gridbench.cases.loss_arbitrage.config import LossArbitrageConfig
from gridbench.cases.loss_arbitrage.core import TIMELINE, LossArbitrageCore
from gridbench.cases.loss_arbitrage.day import InfoSet, LossArbitrageDay, loss_arbitrage_day
from gridbench.cases.referee import Timeline, coerce_day

__all__ = ["CASE_ID", "PAPER", "LossArbitrageCase"]

CASE_ID = "loss-arbitrage-ieee33-v0"
PAPER = (
    "Automatic optimization scheduling of distributed energy storage batteries based on deep "
    "reinforcement learning (remaining-available-energy model, loss-reduction and peak-valley "
    "arbitrage revenue, SAC), IEEE 33-bus at 12.66 kV"
)


class LossArbitrageCase(BaseCase):
    """``loss-arbitrage-ieee33-v0``: 4 batteries and 4 supercapacitors dispatched hourly on
    IEEE 33 under a peak (6–20 h) / valley tariff; cost = −(loss-reduction + arbitrage
    revenue)."""

    id: ClassVar[str] = CASE_ID
    grid: ClassVar[str] = "ieee33"
    paper: ClassVar[str] = PAPER
    timeline: ClassVar[Timeline] = TIMELINE
    config_model: ClassVar[type[CaseConfig]] = LossArbitrageConfig

    config: LossArbitrageConfig

    def make_core(self) -> LossArbitrageCore:
        return LossArbitrageCore(self.config)

    def day_data(
        self,
        day: datetime.date | str,
        info: InfoSet = "actual",
        seed: int = 0,
        issue_step: int = 0,
        lead_offset_h: float = 0.0,
    ) -> LossArbitrageDay:
        """The day's data for formulations (:func:`~.day.loss_arbitrage_day`)."""
        return loss_arbitrage_day(
            self.config,
            coerce_day(day),
            info=info,
            seed=seed,
            issue_step=issue_step,
            lead_offset_h=lead_offset_h,
        )
