"""The SGLS cases: source–grid–load–storage day-ahead + intraday dispatch (Li et al. 2026).

Li, Xie, Ma, Huang, "Research on Intelligent Control Technology for Cooperative Game
Implementation in Source-Grid-Load-Storage Systems Based on Reinforcement Learning",
Distributed Generation & Alternative Energy Journal 41 (2026), doi:10.13052/dgaej2156-3306.4126.
Parameters and deviations: ``README.md`` of this folder.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel

from gridbench.cases.contracts import BaseCase, CaseConfig, Split
from gridbench.cases.referee import Timeline, coerce_day
from gridbench.cases.sgls.config import SglsConfig, ieee30_config, ieee33_config
from gridbench.cases.sgls.core import TIMELINE, SglsCore
from gridbench.cases.sgls.day import InfoSet, SglsDay, sgls_day

__all__ = ["PAPER", "SglsCase", "SglsIeee30Case", "SglsIeee33Case"]

PAPER = (
    "Li et al., Research on Intelligent Control Technology for Cooperative Game Implementation "
    "in Source-Grid-Load-Storage Systems Based on Reinforcement Learning, Distributed "
    "Generation & Alternative Energy Journal 41 (2026), doi:10.13052/dgaej2156-3306.4126"
)


class SglsCase(BaseCase):
    """Base of both SGLS cases: the config defaults come from :attr:`defaults`."""

    paper: ClassVar[str] = PAPER
    timeline: ClassVar[Timeline] = TIMELINE
    config_model: ClassVar[type[CaseConfig]] = SglsConfig
    defaults: ClassVar[dict[str, Any]]
    config: SglsConfig

    @classmethod
    def validate_config(cls, config: CaseConfig | Mapping[str, Any] | None) -> CaseConfig:
        if isinstance(config, SglsConfig):
            return config
        data = {} if config is None else config
        if isinstance(data, BaseModel):
            data = data.model_dump()
        return super().validate_config({**cls.defaults, **dict(data)})

    def days(self, split: Split | str) -> tuple[datetime.date, ...]:
        from gridbench.cases.data import days

        return days(Split.parse(split).value)

    def make_core(self) -> SglsCore:
        return SglsCore(self.config)

    def day_data(self, day: datetime.date | str, info: InfoSet = "actual", seed: int | None = None,
                 issue_step: int = 0, lead_offset_h: float = 0.0) -> SglsDay:
        """15-min data of ``day`` (forecasts seeded like the referee's unless ``seed``)."""
        return sgls_day(self.config, coerce_day(day), info=info,
                        seed=self.config.forecast_seed if seed is None else seed,
                        issue_step=issue_step, lead_offset_h=lead_offset_h)


class SglsIeee33Case(SglsCase):
    """``sgls-ieee33-v0``: extended IEEE 33 (wind 18, PV 33/21, storage 7/17/32, flexible
    loads at every bus, tie line), radial AC power flow."""

    id: ClassVar[str] = "sgls-ieee33-v0"
    grid: ClassVar[str] = "ieee33"
    defaults: ClassVar[dict[str, Any]] = ieee33_config()


class SglsIeee30Case(SglsCase):
    """``sgls-ieee30-v0``: IEEE 30 hybrid (six thermal units, wind 28, PV 14, storage 5/22,
    adjustable loads 6/29), DC dispatch; 36-dim observation, 10-dim action."""

    id: ClassVar[str] = "sgls-ieee30-v0"
    grid: ClassVar[str] = "ieee30"
    defaults: ClassVar[dict[str, Any]] = ieee30_config()
