"""Records passed between a core and the front-ends: what the physics returns for a step
(:class:`StepOutcome`), the record of an executed step (:class:`CoreStep`) and the agents of
a multi-agent case (:class:`AgentRole`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.kpi import StepKPI
from gridbench.cases.projection import ProjectionReport
from gridbench.cases.referee.errors import RoleError
from gridbench.cases.referee.timeline import Layer

__all__ = ["AgentRole", "CoreStep", "StepOutcome"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What a core's physics returns for one step (see
    :meth:`~gridbench.cases.referee.DispatchCore.simulate`).

    Attributes:
        kpi: the step's KPI terms.
        reward: scalar reward (usually ``−`` the step's cost, plus any shaping the paper uses).
        reward_terms: named parts of ``reward`` (reported in ``info["reward_terms"]``).
        applied: setpoints the physics actually executed when it had to clamp beyond the
            projection it was given (``None``: exactly the given setpoints).
        agent_rewards: per-agent rewards for multi-agent cases (``None``: every agent gets
            ``reward``, a cooperative game).
        penalty_usd: $ of the step's soft-limit penalties at the case's declared prices
            (voltage band, line ratings, SOC window): what the reward charges beyond the
            scored cost (``info["penalty_usd"]``; the crossover study's penalized cost).
    """

    kpi: StepKPI
    reward: float
    reward_terms: Mapping[str, float] = field(default_factory=dict)
    applied: FloatArray | None = None
    agent_rewards: Mapping[str, float] | None = None
    penalty_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class CoreStep:
    """Record of one executed core step (what the front-ends turn into ``info``)."""

    layer: Layer
    step: int
    time_h: float
    step_hours: float
    kpi: StepKPI
    reward: float
    reward_terms: Mapping[str, float]
    agent_rewards: Mapping[str, float] | None
    applied: FloatArray
    projection: ProjectionReport
    done: bool
    penalty_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class AgentRole:
    """An agent of a multi-agent case: its name, the entries of the core's setpoint vector it
    controls (a ``slice`` or a sequence of indices) and its ``stage`` (0 moves first; with
    ``sequential_stages`` the agents of stage ``k`` observe the setpoints decided in stages
    ``< k`` before acting — a leader at stage 0 and its followers at stage 1)."""

    name: str
    indices: slice | tuple[int, ...]
    stage: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise RoleError(f"agent name must be a non-empty str, got {self.name!r}")
        if not isinstance(self.indices, slice):
            try:
                object.__setattr__(self, "indices", tuple(int(i) for i in self.indices))
            except TypeError:
                raise RoleError(
                    f"agent {self.name!r}: indices must be a slice or a sequence of ints, "
                    f"got {self.indices!r}"
                ) from None
        if isinstance(self.stage, bool) or not isinstance(self.stage, int) or self.stage < 0:
            raise RoleError(f"agent {self.name!r}: stage must be an int >= 0, got {self.stage!r}")

    def resolve(self, action_dim: int) -> NDArray[np.intp]:
        """The agent's setpoint indices as a sorted index array."""
        if isinstance(self.indices, slice):
            idx = np.arange(action_dim)[self.indices]
        else:
            idx = np.asarray(self.indices, dtype=np.intp)
            if idx.size and (idx.min() < 0 or idx.max() >= action_dim):
                raise RoleError(
                    f"agent {self.name!r}: indices {list(self.indices)} outside 0..{action_dim - 1}"
                )
        if idx.size == 0:
            raise RoleError(f"agent {self.name!r} controls no setpoint")
        if np.unique(idx).size != idx.size:
            raise RoleError(f"agent {self.name!r}: repeated indices {list(idx)}")
        return np.sort(idx)
