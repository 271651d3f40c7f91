"""The referee physics of the SES-carbon case: :class:`SesCarbonCore`.

One day = 24 hourly steps (``Timeline.single(24, 1.0)``). Each step:

1. **Action** (eq (16)): ``[P_1^G, P_2^G, P_3^G, p_1, …, p_5]`` in MW — the three micro gas
   turbines (box ``[p_min, p_max]``, eq (10)) then the five shared storages (box
   ``[−p_max, p_max]``, eqs (8)–(9); ``p > 0`` discharges into the grid). The referee
   projects it onto the box and onto the storages' *hard* energy limits 0 ≤ E ≤ E_max
   (eq (12)): the bounds of :func:`~gridbench.cases.projection.storage_power_bounds` with
   ``soc_min=0``, ``soc_max=1`` (inlined in :meth:`SesCarbonCore.step_bounds`). The SOC window
   0.2–0.8 is *soft*: penalized in the reward and reported as ``soc_violation``; the box that
   keeps the storages inside it is :meth:`SesCarbonCore.penalty_free_step_bounds`, reported as
   ``info["next_penalty_free_low"/"_high"]``.
2. **Network**: net bus demand = load − available PV − turbines − storage setpoints (PV,
   turbines and storages at unity power factor), one AC power flow
   (:class:`~gridbench.cases.grid.RadialPowerFlow`, substation at ``v_slack_pu``); the tie
   line ``P^UPG`` is the slack power (eq (2) with losses).
3. **Storage**: eq (11) (:func:`~.accounting.storage_energy_update`).
4. **Accounting** (:mod:`.accounting`), the DSO's cost of the step, ``info["cost"]``:

   * ``energy_purchase`` = ``λ_t·P^UPG·Δt`` (exports sold at the same tariff);
   * ``gas_turbine_fuel`` = ``Σ_g (a·P² + b·P + c)·Δt``;
   * ``storage_degradation`` = ``λ^BESS·Σ_k |p_k|·Δt``;
   * ``carbon_settlement`` = ``C_ce(ΔQ_t) − C_ce(ΔQ_{t−1})`` with ``ΔQ_t`` the running
     (emissions − allowance): the steps sum to eq (14) of the day's total;
   * ``storage_terminal_energy`` = ``π_T·Σ_k (E_k(0) − E_k(T))`` at the day's last step, 0
     before (:func:`~.accounting.terminal_energy_settlement`): the energy the storages end the
     day with below their start (every day starts at ``soc_init``) is bought back, a surplus
     is credited, at ``π_T`` = :attr:`~.config.SesCarbonConfig.terminal_price_usd_per_mwh`
     (default the valley tariff / η_ch = 36 $ per stored MWh: what putting the energy back in
     the next valley costs). Without it the day's initial energy would be free and every
     optimizing method would end the day at the bottom of the SOC window (an end-of-horizon
     artefact); with it, draining the storages is worth what the energy sells for above its
     replacement cost.

   ``emissions_t`` = ``(max(P^UPG, 0)·C_t^UPG + Σ_g P_g^G·C^G)·Δt``.

The referee simulates the *realized* day (:func:`~.day.ses_carbon_day`, ``info="actual"``).

Observation (eq (15)), ``10 + n_storage`` floats at the start of step t
(:data:`OBSERVATION_NAMES`, then the SOCs):

0. ``hour_fraction`` — t / 24;
1. ``load_p_mw`` — total active load of hour t (lead-0 forecast, :func:`~.day.nowcast_day`);
2. ``load_q_mvar`` — total reactive load of hour t (idem);
3. ``pv_available_mw`` — total available PV of hour t (idem);
4. ``tie_line_prev_mw`` — substation flow of the previous step (0 at t = 0), MW;
5. ``price_usd_per_mwh`` — tariff λ_t;
6. ``upstream_intensity_t_per_mwh`` — C_t^UPG of hour t (lead-0 forecast);
7. ``carbon_price_usd_per_t`` — the ladder price at ΔQ so far (slope of eq (14));
8. ``carbon_net_t`` — ΔQ so far: emissions − allowance since midnight, t;
9. ``emissions_t`` — emissions since midnight, t;
10… SOC of each storage after the previous step (SOC_{k,t−1}).

The load, PV and intensity entries are the forecasts issued at step t for hour t
(1 % / 3 % / 1 % relative error), not the realized values: the controller dispatches the
hour before it happens. A solver calling ``case.day_data(day, "forecast",
issue_step=t)`` gets exactly these values in row t. Values are clipped into the finite
observation bounds.

Reward (eq (17); :class:`~gridbench.cases.reward.ScaledCostReward`, apart from the physics),
per step: ``−(Σ cost terms + SOC penalty + voltage penalty + line
penalty) / reward.scale_usd`` (the terminal settlement included, in the last step's reward) with

* SOC penalty = ``λ1·Σ_k E_k^max·dist(SOC_k, [0.2, 0.8])·Δt`` (eq (17)'s soft SOC term;
  the turbine term of eq (17) is always 0: the projection enforces eq (10));
* voltage penalty = ``w_V·Σ_i dist(|V_i|, [V_min, V_max])·Δt`` and line penalty =
  ``w_S·Σ_ij max(S_ij − S_ij^max, 0)·Δt`` — our additions (eqs (4), (6) are hard
  constraints of the paper's model that a policy can only learn as penalties).

The carbon settlement is paid step by step instead of once at the end of the day as the paper
does (§3); the sum is the same and the credit assignment better. ``info["reward_terms"]``
holds each part (already divided by the scale and negated). ``info["paper_terms"]`` holds
the paper's eq (1) terms (:func:`~.accounting.paper_objective_terms`) and its ΔQ
contribution ``C_t·(ΣP^l + ΣP^ch)·Δt`` with the network intensity of eq (13):
the paper's objective buys every load at the tariff, credits the SES's sales, ignores PV,
turbine output and losses on the purchase side; the DSO cost here is what the feeder pays
at the substation. ``info`` also carries ``network_carbon_intensity`` (eq (13)),
``losses_mw``, ``carbon_net_t`` (ΔQ after the step), ``carbon_price_usd_per_t``,
``pf_converged``.

``tie_line_ref_mw`` is 0: DESIGN §3's reference (the day's mean tie-line flow) is unknowable
during the day; the harness computes ``tie_mse`` from its own daily mean.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridbench.cases.kpi import StepKPI
from gridbench.cases.referee import CoreStep, DispatchCore, Layer, StepOutcome, Timeline
from gridbench.cases.reward import ScaledCostReward
from gridbench.cases.ses_carbon import accounting as acc
from gridbench.cases.ses_carbon.config import SesCarbonConfig
from gridbench.cases.ses_carbon.day import (
    GRID,
    N_STEPS,
    STEP_HOURS,
    SesCarbonDay,
    line_ratings_mva,
    nowcast_day,
    ses_carbon_day,
)

__all__ = ["COST_TERMS", "OBSERVATION_NAMES", "TIMELINE", "SesCarbonCore"]

#: The case's timeline: 24 hourly executed steps.
TIMELINE: Final[Timeline] = Timeline.single(N_STEPS, STEP_HOURS)
#: Names of the DSO cost terms of ``info["cost"]``.
COST_TERMS: Final[tuple[str, ...]] = (
    "energy_purchase",
    "gas_turbine_fuel",
    "storage_degradation",
    "carbon_settlement",
    "storage_terminal_energy",
)
#: Names of the observation entries before the SOCs.
OBSERVATION_NAMES: Final[tuple[str, ...]] = (
    "hour_fraction",
    "load_p_mw",
    "load_q_mvar",
    "pv_available_mw",
    "tie_line_prev_mw",
    "price_usd_per_mwh",
    "upstream_intensity_t_per_mwh",
    "carbon_price_usd_per_t",
    "carbon_net_t",
    "emissions_t",
)

FloatArray = NDArray[np.float64]


#: How each cost term of :data:`COST_TERMS` is computed, in the parameters' names, for the
#: sidecar of ``gridbench schedule`` (:meth:`SesCarbonCore.schedule_parameters`).
_COST_TERM_FORMULAS: Final[dict[str, str]] = {
    "energy_purchase": "sum_t price_t * P_grid_t * dt (exports sold at the tariff)",
    "gas_turbine_fuel": "sum_t sum_g (a*P_g^2 + b*P_g + c) * dt",
    "storage_degradation": "degradation_usd_per_mwh * sum_t sum_k |P_k| * dt",
    "carbon_settlement": (
        "C(dQ), dQ = sum_t [(max(P_grid_t, 0) * upstream_t + sum_g P_g * "
        "carbon_t_per_mwh) * dt] - allowance_t_per_mwh * sum_t load_t * dt; "
        "C(x) = slopes[0]*x + sum_k (slopes[k] - slopes[k-1]) * max(x - "
        "breakpoints[k-1], 0)"
    ),
    "storage_terminal_energy": (
        "terminal_price_usd_per_mwh * sum_k (energy_start_mwh_k - soc_k(T) * "
        "energy_mwh), soc_k(T) the storage's soc after the last step"
    ),
}

#: Loading (v_max·|I| / rating) under which :meth:`SesCarbonCore.simulate` skips the exact
#: line-overload terms: a relative margin far above the round-off of |S| = |V|·|I|.
_SCREEN_LOADING: Final[float] = 1.0 - 1e-6


@dataclass(frozen=True, eq=False)
class _DayArrays:
    """Per-day arrays precomputed at ``load_day`` (no pandas, no forecasts in the step)."""

    actual: SesCarbonDay
    net_p_base: FloatArray  # (24, n_bus): load − PV (actual)
    load_q: FloatArray  # (24, n_bus)
    total_load: FloatArray  # (24,)
    allowance: FloatArray  # (24,) t per step
    price: FloatArray  # (24,)
    upstream: FloatArray  # (24,) actual C^UPG
    pv_total: FloatArray  # (24,) actual available PV
    obs_rows: FloatArray  # (24, 4): nowcast total P, total Q, PV, upstream intensity
    # the same per-step scalars as Python floats, for the step (no numpy scalar indexing):
    # (price, upstream, allowance, pv_total, total_load) and the four obs_rows entries
    step_scalars: tuple[tuple[float, float, float, float, float], ...]
    obs_scalars: tuple[tuple[float, ...], ...]


class SesCarbonCore(DispatchCore):
    """Physics core of ``ses-carbon-ieee33-v0`` (see the module docstring)."""

    def __init__(
        self, config: SesCarbonConfig, *, power_flow: Callable[[Any], Any] | None = None
    ) -> None:
        """``power_flow`` builds the solver from the feeder (default
        :class:`~gridbench.cases.grid.RadialPowerFlow`; the benchmarks pass pandapower's)."""
        from gridbench.cases.grid import RadialPowerFlow, load_grid

        self.config = config
        #: The reward of the KPI terms (:mod:`gridbench.cases.reward`).
        self.reward = ScaledCostReward(config.reward.scale_usd)
        gt, st = config.gas_turbine, config.storage
        self.n_gt, self.n_st = gt.n, st.n
        super().__init__(TIMELINE, action_dim=self.n_gt + self.n_st)
        feeder = dataclasses.replace(load_grid(GRID), v_slack_pu=config.network.v_slack_pu)
        self._pf = (power_flow or RadialPowerFlow)(feeder)
        self._n_bus = feeder.n_bus
        self._ratings = line_ratings_mva(config)
        # injection incidence: net demand −= inc @ setpoints
        inc = np.zeros((feeder.n_bus, self.action_dim))
        inc[gt.bus_index, np.arange(self.n_gt)] += 1.0
        inc[st.bus_index, self.n_gt + np.arange(self.n_st)] += 1.0
        self._inc = inc
        # bus of each setpoint: with one device per bus, net demand −= setpoints at those
        # buses is exactly inc @ setpoints subtracted (each row of inc holds one 1)
        dev_bus = np.concatenate([gt.bus_index, st.bus_index]).astype(np.intp)
        self._dev_bus = dev_bus if np.unique(dev_bus).size == dev_bus.size else None
        self._pv_inc = np.zeros((feeder.n_bus, config.pv.n))
        self._pv_inc[config.pv.bus_index, np.arange(config.pv.n)] = 1.0
        self._low = np.concatenate(
            [np.full(self.n_gt, gt.p_min_mw), np.full(self.n_st, -st.p_max_mw)]
        )
        self._high = np.concatenate(
            [np.full(self.n_gt, gt.p_max_mw), np.full(self.n_st, st.p_max_mw)]
        )
        self._gt_low = [gt.p_min_mw] * self.n_gt
        self._gt_high = [gt.p_max_mw] * self.n_gt
        # branch-current screen of the line overload (see simulate)
        self._inv_ratings: FloatArray | None = None
        self._segments = acc.ladder_segments(config.carbon)
        self._ladder = acc.CarbonLadder.from_params(config.carbon)
        self._days: dict[datetime.date, _DayArrays] = {}
        self._terminal_price = config.terminal_price_usd_per_mwh
        self._obs_low, self._obs_high = self._observation_limits(feeder)
        self._obs_limits = tuple(zip(self._obs_low.tolist(), self._obs_high.tolist(), strict=True))
        with np.errstate(divide="ignore"):
            self._inv_ratings = 1.0 / self._ratings  # 0 for unrated (inf) branches
        # state
        self._energy: list[float] = []
        self._soc: list[float] = []
        self.energy_mwh = np.full(self.n_st, st.soc_init * st.energy_mwh)
        self._energy_start = self.energy_mwh.copy()  # E(0) of the terminal settlement
        self._carbon_net = 0.0
        self._carbon_price = self._ladder.price_usd_per_t(0.0)  # eq (14)'s slope at ΔQ
        self._emissions = 0.0
        self._tie_prev = 0.0
        self._extras: list[dict[str, Any]] = []
        self._data: _DayArrays | None = None

    # ------------------------------------------------------------------ static spaces
    def action_bounds(self, layer: Layer) -> tuple[FloatArray, FloatArray]:
        return self._low.copy(), self._high.copy()

    def _observation_limits(self, feeder: Any) -> tuple[FloatArray, FloatArray]:
        from gridbench.cases.data import tou_tariff

        c = self.config
        p_nom = float(np.sum(feeder.load_p_mw))
        q_nom = float(np.sum(feeder.load_q_mvar))
        pv_max = c.pv.n * c.pv.rated_mw
        gt_max = c.gas_turbine.n * c.gas_turbine.p_max_mw
        st_max = c.storage.n * c.storage.p_max_mw
        # generous: twice the nominal peak (loads, losses) plus every device at full power
        tie_hi = 2.0 * p_nom + st_max
        tie_lo = -(pv_max + gt_max + st_max)
        ci_hi = 2.0 * c.carbon.upstream_hi_t_per_mwh
        emis_hi = N_STEPS * STEP_HOURS * (tie_hi * ci_hi + gt_max * c.gas_turbine.carbon_t_per_mwh)
        allow_hi = N_STEPS * STEP_HOURS * 2.0 * p_nom * c.carbon.allowance_t_per_mwh
        price_hi = float(np.max(tou_tariff(c.tariff).price(STEP_HOURS)))
        _, slopes = self._segments
        low = np.array(
            [0.0, 0.0, 0.0, 0.0, tie_lo, 0.0, 0.0, float(slopes.min()), -allow_hi, 0.0]
            + [0.0] * self.n_st
        )
        high = np.array(
            [
                1.0,
                2.0 * p_nom,
                2.0 * q_nom,
                pv_max,
                tie_hi,
                price_hi,
                ci_hi,
                float(slopes.max()),
                emis_hi,
                emis_hi,
            ]
            + [1.0] * self.n_st
        )
        return low, high

    def observation_bounds(self) -> tuple[FloatArray, FloatArray]:
        return self._obs_low.copy(), self._obs_high.copy()

    # ------------------------------------------------------------------ day
    def _day_arrays(self, day: datetime.date) -> _DayArrays:
        cached = self._days.get(day)
        if cached is not None:
            return cached
        c = self.config
        actual = ses_carbon_day(c, day)
        now = nowcast_day(c, day, c.forecast_seed)
        net = actual.load_p_mw - actual.pv_available_mw @ self._pv_inc.T
        total = actual.total_load_mw
        rows = np.stack(
            [
                now.load_p_mw.sum(axis=1),
                now.load_q_mvar.sum(axis=1),
                now.pv_available_mw.sum(axis=1),
                now.carbon_intensity_t_per_mwh,
            ],
            axis=1,
        )
        allowance = acc.allowance_t(total[:, None], c.carbon.allowance_t_per_mwh, STEP_HOURS)
        price = np.array(actual.price_usd_per_mwh)
        upstream = np.array(actual.carbon_intensity_t_per_mwh)
        pv_total = actual.pv_available_mw.sum(axis=1)
        arrays = _DayArrays(
            actual=actual,
            net_p_base=np.ascontiguousarray(net),
            load_q=np.ascontiguousarray(actual.load_q_mvar, dtype=np.float64),
            total_load=np.array(total),
            allowance=allowance,
            price=price,
            upstream=upstream,
            pv_total=pv_total,
            obs_rows=rows,
            step_scalars=tuple(
                zip(
                    price.tolist(),
                    upstream.tolist(),
                    allowance.tolist(),
                    pv_total.tolist(),
                    np.asarray(total, dtype=np.float64).tolist(),
                    strict=True,
                )
            ),
            obs_scalars=tuple(tuple(r) for r in rows.tolist()),
        )
        self._days[day] = arrays
        return arrays

    def load_day(self, day: datetime.date, rng: np.random.Generator) -> None:
        st = self.config.storage
        self._data = self._day_arrays(day)
        self.energy_mwh = np.full(self.n_st, st.soc_init * st.energy_mwh)
        self._energy_start = self.energy_mwh.copy()
        self._carbon_net = 0.0
        self._carbon_price = self._ladder.price_usd_per_t(0.0)  # eq (14)'s slope at ΔQ
        self._emissions = 0.0
        self._tie_prev = 0.0
        self._extras = []

    @property
    def data(self) -> SesCarbonDay:
        """The realized day being simulated."""
        if self._data is None:
            raise RuntimeError("no day loaded; call reset(day, rng) first")
        return self._data.actual

    @property
    def energy_mwh(self) -> FloatArray:
        """Energy stored in each storage, MWh (kept as Python floats, which the step uses)."""
        return np.array(self._energy)

    @energy_mwh.setter
    def energy_mwh(self, value: ArrayLike) -> None:
        self._energy = np.asarray(value, dtype=np.float64).reshape(-1).tolist()
        e_max = self.config.storage.energy_mwh
        self._soc = [e / e_max for e in self._energy]  # :attr:`soc`, for the observation

    @property
    def soc(self) -> FloatArray:
        """State of charge of each storage (0–1)."""
        return self.energy_mwh / self.config.storage.energy_mwh

    # ------------------------------------------------------------------ per step
    def step_bounds(self) -> tuple[FloatArray, FloatArray]:
        """Static box with the storages' entries narrowed to the hard energy limits 0–1 of
        eq (12): exactly :func:`~gridbench.cases.projection.storage_power_bounds` with
        ``soc_min=0``, ``soc_max=1`` (inlined in :meth:`_storage_box`: the general function's
        argument broadcasting costs more than the rest of the step's projection)."""
        return self._storage_box(0.0, 1.0)

    def penalty_free_step_bounds(self) -> tuple[FloatArray, FloatArray]:
        """:meth:`step_bounds` with the storages narrowed to the soft SOC window
        ``[soc_min, soc_max]`` of eq (17)'s penalty (the same bounds as
        :func:`~gridbench.cases.projection.storage_power_bounds`): inside this box a step
        pays no SOC penalty. The turbines' entries are their static box."""
        st = self.config.storage
        return self._storage_box(st.soc_min, st.soc_max)

    def step_boxes(self) -> tuple[tuple[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]:
        """:meth:`step_bounds` and :meth:`penalty_free_step_bounds` in one pass over the
        storages."""
        st = self.config.storage
        hard, soft = self._storage_boxes(((0.0, 1.0), (st.soc_min, st.soc_max)))
        return hard, soft

    def _storage_box(self, soc_lo: float, soc_hi: float) -> tuple[FloatArray, FloatArray]:
        """:meth:`_storage_boxes` of one SOC window."""
        return self._storage_boxes(((soc_lo, soc_hi),))[0]

    def _storage_boxes(
        self, windows: tuple[tuple[float, float], ...]
    ) -> list[tuple[FloatArray, FloatArray]]:
        """Per SOC window ``[soc_lo, soc_hi]``: the turbines' static box and, per storage, the
        powers that keep its energy in ``[soc_lo, soc_hi]·E_max`` after the step (clamped so
        that ``low ≤ 0 ≤ high``: an SOC already outside allows only moves back, or idling), in
        Python floats (one pass over the storages for every window)."""
        st = self.config.storage
        pm, e_max = st.p_max_mw, st.energy_mwh
        k_dis, k_ch = st.eta_discharge / STEP_HOURS, 1.0 / (st.eta_charge * STEP_HOURS)
        bounds = [(lo * e_max, hi * e_max) for lo, hi in windows]
        boxes = [(list(self._gt_low), list(self._gt_high)) for _ in windows]
        for e in self._energy:
            for (e_lo, e_hi), (low, high) in zip(bounds, boxes, strict=True):
                # min(max(·, 0), p_max), written out (same values as the builtins)
                h = (e - e_lo) * k_dis
                h = 0.0 if 0.0 > h else h
                high.append(pm if pm < h else h)
                lo = (e_hi - e) * k_ch
                lo = 0.0 if 0.0 > lo else lo
                low.append(-(pm if pm < lo else lo))
        return [(np.array(low), np.array(high)) for low, high in boxes]

    def state_of_charge(self) -> FloatArray:
        """SOC of the five storages (0–1), for the reset ``info``."""
        return np.array(self.soc, dtype=float)

    def observe(self) -> FloatArray:
        d = self._data
        if d is None:
            raise RuntimeError("no day loaded; call reset(day, rng) first")
        t = self.step_index
        row = d.obs_scalars[t]
        values = [
            t / N_STEPS,
            row[0],
            row[1],
            row[2],
            self._tie_prev,
            d.step_scalars[t][0],  # price
            row[3],
            self._carbon_price,
            self._carbon_net,
            self._emissions,
            *self._soc,
        ]
        # np.clip(values, low, high) entry by entry, in floats (same comparisons: a value
        # equal to a bound keeps the bound, as numpy's clip with array bounds does)
        clipped = []
        for v, (lo, hi) in zip(values, self._obs_limits, strict=True):
            v = v if v > lo else lo
            clipped.append(v if v < hi else hi)
        return np.array(clipped)

    def simulate(self, setpoints: FloatArray) -> StepOutcome:
        """One step (module docstring): network, storage, cost terms, reward, extras."""
        d = self._data
        if d is None:
            raise RuntimeError("no day loaded; call reset(day, rng) first")
        t = self.step_index
        values = setpoints.tolist()  # the few device entries in Python floats (faster)
        p_gt = values[: self.n_gt]
        tie, v_min, v_max, v_viol, overload, losses, converged = self._solve_network(
            d, t, setpoints
        )
        energy, soc, dis_total, ch_total = self._advance_storage(values[self.n_gt :])
        gt_total = math.fsum(p_gt)
        cost, emissions = self._cost_terms(d, t, tie, p_gt, gt_total, dis_total + ch_total, energy)
        c, dt = self.config, STEP_HOURS
        st_cfg, rw = c.storage, c.reward
        e_max = st_cfg.energy_mwh
        soc_viol = acc.soc_window_violation(soc, st_cfg.soc_min, st_cfg.soc_max)
        penalties = {
            "soc_penalty": acc.soc_penalty_usd(
                soc_viol, e_max, st_cfg.soc_penalty_usd_per_mwh_h, dt
            ),
            "voltage_penalty": rw.voltage_penalty_usd_per_pu_h * v_viol * dt,
            "line_penalty": rw.line_penalty_usd_per_mva_h * overload * dt,
        }
        reward, reward_terms = self.reward(cost, penalties)
        paper, intensity = self._paper_terms(d, t, tie, gt_total, dis_total, ch_total, cost)
        self._extras.append(
            {
                "paper_terms": paper,
                "network_carbon_intensity": intensity,
                "losses_mw": losses,
                "carbon_net_t": self._carbon_net,
                "carbon_price_usd_per_t": self._carbon_price,
                "pf_converged": converged,
            }
        )
        kpi = StepKPI(
            cost=cost,
            emissions_t=emissions,
            soc=soc,
            tie_line_mw=tie,
            tie_line_ref_mw=0.0,
            v_min_pu=v_min,
            v_max_pu=v_max,
            voltage_violation_pu=v_viol,
            soc_violation=soc_viol,
            line_overload=overload,
            balance_slack_mw=0.0,
        )
        return StepOutcome(kpi=kpi, reward=reward, reward_terms=reward_terms,
                           penalty_usd=math.fsum(penalties.values()))

    def _solve_network(
        self, d: _DayArrays, t: int, setpoints: FloatArray
    ) -> tuple[float, float, float, float, float, float, bool]:
        """Step 2 (eqs (2)–(7)): the AC power flow of step ``t`` with ``setpoints`` injected.
        Returns ``(P^UPG, v_min, v_max, Σ_i dist(|V_i|, [V_min, V_max]),
        Σ_ij max(S_ij − S_ij^max, 0), losses, converged)``."""
        if self._dev_bus is not None:
            net_p = d.net_p_base[t].copy()
            net_p[self._dev_bus] -= setpoints
        else:
            net_p = d.net_p_base[t] - self._inc @ setpoints
        flow = self._pf.solve(net_p, d.load_q[t])
        vm = np.abs(flow.v)
        v_min, v_max = float(np.minimum.reduce(vm)), float(np.maximum.reduce(vm))
        net_cfg = self.config.network
        v_viol = 0.0
        if v_min < net_cfg.v_min_pu:
            v_viol += float(np.maximum(net_cfg.v_min_pu - vm, 0.0).sum())
        if v_max > net_cfg.v_max_pu:
            v_viol += float(np.maximum(vm - net_cfg.v_max_pu, 0.0).sum())
        # Line loading max(S_from, S_to) of each branch. Screen first: both ends carry
        # |S| = |V_end|·|I| <= v_max·|I| (S_to = S_from − z|I|² = V_to·conj(I) at the
        # converged fixed point, to round-off); when every branch stays below
        # (1 − 1e-6)·rating by that bound, no branch is overloaded and the exact terms
        # (0 then) need not be computed.
        loading = float(np.maximum.reduce(flow.branch_current_pu * self._inv_ratings)) * v_max
        if flow.converged and loading < _SCREEN_LOADING:
            overload = 0.0
        else:
            s_to = np.hypot(
                flow.branch_p_from_mw - flow.loss_p_mw, flow.branch_q_from_mvar - flow.loss_q_mvar
            )
            excess = np.maximum(flow.branch_s_from_mva, s_to) - self._ratings
            overload = float(np.maximum(excess, 0.0).sum()) if excess.max() > 0.0 else 0.0
        losses = float(np.add.reduce(flow.loss_p_mw))
        return float(flow.p_slack_mw), v_min, v_max, v_viol, overload, losses, bool(flow.converged)

    def _advance_storage(self, p_st: list[float]) -> tuple[list[float], list[float], float, float]:
        """Step 3: eq (11) for every storage (:func:`~.accounting.storage_energy_update`),
        updating :attr:`energy_mwh`. Returns ``(E_{t+1}, SOC_{t+1}, Σ_k P_k^dis, Σ_k P_k^ch)``."""
        st = self.config.storage
        e_max = st.energy_mwh
        energy, dis, ch = acc.storage_energy_update(
            self._energy,
            p_st,
            STEP_HOURS,
            st.eta_charge,
            st.eta_discharge,
            st.energy_mwh,
        )
        self._energy = energy
        self._soc = [x / e_max for x in energy]
        return energy, self._soc, math.fsum(dis), math.fsum(ch)

    def _cost_terms(
        self,
        d: _DayArrays,
        t: int,
        tie: float,
        p_gt: list[float],
        gt_total: float,
        throughput: float,
        energy: list[float],
    ) -> tuple[dict[str, float], float]:
        """Step 4: the DSO's cost terms of step ``t`` (:data:`COST_TERMS`) and its emissions
        (``throughput`` = Σ_k (P_k^dis + P_k^ch), ``energy`` the storages' after the step);
        advances ΔQ (and its ladder price), the day's emissions and the previous tie-line
        flow."""
        gt_cfg, dt = self.config.gas_turbine, STEP_HOURS
        price, ci, allowance, _, _ = d.step_scalars[t]
        emissions = acc.step_emissions_t(tie, ci, gt_total, gt_cfg.carbon_t_per_mwh, dt)
        before = self._carbon_net
        after = before + emissions - allowance
        self._carbon_net = after
        self._carbon_price = self._ladder.price_usd_per_t(after)
        self._emissions += emissions
        self._tie_prev = tie
        cost = {
            "energy_purchase": acc.energy_purchase_usd(tie, price, dt),
            "gas_turbine_fuel": acc.gas_turbine_fuel_usd(
                math.fsum(p * p for p in p_gt),
                gt_total,
                self.n_gt,
                gt_cfg.cost_a_usd_per_mw2h,
                gt_cfg.cost_b_usd_per_mwh,
                gt_cfg.cost_c_usd_per_h,
                dt,
            ),
            "storage_degradation": acc.storage_degradation_usd(
                throughput, self.config.storage.degradation_usd_per_mwh, dt
            ),
            "carbon_settlement": self._ladder.settlement_usd(before, after),
            "storage_terminal_energy": (
                acc.terminal_energy_settlement(
                    self._energy_start.tolist(), energy, self._terminal_price
                )
                if t == N_STEPS - 1
                else 0.0
            ),
        }
        return cost, emissions

    def _paper_terms(
        self,
        d: _DayArrays,
        t: int,
        tie: float,
        gt_total: float,
        dis_total: float,
        ch_total: float,
        cost: dict[str, float],
    ) -> tuple[dict[str, float], float]:
        """The paper's eq (1) terms of step ``t`` (:func:`~.accounting.paper_objective_terms`)
        and eq (13)'s network intensity, for the step's ``info``."""
        price, ci, _, pv_total, load_total = d.step_scalars[t]
        intensity = acc.network_carbon_intensity(
            tie, ci, gt_total, self.config.gas_turbine.carbon_t_per_mwh, pv_total, dis_total
        )
        paper = acc.paper_objective_terms(
            price,
            load_total,
            cost["gas_turbine_fuel"],
            ch_total,
            dis_total,
            cost["storage_degradation"],
            intensity,
            STEP_HOURS,
        )
        return paper, intensity

    def step_info(self, record: CoreStep) -> dict[str, Any]:
        """The referee's step ``info`` plus the case's extras (module docstring)."""
        info = super().step_info(record)
        extras = self._extras[record.step]
        info.update(extras)
        info["paper_terms"] = dict(extras["paper_terms"])
        return info

    # ------------------------------------------------------------------ schedule export
    def schedule_rows(self, record: CoreStep) -> list[dict[str, Any]]:
        """The elements of executed step ``record`` for ``gridbench schedule``: one ``load``
        row per bus (``p = −P^l``, ``q = −Q^l``), one ``pv`` row per plant (its available
        output, unity power factor), the ``gas_turbine`` and ``storage`` setpoints the step
        executed (``soc`` after the step) and the substation's ``grid`` row (bus 1, the slack
        power of the step's power flow, re-solved here for its reactive part)."""
        d = self._data
        if d is None:
            raise RuntimeError("no day loaded; call reset(day, rng) first")
        c = self.config
        t = record.step
        applied = np.asarray(record.applied, dtype=np.float64)
        actual = d.actual
        rows: list[dict[str, Any]] = []
        for i in range(1, self._n_bus):
            rows.append(
                {
                    "element": f"load_{i + 1}",
                    "kind": "load",
                    "bus": i + 1,
                    "p_mw": -float(actual.load_p_mw[t, i]),
                    "q_mvar": -float(actual.load_q_mvar[t, i]),
                }
            )
        for k, bus in enumerate(c.pv.buses):
            rows.append(
                {
                    "element": f"pv_{k + 1}",
                    "kind": "pv",
                    "bus": int(bus),
                    "p_mw": float(actual.pv_available_mw[t, k]),
                    "q_mvar": 0.0,
                }
            )
        for g, bus in enumerate(c.gas_turbine.buses):
            rows.append(
                {
                    "element": f"gt_{g + 1}",
                    "kind": "gas_turbine",
                    "bus": int(bus),
                    "p_mw": float(applied[g]),
                    "q_mvar": 0.0,
                }
            )
        soc = np.asarray(record.kpi.soc, dtype=np.float64)
        for k, bus in enumerate(c.storage.buses):
            rows.append(
                {
                    "element": f"ses_{k + 1}",
                    "kind": "storage",
                    "bus": int(bus),
                    "p_mw": float(applied[self.n_gt + k]),
                    "q_mvar": 0.0,
                    "soc": float(soc[k]),
                }
            )
        flow = self._pf.solve(d.net_p_base[t] - self._inc @ applied, d.load_q[t])
        rows.append(
            {
                "element": "grid",
                "kind": "grid",
                "bus": 1,
                "p_mw": float(record.kpi.tie_line_mw),
                "q_mvar": float(flow.q_slack_mvar),
            }
        )
        return rows

    def schedule_parameters(self) -> dict[str, Any]:
        """The day's series and every parameter of the DSO cost (module docstring, step 4),
        with the feeder's branch data, for the sidecar of ``gridbench schedule``."""
        from gridbench.cases.grid import load_grid

        d = self._data
        if d is None:
            raise RuntimeError("no day loaded; call reset(day, rng) first")
        c = self.config
        gt, st, cm, net = c.gas_turbine, c.storage, c.carbon, c.network
        feeder = load_grid(GRID)
        bps, slopes = self._segments
        return {
            "step_hours": STEP_HOURS,
            "series": {
                "price_usd_per_mwh": d.price.tolist(),
                "upstream_carbon_intensity_t_per_mwh": d.upstream.tolist(),
                "allowance_t": d.allowance.tolist(),
            },
            "tariff": {"preset": c.tariff, "price_usd_per_mwh": d.price.tolist()},
            "gas_turbine": {
                "buses": list(gt.buses),
                "p_min_mw": gt.p_min_mw,
                "p_max_mw": gt.p_max_mw,
                "cost_a_usd_per_mw2h": gt.cost_a_usd_per_mw2h,
                "cost_b_usd_per_mwh": gt.cost_b_usd_per_mwh,
                "cost_c_usd_per_h": gt.cost_c_usd_per_h,
                "carbon_t_per_mwh": gt.carbon_t_per_mwh,
            },
            "storage": {
                "buses": list(st.buses),
                "p_max_mw": st.p_max_mw,
                "energy_mwh": st.energy_mwh,
                "eta_charge": st.eta_charge,
                "eta_discharge": st.eta_discharge,
                "soc_init": st.soc_init,
                "soc_min": st.soc_min,
                "soc_max": st.soc_max,
                "degradation_usd_per_mwh": st.degradation_usd_per_mwh,
                "soc_penalty_usd_per_mwh_h": st.soc_penalty_usd_per_mwh_h,
                "energy_start_mwh": self._energy_start.tolist(),
                "terminal_price_usd_per_mwh": self._terminal_price,
            },
            "pv": {"buses": list(c.pv.buses), "rated_mw": c.pv.rated_mw},
            "carbon_market": {
                "base_price_usd_per_t": cm.base_price_usd_per_t,
                "step_t": cm.step_t,
                "growth_rate": cm.growth_rate,
                "n_tiers": cm.n_tiers,
                "breakpoints_t": bps.tolist(),
                "slopes_usd_per_t": slopes.tolist(),
                "allowance_t_per_mwh": cm.allowance_t_per_mwh,
            },
            "network": {
                "v_min_pu": net.v_min_pu,
                "v_max_pu": net.v_max_pu,
                "v_slack_pu": net.v_slack_pu,
            },
            "grid": {
                "name": GRID,
                "source": feeder.source,
                "base_kv": feeder.base_kv,
                "n_bus": feeder.n_bus,
                "branches": {
                    "from_bus": (feeder.from_bus + 1).tolist(),
                    "to_bus": (feeder.to_bus + 1).tolist(),
                    "r_ohm": feeder.r_ohm.tolist(),
                    "x_ohm": feeder.x_ohm.tolist(),
                    "rating_mva": self._ratings.tolist(),
                },
            },
            "cost_terms": dict(_COST_TERM_FORMULAS),
        }
