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

import numpy as np
from pydantic import BaseModel

from gridbench.cases.contracts import (
    ActionEntry,
    ActionLayout,
    BaseCase,
    CaseConfig,
    Split,
)
from gridbench.cases.referee import Timeline
from gridbench.cases.sgls.config import SglsConfig, ieee30_config, ieee33_config
from gridbench.cases.sgls.core import TIMELINE, SglsCore
from gridbench.cases.sgls.day import sgls_day

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
    day_source = staticmethod(sgls_day)
    config_model: ClassVar[type[CaseConfig]] = SglsConfig
    efficiency_fields: ClassVar[tuple[str, ...]] = ("storage.*.eta_charge",
                                                    "storage.*.eta_discharge")
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

    def action_layout(self) -> ActionLayout:
        """``[thermal units (MW) | storages (MW, > 0 discharges) | flexible loads (MW of demand
        removed)]``, every entry in both layers; a flexible load spread over the grid's bus
        loads (IEEE 33) has ``bus=None``."""
        c = self.config
        layers = tuple(spec.layer.value for spec in self.timeline)
        # a thermal unit's 0 for a learned agent: the middle of its ramp window (its last output)
        entries = [ActionEntry(f"thermal{i}", "thermal", u.bus, layers=layers, neutral="middle")
                   for i, u in enumerate(c.thermal)]
        entries += [ActionEntry(f"storage{i}", "storage", s.bus, layers=layers)
                    for i, s in enumerate(c.storage)]
        entries += [ActionEntry(f"flex{j}", "flexible_load", f.bus, layers=layers)
                    for j, f in enumerate(c.flexible)]
        return ActionLayout(tuple(entries))

    def observation_names(self) -> tuple[str, ...]:
        """Names of :meth:`~.core.SglsCore.observe`'s entries: hour fraction, loads (IEEE 30:
        per load bus; IEEE 33: the total), PV and wind, the previous thermal setpoints, last
        step's renewables, the previous flexible setpoints, the SOCs, (IEEE 33) the tie-line
        schedule and the shifted energy, then the environments' one-hot of the layer."""
        from gridbench.cases.grid import load_grid

        c, lay = self.config, self.action_layout()
        if c.grid == "ieee33":
            loads: tuple[str, ...] = ("load_p_mw",)
        else:
            grid = load_grid(c.grid)
            loads = tuple(f"load_p_mw_bus{b + 1}" for b in np.flatnonzero(grid.load_p_mw > 0))
        names = ("hour_fraction", *loads, "pv_mw", "wind_mw")
        names += tuple(f"{n}_prev_mw" for n in lay.names if n.startswith("thermal"))
        names += ("renewable_prev_mw",)
        names += tuple(f"{n}_prev_mw" for n in lay.names if n.startswith("flex"))
        names += tuple(f"soc_{n}" for n in lay.names if n.startswith("storage"))
        if c.grid == "ieee33":
            names += ("tie_line_schedule_mw", "shifted_energy_mwh")
        # the environments append the layer's one-hot (two layers)
        return names + tuple(f"layer_{spec.layer.value}" for spec in self.timeline)


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
