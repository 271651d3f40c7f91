"""Referee physics of the SGLS cases (Li et al. 2026): day-ahead plan, then intraday execution.

Timeline (:meth:`Timeline.two_layer`): 24 hourly ``day_ahead`` steps, then 96 × 15-min
``intraday`` steps. The setpoint vector is the same in both layers (all entries active):

    [ thermal units (MW, G) | storages (MW, > 0 discharges, S) | flexible loads (MW, F) ]

A flexible-load entry is the demand it removes at that step: a curtailment (``>= 0``) or a
shift (``> 0`` moves demand away, ``< 0`` serves moved demand; energy neutral by the end of its
window, enforced by the state-dependent bounds). Renewables produce what is available
(eq (8) holds with equality: no curtailment setpoint; see README).

``day_ahead`` step ``h`` (the plan): the setpoints for hour ``h`` are projected on the plan's own
state (planned SOC, shift balance, thermal ramp over 1 h) and evaluated on the day-ahead
forecast (issued ``day_ahead_lead_h`` before midnight): the power flow of that hour gives the
scheduled tie-line import ``T*_h`` (IEEE 33: the radial AC flow, losses included; IEEE 30:
the lossless DC balance at the slack bus). Its KPI holds the money the plan commits, the
day-ahead purchase ``λ_h · T*_h · 1 h`` (exports paid ``export_price_factor · λ_h``; cost
term ``day_ahead_energy``), and the planned SOC.

``intraday`` step ``k`` (executed): setpoints projected on the real state (eqs (6)–(12): thermal
capacity and ramp over 15 min, storage power and SOC band, flexible-load limits; the storages
return to their initial SOC by midnight, see "End of the day" below), then the
actual loads and renewables go through the power flow. Cost terms ($, eqs (1)–(4) plus the
tie-line settlement):

* ``thermal`` — ``Σ_g (a P² + b P + c) Δt`` (eq (2), exact quadratic);
* ``storage`` — ``Σ_s (c_ch P_ch + c_dis P_dis) Δt`` (eq (3));
* ``flexible_load`` — ``Σ_j cost_j |ΔL_j| Δt`` (eq (4));
* ``network_loss`` — ``λ_t · loss_t · Δt`` (the value of the losses; 0 on the DC model);
* ``imbalance`` — two-price settlement of the deviation ``T_t − T*_h`` from the schedule
  (bought at ``imbalance_buy · λ``, sold at ``imbalance_sell · λ``) minus ``network_loss``,
  so that day-ahead purchase + imbalance + network loss is exactly what the tie line costs.

End of the day: the cost has no value for stored energy, so energy left at midnight would be
given away and energy taken from the storages free (an agent trained on this cost drained
every storage to its minimum while the oracle returned to its initial SOC). Both layers cap
each storage's discharge so that it can still get back to its initial SOC by the last step
(:func:`~gridbench.cases.projection.storage_return_cap`), which forces ``SOC(T) >= SOC(0)``
for every method alike; the MILPs carry the same constraint (``e_floor``).

"procurement" (Table 3) = ``day_ahead_energy + imbalance``; "day-ahead cost" (Table 6) =
``day_ahead_energy``; "intraday cost" = the rest. KPI ``tie_line_ref_mw`` = ``T*_h``; step
``info["soc_ref"]`` = the planned SOC at the end of the step (linear within the hour), which the
harness uses for ``soc_dev_max``; extra keys ``loss_mw``, ``storage_plan_mw``, ``player_cost``
(each player's own costs so far) and, on the last step, ``cooperation`` (Shapley shares,
realized payoffs, default costs; :meth:`SglsCore.cooperation`).

Reward (:mod:`.reward`, apart from the physics; ``config.reward``): by default the paper's, eqs
(22)–(26) with the weights ``config.weights`` of Tables 2 / 5, per step:
``r = −w_cost·C/C₀ − w_tie·((T*_h − T*_{h−1})/T₀)²`` in the day-ahead layer (hour-to-hour
smoothing of the schedule) and, intraday,
``r = −w_cost·C/C₀ − w_fluct·((T − T*)/T₀)² − w_track·Σ_s|P_s − P*_s|/P_s,max
− w_socdev·Σ_s|SOC − SOC*| − w_curt·Σ_j curtail_j/base_j,max − Σ_c λ·v_c``, plus at the last
step ``− w_soccorr·Σ_s|SOC(T) − SOC*(T)| − w_coop·Σ_i |π_i − φ_i|/C₀`` (SOC correction and
the cooperative-payoff penalty; ``φ_i`` are the day's Shapley shares, ``π_i`` the realized
payoffs,
see :mod:`.shapley`). ``C₀ = cost_scale`` per 15 min, ``T₀ = tie_scale_mw``.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import OrderedDict
from collections.abc import Mapping
from functools import cached_property
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.kpi import StepKPI
from gridbench.cases.projection import storage_return_cap
from gridbench.cases.referee import (
    AgentRole,
    CoreStep,
    DispatchCore,
    Layer,
    StepOutcome,
    Timeline,
)
from gridbench.cases.sgls.config import SglsConfig
from gridbench.cases.sgls.day import N_STEPS, SglsDay, flex_weights, nowcast, sgls_day
from gridbench.cases.sgls.reward import ExecutionSignals, PlanSignals, make_reward

__all__ = ["PLAYERS", "TIMELINE", "Layout", "SglsCore", "layout"]

TIMELINE: Final[Timeline] = Timeline.two_layer(day_ahead=(24, 1.0), intraday=(96, 0.25))
#: The cooperative game's players (§3): generation, grid, load, storage.
PLAYERS: Final[tuple[str, ...]] = ("generation", "grid", "load", "storage")
FloatArray = NDArray[np.float64]


def _npsum(values: list[float]) -> float:
    """``float(np.sum(np.array(values)))`` bit for bit: numpy adds fewer than 8 contiguous
    float64 terms one after the other from 0.0 (``tests/test_sgls_referee_speed.py``
    checks it); longer vectors go to numpy."""
    if len(values) < 8:
        total = 0.0
        for v in values:
            total += v
        return total
    return float(np.array(values, dtype=np.float64).sum())


def _rest(data: SglsDay, j: int, k: int, dt: float, inside: NDArray[np.bool_]) -> float:
    """Base energy (MWh) of flexible load ``j`` in its window after step ``k``."""
    return float(data.flex_base_mw[k + 1:, j][inside[k + 1:]].sum() * dt)


def _pos(x: float) -> float:
    """``np.maximum(x, 0)`` of one float (``+0.0`` for ``-0.0``, as numpy)."""
    return x if x > 0.0 else 0.0


def _clip(x: float, lo: float, hi: float) -> float:
    """``np.clip(x, lo, hi)`` of one float (keeps ``x`` unless it lies outside)."""
    return lo if x < lo else (hi if x > hi else x)


#: Days whose derived rows (:meth:`SglsCore._prepare_day`) a core keeps: the whole year.
DAY_CACHE_SIZE: Final[int] = 366


#: The cost terms of a day, as the ``gridbench schedule`` sidecar states them (``cost_terms``).
_SCHEDULE_COST_TERMS: Final[dict[str, str]] = {
    "day_ahead_energy": "Σ_h λ_h (max(T*_h, 0) + export_price_factor · min(T*_h, 0))"
                        " · 1 h (day_ahead.purchase_usd)",
    "thermal": "Σ_g (a P² + b P + c) Δt",
    "storage": "Σ_s (cost_discharge max(P, 0) + cost_charge max(−P, 0)) Δt",
    "flexible_load": "Σ_j cost_j |x_j| Δt, x_j = Σ p_mw of its rows",
    "imbalance": "λ_k Δt (imbalance_buy max(T_k − T*_h, 0) + imbalance_sell "
                 "min(T_k − T*_h, 0)) − network_loss, h = k // 4, T_k the grid row",
    "network_loss": "λ_k · losses_k · Δt (0 on the DC model)",
}  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class _DayRows:
    """What :meth:`SglsCore._prepare_day` derives from a day's data: observation rows
    (``da``/``now``: loads part, PV total, wind), realized renewables and prices, and the
    tie line of the idle plan (the default schedule before the day-ahead layer runs)."""

    obs: dict[str, tuple[FloatArray, list[float], list[float]]]
    act_ren: list[float]
    act_price: list[float]
    idle_tie: FloatArray
    #: ``ren[n_steps][k]``: ``[PV per plant…, wind]`` (MW) at step ``k`` of the intraday (96)
    #: or day-ahead (24) data; ``ren_q``: the same times ``tan φ`` (Mvar absorbed).
    ren: dict[int, FloatArray]
    ren_q: dict[int, FloatArray]
    #: ``rest[n_steps][j][k]``: :func:`_rest` of shift load ``j`` after step ``k`` of the
    #: intraday (96) or day-ahead (24) data (``None`` for curtailable loads).
    rest: dict[int, list[list[float] | None]]


@dataclasses.dataclass(frozen=True)
class Layout:
    """Index slices of the setpoint vector and the device data as arrays."""

    n_th: int
    n_st: int
    n_fl: int

    @property
    def dim(self) -> int:
        return self.n_th + self.n_st + self.n_fl

    @property
    def th(self) -> slice:
        return slice(0, self.n_th)

    @property
    def st(self) -> slice:
        return slice(self.n_th, self.n_th + self.n_st)

    @property
    def fl(self) -> slice:
        return slice(self.n_th + self.n_st, self.dim)


def layout(config: SglsConfig) -> Layout:
    return Layout(len(config.thermal), len(config.storage), len(config.flexible))


class SglsCore(DispatchCore):
    """Physics of ``sgls-*`` (see the module docstring)."""

    def __init__(self, config: SglsConfig) -> None:
        self.config = config
        #: The reward of the step signals (``config.reward``: :mod:`.reward`).
        self.reward = make_reward(config)
        self.lay = layout(config)
        super().__init__(TIMELINE, self.lay.dim)
        from gridbench.cases.grid import load_grid

        self.grid = load_grid(config.grid)
        self.radial = config.grid == "ieee33"
        if self.radial:
            from gridbench.cases.grid import RadialPowerFlow

            feeder = dataclasses.replace(self.grid, v_slack_pu=config.v_slack_pu)
            self.pf = RadialPowerFlow(feeder)
        else:
            from gridbench.cases.grid.dc import DcPowerFlow

            self.dc = DcPowerFlow(self.grid)
            self.rate = np.asarray(self.grid.rate_mva, dtype=float)
        c = config
        self.th_bus = np.array([u.bus - 1 for u in c.thermal], dtype=int)
        self.th_min = np.array([u.p_min_mw for u in c.thermal])
        self.th_max = np.array([u.p_max_mw for u in c.thermal])
        self.th_ramp = np.array([u.ramp_mw_per_h for u in c.thermal])
        self.th_abc = np.array([[u.a, u.b, u.c] for u in c.thermal]).reshape(-1, 3)
        st = c.storage
        self.st_bus = np.array([s.bus - 1 for s in st], dtype=int)
        self.st_p = np.array([s.p_max_mw for s in st])
        self.st_e = np.array([s.e_mwh for s in st])
        self.st_lo = np.array([s.soc_min for s in st])
        self.st_hi = np.array([s.soc_max for s in st])
        self.st_soc0 = np.array([s.soc0 for s in st])
        self.st_ec = np.array([s.eta_charge for s in st])
        self.st_ed = np.array([s.eta_discharge for s in st])
        self.st_cc = np.array([s.cost_charge for s in st])
        self.st_cd = np.array([s.cost_discharge for s in st])
        self.fl_shift = np.array([f.kind == "shift" for f in c.flexible])
        self.fl_cost = np.array([f.cost for f in c.flexible])
        self.fl_w = flex_weights(c)
        self.pv_bus = np.array([b - 1 for b in c.pv_buses], dtype=int)
        self.wind_bus = c.wind_bus - 1
        self.load_buses = np.flatnonzero(self.grid.load_p_mw > 0)
        self._day_rows: OrderedDict[datetime.date, _DayRows] = OrderedDict()
        #: :meth:`_default_operation` of the current layer, ``(steps, dim)``
        self._default_rows: FloatArray = np.zeros((0, self.lay.dim))
        self._rows: _DayRows | None = None
        self._ratio: dict[int, tuple[SglsDay, FloatArray]] = {}
        self._static_hot_path()
        self._obs_len = len(self._observe_vector(dummy=True))
        self._obs_low, self._obs_high = self._observation_limits()

    def _static_hot_path(self) -> None:
        """Per-device constants as Python floats and the static boxes, for the step path.

        The step evaluates the same IEEE operations as the array expressions it replaces, in
        the same order (sums of at most 7 terms as numpy does: ``((0 + x₀) + x₁) + …``,
        :func:`_npsum`), so observations, rewards and KPIs are bit-identical to them
        (``tests/test_sgls_referee_speed.py``)."""
        self._th = (self.th_min.tolist(), self.th_max.tolist(), self.th_ramp.tolist())
        self._abc = [tuple(r) for r in self.th_abc.tolist()]
        self._st = list(zip(self.st_e.tolist(), self.st_p.tolist(), self.st_lo.tolist(),
                            self.st_hi.tolist(), self.st_ec.tolist(), self.st_ed.tolist(),
                            self.st_cc.tolist(), self.st_cd.tolist(), strict=True))
        self._fl_shift_f = [1.0 if b else 0.0 for b in self.fl_shift.tolist()]
        self._fl_curt_f = [0.0 if b else 1.0 for b in self.fl_shift.tolist()]
        self._fl_cost = self.fl_cost.tolist()
        self._curt_base = np.maximum(self._flex_max, 1e-9).tolist()
        self._st_p = self.st_p.tolist()
        self._soc0 = self.st_soc0.tolist()
        # fancy-index updates equal np.add.at only where the indices are distinct; groups
        # of updates on disjoint buses are applied as one (each bus still sees the same
        # operations in the same order)
        ren_bus = np.append(self.pv_bus, self.wind_bus)
        self._unique_buses = all(len(set(a.tolist())) == a.size
                                 for a in (ren_bus, self.st_bus, self.th_bus))
        batches: list[tuple[list[int], list[str]]] = []
        for name, idx in (("ren", ren_bus), ("st", self.st_bus), ("th", self.th_bus)):
            if not idx.size:
                continue
            if batches and not set(batches[-1][0]) & set(idx.tolist()):
                batches[-1][0].extend(idx.tolist())
                batches[-1][1].append(name)
            else:
                batches.append((idx.tolist(), [name]))
        self._p_batches = [(np.array(i, dtype=int), names) for i, names in batches]
        self._ren_bus = ren_bus
        self._static_box = {layer: tuple(np.asarray(b, dtype=np.float64).copy()
                                         for b in self.action_bounds(layer))
                            for layer in (Layer.DAY_AHEAD, Layer.INTRADAY)}
        # which steps of each layer lie inside each shift window (static)
        self._inside: dict[tuple[int, float], list[NDArray[np.bool_]]] = {}
        for n, dt in ((24, 1.0), (N_STEPS, 0.25)):
            t = np.arange(n) * dt
            self._inside[(n, dt)] = [(t >= f.window_h[0]) & (t < f.window_h[1])
                                     for f in self.config.flexible]

    # ------------------------------------------------------------------ static spaces
    def action_bounds(self, layer: Layer) -> tuple[FloatArray, FloatArray]:
        lay = self.lay
        low, high = np.zeros(lay.dim), np.zeros(lay.dim)
        low[lay.th], high[lay.th] = self.th_min, self.th_max
        low[lay.st], high[lay.st] = -self.st_p, self.st_p
        fmax = self._flex_max
        low[lay.fl] = np.where(self.fl_shift, -fmax, 0.0)
        high[lay.fl] = fmax
        return low, high

    @cached_property
    def _flex_max(self) -> FloatArray:
        """Largest base demand of each flexible load over 2016 (static action box)."""
        out = np.zeros(self.lay.n_fl)
        peak_total = float(self.grid.load_p_mw.sum())
        for j, f in enumerate(self.config.flexible):
            out[j] = f.fraction * peak_total * 1.2 if f.fraction is not None else f.peak_mw * 1.2
        return out

    def observation_bounds(self) -> tuple[FloatArray, FloatArray]:
        return self._obs_low.copy(), self._obs_high.copy()

    def _observation_limits(self) -> tuple[FloatArray, FloatArray]:
        """Physical bounds of each observation entry, in :meth:`_observe_array`'s order (the
        RL agents map them onto [-1, 1], so they must be of the entries' own scale): time of
        day [0, 1]; load forecasts [0, 1.5 × the grid's nominal load] per bus (IEEE 30) or in
        total (IEEE 33); PV and wind [0, installed]; thermal outputs [0, p_max]; renewable
        output [0, PV + wind installed]; flexible setpoints their action box; SOC [0, 1];
        IEEE 33 also the tie-line schedule ±(load + renewables + storage + flexible ratings)
        and the shifted energy ±(window hours × rating) of the shiftable loads. An adjustable
        load given by bus and peak (IEEE 30) counts in its bus's nominal load. :meth:`observe`
        clips into them (only a forecast above 1.5 × the nominal load would be clipped)."""
        lay, c = self.lay, self.config
        # an adjustable load given by bus and peak (IEEE 30) adds its demand to its bus's load
        extra = np.array([f.peak_mw or 0.0 for f in c.flexible]) @ self.fl_w
        nominal = np.asarray(self.grid.load_p_mw, dtype=float) + extra
        load_hi = 1.5 * (nominal[self.load_buses] if not self.radial else np.array([nominal.sum()]))
        pv, wind = float(sum(c.pv_mw)), float(c.wind_mw)
        fl_lo, fl_hi = (b[lay.fl] for b in self.action_bounds(Layer.INTRADAY))
        low = [0.0, *np.zeros(load_hi.size), 0.0, 0.0, *np.zeros(lay.n_th), 0.0, *fl_lo,
               *np.zeros(lay.n_st)]
        high = [1.0, *load_hi, pv, wind, *self.th_max, pv + wind, *fl_hi,
                *np.ones(lay.n_st)]
        if self.radial:
            tie = self._tie_limit_mw()
            hours = np.array([f.window_h[1] - f.window_h[0] for f in c.flexible])
            shift = float((hours * self._flex_max)[self.fl_shift].sum())
            low += [-tie, -shift]
            high += [tie, shift]
        lo, hi = np.array(low, dtype=float), np.array(high, dtype=float)
        if lo.size != self._obs_len:
            raise RuntimeError(f"observation bounds have {lo.size} entries, not {self._obs_len}")
        return lo, hi

    # ------------------------------------------------------------------ day
    def load_day(self, day: datetime.date, rng: np.random.Generator) -> None:
        c = self.config
        self.act = sgls_day(c, day)
        self.now = nowcast(c, day, c.forecast_seed)
        self.da = sgls_day(c, day, info="forecast", seed=c.forecast_seed,
                           lead_offset_h=c.day_ahead_lead_h).hourly()
        lay = self.lay
        self._prepare_day(day)
        # plan state
        self.soc_plan = self.st_soc0.copy()
        self.bal_plan = np.zeros(lay.n_fl)
        self.prev_th_plan: FloatArray | None = None
        self.plan_sp = np.zeros((24, lay.dim))
        self.plan_tie = self._rows.idle_tie.copy()
        self.plan_soc = np.tile(self.st_soc0, (25, 1))
        # real state
        self.soc = self.st_soc0.copy()
        self.bal = np.zeros(lay.n_fl)
        self.prev_th: FloatArray | None = None
        self.prev_fl = np.zeros(lay.n_fl)
        self.prev_ren = 0.0
        self.payoff = dict.fromkeys(PLAYERS, 0.0)
        self._extras: dict[int, dict[str, Any]] = {}
        self.da_mean_net = float(np.mean(self.da.load_p_mw.sum(1) - self.da.renewable_mw))

    def _prepare_day(self, day: datetime.date) -> None:
        """Day data the step reads, evaluated once per day (and kept for
        :data:`DAY_CACHE_SIZE` days) with the expressions the step used to evaluate at every
        step, hence the same numbers."""
        self._rows = None  # the day's rows are being built
        self._ratio = {id(d): (d, np.divide(d.load_q_mvar, d.load_p_mw,
                                            out=np.zeros_like(d.load_p_mw),
                                            where=d.load_p_mw > 1e-9))
                       for d in (self.act, self.da)}
        rows = self._day_rows.get(day)
        if rows is None:
            obs = {}
            for name, d in (("da", self.da), ("now", self.now)):
                if self.radial:
                    loads = np.array([[row.sum()] for row in d.load_p_mw])
                else:
                    loads = np.array(d.load_p_mw[:, self.load_buses])
                obs[name] = (loads, [float(row.sum()) for row in d.pv_available_mw],
                             d.wind_available_mw.tolist())
            idle_tie = np.array([self._flow(self.da, h, np.zeros(self.lay.dim))[0]
                                 for h in range(24)])
            rest = {}
            for d, dt in ((self.act, 0.25), (self.da, 1.0)):
                inside = self._inside[(d.n_steps, dt)]
                rest[d.n_steps] = [
                    [_rest(d, j, k, dt, inside[j]) for k in range(d.n_steps)]
                    if f.kind == "shift" else None
                    for j, f in enumerate(self.config.flexible)]
            tan = self.config.renewable_tan_phi
            ren = {d.n_steps: np.column_stack((d.pv_available_mw, d.wind_available_mw))
                   for d in (self.act, self.da)}
            ren_q = {d.n_steps: np.column_stack((tan * d.pv_available_mw,
                                                 tan * d.wind_available_mw))
                     for d in (self.act, self.da)}
            rows = _DayRows(obs=obs, act_ren=self.act.renewable_mw.tolist(),
                            act_price=self.act.price_usd_per_mwh.tolist(), idle_tie=idle_tie,
                            rest=rest,
                            ren=ren, ren_q=ren_q)
            self._day_rows[day] = rows
            if len(self._day_rows) > DAY_CACHE_SIZE:
                self._day_rows.popitem(last=False)
        else:
            self._day_rows.move_to_end(day)
        self._rows = rows
        self._obs_rows = rows.obs
        self._act_ren = rows.act_ren
        self._act_price = rows.act_price

    def on_layer_start(self, layer: Layer) -> None:
        if layer is Layer.INTRADAY:
            self.prev_th = self.plan_sp[0, self.lay.th].copy() if self.lay.n_th else None
        self._default_rows = self._default_operation(layer)

    def state_of_charge(self) -> FloatArray:
        return (self.soc_plan if self.layer is Layer.DAY_AHEAD else self.soc).copy()

    # ------------------------------------------------------------------ bounds
    def _data(self) -> tuple[SglsDay, int, float]:
        if self.layer is Layer.DAY_AHEAD:
            return self.da, self.step_index, 1.0
        return self.act, self.step_index, 0.25

    def step_bounds(self) -> tuple[FloatArray, FloatArray]:
        """Thermal capacity and ramp (eqs (6)–(7)), storage power within its SOC band (eqs
        (9)–(11), the formula of :func:`~gridbench.cases.projection.storage_power_bounds`)
        and capped so that the storage can still return to its initial SOC by midnight
        (:func:`~gridbench.cases.projection.storage_return_cap`, in both layers: the energy
        left at the end of the day equals the energy at its start or more, for every method
        alike), and flexible-load limits (:meth:`flex_bounds`), evaluated in Python floats
        with the operations of the array formulas (same numbers)."""
        spec, k = self.timeline.position(self.position)
        da = spec.layer is Layer.DAY_AHEAD
        data, dt = (self.da, 1.0) if da else (self.act, 0.25)
        s_low, s_high = self._static_box[spec.layer]
        low, high = s_low.tolist(), s_high.tolist()
        lay = self.lay
        prev = self.prev_th_plan if da else self.prev_th
        if prev is not None and lay.n_th:
            th_min, th_max, ramp = self._th
            for i, p in enumerate(prev.tolist()):  # np.maximum(a, b) is a if a > b else b
                v = p - ramp[i] * dt
                lo = th_min[i] if th_min[i] > v else v
                v = p + ramp[i] * dt
                hi = th_max[i] if th_max[i] < v else v
                low[i], high[i] = lo, (hi if hi > lo else lo)
        soc = self.soc_plan if da else self.soc
        o = lay.n_th
        after = (23 if da else N_STEPS - 1) - k  # steps left after this one
        for i, (s, s0, (e, pm, s_lo, s_hi, ec, ed, _, _)) in enumerate(
                zip(soc.tolist(), self._soc0, self._st, strict=True)):
            high[o + i] = _clip(((s - s_lo) * e * ed) / dt, 0.0, pm)
            low[o + i] = -_clip(((s_hi - s) * e) / (ec * dt), 0.0, pm)
            # the storage returns to its initial SOC by midnight (in the plan and executed)
            cap = storage_return_cap(s, s0, after, e, pm, dt, ec, ed)
            if cap < high[o + i]:
                high[o + i] = cap if cap > low[o + i] else low[o + i]
        bal = self.bal_plan if da else self.bal
        flo, fhi = self.flex_bounds(data, k, dt, bal)
        o = lay.n_th + lay.n_st
        low[o:], high[o:] = flo.tolist(), fhi.tolist()
        return np.array(low), np.array(high)

    def flex_bounds(self, data: SglsDay, k: int, dt: float,
                    bal: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Bounds of the flexible loads at step ``k`` of ``data`` given the shifted energy
        ``bal`` (MWh moved away so far, to be served later).

        A shift load inside its window may move at most its base demand either way, and only
        what the rest of the window can serve back (``rest``): ``max(−base, (−rest − bal)/dt)
        <= x <= min(base, (rest − bal)/dt)``. When the balance is exactly as large as the
        window can serve, rounding can leave ``low > high`` by ~1e-16; the load then moves
        the balance back at its own limit, ``clip(−bal/dt, −base, base)`` (it used to move
        it all at once, ``−bal/dt``: beyond ``base`` and, in the day-ahead layer, beyond the
        action box, where the projection raised).
        """
        base = data.flex_base_mw[k]
        low = np.zeros(self.lay.n_fl)
        high = base.copy()
        windows = self._inside.get((data.n_steps, dt))
        rows = self._rows
        known = rows is not None and (data is self.act or data is self.da)
        for j, f in enumerate(self.config.flexible):
            if f.kind != "shift":
                continue
            if windows is None:
                t = np.arange(data.n_steps) * dt
                inside = (t >= f.window_h[0]) & (t < f.window_h[1])
            else:
                inside = windows[j]
            if not inside[k]:
                low[j] = high[j] = 0.0
                continue
            if known and dt == (1.0 if data is self.da else 0.25):
                rest = rows.rest[data.n_steps][j][k]
            else:
                rest = _rest(data, j, k, dt, inside)
            low[j] = max(-base[j], (-rest - bal[j]) / dt)
            high[j] = min(base[j], (rest - bal[j]) / dt)
            if low[j] > high[j]:  # the window cannot absorb the balance (or rounding at
                # a tight bound): move it back as fast as the load allows
                low[j] = high[j] = min(max(-bal[j] / dt, -base[j]), base[j])
        return low, high

    # ------------------------------------------------------------------ physics
    def _injections(self, data: SglsDay, k: int, sp: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Net bus demand (load − injections), P and Q, at step ``k`` of ``data``."""
        lay = self.lay
        p = data.load_p_mw[k].copy()
        q = data.load_q_mvar[k].copy()
        fl = sp[lay.fl]
        known = self._ratio.get(id(data))
        if known is not None and known[0] is data:  # the day's rows, computed once
            pf_ratio = known[1][k]
        else:
            pf_ratio = np.divide(q, p, out=np.zeros_like(p), where=p > 1e-9)
        dl = fl @ self.fl_w  # demand removed per bus
        p -= dl
        q -= dl * pf_ratio
        tan = self.config.renewable_tan_phi  # absorbing: reactive demand
        if self._unique_buses:  # x[i] - v is x[i] + (-v): the same as np.add.at below
            rows = self._rows
            if rows is not None and (data is self.act or data is self.da):
                ren, ren_q = rows.ren[data.n_steps][k], rows.ren_q[data.n_steps][k]
            else:
                ren = np.append(data.pv_available_mw[k], data.wind_available_mw[k])
                ren_q = np.append(tan * data.pv_available_mw[k], tan * data.wind_available_mw[k])
            src = {"ren": ren, "st": sp[lay.st], "th": sp[lay.th]}
            for idx, names in self._p_batches:
                p[idx] -= src[names[0]] if len(names) == 1 else np.concatenate(
                    [src[n] for n in names])
            q[self._ren_bus] += ren_q
            return p, q
        np.add.at(p, self.pv_bus, -data.pv_available_mw[k])
        p[self.wind_bus] -= data.wind_available_mw[k]
        np.add.at(q, self.pv_bus, tan * data.pv_available_mw[k])
        q[self.wind_bus] += tan * data.wind_available_mw[k]
        np.add.at(p, self.st_bus, -sp[lay.st])
        if lay.n_th:
            np.add.at(p, self.th_bus, -sp[lay.th])
        return p, q

    def _flow(self, data: SglsDay, k: int, sp: FloatArray) -> tuple[float, float, dict]:
        """(tie import MW, losses MW, network extras) at step ``k`` of ``data``."""
        p, q = self._injections(data, k, sp)
        if self.radial:
            res = self.pf.solve(p, q)
            vm = np.abs(res.v[1:])  # = vm_pu[1:]
            tie = float(res.p_slack_mw)
            loss = float(res.loss_p_mw.sum())  # = total_loss_mw
            c = self.config
            v_min, v_max = float(vm.min()), float(vm.max())
            # Σ max(v_min − v, 0) + Σ max(v − v_max, 0) (np.clip(x, 0, None) is
            # np.maximum(x, 0)); a sum of zeros is 0.0 whenever the band holds
            under = np.maximum(c.v_min_pu - vm, 0).sum() if v_min < c.v_min_pu else 0.0
            over = np.maximum(vm - c.v_max_pu, 0).sum() if v_max > c.v_max_pu else 0.0
            return tie, loss, {"v_min": v_min, "v_max": v_max, "v_viol": float(under + over),
                               "line": 0.0}
        tie = float(p.sum())
        loading = np.abs(self.dc.flows_mw(-p)) / self.rate
        # Σ max(|f|/rate − 1, 0): 0.0 when no branch is above its rating
        line = float(np.maximum(loading - 1.0, 0.0).sum()) if loading.max() > 1.0 else 0.0
        return tie, 0.0, {"v_min": 1.0, "v_max": 1.0, "v_viol": 0.0, "line": line}

    def tie_line(self, data: SglsDay, setpoints: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``(tie-line import T_t (MW), losses L_t (MW))`` of every step of ``data`` with the
        setpoints ``(n_steps, dim)``: the referee's own power flow (:meth:`_flow`; IEEE 33 the
        radial AC flow, IEEE 30 the lossless DC balance), for formulations that must price
        the schedule ``T*`` and the executed flow exactly as the referee does."""
        sp = np.asarray(setpoints, dtype=np.float64)
        if sp.shape != (data.n_steps, self.lay.dim):
            raise ValueError(f"setpoints of shape {sp.shape}; expected "
                             f"{(data.n_steps, self.lay.dim)} for this day and layout")
        out = np.array([self._flow(data, k, sp[k])[:2] for k in range(data.n_steps)])
        return out[:, 0].copy(), out[:, 1].copy()

    def _advance_storage(self, soc: FloatArray, ps: FloatArray, dt: float) -> FloatArray:
        """SOC after ``dt`` h at powers ``ps`` (``> 0`` discharging):
        ``clip(SOC − dt·P_dis/(η_d E) + dt·η_c·P_ch/E, 0, 1)``."""
        out = []
        for s, p, (e, _, _, _, ec, ed, _, _) in zip(soc.tolist(), ps.tolist(), self._st,
                                                    strict=True):
            new = s - dt * _pos(p) / (ed * e) + dt * ec * _pos(-p) / e
            out.append(_clip(new, 0.0, 1.0))
        return np.array(out, dtype=np.float64)

    def _shift_balance(self, bal: FloatArray, fl: FloatArray, dt: float) -> FloatArray:
        """``bal + fl · dt · is_shift`` (MWh moved away so far)."""
        return np.array([b + x * dt * m for b, x, m in zip(
            bal.tolist(), fl.tolist(), self._fl_shift_f, strict=True)], dtype=np.float64)

    def penalty_usd(self, net: Mapping[str, float]) -> float:
        """The step's violation penalty in $ (``StepOutcome.penalty_usd``): λ of eq (26) per
        unit of voltage and line violation, in reward units of ``cost_scale`` $ (the price
        the fair reward charges)."""
        c = self.config
        return c.weights.violation * c.cost_scale * (net["v_viol"] + net["line"])

    def simulate(self, setpoints: FloatArray) -> StepOutcome:
        if self.layer is Layer.DAY_AHEAD:
            return self._plan_step(setpoints)
        return self._real_step(setpoints)

    def _plan_step(self, sp: FloatArray) -> StepOutcome:
        lay, h, c = self.lay, self.step_index, self.config
        tie, _, _ = self._flow(self.da, h, sp)
        self.soc_plan = self._advance_storage(self.soc_plan, sp[lay.st], 1.0)
        self.bal_plan = self._shift_balance(self.bal_plan, sp[lay.fl], 1.0)
        self.prev_th_plan = sp[lay.th].copy() if lay.n_th else None
        self.plan_sp[h] = sp
        self.plan_tie[h] = tie
        self.plan_soc[h + 1] = self.soc_plan
        cost = float(self.da.price_usd_per_mwh[h]
                     * (max(tie, 0.0) + c.export_price_factor * min(tie, 0.0)))
        prev = float(self.plan_tie[h - 1]) if h > 0 else tie
        terms = self.reward.plan(PlanSignals(cost, tie, prev))
        kpi = StepKPI(cost={"day_ahead_energy": cost}, soc=self.soc_plan, tie_line_mw=tie,
                      tie_line_ref_mw=tie)
        return StepOutcome(kpi=kpi, reward=float(sum(terms.values())), reward_terms=terms)

    def step_costs(self, sp: FloatArray, k: int, tie: float, loss: float,
                   dt: float = 0.25) -> dict[str, float]:
        """Cost terms ($) of intraday step ``k`` (module docstring)."""
        lay = self.lay
        price = (self._act_price[k] if hasattr(self, "_act_price")
                 else float(self.act.price_usd_per_mwh[k]))
        ref = float(self.plan_tie[k // 4])
        dev = tie - ref
        settle = price * dt * (self.config.imbalance_buy * max(dev, 0.0)
                               + self.config.imbalance_sell * min(dev, 0.0))
        loss_cost = price * loss * dt
        # Σ (a P² + b P + c) Δt (eq (2)); Σ (c_dis P_dis + c_ch P_ch) Δt (eq (3));
        # Σ cost_j |ΔL_j| Δt (eq (4))
        thermal = _npsum([(a * (x * x) + b * x + cc) * dt
                          for (a, b, cc), x in zip(self._abc, sp[lay.th].tolist(), strict=True)])
        storage = _npsum([(cd * _pos(x) + ch * _pos(-x)) * dt
                          for (_, _, _, _, _, _, ch, cd), x in zip(self._st, sp[lay.st].tolist(),
                                                                  strict=True)])
        flexible = _npsum([cost * abs(x) * dt
                           for cost, x in zip(self._fl_cost, sp[lay.fl].tolist(), strict=True)])
        return {
            "thermal": thermal,
            "storage": storage,
            "flexible_load": flexible,
            "imbalance": settle - loss_cost,
            "network_loss": loss_cost,
        }

    def _real_step(self, sp: FloatArray) -> StepOutcome:
        lay, k, c = self.lay, self.step_index, self.config
        h = k // 4
        tie, loss, net = self._flow(self.act, k, sp)
        self.soc = self._advance_storage(self.soc, sp[lay.st], 0.25)
        self.bal = self._shift_balance(self.bal, sp[lay.fl], 0.25)
        self.prev_th = sp[lay.th].copy() if lay.n_th else None
        self.prev_fl = sp[lay.fl].copy()
        self.prev_ren = self._act_ren[k]
        cost = self.step_costs(sp, k, tie, loss)
        ref = float(self.plan_tie[h])
        frac = (k % 4 + 1) / 4.0
        soc_now = self.soc.tolist()
        soc_ref_l = [a + frac * (b - a) for a, b in zip(self.plan_soc[h].tolist(),
                                                         self.plan_soc[h + 1].tolist(),
                                                         strict=True)]
        soc_ref = np.array(soc_ref_l)
        st_plan = self.plan_sp[h, lay.st]
        # players' payoffs (what each pays, $; see shapley.py): generation = thermal,
        # grid = tie-line settlement (incl. losses), load = flexible-load cost, storage
        self.payoff["generation"] += cost["thermal"]
        self.payoff["grid"] += cost["imbalance"] + cost["network_loss"]
        self.payoff["load"] += cost["flexible_load"]
        self.payoff["storage"] += cost["storage"]
        tracking = _npsum([abs(x - y) / pm for x, y, pm in zip(
            sp[lay.st].tolist(), st_plan.tolist(), self._st_p, strict=True)])
        soc_dev = _npsum([abs(x - y) for x, y in zip(soc_now, soc_ref_l, strict=True)])
        curtail = _npsum([_pos(x) * m / cb for x, m, cb in zip(
            sp[lay.fl].tolist(), self._fl_curt_f, self._curt_base, strict=True)])
        last = k == N_STEPS - 1
        share = last and (c.weights.cooperation > 0.0 or self.reward.needs_cooperation)
        coop = self.cooperation() if share else None
        terms = self.reward.execution(ExecutionSignals(
            sum(cost.values()), tie - ref, tracking, soc_dev, curtail,
            net["v_viol"] + net["line"],
            soc_correction=float(np.abs(self.soc - self.plan_soc[24]).sum()) if last else None,
            cooperation_gap_usd=(
                sum(abs(coop["payoff"][p] - coop["shapley"][p]) for p in PLAYERS)
                if coop is not None and self.reward.needs_cooperation else None),
        ))
        kpi = StepKPI(
            cost=cost,
            soc=self.soc,
            tie_line_mw=tie,
            tie_line_ref_mw=ref,
            v_min_pu=net["v_min"],
            v_max_pu=net["v_max"],
            voltage_violation_pu=net["v_viol"],
            line_overload=net["line"],
        )
        penalty = self.penalty_usd(net)
        self._extras[k] = {"soc_ref": soc_ref, "loss_mw": loss,
                       "storage_plan_mw": st_plan.copy(), "player_cost": dict(self.payoff)}
        if coop is not None:
            self._extras[k]["cooperation"] = coop
        return StepOutcome(kpi=kpi, reward=float(sum(terms.values())), reward_terms=terms,
                           penalty_usd=penalty)

    # -- the players as PettingZoo agents (make_parallel_env) ---------------------------------
    def acting_players(self) -> tuple[str, ...]:
        """The players that own setpoints: ``storage`` and ``load`` always, ``generation`` where
        the grid has thermal units (IEEE 30). ``grid`` owns none (the tie line is the slack:
        its flow follows from everyone's setpoints), nor does ``generation`` on IEEE 33
        (renewables are not curtailable): they are players of the game (payoffs, Shapley
        shares in ``info``) but not agents."""
        players = ["generation"] if self.lay.n_th else []
        return (*players, "load", "storage")

    def agent_roles(self) -> tuple[AgentRole, ...]:
        """One agent per acting player, owning its slice of the setpoints in both layers:
        ``generation`` the thermal units, ``storage`` the storages, ``load`` the flexible
        loads (module docstring's layout)."""
        slices = {"generation": self.lay.th, "storage": self.lay.st, "load": self.lay.fl}
        return tuple(AgentRole(p, slices[p]) for p in self.acting_players())

    def split_reward(self, record: CoreStep) -> dict[str, float]:
        """Each agent's part of the step's reward (the parts sum to the reward):

        * the ``cost`` term split by whose cost it is (``thermal`` → generation, ``storage`` →
          storage, ``flexible_load`` → load; the tie line's ``imbalance``, ``network_loss``
          and the day-ahead purchase → grid);
        * ``storage_tracking``, ``soc_deviation``, ``soc_correction`` → storage;
          ``curtailment`` → load;
        * ``cooperation`` → each player its own ``|π_i − φ_i|`` term;
        * what belongs to no agent (the grid's part, ``fluctuation``, ``tie_smoothing``,
          ``violation``: the network's, caused jointly) in equal shares to every agent.
        """
        agents = self.acting_players()
        terms = dict(record.reward_terms)
        parts = dict.fromkeys(PLAYERS, 0.0)
        cost_term = terms.pop("cost", 0.0)
        cost = record.kpi.cost
        total = sum(cost.values())
        owner = {"thermal": "generation", "storage": "storage", "flexible_load": "load"}
        for name, value in cost.items():
            share = value / total if total else (1.0 / len(cost) if cost else 0.0)
            parts[owner.get(name, "grid")] += cost_term * share
        for name, player in (("storage_tracking", "storage"), ("soc_deviation", "storage"),
                             ("soc_correction", "storage"), ("curtailment", "load")):
            parts[player] += terms.pop(name, 0.0)
        coop = terms.pop("cooperation", None)
        if coop is not None:
            shares = self.cooperation()
            gaps = {p: abs(shares["payoff"][p] - shares["shapley"][p]) for p in PLAYERS}
            whole = sum(gaps.values())
            for p in PLAYERS:
                parts[p] += coop * (gaps[p] / whole if whole else 1.0 / len(PLAYERS))
        shared = sum(terms.values()) + sum(v for p, v in parts.items() if p not in agents)
        return {a: parts[a] + shared / len(agents) for a in agents}

    def cooperation(self) -> dict[str, dict[str, float]]:
        """The day's Shapley shares ``φ_i`` (:func:`~.shapley.shapley_day`, 16 MILPs, cached
        per day) and the realized payoffs ``π_i = c_i(∅) − c_i`` so far (``c_grid`` includes
        the day-ahead purchase). Computed lazily: only the last step's reward needs it."""
        from gridbench.cases.sgls.shapley import shapley_day

        phi, default, v_all = shapley_day(self.config, self.day)
        da_cost = float(sum(r.kpi.cost.get("day_ahead_energy", 0.0)
                            for r in self.history(Layer.DAY_AHEAD)))
        realized = dict(self.payoff)
        realized["grid"] += da_cost
        payoff = {p: default[p] - realized[p] for p in PLAYERS}
        return {"shapley": dict(phi), "payoff": payoff, "default_cost": dict(default),
                "saving_all": {"v_N": float(v_all)}}

    def step_info(self, record: CoreStep) -> dict[str, Any]:
        info = super().step_info(record)
        if record.layer is Layer.INTRADAY and record.step in self._extras:
            info.update({k: (v.copy() if hasattr(v, "copy") else v)
                         for k, v in self._extras[record.step].items()})
        return info

    # ------------------------------------------------------------------ observation
    def _observe_vector(self, dummy: bool = False) -> FloatArray:
        """``[t/24 | loads (IEEE 30: per load bus; IEEE 33: total) | PV, wind | previous
        thermal setpoints | renewables (last step) | previous flexible setpoints | SOC
        (| IEEE 33: tie-line schedule, shifted energy)]``: :meth:`_observe_fast` on the step
        path, :meth:`_observe_array` for the dummy (before any day is loaded)."""
        return self._observe_array(dummy) if dummy else self._observe_fast()

    def _observe_array(self, dummy: bool = False) -> FloatArray:
        """The observation as array expressions (the reference :meth:`_observe_fast` equals,
        bit for bit; ``tests/test_sgls_referee_speed.py``)."""
        lay = self.lay
        if dummy:
            k, t_h, loads = 0, 0.0, np.zeros(self.grid.n_bus)
            pv = wind = ren = 0.0
            soc, prev_th, prev_fl = self.st_soc0, np.zeros(lay.n_th), np.zeros(lay.n_fl)
            extra = [0.0, 0.0]
        elif self.layer is Layer.DAY_AHEAD:
            k = min(self.step_index, 23)
            t_h = float(k)
            loads = self.da.load_p_mw[k]
            pv, wind = float(self.da.pv_available_mw[k].sum()), float(self.da.wind_available_mw[k])
            ren = pv + wind
            soc = self.soc_plan
            prev_th = self.prev_th_plan if self.prev_th_plan is not None else np.zeros(lay.n_th)
            prev_fl = self.plan_sp[k - 1, lay.fl] if k > 0 else np.zeros(lay.n_fl)
            extra = [float(self.plan_tie[k]), float(self.bal_plan.sum())]
        else:
            k = min(self.step_index, N_STEPS - 1)
            t_h = k * 0.25
            loads = self.now.load_p_mw[k]
            pv = float(self.now.pv_available_mw[k].sum())
            wind = float(self.now.wind_available_mw[k])
            ren = self.prev_ren
            soc = self.soc
            prev_th = self.prev_th if self.prev_th is not None else np.zeros(lay.n_th)
            prev_fl = self.prev_fl
            extra = [float(self.plan_tie[k // 4]), float(self.bal.sum())]
        load_part = loads[self.load_buses] if not self.radial else np.array([loads.sum()])
        parts = [np.array([t_h / 24.0]), load_part, np.array([pv, wind]), prev_th,
                 np.array([ren]), prev_fl, soc]
        if self.radial:  # IEEE 33: tie-line schedule and shifted energy (the paper fixes no MDP)
            parts.append(np.array(extra))
        return np.concatenate(parts).astype(np.float64)

    def _observe_fast(self) -> FloatArray:
        """:meth:`_observe_vector` from the day's rows prepared by :meth:`_prepare_day`."""
        lay = self.lay
        spec, step = self.timeline.position(self.position)
        if spec.layer is Layer.DAY_AHEAD:
            k = min(step, 23)
            t_h = float(k)
            loads, pvs, winds = self._obs_rows["da"]
            pv, wind = pvs[k], winds[k]
            ren = pv + wind
            soc = self.soc_plan
            prev_th = self.prev_th_plan.tolist() if self.prev_th_plan is not None else [
                0.0] * lay.n_th
            prev_fl = self.plan_sp[k - 1, lay.fl].tolist() if k > 0 else [0.0] * lay.n_fl
            extra = (float(self.plan_tie[k]), self.bal_plan)
        else:
            k = min(step, N_STEPS - 1)
            t_h = k * 0.25
            loads, pvs, winds = self._obs_rows["now"]
            pv, wind = pvs[k], winds[k]
            ren = self.prev_ren
            soc = self.soc
            prev_th = self.prev_th.tolist() if self.prev_th is not None else [0.0] * lay.n_th
            prev_fl = self.prev_fl.tolist()
            extra = (float(self.plan_tie[k // 4]), self.bal)
        vals = [t_h / 24.0, *loads[k].tolist(), pv, wind, *prev_th, ren, *prev_fl, *soc.tolist()]
        if self.radial:  # IEEE 33: tie-line schedule and shifted energy (the paper fixes no MDP)
            vals += [extra[0], _npsum(extra[1].tolist())]
        return np.array(vals, dtype=np.float64)

    def observe(self) -> FloatArray:
        return np.minimum(np.maximum(self._observe_vector(), self._obs_low), self._obs_high)

    def default_setpoints(self) -> FloatArray:
        """The case's default operation of the step about to be played
        (:meth:`_default_operation`'s row of the step, built when its layer started)."""
        return self._default_rows[self.step_index].copy()

    def _default_operation(self, layer: Layer) -> FloatArray:
        """The default operation of every step of ``layer``, ``(steps, dim)``, from what is
        known when the layer starts: the forecasts, and intraday the finished plan.
        Day-ahead hour ``h``: the thermal units follow the forecast net load ``N^da_h``
        (load − PV − wind) pro rata to capacity (:meth:`~.config.SglsConfig.default_thermal_mw`,
        the cooperative game's default of ``generation``), storage and flexible loads idle.
        Intraday step ``k`` of hour ``h``: the plan's setpoints of ``h`` executed, the thermal
        units taking up the nowcast's deviation ``N^now_k − N^da_h`` pro rata to capacity
        (:meth:`~.config.SglsConfig.following_thermal_mw`). Not projected: the step's box may
        cut it (e.g. a ramp, or an SOC the forecast error has moved)."""
        lay = self.lay
        net_da = (self.da.load_p_mw.sum(axis=1) - self.da.pv_available_mw.sum(axis=1)
                  - self.da.wind_available_mw)
        if layer is Layer.DAY_AHEAD:
            rows = np.tile(np.asarray(self.idle_action(), dtype=np.float64), (len(net_da), 1))
            if lay.n_th:
                rows[:, lay.th] = self.config.default_thermal_mw(net_da)
            return rows
        hours = np.arange(N_STEPS) // 4
        rows = self.plan_sp[hours].copy()
        if lay.n_th:
            net_now = (self.now.load_p_mw.sum(axis=1) - self.now.pv_available_mw.sum(axis=1)
                       - self.now.wind_available_mw)
            rows[:, lay.th] = self.config.following_thermal_mw(
                rows[:, lay.th], net_now - net_da[hours])
        return rows

    def observation_context(self) -> FloatArray:
        """``[tie-line flow of the last step played (MW; planned in the day-ahead layer) |
        the plan's tie-line flow for the step's hour | the plan's setpoints for that hour
        (thermal, storage, flexible) | the planned SOC at the end of the step]``, the plan
        entries 0 in the day-ahead layer (where the plan is being made): what the intraday
        layer is settled against (the ``imbalance`` term of the module docstring) and what
        the paper's observation leaves out (the protocol's "plan and planned SOC in the
        intraday observation", ``rl_agents/README.md``)."""
        lay = self.lay
        out = np.zeros(2 + lay.dim + lay.n_st)
        for layer in (Layer.INTRADAY, Layer.DAY_AHEAD):  # the last step played, if any
            played = self._history.get(layer)
            if played:
                out[0] = played[-1].kpi.tie_line_mw
                break
        spec, k = self.timeline.position(self.position)
        if spec.layer is Layer.INTRADAY:
            k = min(k, N_STEPS - 1)
            h, frac = k // 4, (k % 4 + 1) / 4.0
            out[1] = self.plan_tie[h]
            out[2:2 + lay.dim] = self.plan_sp[h]
            out[2 + lay.dim:] = self.plan_soc[h] + frac * (self.plan_soc[h + 1] - self.plan_soc[h])
        return out

    def _tie_limit_mw(self) -> float:
        """The largest tie-line flow the observation admits: nominal load (adjustable loads
        given by bus and peak included) + PV + wind + storage + flexible + thermal ratings."""
        c = self.config
        extra = np.array([f.peak_mw or 0.0 for f in c.flexible]) @ self.fl_w
        nominal = np.asarray(self.grid.load_p_mw, dtype=float) + extra
        return float(nominal.sum() + float(sum(c.pv_mw)) + float(c.wind_mw) + self.st_p.sum()
                     + self._flex_max.sum() + self.th_max.sum())

    def observation_context_bounds(self) -> tuple[FloatArray, FloatArray]:
        """Tie-line flows within ±:meth:`_tie_limit_mw`, setpoints within the union of both
        layers' static boxes, SOC in [0, 1]."""
        tie = self._tie_limit_mw()
        boxes = [self.action_bounds(layer) for layer in (Layer.DAY_AHEAD, Layer.INTRADAY)]
        sp_lo = np.minimum(*(np.asarray(b[0], dtype=float) for b in boxes))
        sp_hi = np.maximum(*(np.asarray(b[1], dtype=float) for b in boxes))
        sp_lo, sp_hi = np.minimum(sp_lo, 0.0), np.maximum(sp_hi, 0.0)  # 0 in the day-ahead
        n_st = self.lay.n_st
        low = np.concatenate([[-tie, -tie], sp_lo, np.zeros(n_st)])
        high = np.concatenate([[tie, tie], sp_hi, np.ones(n_st)])
        return low, high

    # ------------------------------------------------------------------ schedule export
    def schedule_rows(self, record: CoreStep) -> list[dict[str, Any]]:
        """Elements of executed (intraday) step ``record``: one ``load`` row per loaded bus
        (the actual demand, adjustable loads included); each flexible load ``j`` pro rata at
        its buses as in :meth:`_injections`, element ``flex{j}_bus{b}`` with
        ``p = x_j · w_jb`` (``x_j`` its setpoint, the demand removed; ``w_jb`` =
        ``flexible.weights`` of :meth:`schedule_parameters`) and ``q = p · Q_b/P_b`` (the
        bus load's power factor at the step); PV and wind (available output, absorbing
        ``tan φ · p``); thermal units and storages (setpoints, SOC after the step); the
        ``grid`` row (tie-line import ``T_k``). Day-ahead steps export no rows: the plan is
        in :meth:`schedule_parameters` (``day_ahead``)."""
        if record.layer is not Layer.INTRADAY:
            return []
        lay, k = self.lay, record.step
        sp = np.asarray(record.applied)
        rows: list[dict[str, Any]] = []
        p, q = self.act.load_p_mw[k], self.act.load_q_mvar[k]
        for b in np.flatnonzero(p > 0):
            rows.append({"element": f"load{b + 1}", "kind": "load", "bus": int(b + 1),
                         "p_mw": -float(p[b]), "q_mvar": -float(q[b])})
        ratio = np.divide(q, p, out=np.zeros_like(p), where=p > 1e-9)  # as _injections
        for j in range(lay.n_fl):
            x = float(sp[lay.fl][j])
            for b in np.flatnonzero(self.fl_w[j] > 0):
                p_jb = x * float(self.fl_w[j, b])
                rows.append({"element": f"flex{j}_bus{b + 1}", "kind": "flexible_load",
                             "bus": int(b + 1), "p_mw": p_jb,
                             "q_mvar": p_jb * float(ratio[b])})
        for i, b in enumerate(self.pv_bus):
            rows.append({"element": f"pv{i}", "kind": "pv", "bus": int(b + 1),
                         "p_mw": float(self.act.pv_available_mw[k, i]),
                         "q_mvar": -self.config.renewable_tan_phi
                         * float(self.act.pv_available_mw[k, i])})
        rows.append({"element": "wind", "kind": "wind", "bus": int(self.wind_bus + 1),
                     "p_mw": float(self.act.wind_available_mw[k]),
                     "q_mvar": -self.config.renewable_tan_phi
                     * float(self.act.wind_available_mw[k])})
        for i, b in enumerate(self.th_bus):
            rows.append({"element": f"thermal{i}", "kind": "thermal", "bus": int(b + 1),
                         "p_mw": float(sp[lay.th][i]), "q_mvar": 0.0})
        for i, b in enumerate(self.st_bus):
            rows.append({"element": f"storage{i}", "kind": "storage", "bus": int(b + 1),
                         "p_mw": float(sp[lay.st][i]), "q_mvar": 0.0,
                         "soc": float(record.kpi.soc[i])})
        q_tie = 0.0  # the DC model (IEEE 30) has no reactive power; IEEE 33 re-solves the flow
        if self.radial:
            q_tie = float(self.pf.solve(*self._injections(self.act, k, sp)).q_slack_mvar)
        rows.append({"element": "grid", "kind": "grid", "bus": 1,
                     "p_mw": float(record.kpi.tie_line_mw), "q_mvar": q_tie})
        return rows

    def schedule_parameters(self) -> dict[str, Any]:
        """The sidecar data of ``gridbench schedule``: with the CSV they give every cost term
        of the day (``cost_terms``, the module docstring's formulas), the plan and the network.

        ``series`` — per intraday step ``k`` the tariff ``λ_k`` and the imbalance prices
        ``imbalance_buy·λ_k`` / ``imbalance_sell·λ_k``; ``market`` — those factors and
        ``export_price_factor``; ``thermal`` (``a, b, c``: ``$/h = a P² + b P + c``),
        ``storage`` (efficiencies, capacity, SOC band, ``cost_charge``/``cost_discharge``
        $/MWh), ``flexible`` (``cost`` $/MWh, kind, window; ``buses``/``weights``/
        ``elements``: where its setpoint lies, the CSV rows ``flex{j}_bus{b}`` hold
        ``x_j·w_jb``), ``pv``/``wind``; ``network`` and ``grid`` (branch data, 1-based
        buses); ``day_ahead`` — the plan: per hour ``h`` the day-ahead tariff ``λ_h``, the
        forecast it was made on (per bus loads, PV per plant, wind), its setpoints, the
        schedule ``T*_h`` (``tie_line_mw``), the planned SOC (25 rows, row 0 the start) and
        what each hour committed (``purchase_usd`` = ``λ_h (max(T*_h, 0) + export_price_factor
        · min(T*_h, 0)) · 1 h``; ``cost_usd``: every cost term of the planning step)."""
        return {
            "step_hours": 0.25,
            "cost_terms": dict(_SCHEDULE_COST_TERMS),
            **self._schedule_prices(),
            **self._schedule_elements(),
            **self._schedule_network(),
            "day_ahead": self._schedule_day_ahead(),
        }

    def _schedule_prices(self) -> dict[str, Any]:
        """The sidecar's ``series`` (tariff and imbalance prices per intraday step), ``tariff``
        and ``market`` (the imbalance and export factors)."""
        c = self.config
        price = np.asarray(self.act.price_usd_per_mwh, dtype=float)
        return {
            "series": {
                "price_usd_per_mwh": price.tolist(),
                "imbalance_buy_usd_per_mwh": (c.imbalance_buy * price).tolist(),
                "imbalance_sell_usd_per_mwh": (c.imbalance_sell * price).tolist(),
            },
            "tariff": {"preset": c.tariff, "scale": c.tariff_scale,
                       "price_usd_per_mwh": price.tolist()},
            "market": {"imbalance_buy": c.imbalance_buy, "imbalance_sell": c.imbalance_sell,
                       "export_price_factor": c.export_price_factor},
        }

    def _schedule_elements(self) -> dict[str, Any]:
        """The sidecar's ``thermal``, ``storage``, ``flexible``, ``pv`` and ``wind`` (buses
        1-based, ratings, costs)."""
        c, lay = self.config, self.lay
        fl_buses = [(np.flatnonzero(w > 0) + 1).tolist() for w in self.fl_w]
        return {
            "thermal": {
                "elements": [f"thermal{i}" for i in range(lay.n_th)],
                "buses": (self.th_bus + 1).tolist(), "p_min_mw": self.th_min.tolist(),
                "p_max_mw": self.th_max.tolist(), "ramp_mw_per_h": self.th_ramp.tolist(),
                "a": self.th_abc[:, 0].tolist(), "b": self.th_abc[:, 1].tolist(),
                "c": self.th_abc[:, 2].tolist(),
            },
            "storage": {
                "elements": [f"storage{i}" for i in range(lay.n_st)],
                "buses": (self.st_bus + 1).tolist(), "p_max_mw": self.st_p.tolist(),
                "energy_mwh": self.st_e.tolist(), "soc_min": self.st_lo.tolist(),
                "soc_max": self.st_hi.tolist(), "soc_init": self.st_soc0.tolist(),
                "eta_charge": self.st_ec.tolist(), "eta_discharge": self.st_ed.tolist(),
                "cost_charge_usd_per_mwh": self.st_cc.tolist(),
                "cost_discharge_usd_per_mwh": self.st_cd.tolist(),
            },
            "flexible": {
                "kind": [f.kind for f in c.flexible],
                "cost_usd_per_mwh": self.fl_cost.tolist(),
                "window_h": [list(f.window_h) for f in c.flexible],
                "buses": fl_buses,
                "weights": [w[w > 0].tolist() for w in self.fl_w],
                "elements": [[f"flex{j}_bus{b}" for b in buses]
                             for j, buses in enumerate(fl_buses)],
            },
            "pv": {"elements": [f"pv{i}" for i in range(self.pv_bus.size)],
                   "buses": (self.pv_bus + 1).tolist(), "rated_mw": list(c.pv_mw)},
            "wind": {"element": "wind", "bus": int(self.wind_bus + 1), "rated_mw": c.wind_mw},
        }

    def _schedule_network(self) -> dict[str, Any]:
        """The sidecar's ``renewable_tan_phi``, ``network`` (model, voltage band) and ``grid``
        (branch data, 1-based buses)."""
        c, grid = self.config, self.grid
        return {
            "renewable_tan_phi": c.renewable_tan_phi,
            "network": {"model": "ac_radial" if self.radial else "dc_lossless",
                        "v_min_pu": c.v_min_pu, "v_max_pu": c.v_max_pu,
                        "v_slack_pu": c.v_slack_pu if self.radial else None},
            "grid": {
                "name": c.grid, "source": getattr(grid, "source", ""), "base_kv": grid.base_kv,
                "n_bus": grid.n_bus,
                "branches": {"from_bus": (grid.from_bus + 1).tolist(),
                             "to_bus": (grid.to_bus + 1).tolist(), "r_ohm": grid.r_ohm.tolist(),
                             "x_ohm": grid.x_ohm.tolist(), "rate_mva": grid.rate_mva.tolist()},
            },
        }

    def _schedule_day_ahead(self) -> dict[str, Any]:
        """The sidecar's ``day_ahead``: the plan's tariff, forecast, setpoints, schedule, SOC
        and what each hour committed (the day-ahead layer's steps)."""
        c, lay, da = self.config, self.lay, self.da
        plan = self.history(Layer.DAY_AHEAD)
        return {
            "step_hours": 1.0,
            "issued_h_before_midnight": c.day_ahead_lead_h,
            "price_usd_per_mwh": da.price_usd_per_mwh.tolist(),
            "forecast": {"load_p_mw": da.load_p_mw.tolist(),
                         "load_q_mvar": da.load_q_mvar.tolist(),
                         "load_total_mw": da.load_p_mw.sum(axis=1).tolist(),
                         "pv_mw": da.pv_available_mw.tolist(),
                         "wind_mw": da.wind_available_mw.tolist(),
                         "flex_base_mw": da.flex_base_mw.tolist()},
            "setpoints": {"thermal_mw": self.plan_sp[:, lay.th].tolist(),
                          "storage_mw": self.plan_sp[:, lay.st].tolist(),
                          "flexible_mw": self.plan_sp[:, lay.fl].tolist()},
            "tie_line_mw": self.plan_tie.tolist(),
            "soc": self.plan_soc.tolist(),
            "purchase_usd": [float(r.kpi.cost.get("day_ahead_energy", 0.0)) for r in plan],
            "cost_usd": [dict(r.kpi.cost) for r in plan],
        }
