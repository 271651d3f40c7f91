"""The loss-arbitrage case: distributed batteries and supercapacitors on IEEE 33 earning
network-loss reduction and peak–valley arbitrage, with a remaining-available-energy model.

Paper: ``shared/papers/003_4637cda3d619d1e8.txt`` (DRL-based automatic optimization
scheduling of distributed energy storage batteries; SAC with automatic entropy tuning).
Parameters and deviations: ``README.md`` of this folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.contracts import ActionEntry, ActionLayout, BaseCase, CaseConfig
from gridbench.cases.loss_arbitrage.config import DeviceArrays, LossArbitrageConfig
from gridbench.cases.loss_arbitrage.core import (
    DEVICE_OBSERVATION_NAMES,
    OBSERVATION_NAMES,
    TIMELINE,
    LossArbitrageCore,
)
from gridbench.cases.loss_arbitrage.day import loss_arbitrage_day
from gridbench.cases.params import PlannerModel
from gridbench.cases.referee import Timeline

if TYPE_CHECKING:
    from gridbench.cases.loss_arbitrage.formulation import LossArbitrageFormulation

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
    day_source = staticmethod(loss_arbitrage_day)
    config_model: ClassVar[type[CaseConfig]] = LossArbitrageConfig
    efficiency_fields: ClassVar[tuple[str, ...]] = (
        "battery.eta_charge", "battery.eta_discharge",
        "supercapacitor.eta_charge", "supercapacitor.eta_discharge",
    )
    planner_models: ClassVar[frozenset[PlannerModel]] = frozenset(PlannerModel)

    config: LossArbitrageConfig

    def make_core(self) -> LossArbitrageCore:
        return LossArbitrageCore(self.config)

    @cached_property
    def devices(self) -> DeviceArrays:
        """The config's per-device parameter arrays
        (:meth:`~.config.LossArbitrageConfig.devices`), built once (the config is frozen)."""
        return self.config.devices()

    def action_layout(self) -> ActionLayout:
        """One ``storage`` entry per device (batteries, then supercapacitors; MW at the grid,
        > 0 discharges), named ``{technology}_{bus}`` as in the schedule export."""
        dev = self.devices
        return ActionLayout(
            tuple(
                ActionEntry(f"{kind}_{bus}", "storage", int(bus))
                for kind, bus in zip(dev.kind, dev.buses, strict=True)
            )
        )

    def observation_names(self) -> tuple[str, ...]:
        """:data:`~.core.OBSERVATION_NAMES`, then per device
        :data:`~.core.DEVICE_OBSERVATION_NAMES` (``{entry}_{device}``)."""
        return OBSERVATION_NAMES + tuple(
            f"{entry}_{device}"
            for device in self.action_layout().names
            for entry in DEVICE_OBSERVATION_NAMES
        )

    def formulation(self) -> LossArbitrageFormulation:
        """The day's SOCP (:class:`~.formulation.LossArbitrageFormulation`), built, not
        solved."""
        from gridbench.cases.loss_arbitrage.formulation import LossArbitrageFormulation

        return LossArbitrageFormulation(self.config, model=self.formulation_model)

    def measured_state(
        self,
        obs: Any,
        info: Mapping[str, Any],
        *,
        day_start: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The formulation's state per device: stored energy, cell temperature and the
        remaining throughput budget, from the reset/step ``info`` (else from the observation's
        device block: SOC × capacity, the temperature, budget fraction × budget).
        ``day_start`` is not needed (nothing settles against the day's start)."""
        dev = self.devices
        if "energy_mwh" in info:
            energy = np.asarray(info["energy_mwh"], dtype=float)
        else:
            energy = self._device_entry(obs, info, "energy_mwh", "soc") * dev.e_cap
        if "budget_left_mwh" in info:
            budget = np.asarray(info["budget_left_mwh"], dtype=float)
        else:
            budget = self._device_entry(obs, info, "budget_left_mwh", "budget_frac") * dev.budget
        return {
            "energy_mwh": energy,
            "cell_temp_c": self._device_entry(obs, info, "cell_temp_c", "cell_temp_c"),
            "budget_left_mwh": budget,
        }

    def _device_entry(
        self, obs: Any, info: Mapping[str, Any], key: str, entry: str
    ) -> NDArray[np.float64]:
        """A per-device state: ``info[key]`` where it has one value per device, else the
        observation's ``entry`` of each device."""
        n = self.devices.n
        if key in info and np.size(info[key]) == n:
            return np.asarray(info[key], dtype=float)
        flat = np.asarray(obs, dtype=float).reshape(-1)
        block = flat[len(OBSERVATION_NAMES) :].reshape(n, len(DEVICE_OBSERVATION_NAMES))
        return block[:, DEVICE_OBSERVATION_NAMES.index(entry)].copy()
