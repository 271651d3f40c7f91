"""The training env's side of ``env.obs_context`` (:mod:`.agent_view`): the referee's
``info["next_context"]`` appended to each observation (:func:`~.agent_view.with_context`).
The controller appends the harness's ``info`` the same way, so training and evaluation see
the same vectors."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from gridbench.rl_agents.agent_view import context_bounds, with_context, with_context_space

__all__ = ["ContextObservation"]


class ContextObservation(gymnasium.Wrapper[Any, Any, Any, Any]):
    """Observations extended by ``info["next_context"]`` of the same ``reset``/``step``."""

    def __init__(self, env: gymnasium.Env[Any, Any]) -> None:
        super().__init__(env)
        bounds = context_bounds(env)
        if bounds is None:
            raise ValueError(f"{env.unwrapped} reports no observation context")
        if not isinstance(env.observation_space, spaces.Box):
            raise TypeError(f"ContextObservation needs a Box observation: {env.observation_space}")
        self.size = int(np.asarray(bounds[0]).size)
        self.observation_space = with_context_space(env.observation_space, bounds)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        return with_context(obs, info, self.size), info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return with_context(obs, info, self.size), reward, terminated, truncated, info
