"""The players of one day as problems (spec §1, §3): the day's data (:func:`game_day`), the
three followers as :class:`~.follower.FollowerQP` in the DSO's 96 prices, their dual bounds
(spec §3's per-family table) and the DSO's bilevel problem (:func:`leader_problem`).

The DSO posts four hourly price vectors, in this order in the price vector (:data:`PRICES`):
``ea`` (it pays the EA for energy), ``la`` (the LA pays it), ``gsess_buy`` (the storage player
pays it), ``gsess_sell`` (it pays the storage player for discharged energy). Its profit::

    Π_DSO = Σ_t λLA_t·PLA_t + λGB_t·PGB_t − λGS_t·pd_t − λEA_t·PEA_t − π^up_t·Pup_t

with ``PLA = DLA − c + s``, ``PGB = pc + pev + DFL + f``, ``PEA = PV + W + Σ_k g_k`` and
``Pup`` the upstream import: the balance ``PLA + PGB − pd − PEA`` plus the branch losses of
the network rows (:mod:`.network`: LinDistFlow, the voltage band, loss tangents), which enter
as :class:`~.bilevel.LeaderRows` with the losses as the leader's own variables.

Under ``price_parametrization: tou3`` (spec §2) the DSO's free prices are one level per price
vector and tariff window (12): :func:`price_levels` says which level each of the 96 prices
posts; the projection makes any 96 prices window-constant first and the bilevel problem
holds the prices of a window equal, so its optimum is that parametrization's.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from typing import Final

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from gridbench.cases.stackelberg.bilevel import BilevelProblem, DualBounds, box_dual_bounds
from gridbench.cases.stackelberg.config import (
    CI_BUSES,
    RESIDENTIAL_BUSES,
    TOU3_WINDOWS,
    EvFleetParams,
    PriceParametrization,
    StackelbergConfig,
    StorageKind,
)
from gridbench.cases.stackelberg.ev_fleet import (
    EvFleet,
    VirtualBattery,
    asap_charging,
    sample_fleet,
    virtual_battery,
)
from gridbench.cases.stackelberg.follower import FollowerQP
from gridbench.cases.stackelberg.network import network_rows
from gridbench.cases.stackelberg.prices import PriceProjection, first_of_levels, project_prices

__all__ = [
    "PRICES",
    "GameDay",
    "admissible_prices",
    "dual_bounds",
    "ea_follower",
    "expand_levels",
    "game_day",
    "gsess_follower",
    "la_follower",
    "leader_problem",
    "level_means",
    "level_names",
    "price_box",
    "price_levels",
    "price_slice",
    "tariff_prices",
]

FloatArray = NDArray[np.float64]
T: Final[int] = 24
#: The DSO's price vectors, in their order in the 96 prices.
PRICES: Final[tuple[str, ...]] = ("ea", "la", "gsess_buy", "gsess_sell")
#: Safety factor on the analytic dual bounds (spec §3: "per family, ×2 safety").
DUAL_SAFETY: Final[float] = 2.0


def price_slice(name: str) -> slice:
    """Where price vector ``name`` sits in the 96 prices."""
    if name not in PRICES:
        raise ValueError(f"unknown price vector {name!r}; valid: {', '.join(PRICES)}")
    k = PRICES.index(name)
    return slice(k * T, (k + 1) * T)


@dataclass(frozen=True)
class GameDay:
    """Hourly data of one day (MW, $/MWh, each ``(24,)`` unless said): the retail tariff
    ``tou``, the upstream price, bus loads ``(24, 38)``, PV and wind output, the LA's demand
    (all load but the storage player's flexible share), its C&I load, the flexible load, and
    the EV fleet with its virtual battery. ``info`` says whether the loads, PV and wind are
    the realized day or a forecast issued at hour ``issue_step`` (the tariff and the EV fleet,
    the charging station's bookings, are known)."""

    day: datetime.date
    tou: FloatArray
    upstream: FloatArray
    load_p_mw: FloatArray
    load_q_mvar: FloatArray
    pv_mw: FloatArray
    wind_mw: FloatArray
    la_demand: FloatArray
    ci_load: FloatArray
    flexible_load: FloatArray
    fleet: EvFleet
    ev: VirtualBattery
    info: str = "actual"
    issue_step: int = 0

    @property
    def n_steps(self) -> int:
        return T

    @property
    def step_hours(self) -> float:
        return 1.0

    @property
    def price_usd_per_mwh(self) -> FloatArray:
        """The upstream price ``π^up`` (what the DSO pays for energy)."""
        return self.upstream


def game_day(
    cfg: StackelbergConfig,
    day: datetime.date,
    *,
    info: str = "actual",
    seed: int = 0,
    issue_step: int = 0,
    lead_offset_h: float = 0.0,
) -> GameDay:
    """The data of ``day`` (SimBench 2016 hourly profiles, the day's EV fleet).

    ``info="forecast"``: bus loads, PV and wind as forecast at the start of hour
    ``issue_step``, ``lead_offset_h`` hours before it (the suite's error model,
    :func:`gridbench.cases.data.forecast`; 12 h for the DSO's day-ahead prices posted at noon
    the day before); the LA's demand, C&I and flexible loads follow from the forecast loads."""
    from gridbench.cases.data import bus_loads, forecast, pv_per_unit, wind_per_unit
    from gridbench.cases.grid import load_grid

    if info not in ("actual", "forecast"):
        raise ValueError(f"info must be 'actual' or 'forecast', got {info!r}")
    if isinstance(issue_step, bool) or not isinstance(issue_step, int) or not 0 <= issue_step < T:
        raise ValueError(f"issue_step must be an hour 0..{T - 1}, got {issue_step!r}")
    grid = load_grid("feeder38")
    p, q = bus_loads(grid, day, "1h")
    pv = pv_per_unit(day, "1h", cfg.ea.pv_profile)
    wind = wind_per_unit(day, "1h", cfg.ea.wind_profile)
    if info == "forecast":
        kw = {"issue_step": issue_step, "step_hours": 1.0, "lead_offset_h": lead_offset_h,
              "error_scale": cfg.forecast_error_scale}
        ratio = forecast(p, "load", day, seed, **kw) / np.where(p > 0, p, 1.0)
        p, q = p * ratio, q * ratio  # the same relative error on P and Q of a bus
        pv = forecast(pv, "pv", day, seed, **kw)
        wind = forecast(wind, "wind", day, seed, **kw)
    tou = _tariff(cfg)
    residential = p[:, [b - 1 for b in RESIDENTIAL_BUSES]].sum(axis=1)
    ci = p[:, [b - 1 for b in CI_BUSES]].sum(axis=1)
    flexible = cfg.gsess.flexible_load.share * residential
    fleet, ev = _fleet(cfg.gsess.ev, day)
    return GameDay(
        day=day,
        tou=tou,
        upstream=cfg.prices.upstream_ratio * tou,
        load_p_mw=p,
        load_q_mvar=q,
        pv_mw=cfg.ea.pv_mwp * pv,
        wind_mw=cfg.ea.wind_mw * wind,
        la_demand=p.sum(axis=1) - flexible,
        ci_load=ci,
        flexible_load=flexible,
        fleet=fleet,
        ev=ev,
        info=info,
        issue_step=issue_step,
    )


@functools.lru_cache(maxsize=64)
def _fleet(params: EvFleetParams, day: datetime.date) -> tuple[EvFleet, VirtualBattery]:
    """The day's fleet and its virtual battery (the same for every information set; cached:
    the referee's observations ask for them at every hour)."""
    fleet = sample_fleet(params, day)
    return fleet, virtual_battery(fleet, params.soc_floor)


def _price_map(rows: list[tuple[str, int, int, float]], n: int) -> sp.csr_matrix:
    """``B`` from ``(price vector, hour, column, coefficient)`` entries."""
    r = [price_slice(name).start + t for name, t, _, _ in rows]
    c = [col for _, _, col, _ in rows]
    v = [val for *_, val in rows]
    return sp.csr_matrix((v, (r, c)), shape=(len(PRICES) * T, n))


def _data_at(name: str, values: FloatArray) -> FloatArray:
    out = np.zeros(len(PRICES) * T)
    out[price_slice(name)] = values
    return out


# ---------------------------------------------------------------------------- followers
def ea_follower(cfg: StackelbergConfig, d: GameDay) -> FollowerQP:
    """EA: turbines ``g_kt ∈ [0, Ḡ_k]`` at ``a_k g² + b_k g``; sells ``Σ g + PV + W`` at λEA
    (a sale: ``B`` = −1, renewables are priced data)."""
    ea = cfg.ea
    k = len(ea.mgt_max_mw)
    n = k * T
    cols = [(i, t) for i in range(k) for t in range(T)]
    return FollowerQP(
        name="ea",
        n_prices=len(PRICES) * T,
        q=np.array([2.0 * ea.mgt_a[i] for i, _ in cols]),
        c=np.array([ea.mgt_b[i] for i, _ in cols]),
        price_map=_price_map([("ea", t, j, -1.0) for j, (_, t) in enumerate(cols)], n),
        priced_data=_data_at("ea", -(d.pv_mw + d.wind_mw)),
        lb=np.zeros(n),
        ub=np.array([ea.mgt_max_mw[i] for i, _ in cols]),
        variables=tuple(f"g{i + 1}[{t}]" for i, t in cols),
    )


def la_follower(cfg: StackelbergConfig, d: GameDay) -> FollowerQP:
    """LA: curtails ``c_t ∈ [0, C̄_t]`` at ``κ c + ½ q_c c²``, shifts ``s_t`` within ``±S̄_t``
    inside the window (0 outside, ``Σ s = 0``) at ``½ q_s s²``; pays λLA (DLA − c + s)."""
    la = cfg.la
    window = (np.arange(T) >= la.shift_start_h) & (np.arange(T) < la.shift_end_h)
    s_max = np.where(window, la.shift_share * d.ci_load, 0.0)
    rows = [("la", t, t, -1.0) for t in range(T)] + [("la", t, T + t, 1.0) for t in range(T)]
    return FollowerQP(
        name="la",
        n_prices=len(PRICES) * T,
        q=np.concatenate([np.full(T, la.curtail_q), np.full(T, la.shift_q)]),
        c=np.concatenate([np.full(T, la.curtail_cost), np.zeros(T)]),
        price_map=_price_map(rows, 2 * T),
        priced_data=_data_at("la", d.la_demand),
        lb=np.concatenate([np.zeros(T), -s_max]),
        ub=np.concatenate([la.curtail_share * d.ci_load, s_max]),
        a_eq=np.concatenate([np.zeros(T), np.ones(T)])[None, :],
        b_eq=[0.0],
        variables=tuple(f"c[{t}]" for t in range(T)) + tuple(f"s[{t}]" for t in range(T)),
    )


def _chain(n: int, start: int, coeff: dict[int, float], wrap: bool) -> sp.csr_matrix:
    """Rows ``x_t − x_{t−1} + Σ coeff·u_t`` for a state block at ``start`` (``x_{−1}`` is the
    last entry when ``wrap``, else a constant moved to the right-hand side)."""
    r, c, v = [], [], []
    for t in range(T):
        r.append(t)
        c.append(start + t)
        v.append(1.0)
        if t > 0 or wrap:
            r.append(t)
            c.append(start + (t - 1) % T)
            v.append(-1.0)
        for col, val in coeff.items():
            r.append(t)
            c.append(col + t)
            v.append(val)
    return sp.csr_matrix((v, (r, c)), shape=(T, n))


def gsess_follower(cfg: StackelbergConfig, d: GameDay) -> FollowerQP:
    """The storage player: battery ``pc, pd, E`` (``E_t = E_{t−1} + η pc_t − pd_t/η``, SOC
    window, ``E_23 = E_init``), EV charging ``pev`` with the fleet's virtual battery ``X``
    (:mod:`.ev_fleet`, from and back to its midnight energy ``X_0``), flexible load ``f``
    with its energy ``e`` (``e_t = e_{t−1} + f_t``, ``e_23 = 0``). Buys ``pc + pev + DFL +
    f`` at λGB, sells ``pd`` at λGS. CSESS: ``pev`` is the uncontrolled profile and ``f = 0``
    (fixed, presolved by the MILP; billed the same)."""
    g = cfg.gsess
    fl = g.flexible_load
    csess = cfg.storage is StorageKind.CSESS
    blocks = ["pc", "pd", "E", "pev", "f"] + ([] if csess else ["X", "e"])
    at = {name: k * T for k, name in enumerate(blocks)}
    n = len(blocks) * T
    p_max = g.n_battery * g.battery_mw
    e_cap = g.n_battery * g.battery_mwh
    e_init = g.soc_initial * e_cap
    f_max = fl.f_max_ratio * d.flexible_load
    e_f = fl.energy_hours * float(d.flexible_load.mean())
    q = np.zeros(n)
    c = np.zeros(n)
    lb = np.zeros(n)
    ub = np.zeros(n)

    def put(name: str, lo, hi, qv: float = 0.0, cv: float = 0.0) -> None:
        s = slice(at[name], at[name] + T)
        lb[s], ub[s], q[s], c[s] = lo, hi, qv, cv

    put("pc", 0.0, p_max, g.q, g.degradation_usd_per_mwh)
    put("pd", 0.0, p_max, g.q, g.degradation_usd_per_mwh)
    put("E", g.soc_min * e_cap, g.soc_max * e_cap)
    lb[at["E"] + T - 1] = ub[at["E"] + T - 1] = e_init  # back to its initial SOC by midnight
    if csess:
        asap = asap_charging(d.fleet)
        put("pev", asap, asap)
        put("f", 0.0, 0.0)
    else:
        put("pev", 0.0, d.ev.charge_max, g.ev.charge_q)
        put("f", -f_max, f_max, fl.q)
        put("X", d.ev.energy_min, d.ev.energy_max)
        # the night is handed on with the energy it started from (ev_fleet: X_0)
        lb[at["X"] + T - 1] = ub[at["X"] + T - 1] = d.ev.midnight_mwh
        put("e", -e_f, e_f)
        lb[at["e"] + T - 1] = ub[at["e"] + T - 1] = 0.0
    eta = g.efficiency
    eq = [_chain(n, at["E"], {at["pc"]: -eta, at["pd"]: 1.0 / eta}, wrap=False)]
    rhs = [np.r_[e_init, np.zeros(T - 1)]]
    if not csess:
        eq.append(_chain(n, at["X"], {at["pev"]: -d.ev.efficiency}, wrap=False))
        rhs.append(d.ev.arrival_energy - d.ev.departure_energy
                   + np.r_[d.ev.midnight_mwh, np.zeros(T - 1)])
        eq.append(_chain(n, at["e"], {at["f"]: -1.0}, wrap=False))
        rhs.append(np.zeros(T))
    prices = ([("gsess_buy", t, at[b] + t, 1.0) for b in ("pc", "pev", "f") for t in range(T)]
              + [("gsess_sell", t, at["pd"] + t, -1.0) for t in range(T)])
    return FollowerQP(
        name="gsess",
        n_prices=len(PRICES) * T,
        q=q, c=c,
        price_map=_price_map(prices, n),
        priced_data=_data_at("gsess_buy", d.flexible_load),
        lb=lb, ub=ub,
        a_eq=sp.vstack(eq, format="csr"), b_eq=np.concatenate(rhs),
        variables=tuple(f"{b}[{t}]" for b in blocks for t in range(T)),
    )


# ---------------------------------------------------------------------------- the leader
def price_box(cfg: StackelbergConfig, d: GameDay | None = None) -> tuple[FloatArray, FloatArray]:
    """``(lo, hi)`` of the 96 prices: ``λFIT ≤ λEA, λGS``, ``π^up ≤ λLA``,
    ``max(π^up, λFIT) ≤ λGB`` (``λGS ≤ λGB`` implies it), every price ``≤ λTOU``. The tariff
    and the upstream price are the same every day, so ``d`` may be left out."""
    tou = _tariff(cfg) if d is None else d.tou
    upstream = cfg.prices.upstream_ratio * tou if d is None else d.upstream
    fit = np.full(T, cfg.prices.feed_in_usd_per_mwh)
    lo = {"ea": fit, "la": upstream, "gsess_buy": np.maximum(upstream, fit),
          "gsess_sell": fit}
    return (np.concatenate([lo[p] for p in PRICES]), np.tile(tou, len(PRICES)))


#: Names of the tariff's windows under ``tou3``, its levels ascending.
TOU3_WINDOW_NAMES: Final[tuple[str, ...]] = ("valley", "flat", "peak")


def price_levels(cfg: StackelbergConfig) -> NDArray[np.intp]:
    """``(96,)``: the free price (level) each of the 96 prices posts. ``hourly``: each its own
    (``0 … 95``); ``tou3``: the hours of price vector ``k`` in the tariff's window ``w`` (its
    levels ascending: valley, flat, peak) post level ``3k + w``."""
    if cfg.price_parametrization is PriceParametrization.HOURLY:
        return np.arange(len(PRICES) * T)
    window = np.unique(_tariff(cfg), return_inverse=True)[1].reshape(-1)
    return np.concatenate([k * TOU3_WINDOWS + window for k in range(len(PRICES))])


def level_names(cfg: StackelbergConfig) -> tuple[str, ...]:
    """Names of the free prices of :func:`price_levels`: ``price_<p>[<hour>]``, or
    ``price_<p>[<window>]`` under ``tou3``."""
    if cfg.price_parametrization is PriceParametrization.HOURLY:
        return tuple(f"price_{p}[{t}]" for p in PRICES for t in range(T))
    return tuple(f"price_{p}[{w}]" for p in PRICES for w in TOU3_WINDOW_NAMES)


def expand_levels(cfg: StackelbergConfig, levels: ArrayLike) -> FloatArray:
    """The 96 prices that the free prices ``levels`` post (:func:`price_levels`); a
    ``ValueError`` for a vector of another length."""
    index = price_levels(cfg)
    v = np.asarray(levels, dtype=float).reshape(-1)
    if v.size != int(index.max()) + 1:
        raise ValueError(f"{v.size} prices given, the DSO posts {int(index.max()) + 1} "
                         f"({cfg.price_parametrization.value})")
    return v[index]


def level_means(cfg: StackelbergConfig, prices: ArrayLike) -> FloatArray:
    """Each free price's mean over the 96 prices that post it (:func:`price_levels`): the
    free prices of window-constant ``prices``, and the least-squares ones of any others."""
    index = price_levels(cfg)
    v = np.asarray(prices, dtype=float).reshape(-1)
    if v.size != index.size:
        raise ValueError(f"{v.size} prices given, expected {index.size}")
    return np.bincount(index, weights=v) / np.bincount(index)


def tariff_prices(cfg: StackelbergConfig, d: GameDay | None = None) -> FloatArray:
    """The regulated tariff as the 96 prices (the ``tou`` baseline before projection, and
    the fallback of a non-finite price): ``λTOU`` for what LA and the storage buy, ``λFIT``
    for what EA and the storage sell (the same every day; ``d`` may be left out)."""
    tou = _tariff(cfg) if d is None else d.tou
    fit = np.full(T, cfg.prices.feed_in_usd_per_mwh)
    return np.concatenate([fit, tou, tou, fit])


def _tariff(cfg: StackelbergConfig) -> FloatArray:
    """λTOU per hour of ``cfg``'s tariff."""
    from gridbench.cases.data import tou_tariff

    return tou_tariff(cfg.prices.tariff).price(1.0)


def admissible_prices(cfg: StackelbergConfig, d: GameDay, raw: ArrayLike) -> PriceProjection:
    """``raw`` made admissible by :func:`~.prices.project_prices` with the day's box, the
    average caps on ``λLA`` and ``λGB`` and ``λGS ≤ λGB`` (under ``tou3`` each window's
    prices first take their mean: :func:`price_levels`)."""
    lo, hi = price_box(cfg, d)
    cap = cfg.prices.average_cap_ratio * float(d.tou.mean())
    tou3 = cfg.price_parametrization is PriceParametrization.TOU3
    return project_prices(
        raw, lo, hi, tariff_prices(cfg, d),
        caps={"la": (price_slice("la"), cap), "gsess_buy": (price_slice("gsess_buy"), cap)},
        sell=price_slice("gsess_sell"), buy=price_slice("gsess_buy"),
        levels=price_levels(cfg) if tou3 else None,
    )


def dual_bounds(cfg: StackelbergConfig, d: GameDay,
                followers: dict[str, FollowerQP]) -> dict[str, DualBounds]:
    """``MD`` per follower from stationarity and the price box (spec §3's table, ×2):
    EA turbines from the box rule (:func:`~.bilevel.box_dual_bounds`); LA curtailment
    ``Λ + κ + q_c C̄``, shift ``(Λ − λmin) + 2 q_s S̄``; battery power ``(Λ + c_B + q_B P̄)(1 +
    1/η)``, battery energy ``2(Λ + c_B + q_B P̄)/η``; EV power and energy the same with
    ``q_EV``, ``p̄`` and ``η_EV``; flexible load and its energy ``2(Λ + q_F F̄)``. ``Λ`` is the
    highest price the leader may post."""
    lo, hi = price_box(cfg, d)
    lam_max, lam_min = float(hi.max()), float(lo.min())
    out = {"ea": box_dual_bounds(followers["ea"], lo, hi, safety=DUAL_SAFETY)}
    la = followers["la"]
    c_max = float(la.ub[:T].max())
    s_max = float(la.ub[T:].max())
    la_b = np.concatenate([np.full(T, lam_max + cfg.la.curtail_cost + cfg.la.curtail_q * c_max),
                           np.full(T, (lam_max - lam_min) + 2 * cfg.la.shift_q * s_max)])
    out["la"] = DualBounds(np.zeros(0), DUAL_SAFETY * la_b, DUAL_SAFETY * la_b)
    g = cfg.gsess
    gs = followers["gsess"]
    p_max = g.n_battery * g.battery_mw
    base = lam_max + g.degradation_usd_per_mwh + g.q * p_max
    ev_base = lam_max + g.ev.charge_q * float(d.ev.charge_max.max())
    names = [v.split("[")[0] for v in gs.variables]
    f_max = float(gs.ub[[k for k, name in enumerate(names) if name == "f"]].max())
    f_base = 2 * (lam_max + g.flexible_load.q * f_max)
    per_block = {"pc": base * (1 + 1 / g.efficiency), "pd": base * (1 + 1 / g.efficiency),
                 "E": 2 * base / g.efficiency, "pev": ev_base * (1 + 1 / d.ev.efficiency),
                 "X": 2 * ev_base / d.ev.efficiency, "f": f_base, "e": f_base}
    b = DUAL_SAFETY * np.array([per_block[name] for name in names])
    out["gsess"] = DualBounds(np.zeros(0), b, b)
    return out


def leader_problem(cfg: StackelbergConfig, d: GameDay, *,
                   line_ratings: FloatArray | None = None) -> BilevelProblem:
    """The DSO's bilevel problem of the module docstring on the data ``d``: the price box and
    rules of :class:`~.config.PriceRules`, the payments, the upstream purchase ``π^up·Pup``
    through the followers' net-load coefficients, and (``cfg.network.losses``) the network
    rows of :mod:`.network` with the losses as the leader's own variables (with
    ``line_ratings``, MVA per branch, the flows bounded by them: the social optimum's model)."""
    followers = {"ea": ea_follower(cfg, d), "la": la_follower(cfg, d),
                 "gsess": gsess_follower(cfg, d)}
    lo, hi = price_box(cfg, d)
    cap = cfg.prices.average_cap_ratio * float(d.tou.mean())
    n_p = len(PRICES) * T
    rows, rhs = [], []
    for name in ("la", "gsess_buy"):  # day mean <= ρ mean(λTOU)
        row = np.zeros(n_p)
        row[price_slice(name)] = 1.0 / T
        rows.append(row)
        rhs.append(cap)
    sell, buy = price_slice("gsess_sell"), price_slice("gsess_buy")
    for t in range(T):  # λGS_t <= λGB_t
        row = np.zeros(n_p)
        row[sell.start + t], row[buy.start + t] = 1.0, -1.0
        rows.append(row)
        rhs.append(0.0)
    index = price_levels(cfg)  # tou3: λ_i = λ_j for the prices i, j of one level (two rows)
    first = first_of_levels(index)
    for i, level in enumerate(index):
        j = int(first[level])
        if i != j:
            for sign in (1.0, -1.0):
                row = np.zeros(n_p)
                row[i], row[j] = sign, -sign
                rows.append(row)
                rhs.append(0.0)
    up = d.upstream
    # −π^up·Pup: Pup rises with the LA's (−c + s) and the storage's (pc + pev + f − pd), falls
    # with the EA's turbines
    g_ea = np.tile(up, len(cfg.ea.mgt_max_mw))
    g_la = np.concatenate([up, -up])
    names = [v.split("[")[0] for v in followers["gsess"].variables]
    sign = {"pc": -1.0, "pev": -1.0, "f": -1.0, "pd": 1.0}
    g_gs = np.array([sign.get(name, 0.0) for name in names]) * np.tile(up, len(names) // T)
    constant = -float(up @ (d.la_demand + d.flexible_load - d.pv_mw - d.wind_mw))
    network = (network_rows(cfg, d, followers, line_ratings=line_ratings)
               if cfg.network.losses else None)
    return BilevelProblem(
        followers=tuple(followers.values()),
        dual_bounds=dual_bounds(cfg, d, followers),
        price_lo=lo, price_hi=hi,
        price_rows=sp.csr_matrix(np.array(rows)), price_rhs=np.array(rhs),
        own_lo=None if network is None else network.own_lo,
        own_hi=None if network is None else network.own_hi,
        leader_rows=None if network is None else network.rows,
        objective_own=None if network is None else network.objective_own,
        objective_followers={"ea": g_ea, "la": g_la, "gsess": g_gs},
        objective_constant=constant,
    )
