"""The leader's view of a Stackelberg day (spec §5, "single-agent Gymnasium view"): the DSO
posts its 96 prices, the followers answer with their exact best responses, and the day is
played through the referee.

* :func:`best_response_schedule` — the followers' exact best responses to posted prices on a
  day's data (each follower's QP by :class:`~.follower.BestResponder`), as the referee's device
  setpoints hour by hour. The leader methods of ``solvers/stackelberg.py`` and
  :class:`LeaderEnv` both play it.
* :class:`LeaderEnv` — a one-step ``gymnasium.Env`` over the case's referee: the observation is
  the DSO's day-ahead observation, the action the DSO's free prices (the 96 prices; the 12
  window levels under ``price_parametrization: tou3``, :func:`~.players.price_levels`), the
  reward the DSO's day (profit minus the voltage and line penalties) / ``reward.scale_usd``;
  every episode ends after its one step. ``info`` is the last hour's referee ``info`` plus
  ``prices`` (the posted, admissible prices), ``price_projection`` and ``day_profit`` (each
  player's profit of the day); the reset ``info`` carries the referee's boxes and idle action
  (the tariff) for the free prices, so the suite's action maps work on it.
* :class:`LeaderCase` — the case as a leader-only RL method sees it (the case's
  ``agent_case()``): its ``make_env`` is :class:`LeaderEnv`, its action layout the free prices;
  days, config and id are the case's. Agents train on it like on any case.
* :class:`LeaderController` — plays a leader decision on the case's referee: in the day-ahead
  step it posts ``decide(obs, info)``'s prices (the 96, or the free prices that post them;
  ``info`` cut to the free prices, as :class:`LeaderEnv` shows it), in every hour the
  followers' exact best responses to the posted prices on the realized day. The leader
  methods of ``solvers/stackelberg.py`` and the RL agents trained on :class:`LeaderCase` (the
  case's ``agent_controller``) both use it. Under hourly commitment (``leader_commitment:
  hourly``) the decision is a commitment: the day's prices, decided before the first hour and
  made admissible (:func:`~.players.admissible_prices`), are posted hour by hour, and the
  followers play their best responses to them (the referee executes an admissible day
  unchanged).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import gymnasium
import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridbench.cases.referee import Layer, RefereeEnv
from gridbench.cases.stackelberg.config import LeaderCommitment
from gridbench.cases.stackelberg.core import FOLLOWERS, N_PRICES
from gridbench.cases.stackelberg.follower import BestResponder
from gridbench.cases.stackelberg.players import expand_levels, level_means, level_names

if TYPE_CHECKING:
    from gridbench.cases.stackelberg.case import StackelbergCase
    from gridbench.cases.stackelberg.config import StackelbergConfig
    from gridbench.cases.stackelberg.players import GameDay

__all__ = ["LeaderCase", "LeaderController", "LeaderEnv", "best_response_schedule",
           "device_schedule", "leader_info", "posted_prices"]

#: Keys of a referee ``info`` holding a joint action vector, sliced to the prices for the leader.
_ACTION_KEYS = ("idle_action", "next_action_low", "next_action_high", "next_penalty_free_low",
                "next_penalty_free_high")


def leader_info(cfg: StackelbergConfig, info: Mapping[str, Any]) -> dict[str, Any]:
    """A referee ``info`` as the leader sees it: every joint action vector cut to the 96
    prices and given per free price (:func:`~.players.level_means`: the boxes and the tariff
    are the same over the hours of a ``tou3`` window)."""
    out = dict(info)
    for key in _ACTION_KEYS:
        value = out.get(key)
        if value is not None:
            out[key] = level_means(cfg, np.asarray(value, dtype=np.float64)[:N_PRICES])
    return out


def posted_prices(cfg: StackelbergConfig, decided: ArrayLike) -> FloatArray:
    """The 96 prices of a leader decision: ``decided`` itself, or the prices its free prices
    post (:func:`~.players.expand_levels`); a ``ValueError`` for another length."""
    v = np.asarray(decided, dtype=np.float64).reshape(-1)
    return v if v.size == N_PRICES else expand_levels(cfg, v)

FloatArray = NDArray[np.float64]


def best_response_schedule(cfg: StackelbergConfig, day: GameDay, prices: ArrayLike, *,
                           responders: Mapping[str, BestResponder] | None = None) -> FloatArray:
    """``(24, n_devices)``: the followers' exact best responses to ``prices`` on ``day``, as
    the referee's device entries hour by hour (turbines, curtailment, shift, battery net power
    ``pd − pc``, EV charging, flexible-load shift). ``responders`` (follower name → its
    responder on ``day``, e.g. the referee core's :meth:`~.core.StackelbergCore.best_responder`)
    answer instead of responders built afresh from ``day``."""
    from gridbench.cases.stackelberg.players import ea_follower, gsess_follower, la_follower

    builders: dict[str, Callable[..., Any]] = {"ea": ea_follower, "la": la_follower,
                                               "gsess": gsess_follower}
    values: dict[str, float] = {}
    for name, build in builders.items():
        respond = (responders[name] if responders is not None
                   else BestResponder(build(cfg, day)))
        x = respond(prices).x
        values.update(zip(respond.qp.variables, x.tolist(), strict=True))
    return device_schedule(cfg, day, values)


def device_schedule(cfg: StackelbergConfig, day: GameDay,
                    values: Mapping[str, float]) -> FloatArray:
    """``(24, n_devices)``: the followers' decision ``values`` (variable name → value, as
    their QPs name them) as the referee's device entries hour by hour (turbines, curtailment,
    shift, battery net power ``pd − pc``, EV charging, flexible-load shift)."""
    n_mgt = len(cfg.ea.mgt_max_mw)
    rows = []
    for t in range(day.n_steps):
        mgt = [values[f"g{i + 1}[{t}]"] for i in range(n_mgt)]
        battery = values[f"pd[{t}]"] - values[f"pc[{t}]"]
        rows.append([*mgt, values[f"c[{t}]"], values[f"s[{t}]"], battery, values[f"pev[{t}]"],
                     values[f"f[{t}]"]])  # fmt: skip
    return np.asarray(rows)


class LeaderEnv(gymnasium.Env[NDArray[np.float32], NDArray[np.float32]]):
    """One step per day: post prices, followers best-respond, the day is refereed (module
    docstring). ``day=None`` samples the case's train days at each reset."""

    metadata: dict[str, Any] = {"render_modes": [], "name": "gridbench-stackelberg-leader"}  # noqa: RUF012
    #: One decision a day (the RL methods' budgets count env steps per day).
    steps_per_day: int = 1

    def __init__(self, case: StackelbergCase, *, day: datetime.date | str | None = None,
                 seed: int | None = None) -> None:
        self.case = case
        self.referee: RefereeEnv = case.make_env(day=None if day is None else case.resolve_day(day),
                                                 seed=0 if seed is None else seed)
        core = self.referee.core
        low, high = core.action_bounds(Layer.DAY_AHEAD)
        cfg = case.config
        self.action_space = gymnasium.spaces.Box(
            level_means(cfg, np.asarray(low, dtype=np.float64)[:N_PRICES]).astype(np.float32),
            level_means(cfg, np.asarray(high, dtype=np.float64)[:N_PRICES]).astype(np.float32),
            dtype=np.float32,
        )
        self.observation_space = self.referee.observation_space
        self._first_seed = seed
        self._info: dict[str, Any] = {}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        if seed is None and self._first_seed is not None:
            seed = self._first_seed
        self._first_seed = None
        super().reset(seed=seed)
        obs, info = self.referee.reset(seed=seed, options=options)
        self._info = info
        return obs, leader_info(self.case.config, info)

    def idle_action(self) -> NDArray[np.float64]:
        """The idle leader's free prices: the tariff (the referee's idle day-ahead action)."""
        return level_means(self.case.config, self.referee.idle_action()[:N_PRICES])

    def step(self, action: ArrayLike) -> tuple[NDArray[np.float32], float, bool, bool,
                                               dict[str, Any]]:
        levels = np.asarray(action, dtype=np.float64).reshape(-1)
        n = self.action_space.shape[0]
        if levels.size != n:
            raise ValueError(f"the leader posts {n} prices, got {levels.size}")
        prices = expand_levels(self.case.config, levels)
        core = self.referee.core
        joint = core.idle_action()
        joint[:N_PRICES] = prices
        _, reward, _, _, info = self.referee.step(joint)
        posted = info["prices"]
        projection = info["price_projection"]
        schedule = best_response_schedule(
            self.case.config, core.day_data, posted,
            responders={f: core.best_responder(f) for f in FOLLOWERS})
        total, profit = float(reward), dict.fromkeys(("dso", "ea", "la", "gsess"), 0.0)
        done, t = False, 0
        while not done:
            joint = core.idle_action()
            joint[N_PRICES:] = schedule[t]
            obs, reward, done, _, info = self.referee.step(joint)
            total += float(reward)
            for name, value in info["agent_profit"].items():
                profit[name] += float(value)
            t += 1
        info = {**leader_info(self.case.config, info), "prices": posted,
                "price_projection": projection,
                "day_profit": profit}
        return obs, total, True, False, info


class LeaderCase:
    """The case as leader-only RL sees it (module docstring): one decision a day, the free
    prices, the followers best-responding."""

    def __init__(self, case: StackelbergCase) -> None:
        self.case = case
        self.id = case.id
        self.config = case.config
        self.paper, self.grid = case.paper, case.grid

    def make_env(self, day: datetime.date | None = None, seed: int = 0) -> LeaderEnv:
        return LeaderEnv(self.case, day=day, seed=seed)

    def days(self, split: Any) -> tuple[datetime.date, ...]:
        return self.case.days(split)

    def sample_train_day(self, rng: np.random.Generator) -> datetime.date:
        return self.case.sample_train_day(rng)

    def resolve_day(self, day: Any) -> datetime.date:
        return self.case.resolve_day(day)

    def action_layout(self) -> Any:
        from gridbench.cases.contracts import ActionLayout

        entries = tuple(self.case.action_layout())[:N_PRICES]
        if len(level_names(self.config)) == N_PRICES:
            return ActionLayout(entries)
        return ActionLayout(tuple(dataclasses.replace(entries[0], name=name)
                                  for name in level_names(self.config)))

    def observation_names(self) -> tuple[str, ...]:
        return self.case.observation_names()


class LeaderController:
    """Plays a leader decision on the case's referee (module docstring). ``decide(obs,
    info)`` returns the 96 prices (or the free prices that post them) from the day-ahead
    observation and the leader's ``info``;
    ``respond(prices)`` (default: the followers' exact best responses on the realized day)
    the followers' ``(24, n_devices)`` schedule to the posted prices."""

    def __init__(self, case: StackelbergCase, day: datetime.date,
                 decide: Callable[[Any, Mapping[str, Any]], ArrayLike],
                 respond: Callable[[FloatArray], FloatArray] | None = None) -> None:
        self.case, self.day = case, day
        self._decide = decide
        self._respond = respond
        self.prices: FloatArray | None = None
        self._schedule: FloatArray | None = None
        self._idle = np.zeros(0)

    def reset(self, obs: Any, info: Mapping[str, Any]) -> None:
        self.prices, self._schedule = None, None
        self._idle = np.asarray(info["idle_action"], dtype=np.float64)

    def act(self, obs: Any, info: Mapping[str, Any]) -> NDArray[np.float64]:
        if self._idle.size == 0:
            raise RuntimeError("LeaderController.act() called before reset()")
        action = self._idle.copy()
        if self.case.commitment is LeaderCommitment.HOURLY:
            return self._act_hourly(obs, info, action)
        if info["next_layer"] == "day_ahead":
            cfg = self.case.config
            self.prices = posted_prices(cfg, self._decide(obs, leader_info(cfg, info)))
            action[:N_PRICES] = self.prices
            return action
        if self._schedule is None:
            posted = info.get("prices")
            if posted is None:
                raise ValueError("the first hour's info carries no posted 'prices'")
            posted = np.asarray(posted, dtype=np.float64)
            self._schedule = (self._respond(posted) if self._respond is not None else
                              best_response_schedule(self.case.config, self.case.game(self.day),
                                                     posted))
        action[N_PRICES:] = self._schedule[int(info["next_step"])]
        return action

    def _act_hourly(self, obs: Any, info: Mapping[str, Any],
                    action: NDArray[np.float64]) -> NDArray[np.float64]:
        """Hourly commitment (module docstring): the committed day's hour ``t`` prices and
        the followers' answer of hour ``t``."""
        from gridbench.cases.stackelberg.players import PRICES, admissible_prices

        n, t = len(PRICES), int(info["next_step"])
        if self._schedule is None:
            day = self.case.game(self.day)
            decided = np.asarray(self._decide(obs, info), dtype=np.float64).reshape(-1)
            self.prices = admissible_prices(self.case.config, day, decided).prices
            self._schedule = (self._respond(self.prices) if self._respond is not None else
                              best_response_schedule(self.case.config, day, self.prices))
        action[:n] = np.asarray(self.prices).reshape(n, -1)[:, t]
        action[n:] = self._schedule[t]
        return action
