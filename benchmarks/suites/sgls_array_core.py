"""The SGLS referee step as it was written before it was made fast: array expressions per step.

:class:`ArrayCore` is :class:`~gridbench.cases.sgls.core.SglsCore` with its step path (bounds,
injections, power flow, storage, costs, reward, observation) replaced by the straightforward
numpy version — every quantity a fresh array expression evaluated at every step, the day's
derived rows recomputed per step, ``storage_power_bounds`` and ``np.add.at`` — i.e. the code of
``cases/sgls/core.py`` before the per-step work was moved to Python floats and per-day rows
(same physics, same numbers, bit for bit). Both carry the same fix of the flexible-load
fallback at an exactly tight shift window (:meth:`ArrayCore.flex_bounds`: the balance is moved
back at most at the load's base rate; it used to be moved back all at once, beyond the
load's limit and, in the day-ahead layer, beyond the action box, which raised).

A benchmark reference, kept beside its suite and not shipped in the package. Two users:
``benchmarks/suites/test_sgls.py::test_referee_step`` times both cores (this one is the
reference of the ratio; pytest puts this folder on the import path), and
``tests/test_sgls_referee_speed.py`` (which loads this file by its path) checks that both give
bit-identical observations, rewards and infos.
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np

from gridbench.cases.kpi import StepKPI
from gridbench.cases.projection import storage_power_bounds, storage_return_cap
from gridbench.cases.referee import Layer, StepOutcome
from gridbench.cases.sgls.core import PLAYERS, FloatArray, SglsCore
from gridbench.cases.sgls.day import N_STEPS, SglsDay, nowcast, sgls_day

__all__ = ["ArrayCore"]


class ArrayCore(SglsCore):
    """:class:`SglsCore` with the per-step array implementation (module docstring)."""

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
        after = (23 if da else N_STEPS - 1) - k
        for i in range(lay.n_st):  # the end-of-day return (SglsCore.step_bounds)
            cap = storage_return_cap(float(soc[i]), float(self.st_soc0[i]), after,
                                     float(self.st_e[i]), float(self.st_p[i]), dt,
                                     float(self.st_ec[i]), float(self.st_ed[i]))
            if cap < hi[i]:
                hi[i] = max(cap, lo[i])
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
            if low[j] > high[j]:  # as SglsCore.flex_bounds (was: -bal/dt, beyond the base)
                low[j] = high[j] = min(max(-bal[j] / dt, -base[j]), base[j])
        return low, high

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
        np.add.at(p, self.pv_bus, -data.pv_available_mw[k])
        p[self.wind_bus] -= data.wind_available_mw[k]
        tan = self.config.renewable_tan_phi  # absorbing: reactive demand
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

    def _plan_step(self, sp: FloatArray) -> StepOutcome:
        lay, h, c = self.lay, self.step_index, self.config
        tie, _, _ = self._flow(self.da, h, sp)
        self.soc_plan = self._advance_storage(self.soc_plan, sp[lay.st], 1.0)
        self.bal_plan = self.bal_plan + sp[lay.fl] * 1.0 * self.fl_shift
        self.prev_th_plan = sp[lay.th].copy() if lay.n_th else None
        self.plan_sp[h] = sp
        self.plan_tie[h] = tie
        self.plan_soc[h + 1] = self.soc_plan
        cost = float(self.da.price_usd_per_mwh[h]
                     * (max(tie, 0.0) + c.export_price_factor * min(tie, 0.0)))
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
        price = float(self.act.price_usd_per_mwh[k])
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
        return StepOutcome(kpi=kpi, reward=float(sum(terms.values())), reward_terms=terms,
                           penalty_usd=self.penalty_usd(net))

    def _observe_vector(self, dummy: bool = False) -> FloatArray:
        return self._observe_array(dummy)
