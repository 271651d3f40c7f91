"""The referee physics of the Stackelberg case: :class:`StackelbergCore` (spec §2, §5).

Timeline (``leader_commitment: day_ahead``, spec §2): one ``day_ahead`` step of 24 h in which
only the DSO acts, posting its 96 prices (:data:`~.players.PRICES`: ``ea``, ``la``,
``gsess_buy``, ``gsess_sell``, 24 hourly each), then 24 hourly ``intraday`` steps in which only
the followers act. Setpoint vector (:func:`setpoint_names`)::

    [96 prices ($/MWh) | EA: one turbine output per MGT (MW) | LA: curtailment c, shift s (MW)
     | storage player: battery net power (MW, > 0 discharges), EV charging pev, flexible-load
       shift f (MW)]

**Prices** are made admissible on the day-ahead step by :func:`~.players.admissible_prices`
(non-finite → the tariff, the box, the average caps by one downward shift, sell ≤ buy); what
changed is in ``info["price_projection"]`` and the posted prices in ``info["prices"]``. Under
``price_parametrization: tou3`` the setpoint vector keeps the 96 prices, and the projection
first gives every hour of a tariff window its price vector's mean over that window
(``n_level_averaged``): the DSO posts 12 free prices.

**Hourly commitment** (``leader_commitment: hourly``, spec §2; :data:`HOURLY_TIMELINE`): one
layer of 24 hourly steps whose setpoint vector starts with the hour's 4 prices (``ea``,
``la``, ``gsess_buy``, ``gsess_sell``) instead of the day's 96; the DSO is stage 0 and the
followers stage 1, so the parallel env (``sequential_stages``) shows the followers the hour's
prices before they act. The day's average caps become state-dependent bounds: hour ``t``'s
``λLA`` (and ``λGB``) is at most ``24·ρ·mean(λTOU) − Σ_{k<t} λ_k − Σ_{k>t} lo_k`` (what the
posted hours leave when every later hour posts its lowest price), so every day the referee
executes meets the caps, and every admissible day vector executes unchanged. Sell ≤ buy is
applied to the hour (:meth:`StackelbergCore.project_coupled`). The idle prices are the
tariff's bound of each price's box (``λTOU`` above for what LA and the storage buy, ``λFIT``
below for what EA and the storage sell), so the idle action clipped into the hour's box is the
tariff as far as the caps allow.

**Followers' limits.** Every intertemporal constraint of the followers' problems
(:mod:`.players`) is kept by state-dependent step bounds (:meth:`StackelbergCore.step_bounds`):
for each stock (battery energy ``E``, EV energy ``X``, flexible-load energy ``e``, the LA's
shifted energy ``S = Σ s``) the set of states from which the rest of the day stays feasible is
computed backwards once per day (:func:`reachable_states`), and the step's box is the set of
powers that land in it. So every schedule the referee executes is feasible for the follower's
problem, and every feasible schedule (a best response, the bilevel optimum's) is executed
unchanged. CSESS pins ``pev`` to the uncontrolled profile and ``f`` to 0.

**Physics** of hour ``t``: the buses' net load (data and decisions placed on the buses as the
MILP's network rows place them, :func:`~.network.injections`), one AC power flow on feeder38
(substation at ``v_slack_pu``); the DSO buys the slack power ``Pup`` (losses included) at
``π^up``.

**Money** of hour ``t`` (spec §5), each follower's by its problem's own terms
(:meth:`~.follower.FollowerQP.cost_in_period`, hour ``t``'s terms of ``cost_by_period``):
payment ``λ'(Bx + d)`` to the DSO (negative: the DSO pays) and own cost ``½ Σ q x² + c'x``; the
DSO's profit is what the followers pay it minus ``π^up·Pup``. ``info["cost"]`` (DSO-centric, $;
the scored cost is −DSO profit): ``energy_purchase`` = ``π^up·Pup``, ``ea_payment`` (what the
DSO pays the EA), ``la_revenue`` and ``gsess_revenue`` (what they pay it, negative).
``info["agent_profit"]`` holds each player's profit of the hour: the payments cancel between
the players, so the profits sum to ``−π^up·Pup`` minus the followers' own costs. After the last
hour ``info["agent_regret"]`` holds each follower's regret over the day against its exact best
response (spec §7).

**Rewards**: each agent's own profit of the step / ``reward_scale_usd`` (the DSO's minus the
voltage and line penalties, ``w_V·Σ dist(|V|, band)``, ``w_S·Σ overload``); the single-agent
reward is the DSO's. The day-ahead step pays nothing.

**Observation** (:func:`observation_names`), the same for every agent: the hour (t/24); the
day's hourly data from the hour about to be played on (entry ``k`` of a series is hour
``t + k``, 0 after midnight): LA demand, C&I load, flexible load, renewables, the EV fleet's
charging limit and minimum energy, as forecast when the step is decided
(:meth:`StackelbergCore.observe`: the suite's error model, seeded by ``forecast_seed``; the EV
fleet is known); the posted prices, aligned the same way (0 before they are posted); the
stocks ``E``, ``X``, ``e``, ``S`` after the previous hour. The physics runs on the realized
day. Under hourly commitment the price rows hold the prices posted earlier in the day (entry
``k`` is hour ``t − 1 − k``, 0 before midnight): the hour's own prices reach the
followers through the parallel env's stage, and no later price is known.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridbench.cases.kpi import StepKPI
from gridbench.cases.referee import AgentRole, CoreStep, DispatchCore, Layer, StepOutcome, Timeline
from gridbench.cases.stackelberg.config import (
    CI_BUSES,
    RESIDENTIAL_BUSES,
    LeaderCommitment,
    StackelbergConfig,
    StorageKind,
)
from gridbench.cases.stackelberg.follower import BestResponder, FollowerQP
from gridbench.cases.stackelberg.players import (
    PRICES,
    GameDay,
    admissible_prices,
    ea_follower,
    game_day,
    gsess_follower,
    la_follower,
    price_box,
    tariff_prices,
)
from gridbench.cases.stackelberg.prices import AT_BOUND_TOL

__all__ = [
    "FOLLOWERS",
    "HOURLY_TIMELINE",
    "N_PRICES",
    "STOCKS",
    "STOCK_HOLDERS",
    "TIMELINE",
    "StackelbergCore",
    "line_ratings_mva",
    "observation_names",
    "reachable_states",
    "setpoint_names",
    "tap_line_ratings",
    "timeline_of",
]

FloatArray = NDArray[np.float64]
T: Final[int] = 24
N_PRICES: Final[int] = len(PRICES) * T
#: ``leader_commitment: day_ahead``: the DSO's one 24-h step, then 24 hourly follower steps.
TIMELINE: Final[Timeline] = Timeline.two_layer(day_ahead=(1, 24.0), intraday=(T, 1.0))
#: ``leader_commitment: hourly``: 24 hourly steps, the DSO's 4 prices and the followers' answer
#: in each (module docstring).
HOURLY_TIMELINE: Final[Timeline] = Timeline.single(T, 1.0)
#: The followers, in their order in the setpoint vector (the DSO comes first).
FOLLOWERS: Final[tuple[str, ...]] = ("ea", "la", "gsess")
#: Data rows of the observation (24 hourly values each).
DAY_SERIES: Final[tuple[str, ...]] = (
    "la_demand_mw", "ci_load_mw", "flexible_load_mw", "renewables_mw", "ev_charge_max_mw",
    "ev_energy_min_mwh",
)  # fmt: skip
#: Days a core keeps loaded (:class:`_LoadedDay`: the day's data, the followers' problems, the
#: network placement, the reachable sets and the observation's forecasts): a training env
#: revisits its train days, and building a day and drawing its 25 forecasts is most of a leader
#: step. Each is a function of the config and the day, so a revisited day reads the same numbers.
DAY_CACHE_DAYS: Final[int] = 366

STOCKS: Final[tuple[str, ...]] = ("battery_mwh", "ev_mwh", "flexible_mwh", "shifted_mwh")
#: Per stock, the follower that holds it and the price vector (:data:`~.players.PRICES`) at
#: which that follower buys the energy that fills it.
STOCK_HOLDERS: Final[dict[str, tuple[str, str]]] = {
    "battery_mwh": ("gsess", "gsess_buy"), "ev_mwh": ("gsess", "gsess_buy"),
    "flexible_mwh": ("gsess", "gsess_buy"), "shifted_mwh": ("la", "la"),
}


def _hourly(cfg: StackelbergConfig) -> bool:
    return cfg.leader_commitment is LeaderCommitment.HOURLY


def timeline_of(cfg: StackelbergConfig) -> Timeline:
    """:data:`TIMELINE` or, under hourly commitment, :data:`HOURLY_TIMELINE`."""
    return HOURLY_TIMELINE if _hourly(cfg) else TIMELINE


def setpoint_names(cfg: StackelbergConfig) -> tuple[str, ...]:
    """Names of the setpoint vector's entries (module docstring): the day's 96 prices, or
    the hour's 4 under hourly commitment, then the devices."""
    prices = (tuple(f"price_{p}" for p in PRICES) if _hourly(cfg) else
              tuple(f"price_{p}[{t}]" for p in PRICES for t in range(T)))
    mgt = tuple(f"mgt{i + 1}" for i in range(len(cfg.ea.mgt_max_mw)))
    return (*prices, *mgt, "curtail", "shift", "battery", "ev", "flexible")


def observation_names(cfg: StackelbergConfig | None = None) -> tuple[str, ...]:
    """Names of :meth:`StackelbergCore.observe`'s entries (module docstring; ``cfg`` None:
    day-ahead commitment)."""
    data = tuple(f"{s}[t+{k}]" for s in DAY_SERIES for k in range(T))
    if cfg is not None and _hourly(cfg):
        prices = tuple(f"price_{p}[t-{k + 1}]" for p in PRICES for k in range(T))
    else:
        prices = tuple(f"price_{p}[t+{k}]" for p in PRICES for k in range(T))
    return ("hour_fraction", *data, *prices, *STOCKS)


def reachable_states(
    lo: ArrayLike, hi: ArrayLike, end: float, step_lo: ArrayLike, step_hi: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """``(R_lo, R_hi)``, each ``(T,)``: the stock values at the end of hour ``t`` from which
    the rest of the day stays feasible, for a stock ``S_t = S_{t−1} + Δ_t`` with
    ``Δ_t ∈ [step_lo_t, step_hi_t]`` (what hour ``t``'s decision can move it, exogenous flows
    included), ``lo_t ≤ S_t ≤ hi_t`` and ``S_{T−1} = end``::

        R_{T−1} = {end},   R_{t−1} = [max(lo_{t−1}, R_lo,t − step_hi_t),
                                      min(hi_{t−1}, R_hi,t − step_lo_t)]

    An empty set (``R_lo > R_hi``) means the data leave no feasible schedule: a ``ValueError``
    naming the hour."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    step_lo, step_hi = np.asarray(step_lo, dtype=float), np.asarray(step_hi, dtype=float)
    r_lo, r_hi = np.empty(T), np.empty(T)
    r_lo[-1] = r_hi[-1] = end
    for t in range(T - 1, 0, -1):
        r_lo[t - 1] = max(lo[t - 1], r_lo[t] - step_hi[t])
        r_hi[t - 1] = min(hi[t - 1], r_hi[t] - step_lo[t])
        if r_lo[t - 1] > r_hi[t - 1] + 1e-9:
            raise ValueError(
                f"no feasible schedule: the stock's reachable set is empty at {t - 1} h"
            )
    return r_lo, r_hi


@dataclasses.dataclass(frozen=True)
class _Stocks:
    """Per day: the reachable sets of the four stocks and their starting values."""

    battery: tuple[FloatArray, FloatArray]
    ev: tuple[FloatArray, FloatArray]
    flexible: tuple[FloatArray, FloatArray]
    shift: tuple[FloatArray, FloatArray]
    start: tuple[float, float, float, float]


@dataclasses.dataclass(frozen=True)
class _LoadedDay:
    """What a day's load builds (:meth:`StackelbergCore.load_day`), kept for revisits: the
    day's data, the followers' problems, the buses' net-load data and the followers' placement
    (:func:`~.network.injections`), CSESS's fixed EV profile, the stocks' reachable sets and
    the observation's forecasts by issue (filled on first use)."""

    data: GameDay
    followers: dict[str, FollowerQP]
    net_data: FloatArray
    placement: dict[str, Any]
    asap: FloatArray
    stocks: _Stocks
    forecasts: dict[tuple[int, float], FloatArray]


@dataclasses.dataclass(frozen=True)
class _HourColumns:
    """One follower's columns of one hour: ``columns[k]`` takes the hour's value
    ``values[k]``; ``hour_columns`` and ``price_rows`` are what its money of the hour sums."""

    values: NDArray[np.intp]
    columns: NDArray[np.intp]
    hour_columns: NDArray[np.intp]
    price_rows: NDArray[np.intp]


def _day_layout(variables: dict[str, tuple[str, ...]], n_mgt: int,
                ) -> tuple[dict[str, dict[str, int]], list[dict[str, _HourColumns]]]:
    """Each follower's column of each variable name, and per hour ``t`` its columns in the
    day vector: those :meth:`StackelbergCore._hour` writes (in the order of its values; a name
    the follower lacks, e.g. CSESS's EV energy, is skipped) and those its hourly money sums
    (:meth:`~.follower.FollowerQP.cost_in_period`: every column of the hour, and the hour's
    rows of the 4 prices)."""
    col = {f: {v: j for j, v in enumerate(names)} for f, names in variables.items()}
    column_hour = {f: np.array([int(v.split("[")[1].rstrip("]")) for v in names])
                   for f, names in variables.items()}
    price_hour = np.tile(np.arange(T), len(PRICES))
    hours = []
    for t in range(T):
        written = {"ea": [f"g{i + 1}[{t}]" for i in range(n_mgt)],
                   "la": [f"c[{t}]", f"s[{t}]"],
                   "gsess": [f"pc[{t}]", f"pd[{t}]", f"E[{t}]", f"pev[{t}]", f"f[{t}]",
                             f"X[{t}]", f"e[{t}]"]}  # fmt: skip
        hour = {}
        for f, names in written.items():
            kept = [k for k, name in enumerate(names) if name in col[f]]
            hour[f] = _HourColumns(
                values=np.array(kept, dtype=np.intp),
                columns=np.array([col[f][names[k]] for k in kept], dtype=np.intp),
                hour_columns=np.flatnonzero(column_hour[f] == t),
                price_rows=np.flatnonzero(price_hour == t),
            )
        hours.append(hour)
    return col, hours


class StackelbergCore(DispatchCore):
    """One day of the DSO–followers game on feeder38 (module docstring)."""

    def __init__(
        self, config: StackelbergConfig, *, power_flow: Callable[[Any], Any] | None = None
    ) -> None:
        """``power_flow`` builds the AC solver from the feeder (default
        :class:`~gridbench.cases.grid.RadialPowerFlow`; the benchmarks pass pandapower's)."""
        from gridbench.cases.grid import RadialPowerFlow, load_grid

        self.config = config
        self.hourly = _hourly(config)
        self.names = setpoint_names(config)
        self.n_mgt = len(config.ea.mgt_max_mw)
        super().__init__(timeline_of(config), len(self.names))
        #: Price entries of the setpoint vector: the day's 96, or the hour's 4.
        self.n_prices = len(PRICES) if self.hourly else N_PRICES
        at = self.n_prices
        self.slices = {
            "dso": slice(0, at),
            "ea": slice(at, at + self.n_mgt),
            "la": slice(at + self.n_mgt, at + self.n_mgt + 2),
            "gsess": slice(at + self.n_mgt + 2, at + self.n_mgt + 5),
        }
        net = config.network
        self.feeder = dataclasses.replace(load_grid("feeder38"), v_slack_pu=net.v_slack_pu)
        self._pf = (power_flow or RadialPowerFlow)(self.feeder)
        self._ratings = line_ratings_mva(config, self.feeder)
        p_lo, p_hi = price_box(config)
        #: The 96 prices' box by price and hour, ``(4, 24)`` each (day-independent).
        self._price_lo, self._price_hi = p_lo.reshape(len(PRICES), T), p_hi.reshape(len(PRICES), T)
        self._price_cap = config.prices.average_cap_ratio * float(p_hi[:T].mean())
        self._static = self._static_boxes()
        self._obs_low, self._obs_high = self._observation_limits()
        self._loaded_day: _LoadedDay | None = None
        self._days: OrderedDict[datetime.date, _LoadedDay] = OrderedDict()
        self._layouts: dict[tuple[tuple[str, tuple[str, ...]], ...],
                            tuple[dict[str, dict[str, int]], list[dict[str, _HourColumns]]]] = {}

    # ------------------------------------------------------------------ static boxes
    def _static_boxes(self) -> dict[Layer, tuple[FloatArray, FloatArray]]:
        """Prices: the price box (day-independent: tariff and upstream price are). Devices:
        finite supersets of every day's limits (the grid's nominal loads, which the 2016
        profiles never exceed); the day's own limits are in :meth:`step_bounds`."""
        c = self.config
        nominal = self.feeder.load_p_mw
        ci = float(nominal[[b - 1 for b in CI_BUSES]].sum())
        res = float(nominal[[b - 1 for b in RESIDENTIAL_BUSES]].sum())
        g = c.gsess
        p_bat = g.n_battery * g.battery_mw
        ev_max = g.ev.n_ev * g.ev.charger_kw[1] / 1000.0
        f_max = g.flexible_load.f_max_ratio * g.flexible_load.share * res
        dev_lo = [0.0] * self.n_mgt + [0.0, -c.la.shift_share * ci, -p_bat, 0.0, -f_max]
        dev_hi = [*c.ea.mgt_max_mw, c.la.curtail_share * ci, c.la.shift_share * ci, p_bat,
                  ev_max, f_max]  # fmt: skip
        p_lo, p_hi = price_box(c)
        if self.hourly:  # each price's box over the day's hours
            box = (np.concatenate([self._price_lo.min(axis=1), dev_lo]),
                   np.concatenate([self._price_hi.max(axis=1), dev_hi]))
            return {Layer.INTRADAY: box}
        box = (np.concatenate([p_lo, dev_lo]), np.concatenate([p_hi, dev_hi]))
        # the same box in both layers (an entry inactive in a layer is ignored there)
        return {Layer.DAY_AHEAD: box, Layer.INTRADAY: box}

    def action_bounds(self, layer: Layer) -> tuple[ArrayLike, ArrayLike]:
        return self._static[layer]

    def active_mask(self, layer: Layer) -> NDArray[np.bool_]:
        """The DSO's prices in the day-ahead step, the followers' setpoints in the hours
        (every entry every hour under hourly commitment)."""
        if self.hourly:
            return np.ones(self.action_dim, dtype=bool)
        m = np.zeros(self.action_dim, dtype=bool)
        if layer is Layer.DAY_AHEAD:
            m[:N_PRICES] = True
        else:
            m[N_PRICES:] = True
        return m

    def idle_action(self) -> FloatArray:
        """The tariff for the prices (:func:`~.players.tariff_prices`: a non-finite price
        falls back to it; the day-independent price data; under hourly commitment the bound of
        each price's box the tariff sits on, module docstring) and 0 for the devices (clipped
        into their static box)."""
        if "idle" not in self._cache:
            lo, hi = self._static[Layer.INTRADAY]
            out = np.clip(np.zeros(self.action_dim), lo, hi)
            tariff = tariff_prices(self.config)
            if self.hourly:
                out[:self.n_prices] = self._hourly_idle_prices(tariff.reshape(len(PRICES), T))
            else:
                out[:N_PRICES] = tariff
            self._cache["idle"] = out
        return self._cache["idle"].copy()

    def _hourly_idle_prices(self, tariff: FloatArray) -> FloatArray:
        """Per price, the bound of its day box the tariff ``(4, 24)`` sits on every hour:
        clipped into hour ``t``'s box it is the tariff of ``t``."""
        out = np.empty(len(PRICES))
        for k, p in enumerate(PRICES):
            if np.allclose(tariff[k], self._price_hi[k]):
                out[k] = self._price_hi[k].max()
            elif np.allclose(tariff[k], self._price_lo[k]):
                out[k] = self._price_lo[k].min()
            else:
                raise ValueError(f"the tariff of price_{p} is at no bound of its box: hourly "
                                 "commitment has no idle price for it")
        return out

    def agent_roles(self) -> tuple[AgentRole, ...]:
        """``dso`` (stage 0: the 96 prices, or the hour's 4) and the followers ``ea``, ``la``,
        ``gsess`` (stage 1: their hourly setpoints)."""
        return (AgentRole("dso", self.slices["dso"], 0),
                *(AgentRole(f, self.slices[f], 1) for f in FOLLOWERS))

    # ------------------------------------------------------------------ the day
    def observation_bounds(self) -> tuple[ArrayLike, ArrayLike]:
        return self._obs_low, self._obs_high

    def _observation_limits(self) -> tuple[FloatArray, FloatArray]:
        c, nominal = self.config, self.feeder.load_p_mw
        total = float(nominal.sum())
        ci = float(nominal[[b - 1 for b in CI_BUSES]].sum())
        res = float(nominal[[b - 1 for b in RESIDENTIAL_BUSES]].sum())
        ev = c.gsess.ev
        ev_cap = ev.n_ev * ev.capacity_kwh[1] / 1000.0
        fl = c.gsess.flexible_load
        series_hi = [total, ci, fl.share * res, c.ea.pv_mwp + c.ea.wind_mw,
                     ev.n_ev * ev.charger_kw[1] / 1000.0, ev_cap]  # fmt: skip
        # each price row's bound is its box's highest price: the rows are aligned to the hour
        # of the step (t + k, or t − 1 − k), not to the hour of the day
        p_hi = np.repeat(self._price_hi.max(axis=1), T)
        e_cap = c.gsess.n_battery * c.gsess.battery_mwh
        e_f = fl.energy_hours * fl.share * res
        s_cum = c.la.shift_share * ci * (c.la.shift_end_h - c.la.shift_start_h)
        low = np.concatenate([[0.0], np.zeros(len(DAY_SERIES) * T), np.zeros(N_PRICES),
                              [0.0, 0.0, -e_f, -s_cum]])  # fmt: skip
        high = np.concatenate([[1.0], np.repeat(series_hi, T), p_hi, [e_cap, ev_cap, e_f, s_cum]])
        return low, high

    def _loaded(self, day: datetime.date) -> _LoadedDay:
        """``day`` built, or read from the last :data:`DAY_CACHE_DAYS` days built."""
        if day in self._days:
            self._days.move_to_end(day)
            return self._days[day]
        from gridbench.cases.stackelberg.ev_fleet import asap_charging
        from gridbench.cases.stackelberg.network import injections

        c = self.config
        d = game_day(c, day)
        followers = {"ea": ea_follower(c, d), "la": la_follower(c, d),
                     "gsess": gsess_follower(c, d)}
        data, placement = injections(d, followers)
        loaded = _LoadedDay(data=d, followers=followers, net_data=data, placement=placement,
                            asap=asap_charging(d.fleet), stocks=self._reachable(d),
                            forecasts={})
        self._days[day] = loaded
        if len(self._days) > DAY_CACHE_DAYS:
            self._days.popitem(last=False)
        return loaded

    def load_day(self, day: datetime.date, rng: np.random.Generator) -> None:
        loaded = self._loaded(day)
        self._loaded_day = loaded
        self.followers = dict(loaded.followers)
        # the followers' column layout: the same for every day of a config, built once
        names = tuple((f, qp.variables) for f, qp in self.followers.items())
        if names not in self._layouts:
            self._layouts[names] = _day_layout(dict(names), self.n_mgt)
        self._col, self._hour_columns = self._layouts[names]
        self.x = {f: np.zeros(qp.n) for f, qp in self.followers.items()}
        self._responders: dict[str, BestResponder] = {}
        n_bus = self.feeder.n_bus
        # hour t's rows of each follower's placement, dense (the hot path of a step)
        dense = {f: m.toarray() for f, m in loaded.placement.items()}
        self._placement = [
            {f: m[t * n_bus:(t + 1) * n_bus] for f, m in dense.items()} for t in range(T)
        ]
        self.energy = list(loaded.stocks.start)  # E, X, e, S after the previous hour
        # the posted prices; under hourly commitment filled hour by hour (0 before)
        self.prices: FloatArray | None = np.zeros(N_PRICES) if self.hourly else None
        self._price_info: dict[str, Any] = {}
        self._at_bound = 0  # posted prices at a bound of their box (hourly commitment)
        self._extras: dict[int, dict[str, Any]] = {}
        self._imports = np.zeros(T)  # the DSO's upstream import per hour, MW
        self._ev_mw = np.zeros(T)  # the EV fleet's executed grid power per hour, MW

    def executed(self, follower: str, block: str) -> FloatArray:
        """One block of ``follower``'s executed day vector in hour order (e.g. ``"X"``, the EV
        fleet's energy after each hour, or ``"pc"``; 0 for the hours not run yet); empty where
        the follower has no such block (CSESS's ``"X"``)."""
        col = self._col[follower]
        cols = [col[f"{block}[{t}]"] for t in range(T) if f"{block}[{t}]" in col]
        return self.x[follower][cols].copy()

    @property
    def _built_day(self) -> _LoadedDay:
        """The loaded day (:meth:`load_day`)."""
        if self._loaded_day is None:
            raise RuntimeError("no day loaded; call reset(day, rng) first")
        return self._loaded_day

    @property
    def day_data(self) -> GameDay:
        """The current day's :class:`~.players.GameDay`."""
        return self._built_day.data

    def _reachable(self, d: GameDay) -> _Stocks:
        """The four stocks' reachable sets (:func:`reachable_states`) and starting values."""
        c, g = self.config, self.config.gsess
        e_cap, p_bat, eta = g.n_battery * g.battery_mwh, g.n_battery * g.battery_mw, g.efficiency
        e_init = g.soc_initial * e_cap
        battery = reachable_states(np.full(T, g.soc_min * e_cap), np.full(T, g.soc_max * e_cap),
                                   e_init, np.full(T, -p_bat / eta), np.full(T, eta * p_bat))
        fl = g.flexible_load
        f_max = fl.f_max_ratio * d.flexible_load
        e_f = fl.energy_hours * float(d.flexible_load.mean())
        window = (np.arange(T) >= c.la.shift_start_h) & (np.arange(T) < c.la.shift_end_h)
        s_max = np.where(window, c.la.shift_share * d.ci_load, 0.0)
        shift = reachable_states(np.full(T, -np.inf), np.full(T, np.inf), 0.0, -s_max, s_max)
        vb = d.ev
        if c.storage is StorageKind.CSESS:
            zero = (np.zeros(T), np.zeros(T))
            return _Stocks(battery, zero, zero, shift, (e_init, 0.0, 0.0, 0.0))
        flow = vb.arrival_energy - vb.departure_energy
        ev = reachable_states(vb.energy_min, vb.energy_max, vb.midnight_mwh, flow,
                              flow + vb.efficiency * vb.charge_max)
        flexible = reachable_states(np.full(T, -e_f), np.full(T, e_f), 0.0, -f_max, f_max)
        return _Stocks(battery, ev, flexible, shift, (e_init, vb.midnight_mwh, 0.0, 0.0))

    # ------------------------------------------------------------------ per step
    def step_bounds(self) -> tuple[ArrayLike, ArrayLike]:
        """Day-ahead: the price box. Hour ``t``: the day's device limits narrowed so that each
        stock lands in its reachable set (module docstring)."""
        if self.layer is Layer.DAY_AHEAD:
            return self._static[Layer.DAY_AHEAD]
        lo, hi = (a.copy() for a in self._static[Layer.INTRADAY])
        t, d, c = self.step_index, self.day_data, self.config
        if self.hourly:
            lo[:self.n_prices], hi[:self.n_prices] = self._hour_price_box(t)
        g = c.gsess
        s_ = self.slices
        la0 = s_["la"].start
        lo[la0], hi[la0] = 0.0, c.la.curtail_share * d.ci_load[t]
        e, x, ef, shifted = self.energy
        # LA shift: S_t = S + s ∈ R_t, |s| ≤ S̄_t
        r_lo, r_hi = self._built_day.stocks.shift
        s_max = self._shift_max(t)
        lo[la0 + 1], hi[la0 + 1] = _into(r_lo[t] - shifted, r_hi[t] - shifted, -s_max, s_max)
        g0 = s_["gsess"].start
        # battery: E' = E − p/η (p ≥ 0), E − η p (p < 0); decreasing in p
        p_bat, eta = g.n_battery * g.battery_mw, g.efficiency
        b_lo, b_hi = self._built_day.stocks.battery
        lo[g0], hi[g0] = _into(_battery_power(e, b_hi[t], eta), _battery_power(e, b_lo[t], eta),
                               -p_bat, p_bat)
        if c.storage is StorageKind.CSESS:
            lo[g0 + 1] = hi[g0 + 1] = self._built_day.asap[t]  # CSESS's fixed EV profile
            lo[g0 + 2] = hi[g0 + 2] = 0.0
        else:
            vb = d.ev
            v_lo, v_hi = self._built_day.stocks.ev
            base = x + vb.arrival_energy[t] - vb.departure_energy[t]
            lo[g0 + 1], hi[g0 + 1] = _into((v_lo[t] - base) / vb.efficiency,
                                           (v_hi[t] - base) / vb.efficiency, 0.0,
                                           float(vb.charge_max[t]))
            fl = g.flexible_load
            f_max = fl.f_max_ratio * float(d.flexible_load[t])
            f_lo, f_hi = self._built_day.stocks.flexible
            lo[g0 + 2], hi[g0 + 2] = _into(f_lo[t] - ef, f_hi[t] - ef, -f_max, f_max)
        return lo, hi

    def _hour_price_box(self, t: int) -> tuple[FloatArray, FloatArray]:
        """Hour ``t``'s 4 price bounds under hourly commitment: the day box's, the capped
        prices' upper bound lowered to what the caps leave (module docstring)."""
        lo, hi = self._price_lo[:, t].copy(), self._price_hi[:, t].copy()
        posted = np.asarray(self.prices).reshape(len(PRICES), T)
        for name in ("la", "gsess_buy"):
            k = PRICES.index(name)
            left = (T * self._price_cap - float(posted[k, :t].sum())
                    - float(self._price_lo[k, t + 1:].sum()))
            hi[k] = max(min(hi[k], left), lo[k])  # ≥ lo: the earlier hours kept their bounds
        return lo, hi

    def _shift_max(self, t: int) -> float:
        c = self.config
        if not c.la.shift_start_h <= t < c.la.shift_end_h:
            return 0.0
        return c.la.shift_share * float(self.day_data.ci_load[t])

    def project_coupled(self, setpoints: FloatArray) -> FloatArray:
        """Day-ahead: :func:`~.players.admissible_prices` on the posted prices (reported in
        the step's ``info``). Hours: nothing couples the followers' entries; under hourly
        commitment the hour's selling price is lowered to its buying price (the box and the
        caps are the step's bounds), reported the same way."""
        if self.hourly:
            return self._project_hour_prices(setpoints)
        if self.layer is not Layer.DAY_AHEAD:
            return setpoints
        out = admissible_prices(self.config, self.day_data, setpoints[:N_PRICES])
        setpoints = setpoints.copy()
        setpoints[:N_PRICES] = out.prices
        self._price_info = {
            "n_nonfinite": out.n_nonfinite, "n_clipped": out.n_clipped,
            "n_sell_capped": out.n_sell_capped, "distance": out.distance,
            "n_at_bound": out.n_at_bound, "n_level_averaged": out.n_level_averaged,
        }
        return setpoints

    def _project_hour_prices(self, setpoints: FloatArray) -> FloatArray:
        """Hourly commitment: ``λGS ≤ λGB`` on the hour's (boxed) prices, the count of prices
        at a bound of the day box (spec §7) and what changed, in ``_price_info``."""
        t, out = self.step_index, setpoints.copy()
        sell, buy = PRICES.index("gsess_sell"), PRICES.index("gsess_buy")
        lowered = bool(out[sell] > out[buy])
        out[sell] = min(out[sell], out[buy])
        p = out[:self.n_prices]
        at_bound = int(np.count_nonzero((p <= self._price_lo[:, t] + AT_BOUND_TOL)
                                        | (p >= self._price_hi[:, t] - AT_BOUND_TOL)))
        self._at_bound += at_bound
        self._price_info = {"n_sell_capped": int(lowered), "n_at_bound": at_bound,
                            "distance": float(abs(setpoints[sell] - out[sell]))}
        return out

    def _series(self, issue_step: int, lead_h: float) -> FloatArray:
        """The observation's day series as forecast at ``issue_step`` (``lead_h`` before it),
        computed once per day and issue (kept with the day, :data:`DAY_CACHE_DAYS`: the draws
        are a function of the day, the config and the issue, so a revisited day reads the same
        numbers)."""
        key = (issue_step, lead_h)
        forecasts = self._built_day.forecasts
        if key not in forecasts:
            c = self.config
            d = game_day(c, self.day_data.day, info="forecast", seed=c.forecast_seed,
                         issue_step=issue_step, lead_offset_h=lead_h)
            series = [d.la_demand, d.ci_load, d.flexible_load, d.pv_mw + d.wind_mw,
                      d.ev.charge_max, d.ev.energy_min]  # fmt: skip
            forecasts[key] = np.concatenate(series)
        return forecasts[key]

    def observe(self) -> FloatArray:
        """Module docstring: in the day-ahead step the forecast posted ``day_ahead_lead_h``
        before midnight, in hour ``t`` the one issued at its start (earlier hours realized)."""
        if self.layer is Layer.DAY_AHEAD:
            t, series = 0, self._series(0, self.config.day_ahead_lead_h)
        else:
            t = self.step_index
            series = self._series(t, 0.0)
        prices = np.zeros(N_PRICES) if self.prices is None else self.prices
        posted = _behind(prices, t) if self.hourly else _ahead(prices, t)
        obs = np.concatenate([[t / T], _ahead(series, t), posted, self.energy])
        return np.clip(obs, self._obs_low, self._obs_high)

    def state_of_charge(self) -> FloatArray:
        """The batteries' SOC (aggregate energy / capacity)."""
        g = self.config.gsess
        return np.array([self.energy[0] / (g.n_battery * g.battery_mwh)])

    def simulate(self, setpoints: FloatArray) -> StepOutcome:
        """The day-ahead step posts the prices; an hour runs the followers' decisions through
        the stocks, the power flow and the money (module docstring); under hourly commitment
        an hour posts its 4 prices first."""
        if self.hourly:
            prices = np.asarray(self.prices).reshape(len(PRICES), T)
            prices[:, self.step_index] = setpoints[:self.n_prices]
            return self._hour(setpoints)
        if self.layer is Layer.DAY_AHEAD:
            self.prices = setpoints[:N_PRICES].copy()
            self.prices.setflags(write=False)
            zero = dict.fromkeys(("dso", *FOLLOWERS), 0.0)
            kpi = StepKPI(soc=self.state_of_charge())
            return StepOutcome(kpi=kpi, reward=0.0, reward_terms={}, agent_rewards=zero)
        return self._hour(setpoints)

    def _hour(self, setpoints: FloatArray) -> StepOutcome:
        t, c, d = self.step_index, self.config, self.day_data
        lam = self.prices if self.prices is not None else self.idle_action()[:N_PRICES]
        s_ = self.slices
        g_mgt = setpoints[s_["ea"]]
        curtail, shift = setpoints[s_["la"]]
        battery, ev, flexible = setpoints[s_["gsess"]]
        eta = c.gsess.efficiency
        pc, pd = max(-battery, 0.0), max(battery, 0.0)
        e, x, ef, shifted = self.energy
        e_new = e + eta * pc - pd / eta
        vb = d.ev
        x_new = x + vb.arrival_energy[t] - vb.departure_energy[t] + vb.efficiency * ev
        if c.storage is StorageKind.CSESS:
            x_new = 0.0
        ef_new, shifted_new = ef + flexible, shifted + shift
        self.energy = [e_new, x_new, ef_new, shifted_new]
        # the followers' day vectors: this hour's columns (_columns_of_hour's names, in order)
        values = {"ea": g_mgt, "la": (curtail, shift),
                  "gsess": (pc, pd, e_new, ev, flexible, x_new, ef_new)}
        hour_columns = self._hour_columns[t]
        for f, vals in values.items():
            at = hour_columns[f]
            self.x[f][at.columns] = np.asarray(vals, dtype=float)[at.values]
        # network: the buses' net load of hour t, one AC power flow
        net_p = self._built_day.net_data[t].copy()
        for f, m in self._placement[t].items():
            net_p += m @ self.x[f]
        flow = self._pf.solve(np.ascontiguousarray(net_p), np.ascontiguousarray(d.load_q_mvar[t]))
        vm = np.abs(flow.v)
        net = c.network
        v_viol = float(np.maximum(net.v_min_pu - vm, 0.0).sum()
                       + np.maximum(vm - net.v_max_pu, 0.0).sum())
        overload = float(np.maximum(flow.branch_s_from_mva - self._ratings, 0.0).sum())
        p_up = float(flow.p_slack_mw)
        # money
        own, pay = {}, {}
        for f, qp in self.followers.items():
            at = hour_columns[f]
            own[f], pay[f] = qp.cost_in_period(self.x[f], lam, at.hour_columns, at.price_rows)
        purchase = float(d.upstream[t]) * p_up
        receipts = sum(pay.values())
        profit = {"dso": receipts - purchase, **{f: -(own[f] + pay[f]) for f in FOLLOWERS}}
        cost = {"energy_purchase": purchase, "ea_payment": -pay["ea"],
                "la_revenue": -pay["la"], "gsess_revenue": -pay["gsess"]}
        penalties = {"voltage_penalty": c.reward.voltage_penalty_usd_per_pu_h * v_viol,
                     "line_penalty": c.reward.line_penalty_usd_per_mva_h * overload}
        scale = c.reward.scale_usd
        rewards = {n: p / scale for n, p in profit.items()}
        rewards["dso"] -= sum(penalties.values()) / scale
        terms = {"dso_profit": profit["dso"] / scale,
                 **{k: -v / scale for k, v in penalties.items()}}
        self._extras[t] = {
            "agent_profit": profit,
            "prices_hour": {p: float(lam[k * T + t]) for k, p in enumerate(PRICES)},
            "losses_mw": float(np.sum(flow.loss_p_mw)),
            "pf_converged": bool(np.all(flow.converged)),
        }
        self._imports[t] = p_up
        self._ev_mw[t] = float(ev)
        if t == T - 1:  # the day's schedules are complete: each follower's regret
            self._extras[t]["agent_regret"] = self.follower_regrets(lam)
            self._extras[t]["day_kpis"] = {**self.day_kpis(),
                                           "best_response_cost": self.best_response_cost(lam)}
        kpi = StepKPI(
            cost=cost, soc=self.state_of_charge(), tie_line_mw=p_up,
            v_min_pu=float(vm[1:].min()), v_max_pu=float(vm.max()),
            voltage_violation_pu=v_viol, line_overload=overload,
        )  # fmt: skip
        return StepOutcome(kpi=kpi, reward=rewards["dso"], reward_terms=terms,
                           penalty_usd=float(sum(penalties.values())),
                           agent_rewards=rewards)

    def day_kpis(self) -> dict[str, float]:
        """The game's day KPIs of spec §7 the step KPIs do not hold (after the last hour):
        ``prices_at_bound_share`` (posted prices at a bound of their box, of 96),
        ``import_peak_valley_mw`` (max − min of the hourly upstream import),
        ``import_par`` (its peak over its mean; NaN where the mean is ≤ 0) and
        ``ev_unmet_mwh`` (the executed EV power shared out to the day's vehicles
        least-laxity-first: the energy they miss at departure,
        :func:`~.ev_fleet.llf_unmet_energy`)."""
        from gridbench.cases.stackelberg.ev_fleet import llf_unmet_energy

        imports = self._imports
        mean = float(imports.mean())
        return {
            "prices_at_bound_share": float(self._at_bound if self.hourly else
                                           self._price_info.get("n_at_bound", 0)) / N_PRICES,
            "import_peak_valley_mw": float(imports.max() - imports.min()),
            "import_par": float(imports.max()) / mean if mean > 0 else float("nan"),
            "ev_unmet_mwh": llf_unmet_energy(self.day_data.fleet, self._ev_mw),
        }

    def best_response_cost(self, prices: FloatArray) -> float:
        """The DSO's cost of the day (−its profit, penalties apart, as the row's ``cost``) had
        every follower played its exact best response to ``prices``: the responses' payments
        (``λ'(B x + d)``) against the upstream purchase of the AC power flow of each hour
        with their injections, the equations of :meth:`_hour`. Equal to the day's cost where
        the followers best-respond; where they do not (MADDPG's learned followers), the
        bound check compares this with the bilevel optimum instead of the realized cost,
        which the followers' regret can lower below it (``day_kpis``' ``best_response_cost``,
        the rows' ``kpi_best_response_cost``)."""
        d, built = self.day_data, self._built_day
        xs = {f: self.best_responder(f)(prices).x for f in self.followers}
        receipts = sum(qp.payment(xs[f], prices) for f, qp in self.followers.items())
        purchase = 0.0
        for t in range(T):
            net_p = built.net_data[t].copy()
            for f, m in self._placement[t].items():
                net_p += m @ xs[f]
            flow = self._pf.solve(net_p, np.ascontiguousarray(d.load_q_mvar[t]))
            purchase += float(d.upstream[t]) * float(flow.p_slack_mw)
        return purchase - receipts

    def best_responder(self, follower: str) -> BestResponder:
        """The day's exact best responder of ``follower`` (:class:`~.follower.BestResponder`,
        built on first use and kept until the next day): the end-of-day regrets and a caller
        answering the posted prices for the followers (the leader view) share its QP."""
        if follower not in self._responders:
            self._responders[follower] = BestResponder(self.followers[follower])
        return self._responders[follower]

    def follower_regrets(self, prices: FloatArray) -> dict[str, float]:
        """Each follower's regret over the day (spec §7, ε_f): what its executed schedule
        cost it at ``prices`` minus its exact best response's cost (≥ 0 up to the QP
        solver's tolerance; 0 for a follower that best-responds)."""
        return {f: float(self.best_responder(f).regret(self.x[f], prices))
                for f in self.followers}

    def step_info(self, record: CoreStep) -> dict[str, Any]:
        """The referee's ``info`` plus ``prices`` and ``price_projection`` (day-ahead step),
        ``agent_profit``, ``prices_hour``, ``losses_mw``, ``pf_converged`` (hours) and, after
        the last hour, ``agent_regret`` (:meth:`follower_regrets`) and ``day_kpis``
        (:meth:`day_kpis`). Under hourly commitment every hour also carries its
        ``price_projection`` and ``prices`` (those posted so far, 0 for the later hours)."""
        info = super().step_info(record)
        if self.hourly:
            info.update(self._extras.get(record.step, {}))
            info["prices"] = np.array(self.prices)
            info["price_projection"] = dict(self._price_info)
        elif record.layer is Layer.DAY_AHEAD:
            info["prices"] = None if self.prices is None else self.prices.copy()
            info["price_projection"] = dict(self._price_info)
        else:
            info.update(self._extras.get(record.step, {}))
        return info


def line_ratings_mva(cfg: StackelbergConfig, feeder: Any) -> FloatArray:
    """The ratings (MVA) the referee charges overloads against: the feeder rule's
    (:func:`~gridbench.cases.params.feeder_line_ratings_mva`) with the DER taps sized by
    :func:`tap_line_ratings`."""
    from gridbench.cases.params import feeder_line_ratings_mva

    net = cfg.network
    return tap_line_ratings(cfg, feeder, feeder_line_ratings_mva(
        "feeder38", net.line_rating_factor, net.line_rating_min_mva))


def tap_line_ratings(cfg: StackelbergConfig, feeder: Any, ratings: FloatArray) -> FloatArray:
    """Line ratings (MVA) with the taps to the DER buses 34–38 sized for what they connect,
    ``line_rating_factor ×`` its installed power (PV + turbine at 34, wind + turbine at 35, one
    battery each at 36 and 37, every charger at 38), at least the feeder rule's value (the
    rule sizes a branch by its base-case flow, which is 0 on a DER tap)."""
    from gridbench.cases.stackelberg.network import DER_BUS

    g, ea = cfg.gsess, cfg.ea
    mgt = [*ea.mgt_max_mw, 0.0, 0.0]
    installed = {
        DER_BUS["pv"]: ea.pv_mwp + mgt[0],
        DER_BUS["wind"]: ea.wind_mw + mgt[1],
        DER_BUS["battery1"]: g.battery_mw,
        DER_BUS["battery2"]: g.battery_mw,
        DER_BUS["ev"]: g.ev.n_ev * g.ev.charger_kw[1] / 1000.0,
    }
    out = np.array(ratings, dtype=float)
    to_bus = np.asarray(feeder.to_bus)
    for bus, mw in installed.items():
        k = int(np.flatnonzero(to_bus == bus - 1)[0])
        out[k] = max(out[k], cfg.network.line_rating_factor * mw)
    return out


def _ahead(blocks: FloatArray, t: int) -> FloatArray:
    """Each 24-hour block of ``blocks`` from hour ``t`` on, zero-padded: entry ``k`` of a
    block is hour ``t + k`` (the hour about to be played first)."""
    rows = blocks.reshape(-1, T)
    out = np.zeros_like(rows)
    out[:, : T - t] = rows[:, t:]
    return out.reshape(-1)


def _behind(blocks: FloatArray, t: int) -> FloatArray:
    """Each 24-hour block of ``blocks`` before hour ``t``, latest first, zero-padded: entry
    ``k`` of a block is hour ``t − 1 − k``."""
    rows = blocks.reshape(-1, T)
    out = np.zeros_like(rows)
    out[:, :t] = rows[:, :t][:, ::-1]
    return out.reshape(-1)


def _into(lo: float, hi: float, box_lo: float, box_hi: float) -> tuple[float, float]:
    """``[lo, hi] ∩ [box_lo, box_hi]``; where round-off leaves them apart, the point of the box
    nearest ``[lo, hi]``."""
    a, b = max(lo, box_lo), min(hi, box_hi)
    if a > b:
        a = b = box_hi if lo > box_hi else box_lo if hi < box_lo else min(max(lo, box_lo), box_hi)
    return float(a), float(b)


def _battery_power(energy: float, target: float, eta: float) -> float:
    """The net battery power (> 0 discharges) that takes the energy from ``energy`` to
    ``target`` in one hour: ``η (E − E')`` discharging, ``(E − E')/η`` charging."""
    delta = energy - target
    return eta * delta if delta >= 0 else delta / eta
