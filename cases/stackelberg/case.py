"""The Stackelberg GSESS cases (paper 000, Dong et al., Energy Reports 14 (2025) 5979–5990;
design ``../shared/specs/stackelberg-gsess.md``; parameters and departures: ``README.md``).

``stackelberg-gsess-feeder38-v0``: the storage player controls batteries, EV charging and the
flexible load; ``stackelberg-csess-feeder38-v0``: batteries only (EVs charge on arrival, the
flexible load stays as it is, billed the same). Both post the day's prices before the day
(``leader_commitment: day_ahead``). ``stackelberg-gsess-hourly-feeder38-v0``: GSESS with the
DSO posting each hour's prices in that hour (``hourly``, the paper-like MADDPG timing; the
bilevel MILP is its commitment benchmark), and ``stackelberg-csess-hourly-feeder38-v0`` the
same for CSESS; games of the parallel env only (no leader-only view: a best-responding
follower needs the day's prices). ``stackelberg-gsess-tou3-feeder38-v0`` and
``stackelberg-csess-tou3-feeder38-v0``: day-ahead commitment with the DSO's prices one level per
tariff window (``price_parametrization: tou3``, spec §2: 12 free prices instead of 96; the
bilevel MILP holds a window's prices equal, so it stays exact).
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import BaseModel

from gridbench.cases.contracts import ActionEntry, ActionLayout, BaseCase, CaseConfig, Controller
from gridbench.cases.referee import Timeline
from gridbench.cases.stackelberg.config import (
    LeaderCommitment,
    PriceParametrization,
    StackelbergConfig,
    StorageKind,
)
from gridbench.cases.stackelberg.core import (
    FOLLOWERS,
    HOURLY_TIMELINE,
    STOCK_HOLDERS,
    TIMELINE,
    StackelbergCore,
    observation_names,
)
from gridbench.cases.stackelberg.network import DER_BUS
from gridbench.cases.stackelberg.players import PRICES, GameDay, game_day, tariff_prices

if TYPE_CHECKING:
    from gridbench.cases.stackelberg.leader_view import LeaderCase

__all__ = [
    "PAPER",
    "StackelbergCase",
    "StackelbergCsessCase",
    "StackelbergCsessHourlyCase",
    "StackelbergCsessTou3Case",
    "StackelbergGsessCase",
    "StackelbergGsessHourlyCase",
    "StackelbergGsessTou3Case",
    "StackelbergHourlyCase",
]

PAPER = (
    "Dong, Li, Xie, Ji, Yang, Energy Reports 14 (2025) 5979-5990: a master-slave game of a "
    "DSO and a generalized shared energy storage system (batteries, EVs, flexible loads) "
    "solved by MADDPG on a modified IEEE 38-node system (abstract only)"
)


class StackelbergCase(BaseCase):
    """Base of the cases: ``storage`` comes from :attr:`storage_kind`, ``leader_commitment``
    from :attr:`commitment` and ``price_parametrization`` from :attr:`parametrization`, the
    rest of the config from :class:`~.config.StackelbergConfig` (a config naming another
    storage kind, commitment or parametrization is an error: each is its own case id)."""

    paper: ClassVar[str] = PAPER
    grid: ClassVar[str] = "feeder38"
    timeline: ClassVar[Timeline] = TIMELINE
    config_model: ClassVar[type[CaseConfig]] = StackelbergConfig
    storage_kind: ClassVar[StorageKind]
    commitment: ClassVar[LeaderCommitment] = LeaderCommitment.DAY_AHEAD
    parametrization: ClassVar[PriceParametrization] = PriceParametrization.HOURLY
    day_source = staticmethod(game_day)
    config: StackelbergConfig

    @classmethod
    def validate_config(cls, config: CaseConfig | Mapping[str, Any] | None) -> CaseConfig:
        if isinstance(config, StackelbergConfig):
            data: Mapping[str, Any] = config.model_dump()
        elif isinstance(config, BaseModel):
            data = config.model_dump()
        else:
            data = {} if config is None else dict(config)
        for key, kind, own in (
            ("storage", StorageKind, cls.storage_kind),
            ("leader_commitment", LeaderCommitment, cls.commitment),
            ("price_parametrization", PriceParametrization, cls.parametrization),
        ):
            if key in data and data[key] not in {own, own.value}:
                from gridbench.cases.contracts import CaseConfigError

                raise CaseConfigError(
                    f"bad config for {cls.id}: {key}={data[key]!r}, this case is "
                    f"{own.value!r} (valid: {', '.join(k.value for k in kind)}; the other "
                    "value is its own case id where one is registered)"
                )
        return super().validate_config({**dict(data), "storage": cls.storage_kind,
                                        "leader_commitment": cls.commitment,
                                        "price_parametrization": cls.parametrization})

    def make_core(self) -> StackelbergCore:
        return StackelbergCore(self.config)

    def game(self, day: datetime.date | str) -> GameDay:
        """The day's data as the players' problems read it (:func:`~.players.game_day`)."""
        return game_day(self.config, self.resolve_day(day))

    def agent_case(self) -> LeaderCase:
        """What single-agent RL trains and acts on here: the leader's view
        (:class:`~.leader_view.LeaderCase`: one decision a day, the 96 prices, the followers
        best-responding), not the joint referee whose action holds every player's entries."""
        from gridbench.cases.stackelberg.leader_view import LeaderCase

        return LeaderCase(self)

    def agent_controller(self, controller: Controller, day: datetime.date) -> Controller:
        """A controller of :meth:`agent_case`'s environment as a controller of this case's
        referee: its prices posted in the day-ahead step, the followers' exact best responses
        in the hours (:class:`~.leader_view.LeaderController`)."""
        from gridbench.cases.stackelberg.leader_view import LeaderController

        def decide(obs: Any, info: Mapping[str, Any]) -> Any:
            controller.reset(obs, info)
            return controller.act(obs, info)

        return LeaderController(self, day, decide)

    def action_layout(self) -> ActionLayout:
        """``[96 prices ($/MWh, day-ahead) | turbines | curtailment | shift | battery | EV
        charging | flexible-load shift]`` (:func:`~.core.setpoint_names`; the hour's 4 prices
        under hourly commitment). The shift, EV charging and flexible-load entries are demand
        (``> 0`` draws power)."""
        if self.commitment is LeaderCommitment.HOURLY:
            price = [ActionEntry(f"price_{p}", "price", None, "$/MWh") for p in PRICES]
        else:
            price = [ActionEntry(f"price_{p}[{t}]", "price", None, "$/MWh", ("day_ahead",))
                     for p in PRICES for t in range(24)]  # fmt: skip
        n_mgt = len(self.config.ea.mgt_max_mw)
        devices = [ActionEntry(f"mgt{i + 1}", "gas_turbine", DER_BUS["pv"] + i)
                   for i in range(n_mgt)]
        devices += [
            ActionEntry("curtail", "curtailment", None),
            ActionEntry("shift", "shiftable_load", None),
            ActionEntry("battery", "storage", None),
            ActionEntry("ev", "ev_charging", DER_BUS["ev"]),
            ActionEntry("flexible", "flexible_load", None),
        ]
        return ActionLayout(tuple(price + devices))

    def stock_value_usd(self, observation: Any) -> dict[str, float]:
        """Each follower's stocks in ``observation`` (any agent's: the core's entries come
        first, :data:`~.core.STOCKS` at their end) valued at the tariff's day mean of the
        price at which it fills them (:data:`~.core.STOCK_HOLDERS`), $; 0 for a player
        without stocks. Every stock starts and ends the day at fixed values, so the day's
        sum of this value's hourly changes is the same whatever the players do: a potential
        for shaping a follower's reward (Ng, Harada, Russell, ICML 1999) that prices the
        energy still owed at each hour without changing which policy is best."""
        n_core, weights = self._stock_weights
        o = np.asarray(observation, dtype=np.float64)
        if o.ndim != 1 or o.size < n_core:
            raise ValueError(f"observation of shape {o.shape} is not one of {self.id}'s (at "
                             f"least {n_core} entries)")
        value = dict.fromkeys(("dso", *FOLLOWERS), 0.0)
        for holder, stocks in weights.items():  # in STOCK_HOLDERS' order, as summed before
            value[holder] = float(sum(price * o[i] for i, price in stocks))
        return value

    @functools.cached_property
    def _stock_weights(self) -> tuple[int, dict[str, list[tuple[int, float]]]]:
        """For :meth:`stock_value_usd`, once per case (a training step calls it): the core
        observation's length and, per holder, its stocks' positions and prices."""
        names = observation_names(self.config)
        tariff = tariff_prices(self.config).reshape(len(PRICES), -1).mean(axis=1)
        weights: dict[str, list[tuple[int, float]]] = {}
        for stock, (holder, price) in STOCK_HOLDERS.items():
            weights.setdefault(holder, []).append(
                (names.index(stock), tariff[PRICES.index(price)]))
        return len(names), weights

    def observation_names(self) -> tuple[str, ...]:
        """:func:`~.core.observation_names` and the layer one-hot."""
        names = observation_names(self.config)
        if len(self.timeline) == 1:  # the referee adds a layer one-hot only with two layers
            return names
        return names + tuple(f"layer_{s.layer.value}" for s in self.timeline)


class StackelbergGsessCase(StackelbergCase):
    """``stackelberg-gsess-feeder38-v0``: the generalized shared storage (batteries, EVs,
    flexible load)."""

    id: ClassVar[str] = "stackelberg-gsess-feeder38-v0"
    storage_kind: ClassVar[StorageKind] = StorageKind.GSESS


class StackelbergCsessCase(StackelbergCase):
    """``stackelberg-csess-feeder38-v0``: conventional shared storage (batteries only)."""

    id: ClassVar[str] = "stackelberg-csess-feeder38-v0"
    storage_kind: ClassVar[StorageKind] = StorageKind.CSESS


class StackelbergHourlyCase(StackelbergCase):
    """Base of the hourly-commitment cases (module docstring). The parallel env plays the
    DSO and the followers in sequential stages each hour; single-agent RL does not apply
    (``multi_agent_only``)."""

    timeline: ClassVar[Timeline] = HOURLY_TIMELINE
    commitment: ClassVar[LeaderCommitment] = LeaderCommitment.HOURLY
    multi_agent_only: ClassVar[bool] = True

    def make_parallel_env(self, day: datetime.date | None = None, seed: int = 0, *,
                          sequential_stages: bool = True) -> Any:
        """The parallel referee with the DSO (stage 0) deciding before the followers (stage
        1) every hour (``sequential_stages``, the default here)."""
        return super().make_parallel_env(day=day, seed=seed,
                                         sequential_stages=sequential_stages)

    def agent_case(self) -> LeaderCase:
        raise NotImplementedError(
            f"{self.id} has no leader-only view: under hourly commitment the followers do not "
            "know the day's prices, so they have no best response to play")


class StackelbergGsessHourlyCase(StackelbergHourlyCase):
    """``stackelberg-gsess-hourly-feeder38-v0``: GSESS under hourly commitment."""

    id: ClassVar[str] = "stackelberg-gsess-hourly-feeder38-v0"
    storage_kind: ClassVar[StorageKind] = StorageKind.GSESS


class StackelbergCsessHourlyCase(StackelbergHourlyCase):
    """``stackelberg-csess-hourly-feeder38-v0``: CSESS under hourly commitment."""

    id: ClassVar[str] = "stackelberg-csess-hourly-feeder38-v0"
    storage_kind: ClassVar[StorageKind] = StorageKind.CSESS


class StackelbergGsessTou3Case(StackelbergCase):
    """``stackelberg-gsess-tou3-feeder38-v0``: GSESS with the DSO's prices one level per
    tariff window (``tou3``)."""

    id: ClassVar[str] = "stackelberg-gsess-tou3-feeder38-v0"
    storage_kind: ClassVar[StorageKind] = StorageKind.GSESS
    parametrization: ClassVar[PriceParametrization] = PriceParametrization.TOU3


class StackelbergCsessTou3Case(StackelbergCase):
    """``stackelberg-csess-tou3-feeder38-v0``: CSESS with the DSO's prices one level per
    tariff window (``tou3``)."""

    id: ClassVar[str] = "stackelberg-csess-tou3-feeder38-v0"
    storage_kind: ClassVar[StorageKind] = StorageKind.CSESS
    parametrization: ClassVar[PriceParametrization] = PriceParametrization.TOU3
