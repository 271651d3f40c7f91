"""The SES-carbon case: user-side shared storage and low-carbon dispatch on IEEE 33.

Zhong, Ye, Yang, Pan, Feng, Qi, Huang, "Deep Reinforcement Learning-Based Joint Low-Carbon
Optimization for User-Side Shared Energy Storage–Distribution Networks", Processes 12 (2024)
1791, doi:10.3390/pr12091791. Parameters and deviations: ``README.md`` of this folder.
"""

from __future__ import annotations

import datetime
from typing import ClassVar

from gridbench.cases.contracts import BaseCase, CaseConfig
from gridbench.cases.referee import Timeline, coerce_day
from gridbench.cases.ses_carbon.config import SesCarbonConfig
from gridbench.cases.ses_carbon.core import TIMELINE, SesCarbonCore
from gridbench.cases.ses_carbon.day import InfoSet, SesCarbonDay, ses_carbon_day

__all__ = ["CASE_ID", "PAPER", "SesCarbonCase"]

CASE_ID = "ses-carbon-ieee33-v0"
PAPER = (
    "Zhong et al., Deep Reinforcement Learning-Based Joint Low-Carbon Optimization for "
    "User-Side Shared Energy Storage-Distribution Networks, Processes 12 (2024) 1791, "
    "doi:10.3390/pr12091791"
)


class SesCarbonCase(BaseCase):
    """``ses-carbon-ieee33-v0``: 3 micro gas turbines and 5 shared storages dispatched hourly
    on IEEE 33 with 5 PV plants, a time-of-use tariff and ladder-type carbon trading."""

    id: ClassVar[str] = CASE_ID
    grid: ClassVar[str] = "ieee33"
    paper: ClassVar[str] = PAPER
    timeline: ClassVar[Timeline] = TIMELINE
    config_model: ClassVar[type[CaseConfig]] = SesCarbonConfig

    config: SesCarbonConfig

    def make_core(self) -> SesCarbonCore:
        return SesCarbonCore(self.config)

    def day_data(
        self,
        day: datetime.date | str,
        info: InfoSet = "actual",
        seed: int = 0,
        issue_step: int = 0,
        lead_offset_h: float = 0.0,
    ) -> SesCarbonDay:
        """The day's data for formulations: :func:`~.day.ses_carbon_day` with this case's
        config (``info="forecast"``: issued at step ``issue_step``; the referee's
        observations use ``seed=config.forecast_seed``)."""
        return ses_carbon_day(
            self.config,
            coerce_day(day),
            info=info,
            seed=seed,
            issue_step=issue_step,
            lead_offset_h=lead_offset_h,
        )
