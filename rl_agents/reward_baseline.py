"""An input-driven reward baseline for training (the fair-RL protocol, ``rl_agents/README.md``).

A storage operator's daily cost is dominated by load × price, which no action changes: on
SES-carbon idle costs 2,737–4,376 $ over 10 val days against ≈ 550 $/day the storages can
move. Learned from the raw reward, the value function spends its capacity on that exogenous
part and the policy gradient inherits its variance. Subtracting what the idle policy earns on
the *same day and step* (Mao et al., "Variance Reduction for Reinforcement Learning in
Input-Driven Environments", ICLR 2019) removes it:

    r'_t = r_t − r_t^idle(day)

``r^idle`` does not depend on the agent's actions, so on every day the shaped return differs
from the true one by a constant: the ranking of policies, hence the optimal policy, is
unchanged. It is used for training only (``hyperparams.json`` ``env.reward_baseline =
"idle"``); ``Monitor`` logs, and the harness scores, the referee's own reward and cost.

``env.reward_baseline = "default"`` plays the case's default operation instead
(``info["next_default_action"]`` at every step, :meth:`DispatchCore.default_setpoints`; the
idle action where the case reports none). Where idle is far from anything sensible it removes
little of the exogenous part: on SGLS IEEE 30 idling the thermal units buys the whole load
upstream (56,344 $/day on the first 10 val days) while a dispatch that runs them costs
5,000–8,000; following the net load pro rata to capacity (the default) costs 5,742. The
default's reward is as action-independent as idle's (its setpoints come from the day's
forecasts alone), so the same argument holds.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, Final

import gymnasium
import numpy as np
from numpy.typing import NDArray

from gridbench.cases.kpi import DEFAULT_ACTION_KEY

if TYPE_CHECKING:
    from gridbench.cases.contracts import Case

__all__ = ["BASELINE_POLICIES", "BaselineReward"]

#: The policies a :class:`BaselineReward` can play (``env.reward_baseline`` less ``none``).
BASELINE_POLICIES: Final[tuple[str, ...]] = ("idle", "default")


class BaselineReward(gymnasium.Wrapper[Any, Any, Any, Any]):
    """``reward − the baseline policy's reward at the same step of the same day`` (module
    docstring); ``policy`` of :data:`BASELINE_POLICIES`: ``idle`` (the idle action) or
    ``default`` (the case's default operation). Wraps a referee environment of ``case``
    (physical actions); the baseline day is played once per day on a separate environment and
    cached."""

    def __init__(self, env: gymnasium.Env[Any, Any], case: Case, policy: str = "idle") -> None:
        if policy not in BASELINE_POLICIES:
            raise ValueError(
                f"baseline policy {policy!r} is not one of {', '.join(BASELINE_POLICIES)}")
        super().__init__(env)
        self._case = case
        self.policy = policy
        self._played: dict[datetime.date, NDArray[np.float64]] = {}
        self._day_rewards: NDArray[np.float64] = np.zeros(0)
        self._t = 0

    def baseline_rewards(self, day: datetime.date) -> NDArray[np.float64]:
        """The referee's reward at every step of ``day`` under the baseline policy."""
        rewards = self._played.get(day)
        if rewards is None:
            env = self._case.make_env(day=day, seed=0)
            _, info = env.reset(seed=0)
            idle = env.unwrapped.idle_action()  # type: ignore[attr-defined]
            values, done = [], False
            while not done:
                action = info.get(DEFAULT_ACTION_KEY) if self.policy == "default" else None
                _, r, terminated, truncated, info = env.step(idle if action is None else action)
                values.append(float(r))
                done = terminated or truncated
            env.close()
            rewards = self._played[day] = np.array(values)
        return rewards

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._day_rewards = self.baseline_rewards(datetime.date.fromisoformat(info["day"]))
        self._t = 0
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self._t >= self._day_rewards.size:
            raise RuntimeError("BaselineReward: more steps than the baseline day has")
        shaped = float(reward) - float(self._day_rewards[self._t])
        self._t += 1
        return obs, shaped, terminated, truncated, info
