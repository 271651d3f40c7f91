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
capacity and ramp over 15 min, storage power and SOC band, flexible-load limits), then the
actual loads and renewables go through the power flow. Cost terms ($, eqs (1)–(4) plus the
tie-line settlement):

* ``thermal`` — ``Σ_g (a P² + b P + c) Δt`` (eq (2), exact quadratic);
* ``storage`` — ``Σ_s (c_ch P_ch + c_dis P_dis) Δt`` (eq (3));
* ``flexible_load`` — ``Σ_j cost_j |ΔL_j| Δt`` (eq (4));
* ``network_loss`` — ``λ_t · loss_t · Δt`` (the value of the losses; 0 on the DC model);
* ``imbalance`` — two-price settlement of the deviation ``T_t − T*_h`` from the schedule
  (bought at ``imbalance_buy · λ``, sold at ``imbalance_sell · λ``) minus ``network_loss``,
  so that day-ahead purchase + imbalance + network loss is exactly what the tie line costs.

"procurement" (Table 3) = ``day_ahead_energy + imbalance``; "day-ahead cost" (Table 6) =
``day_ahead_energy``; "intraday cost" = the rest. KPI ``tie_line_ref_mw`` = ``T*_h``; step
``info["soc_ref"]`` = the planned SOC at the end of the step (linear within the hour), which the
harness uses for ``soc_dev_max``; extra keys ``loss_mw``, ``storage_plan_mw``, ``player_cost``
(each player's own costs so far) and, on the last step, ``cooperation`` (Shapley shares,
realized payoffs, default costs; :meth:`SglsCore.cooperation`).

Reward (eqs (22)–(26), weights ``config.weights`` from Tables 2 / 5), per step:
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
from functools import cached_property
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.kpi import StepKPI
from gridbench.cases.projection import storage_power_bounds
from gridbench.cases.referee import CoreStep, DispatchCore, Layer, StepOutcome, Timeline
from gridbench.cases.sgls.config import SglsConfig
from gridbench.cases.sgls.day import N_STEPS, SglsDay, flex_weights, nowcast, sgls_day

__all__ = ["PLAYERS", "TIMELINE", "Layout", "SglsCore", "layout"]

TIMELINE: Final[Timeline] = Timeline.two_layer(day_ahead=(24, 1.0), intraday=(96, 0.25))
#: The cooperative game's players (§3): generation, grid, load, storage.
PLAYERS: Final[tuple[str, ...]] = ("generation", "grid", "load", "storage")
FloatArray = NDArray[np.float64]


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
        self._obs_len = len(self._observe_vector(dummy=True))

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
        n = self._obs_len
        lo, hi = np.full(n, -1e4), np.full(n, 1e4)
        return lo, hi

    # ------------------------------------------------------------------ day
    def load_day(self, day: datetime.date, rng: np.random.Generator) -> None:
        c = self.config
        self.act = sgls_day(c, day)
        self.now = nowcast(c, day, c.forecast_seed)
        self.da = sgls_day(c, day, info="forecast", seed=c.forecast_seed,
                           lead_offset_h=c.day_ahead_lead_h).hourly()
        lay = self.lay
        # plan state
        self.soc_plan = self.st_soc0.copy()
        self.bal_plan = np.zeros(lay.n_fl)
        self.prev_th_plan: FloatArray | None = None
        self.plan_sp = np.zeros((24, lay.dim))
        self.plan_tie = self._idle_tie_plan()
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

    def _idle_tie_plan(self) -> FloatArray:
        return np.array([self._flow(self.da, h, np.zeros(self.lay.dim))[0] for h in range(24)])

    def on_layer_start(self, layer: Layer) -> None:
        if layer is Layer.INTRADAY:
            self.prev_th = self.plan_sp[0, self.lay.th].copy() if self.lay.n_th else None

    def state_of_charge(self) -> FloatArray:
        return (self.soc_plan if self.layer is Layer.DAY_AHEAD else self.soc).copy()

    # ------------------------------------------------------------------ bounds
    def _data(self) -> tuple[SglsDay, int, float]:
        if self.layer is Layer.DAY_AHEAD:
            return self.da, self.step_index, 1.0
        return self.act, self.step_index, 0.25

    def step_bounds(self) -> tuple[FloatArray, FloatArray]:
        lay = self.lay
        data, k, dt = self._data()
        da = self.layer is Layer.DAY_AHEAD
        low, high = self.action_bounds(self.layer)
        prev = self.prev_th_plan if da else self.prev_th
        if prev is not None and lay.n_th:
            low[lay.th] = np.maximum(self.th_min, prev - self.th_ramp * dt)
            high[lay.th] = np.minimum(self.th_max, prev + self.th_ramp * dt)
            high[lay.th] = np.maximum(high[lay.th], low[lay.th])
        soc = self.soc_plan if da else self.soc
        lo, hi = storage_power_bounds(soc, self.st_e, self.st_p, dt, soc_min=self.st_lo,
                                      soc_max=self.st_hi, eta_charge=self.st_ec,
                                      eta_discharge=self.st_ed)
        low[lay.st], high[lay.st] = lo, hi
        bal = self.bal_plan if da else self.bal
        flo, fhi = self.flex_bounds(data, k, dt, bal)
        low[lay.fl], high[lay.fl] = flo, fhi
        return low, high

    def flex_bounds(self, data: SglsDay, k: int, dt: float,
                    bal: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Bounds of the flexible loads at step ``k`` of ``data`` given the shifted energy
        ``bal`` (MWh moved away so far, to be served later)."""
        base = data.flex_base_mw[k]
        low = np.zeros(self.lay.n_fl)
        high = base.copy()
        for j, f in enumerate(self.config.flexible):
            if f.kind != "shift":
                continue
            t = np.arange(data.n_steps) * dt
            inside = (t >= f.window_h[0]) & (t < f.window_h[1])
            if not inside[k]:
                low[j] = high[j] = 0.0
                continue
            rest = float(data.flex_base_mw[k + 1:, j][inside[k + 1:]].sum() * dt)
            low[j] = max(-base[j], (-rest - bal[j]) / dt)
            high[j] = min(base[j], (rest - bal[j]) / dt)
            if low[j] > high[j]:  # numerical: serve the balance
                low[j] = high[j] = -bal[j] / dt
        return low, high

    # ------------------------------------------------------------------ physics
    def _injections(self, data: SglsDay, k: int, sp: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Net bus demand (load − injections), P and Q, at step ``k`` of ``data``."""
        lay = self.lay
        p = data.load_p_mw[k].copy()
        q = data.load_q_mvar[k].copy()
        fl = sp[lay.fl]
        pf_ratio = np.divide(q, p, out=np.zeros_like(p), where=p > 1e-9)
        dl = fl @ self.fl_w  # demand removed per bus
        p -= dl
        q -= dl * pf_ratio
        np.add.at(p, self.pv_bus, -data.pv_mw[k])
        p[self.wind_bus] -= data.wind_mw[k]
        tan = self.config.renewable_tan_phi  # absorbing: reactive demand
        np.add.at(q, self.pv_bus, tan * data.pv_mw[k])
        q[self.wind_bus] += tan * data.wind_mw[k]
        np.add.at(p, self.st_bus, -sp[lay.st])
        if lay.n_th:
            np.add.at(p, self.th_bus, -sp[lay.th])
        return p, q

    def _flow(self, data: SglsDay, k: int, sp: FloatArray) -> tuple[float, float, dict]:
        """(tie import MW, losses MW, network extras) at step ``k`` of ``data``."""
        p, q = self._injections(data, k, sp)
        if self.radial:
            res = self.pf.solve(p, q)
            vm = res.vm_pu[1:] if res.vm_pu.ndim == 1 else res.vm_pu[0, 1:]
            tie = float(np.asarray(res.p_slack_mw).reshape(-1)[0])
            loss = float(np.asarray(res.total_loss_mw).reshape(-1)[0])
            c = self.config
            viol = float(np.clip(c.v_min_pu - vm, 0, None).sum()
                         + np.clip(vm - c.v_max_pu, 0, None).sum())
            return tie, loss, {"v_min": float(vm.min()), "v_max": float(vm.max()),
                               "v_viol": viol, "line": 0.0}
        tie = float(p.sum())
        flows = self.dc.flows_mw(-p)
        over = np.clip(np.abs(flows) / self.rate - 1.0, 0.0, None)
        return tie, 0.0, {"v_min": 1.0, "v_max": 1.0, "v_viol": 0.0, "line": float(over.sum())}

    def _advance_storage(self, soc: FloatArray, ps: FloatArray, dt: float) -> FloatArray:
        dis = np.clip(ps, 0, None)
        ch = np.clip(-ps, 0, None)
        new = soc - dt * dis / (self.st_ed * self.st_e) + dt * self.st_ec * ch / self.st_e
        return np.clip(new, 0.0, 1.0)

    def simulate(self, setpoints: FloatArray) -> StepOutcome:
        if self.layer is Layer.DAY_AHEAD:
            return self._plan_step(setpoints)
        return self._real_step(setpoints)

    def _plan_step(self, sp: FloatArray) -> StepOutcome:
        lay, h, c = self.lay, self.step_index, self.config
        tie, _, _ = self._flow(self.da, h, sp)
        self.soc_plan = self._advance_storage(self.soc_plan, sp[lay.st], 1.0)
        self.bal_plan = self.bal_plan + sp[lay.fl] * 1.0 * self.fl_shift
        self.prev_th_plan = sp[lay.th].copy() if lay.n_th else None
        self.plan_sp[h] = sp
        self.plan_tie[h] = tie
        self.plan_soc[h + 1] = self.soc_plan
        cost = float(self.da.price[h] * (max(tie, 0.0) + c.export_price_factor * min(tie, 0.0)))
        w = c.weights
        terms = {
            "cost": -w.cost * cost / (4 * c.cost_scale),
            "tie_smoothing": -w.tie_smoothing * (
                (tie - (self.plan_tie[h - 1] if h > 0 else tie)) / c.tie_scale_mw) ** 2,
        }
        kpi = StepKPI(cost={"day_ahead_energy": cost}, soc=self.soc_plan, tie_line_mw=tie,
                      tie_line_ref_mw=tie)
        return StepOutcome(kpi=kpi, reward=float(sum(terms.values())), reward_terms=terms)

    def step_costs(self, sp: FloatArray, k: int, tie: float, loss: float,
                   dt: float = 0.25) -> dict[str, float]:
        """Cost terms ($) of intraday step ``k`` (module docstring)."""
        lay = self.lay
        th = sp[lay.th]
        ps = sp[lay.st]
        fl = sp[lay.fl]
        price = float(self.act.price[k])
        ref = float(self.plan_tie[k // 4])
        dev = tie - ref
        settle = price * dt * (self.config.imbalance_buy * max(dev, 0.0)
                               + self.config.imbalance_sell * min(dev, 0.0))
        loss_cost = price * loss * dt
        a, b, cc = (self.th_abc[:, 0], self.th_abc[:, 1], self.th_abc[:, 2])
        return {
            "thermal": float(((a * th**2 + b * th + cc) * dt).sum()),
            "storage": float(((self.st_cd * np.clip(ps, 0, None)
                               + self.st_cc * np.clip(-ps, 0, None)) * dt).sum()),
            "flexible_load": float((self.fl_cost * np.abs(fl) * dt).sum()),
            "imbalance": settle - loss_cost,
            "network_loss": loss_cost,
        }

    def _real_step(self, sp: FloatArray) -> StepOutcome:
        lay, k, c = self.lay, self.step_index, self.config
        h = k // 4
        tie, loss, net = self._flow(self.act, k, sp)
        self.soc = self._advance_storage(self.soc, sp[lay.st], 0.25)
        self.bal = self.bal + sp[lay.fl] * 0.25 * self.fl_shift
        self.prev_th = sp[lay.th].copy() if lay.n_th else None
        self.prev_fl = sp[lay.fl].copy()
        self.prev_ren = float(self.act.renewable_mw[k])
        cost = self.step_costs(sp, k, tie, loss)
        ref = float(self.plan_tie[h])
        frac = (k % 4 + 1) / 4.0
        soc_ref = self.plan_soc[h] + frac * (self.plan_soc[h + 1] - self.plan_soc[h])
        st_plan = self.plan_sp[h, lay.st]
        # players' payoffs (what each pays, $; see shapley.py): generation = thermal,
        # grid = tie-line settlement (incl. losses), load = flexible-load cost, storage
        self.payoff["generation"] += cost["thermal"]
        self.payoff["grid"] += cost["imbalance"] + cost["network_loss"]
        self.payoff["load"] += cost["flexible_load"]
        self.payoff["storage"] += cost["storage"]
        w = c.weights
        total = sum(cost.values())
        curt_base = np.maximum(self._flex_max, 1e-9)
        terms = {
            "cost": -w.cost * total / c.cost_scale,
            "fluctuation": -w.fluctuation * ((tie - ref) / c.tie_scale_mw) ** 2,
            "storage_tracking": -w.storage_tracking * float(
                (np.abs(sp[lay.st] - st_plan) / self.st_p).sum()),
            "soc_deviation": -w.soc_deviation * float(np.abs(self.soc - soc_ref).sum()),
            "curtailment": -w.curtailment * float(
                (np.clip(sp[lay.fl], 0, None) * ~self.fl_shift / curt_base).sum()),
            "violation": -w.violation * (net["v_viol"] + net["line"]),
        }
        if k == N_STEPS - 1:
            terms["soc_correction"] = -w.soc_correction * float(
                np.abs(self.soc - self.plan_soc[24]).sum())
            if w.cooperation > 0.0:
                coop = self.cooperation()
                terms["cooperation"] = -w.cooperation * sum(
                    abs(coop["payoff"][p] - coop["shapley"][p]) for p in PLAYERS) / c.cost_scale
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
        self._extras[k] = {"soc_ref": soc_ref.copy(), "loss_mw": loss,
                       "storage_plan_mw": st_plan.copy(), "player_cost": dict(self.payoff)}
        if k == N_STEPS - 1 and w.cooperation > 0.0:
            self._extras[k]["cooperation"] = coop
        return StepOutcome(kpi=kpi, reward=float(sum(terms.values())), reward_terms=terms)

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
            pv, wind = float(self.da.pv_mw[k].sum()), float(self.da.wind_mw[k])
            ren = pv + wind
            soc = self.soc_plan
            prev_th = self.prev_th_plan if self.prev_th_plan is not None else np.zeros(lay.n_th)
            prev_fl = self.plan_sp[k - 1, lay.fl] if k > 0 else np.zeros(lay.n_fl)
            extra = [float(self.plan_tie[k]), float(self.bal_plan.sum())]
        else:
            k = min(self.step_index, N_STEPS - 1)
            t_h = k * 0.25
            loads = self.now.load_p_mw[k]
            pv, wind = float(self.now.pv_mw[k].sum()), float(self.now.wind_mw[k])
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

    def observe(self) -> FloatArray:
        return np.clip(self._observe_vector(), -1e4, 1e4)

    # ------------------------------------------------------------------ schedule export
    def schedule_rows(self, record: CoreStep) -> list[dict[str, Any]]:
        if record.layer is not Layer.INTRADAY:
            return []
        lay, k = self.lay, record.step
        sp = np.asarray(record.applied)
        rows: list[dict[str, Any]] = []
        p, q = self.act.load_p_mw[k], self.act.load_q_mvar[k]
        for b in np.flatnonzero(p > 0):
            rows.append({"element": f"load{b + 1}", "kind": "load", "bus": int(b + 1),
                         "p_mw": -float(p[b]), "q_mvar": -float(q[b])})
        for j in range(lay.n_fl):
            rows.append({"element": f"flex{j}", "kind": "flexible_load", "bus": int(
                np.argmax(self.fl_w[j]) + 1), "p_mw": float(sp[lay.fl][j]), "q_mvar": 0.0})
        for i, b in enumerate(self.pv_bus):
            rows.append({"element": f"pv{i}", "kind": "pv", "bus": int(b + 1),
                         "p_mw": float(self.act.pv_mw[k, i]),
                         "q_mvar": -self.config.renewable_tan_phi * float(self.act.pv_mw[k, i])})
        rows.append({"element": "wind", "kind": "wind", "bus": int(self.wind_bus + 1),
                     "p_mw": float(self.act.wind_mw[k]),
                     "q_mvar": -self.config.renewable_tan_phi * float(self.act.wind_mw[k])})
        for i, b in enumerate(self.th_bus):
            rows.append({"element": f"thermal{i}", "kind": "thermal", "bus": int(b + 1),
                         "p_mw": float(sp[lay.th][i]), "q_mvar": 0.0})
        for i, b in enumerate(self.st_bus):
            rows.append({"element": f"storage{i}", "kind": "storage", "bus": int(b + 1),
                         "p_mw": float(sp[lay.st][i]), "q_mvar": 0.0,
                         "soc": float(record.kpi.soc[i])})
        rows.append({"element": "grid", "kind": "grid", "bus": 1,
                     "p_mw": float(record.kpi.tie_line_mw), "q_mvar": 0.0})
        return rows
