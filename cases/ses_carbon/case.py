"""The SES-carbon case: user-side shared storage and low-carbon dispatch on IEEE 33.

Zhong, Ye, Yang, Pan, Feng, Qi, Huang, "Deep Reinforcement Learning-Based Joint Low-Carbon
Optimization for User-Side Shared Energy Storage–Distribution Networks", Processes 12 (2024)
1791, doi:10.3390/pr12091791. Parameters and deviations: ``README.md`` of this folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.contracts import ActionEntry, ActionLayout, BaseCase, CaseConfig
from gridbench.cases.params import PlannerModel
from gridbench.cases.referee import Timeline
from gridbench.cases.ses_carbon.config import SesCarbonConfig
from gridbench.cases.ses_carbon.core import OBSERVATION_NAMES, TIMELINE, SesCarbonCore
from gridbench.cases.ses_carbon.day import ses_carbon_day

if TYPE_CHECKING:
    from gridbench.cases.ses_carbon.formulation import SesCarbonFormulation

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
    day_source = staticmethod(ses_carbon_day)
    config_model: ClassVar[type[CaseConfig]] = SesCarbonConfig
    efficiency_fields: ClassVar[tuple[str, ...]] = ("storage.eta_charge", "storage.eta_discharge")
    planner_models: ClassVar[frozenset[PlannerModel]] = frozenset(
        m for m in PlannerModel if m.exact_storage
    )

    config: SesCarbonConfig

    def make_core(self) -> SesCarbonCore:
        return SesCarbonCore(self.config)

    def action_layout(self) -> ActionLayout:
        """``[gas turbines (MW output) | shared storages (MW, > 0 discharges)]``."""
        c = self.config
        return ActionLayout(
            tuple(
                ActionEntry(f"gt_{g + 1}", "gas_turbine", int(bus))
                for g, bus in enumerate(c.gas_turbine.buses)
            )
            + tuple(
                ActionEntry(f"ses_{k + 1}", "storage", int(bus))
                for k, bus in enumerate(c.storage.buses)
            )
        )

    def observation_names(self) -> tuple[str, ...]:
        """:data:`~.core.OBSERVATION_NAMES`, then each storage's SOC (``soc_ses_k``)."""
        return OBSERVATION_NAMES + tuple(
            f"soc_ses_{k + 1}" for k in range(self.config.storage.n)
        )

    def formulation(self) -> SesCarbonFormulation:
        """The day's SOCP (:class:`~.formulation.SesCarbonFormulation`), built, not solved."""
        from gridbench.cases.ses_carbon.formulation import SesCarbonFormulation

        return SesCarbonFormulation(self.config, model=self.formulation_model)

    def measured_state(
        self,
        obs: Any,
        info: Mapping[str, Any],
        *,
        day_start: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The formulation's state: each storage's SOC (``info["soc"]``, else the
        observation's SOC entries, else ``storage.soc_init``), ΔQ so far (``carbon_net_t``: 0
        at reset) and the SOC at the day's start (``day_start``'s, else this SOC), the
        reference of the terminal energy settlement."""
        soc = self._measured_soc(obs, info)
        start = soc if day_start is None else np.asarray(day_start["soc"], dtype=float)
        return {
            "soc": soc,
            "carbon_net_so_far_t": self._measured_carbon_net(obs, info),
            "soc_day_start": start,
        }

    def _measured_soc(self, obs: Any, info: Mapping[str, Any]) -> NDArray[np.float64]:
        n = self.config.storage.n
        if "soc" in info and np.size(info["soc"]) == n:
            return np.asarray(info["soc"], dtype=float)
        flat = np.asarray(obs, dtype=float).reshape(-1) if obs is not None else np.zeros(0)
        if flat.size >= n:
            return flat[-n:].copy()
        return np.full(n, self.config.storage.soc_init)

    @staticmethod
    def _measured_carbon_net(obs: Any, info: Mapping[str, Any]) -> float:
        if "carbon_net_t" in info:
            return float(info["carbon_net_t"])
        if "cost" not in info:  # reset: nothing emitted yet
            return 0.0
        flat = np.asarray(obs, dtype=float).reshape(-1)
        return float(flat[OBSERVATION_NAMES.index("carbon_net_t")])
