"""Observation normalization fitted on train days and frozen (the fair-RL protocol,
``rl_agents/README.md``; ``hyperparams.json`` ``env.obs_norm = "train_days"``).

The referee's observation boxes are loose (on SES-carbon the net carbon sweeps 1.9 % of its
box, the upstream intensity 7.9 %, the load 19 %), so the stateless box map hands the network
inputs that hardly move. Before training, :func:`fit_observation_norm` plays
:data:`FIT_DAYS` train days (drawn by the training seed) with uniformly random actions of the
agent's [-1, 1] through the plan's action map, and takes each entry's mean μ and standard
deviation σ over every step. The agent then sees

    o' = clip((o − μ) / σ, −5, 5)

during training and at evaluation alike: the statistics never move again, so no evaluation
day (val or test) leaks into them, and a shipped agent carries them in its plan file
(``observation_norm``). Entries that do not vary (σ < 1e-9) are only centred.
SB3's ``VecNormalize`` would instead keep updating the statistics while the policy learns;
frozen statistics give the network stationary inputs and make the stored agent
self-contained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from gridbench.cases.contracts import Case

__all__ = ["FIT_DAYS", "NORM_CLIP", "ObservationNorm", "fit_observation_norm"]

#: Train days played to fit the statistics.
FIT_DAYS: Final[int] = 64
#: Normalized observations are clipped to ±NORM_CLIP.
NORM_CLIP: Final[float] = 5.0
#: Below this standard deviation an entry is taken as constant (centred, not scaled).
_MIN_STD: Final[float] = 1e-9


@dataclass(frozen=True)
class ObservationNorm:
    """Frozen per-entry statistics: ``__call__`` maps a raw observation to
    ``clip((o − mean)/std, ±clip)`` in ``float32``."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    clip: float = NORM_CLIP
    #: Train days and steps the statistics come from (provenance).
    days: int = 0
    steps: int = 0

    def __post_init__(self) -> None:
        if len(self.mean) != len(self.std):
            raise ValueError(f"mean has {len(self.mean)} entries, std {len(self.std)}")
        if any(not np.isfinite(s) or s <= 0.0 for s in self.std):
            raise ValueError(f"std must be finite and > 0, got {list(self.std)}")

    def __call__(self, obs: NDArray[Any]) -> NDArray[np.float32]:
        mean = np.asarray(self.mean, dtype=np.float32)
        std = np.asarray(self.std, dtype=np.float32)
        z = (np.asarray(obs, dtype=np.float32) - mean) / std
        return np.clip(z, -self.clip, self.clip).astype(np.float32)

    def space(self) -> Any:
        """The normalized observation space: ``Box(−clip, clip)`` of the same size."""
        from gymnasium import spaces

        n = len(self.mean)
        return spaces.Box(-self.clip, self.clip, shape=(n,), dtype=np.float32)

    def to_json(self) -> dict[str, Any]:
        return {
            "mean": list(self.mean),
            "std": list(self.std),
            "clip": self.clip,
            "days": self.days,
            "steps": self.steps,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ObservationNorm:
        return cls(
            mean=tuple(float(v) for v in data["mean"]),
            std=tuple(float(v) for v in data["std"]),
            clip=float(data.get("clip", NORM_CLIP)),
            days=int(data.get("days", 0)),
            steps=int(data.get("steps", 0)),
        )

    @classmethod
    def from_samples(
        cls, samples: Sequence[NDArray[Any]] | NDArray[Any], days: int
    ) -> ObservationNorm:
        """Statistics of ``samples`` (one observation per row); constant entries get std 1."""
        x = np.asarray(samples, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError(f"need at least 2 observations in rows, got shape {x.shape}")
        mean = x.mean(axis=0)
        std = x.std(axis=0)
        std = np.where(std < _MIN_STD, 1.0, std)
        return cls(
            mean=tuple(float(v) for v in mean),
            std=tuple(float(v) for v in std),
            days=int(days),
            steps=int(x.shape[0]),
        )


def fit_observation_norm(
    case: Case,
    seed: int,
    action_map_name: str,
    *,
    days: int = FIT_DAYS,
    ramp: str = "relative",
    centre: str = "idle",
    context: bool = False,
) -> ObservationNorm:
    """Play ``days`` train days (drawn by ``seed``, as the training env draws them) with
    uniformly random [-1, 1] actions through the action map ``action_map_name`` (ramp-limited
    generators as ``ramp`` of :data:`~.agent_view.RAMP_ACTIONS` says, the agent's 0 as
    ``centre`` of :data:`~.agent_view.ACTION_CENTRES` says; with ``context`` the
    observations extended by the referee's context, :func:`~.agent_view.with_context`) and
    return the statistics of every observation seen (the reset ones included)."""
    from gridbench.rl_agents.agent_view import (
        agent_action_map,
        context_bounds,
        neutral_middle,
        with_context,
    )

    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    env = case.make_env(day=None, seed=seed)
    try:
        space = env.action_space
        idle = env.unwrapped.idle_action()  # type: ignore[attr-defined]
        to_mw = agent_action_map(
            action_map_name, space, idle, neutral_middle(case), ramp, centre
        )
        bounds = context_bounds(env) if context else None
        size = 0 if bounds is None else int(np.asarray(bounds[0]).size)
        rng = np.random.default_rng([int(seed), 0x0B5])  # its own stream: training's is untouched
        rows: list[NDArray[Any]] = []
        obs, info = env.reset(seed=int(seed))
        for _ in range(days):
            rows.append(with_context(np.asarray(obs, dtype=np.float64), info, size))
            done = False
            while not done:
                a = rng.uniform(-1.0, 1.0, size=space.shape)
                obs, _, terminated, truncated, info = env.step(to_mw(a, info))
                done = terminated or truncated
                if not done:
                    rows.append(with_context(np.asarray(obs, dtype=np.float64), info, size))
            obs, info = env.reset()
    finally:
        env.close()
    return ObservationNorm.from_samples(rows, days)
