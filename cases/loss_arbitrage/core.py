"""The referee physics of the loss-arbitrage case: :class:`LossArbitrageCore`.

One day = 24 hourly steps (``Timeline.single(24, 1.0)``). Each step:

1. **Action**: the grid-side power of the eight storages, batteries first (buses 13, 16, 31,
   32) then supercapacitors (9, 17, 29, 30), MW, ``p > 0`` discharges. The static box is the
   power rating; :meth:`LossArbitrageCore.step_bounds` narrows it (:func:`~.storage.
   power_bounds`) so that the available energy after the step stays in ``[F_min, F_max]``
   (paper: ``F^min ≤ F_a(t) ≤ F^max``, with ``F_a`` of (S1)–(S3) at the cell temperature
   at the start of the step) and the day's DC throughput within the cycle budget
   ``2·N_cyc·(F_max − F_min)`` (paper: at most one charge–discharge cycle a day, counted as
   equivalent full cycles of DC throughput). The paper's end-of-day condition (end energy =
   initial energy) is a hard constraint, enforced like the others by the projection: before
   the last step the box is narrowed to the setpoints after which ``E(0)`` is still
   reachable in the steps left (at most that many full-rating steps away, with the cycle
   budget to come back: :func:`~.storage.power_bounds`, a necessary condition, so it never
   cuts a plan that returns); at the **last step** the box collapses onto the setpoint that
   returns each cell to its initial energy, clipped into those limits; whatever is then
   still missing (the window or the budget got in the way) is charged at
   ``terminal_penalty_usd_per_mwh`` and reported as ``soc_violation``. How far an agent's
   action was moved is in ``info["projection"]``. So no action, NaN and ±inf included, ever
   takes ``F_a`` out of its window or a device past its budget.
2. **Storage**: (S1)–(S4) of :mod:`.storage` (energy with joule heat, available energy with the
   polarization term, cell temperature, throughput).
3. **Network**: net demand = load − storage setpoints (unity power factor), one AC power flow
   (:class:`~gridbench.cases.grid.RadialPowerFlow`); the losses ``L_t`` with storage. The
   losses without storage ``L⁰_t`` come from the same power flow on the same day's loads
   (computed once per day, ``day.base_loss_mw``, cached by the day).
4. **Accounting** (the paper's objective, revenue ``O = o_1 + o_2``, as a cost ``−O``):

   * ``loss_reduction`` = ``β_t·(L_t − L⁰_t)·Δt`` (``−o_1``: negative when storage reduces
     the losses);
   * ``arbitrage`` = ``−β_t·Σ_k p_k·Δt`` (``−o_2``);
   * ``terminal_energy`` = ``π·Σ_k |E_k(24) − E_k(0)|`` at the last step (0 before).

   The day's cost is ``−(o_1 + o_2)`` plus any terminal penalty; equivalently the feeder's
   import bill with storage minus without.

Reward (:class:`~gridbench.cases.reward.ScaledCostReward`, apart from the physics):
``−(cost + voltage penalty + line penalty) / reward.scale_usd``.

Observation (:data:`OBSERVATION_NAMES`, then per device ``soc``, ``available_frac``
(``F_a/E_cap`` after the previous step), ``cell_temp_c``, ``budget_frac`` (remaining cycle
budget / daily budget)): the load entries are the forecast issued at the step for the hour
about to be dispatched (lead 0), the rest is measured or published.

``info`` extras: ``energy_mwh``, ``available_mwh``, ``cell_temp_c``, ``budget_left_mwh``,
``cycles`` (equivalent full cycles so far), ``life_used`` (cycles / cycle life),
``losses_mw``, ``base_losses_mw``, ``loss_reduction_usd`` (o_1 of the step),
``arbitrage_usd`` (per device, o_2 of the step), ``branch_p_mw`` (sending-end active flow per
branch), ``pf_converged``. The reset ``info`` carries the state entries too.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numba import njit
from numpy.typing import NDArray

from gridbench.cases.kpi import StepKPI
from gridbench.cases.loss_arbitrage import storage
from gridbench.cases.loss_arbitrage.config import LossArbitrageConfig
from gridbench.cases.loss_arbitrage.day import (
    N_STEPS,
    STEP_HOURS,
    LossArbitrageDay,
    feeder,
    line_ratings_mva,
    loss_arbitrage_day,
    nowcast_day,
)
from gridbench.cases.referee import CoreStep, DispatchCore, Layer, StepOutcome, Timeline
from gridbench.cases.reward import ScaledCostReward

__all__ = ["COST_TERMS", "OBSERVATION_NAMES", "TIMELINE", "DayPair", "LossArbitrageCore"]

TIMELINE: Final[Timeline] = Timeline.single(N_STEPS, STEP_HOURS)
COST_TERMS: Final[tuple[str, ...]] = ("loss_reduction", "arbitrage", "terminal_energy")
OBSERVATION_NAMES: Final[tuple[str, ...]] = (
    "hour_fraction",
    "load_p_mw",
    "load_q_mvar",
    "price_usd_per_mwh",
    "peak",
    "ambient_c",
)
#: Per-device observation entries (after the head).
DEVICE_OBSERVATION_NAMES: Final[tuple[str, ...]] = (
    "soc",
    "available_frac",
    "cell_temp_c",
    "budget_frac",
)
_T_LOW, _T_HIGH = -60.0, 100.0

FloatArray = NDArray[np.float64]


@njit(cache=True)
def _network_kpis(v, p_from, q_from, loss_p, rating, v_lo, v_hi):  # pragma: no cover - compiled
    """``(v_min, v_max, Σ voltage violation, Σ overload above rating, Σ losses)`` of a flow
    (the sending-end apparent power against the rating)."""
    v_min, v_max, v_viol = math.inf, -math.inf, 0.0
    for i in range(v.shape[0]):
        m = abs(v[i])
        v_min = min(v_min, m)
        v_max = max(v_max, m)
        if m < v_lo:
            v_viol += v_lo - m
        elif m > v_hi:
            v_viol += m - v_hi
    overload, losses = 0.0, 0.0
    for k in range(p_from.shape[0]):
        s = math.sqrt(p_from[k] * p_from[k] + q_from[k] * q_from[k])
        if s > rating[k]:
            overload += s - rating[k]
        losses += loss_p[k]
    return v_min, v_max, v_viol, overload, losses


@dataclass(frozen=True, eq=False)
class DayPair:
    """The realized day (simulated) and the lead-0 forecasts (observed)."""

    actual: LossArbitrageDay
    nowcast: LossArbitrageDay


class LossArbitrageCore(DispatchCore):
    """Physics core of ``loss-arbitrage-ieee33-v0`` (see the module docstring).

    Args:
        config: the case's config.
        grid: a radial feeder replacing IEEE 33 (tests: a two-bus instance); its bus count
            must cover the device buses.
        day_source: ``day -> DayPair`` replacing the case's data (with ``grid``).
        line_rating_mva: branch ratings for ``grid`` (default: none, i.e. infinite).
        power_flow: builds the power-flow solver from the feeder (default
            :class:`~gridbench.cases.grid.RadialPowerFlow`).
    """

    def __init__(
        self,
        config: LossArbitrageConfig,
        *,
        grid: Any | None = None,
        day_source: Callable[[datetime.date], DayPair] | None = None,
        line_rating_mva: FloatArray | None = None,
        power_flow: Callable[[Any], Any] | None = None,
    ) -> None:
        from gridbench.cases.grid import RadialPowerFlow

        self.config = config
        #: The reward of the KPI terms (:mod:`gridbench.cases.reward`).
        self.reward = ScaledCostReward(config.reward.scale_usd)
        self.dev = config.devices()
        n = self.dev.n
        super().__init__(TIMELINE, action_dim=n)
        fd = feeder(config.network.v_slack_pu) if grid is None else grid
        if int(self.dev.bus_index.max()) >= fd.n_bus:
            raise ValueError(f"device buses {self.dev.buses} exceed the grid's {fd.n_bus} buses")
        self.grid = fd
        self._pf = (power_flow or RadialPowerFlow)(fd)
        if line_rating_mva is not None:
            self._ratings = np.asarray(line_rating_mva, dtype=float)
        elif grid is None:
            self._ratings = line_ratings_mva(config)
        else:
            self._ratings = np.full(fd.n_branch, np.inf)
        self._day_source = day_source or self._default_source
        inc = np.zeros((fd.n_bus, n))
        inc[self.dev.bus_index, np.arange(n)] = 1.0
        self._inc = inc
        self._p_max = self.dev.p_max.copy()
        self._alpha = np.exp(-STEP_HOURS / self.dev.tau_h)
        self._obs_low, self._obs_high = self._observation_limits(fd)
        self._obs_buf = np.zeros(self._obs_low.size)
        self._inv_budget = np.divide(
            1.0, self.dev.budget, out=np.zeros(n), where=self.dev.budget > 0
        )
        self._days: dict[datetime.date, DayPair] = {}
        self._data: DayPair | None = None
        self._reset_state()

    # ------------------------------------------------------------------ data
    def _default_source(self, day: datetime.date) -> DayPair:
        c = self.config
        return DayPair(loss_arbitrage_day(c, day), nowcast_day(c, day, c.forecast_seed))

    def _reset_state(self, ambient0: float = 20.0) -> None:
        dev = self.dev
        self.energy = dev.e_init.copy()
        self.available = dev.e_init.copy()
        self.cell_temp = np.full(dev.n, float(ambient0))
        self.budget_left = dev.budget.copy()
        self._extras: list[dict[str, Any]] = []
        self._peak_price = 0.0
        self._kappa = np.zeros(dev.n)
        self._kappa_step = -1

    def load_day(self, day: datetime.date, rng: np.random.Generator) -> None:
        pair = self._days.get(day)
        if pair is None:
            pair = self._day_source(day)
            self._days[day] = pair
        self._data = pair
        a = pair.actual
        self._reset_state(float(a.ambient_c[0]))
        self._price = np.asarray(a.price_usd_per_mwh, dtype=float)
        self._peak_price = float(self._price.max())
        self._obs_rows = np.stack(
            [pair.nowcast.load_p_mw.sum(axis=1), pair.nowcast.load_q_mvar.sum(axis=1)], axis=1
        )

    @property
    def data(self) -> LossArbitrageDay:
        """The realized day being simulated."""
        if self._data is None:
            raise RuntimeError("no day loaded; call reset(day, rng) first")
        return self._data.actual

    # ------------------------------------------------------------------ spaces
    def action_bounds(self, layer: Layer) -> tuple[FloatArray, FloatArray]:
        return -self._p_max.copy(), self._p_max.copy()

    def _observation_limits(self, fd: Any) -> tuple[FloatArray, FloatArray]:
        from gridbench.cases.data import tou_tariff

        p_nom = float(np.sum(fd.load_p_mw))
        q_nom = float(np.sum(np.abs(fd.load_q_mvar)))
        price_hi = float(np.max(tou_tariff(self.config.tariff).price(STEP_HOURS)))
        n = self.dev.n
        low = [0.0, 0.0, 0.0, 0.0, 0.0, _T_LOW] + [0.0, 0.0, _T_LOW, 0.0] * n
        high = [1.0, 2.0 * p_nom, 2.0 * q_nom + 1e-9, max(price_hi, 1e-9), 1.0, _T_HIGH]
        high += [1.0, 1.0, _T_HIGH, 1.0] * n
        return np.array(low), np.array(high)

    def observation_bounds(self) -> tuple[FloatArray, FloatArray]:
        return self._obs_low.copy(), self._obs_high.copy()

    def observe(self) -> FloatArray:
        if self._data is None:
            raise RuntimeError("no day loaded; call reset(day, rng) first")
        t = self.step_index
        a = self._data.actual
        price = float(self._price[t])
        head = [
            t / N_STEPS,
            float(self._obs_rows[t, 0]),
            float(self._obs_rows[t, 1]),
            price,
            1.0 if price >= self._peak_price else 0.0,
            float(a.ambient_c[t]),
        ]
        dev = self.dev
        obs = self._obs_buf
        obs[:6] = head
        per = obs[6:].reshape(dev.n, 4)
        per[:, 0] = self.energy / dev.e_cap
        per[:, 1] = self.available / dev.e_cap
        per[:, 2] = self.cell_temp
        per[:, 3] = self.budget_left * self._inv_budget
        # np.clip's wrapper costs more than the two ufuncs on this short vector
        return np.minimum(np.maximum(obs, self._obs_low), self._obs_high)  # a fresh array

    # ------------------------------------------------------------------ limits
    def kappa(self) -> FloatArray:
        """Polarization coefficient ``κ(T)`` (S2) at the current cell temperatures, h."""
        return storage.polarization_coeff(self.dev, self.cell_temp)

    def step_bounds(self) -> tuple[FloatArray, FloatArray]:
        """Rating ∩ available-energy window ∩ cycle budget ∩ the band from which E(0) stays
        reachable by the end of the day; the last step targets E(0)."""
        self._kappa, self._kappa_step = self.kappa(), self.position  # reused by simulate()
        return storage.power_bounds(
            self.dev,
            self.energy,
            self._kappa,
            self.budget_left,
            STEP_HOURS,
            self.dev.e_init,
            N_STEPS - 1 - self.step_index,
        )

    def state_of_charge(self) -> FloatArray:
        return self.energy / self.dev.e_cap

    # ------------------------------------------------------------------ physics
    def simulate(self, setpoints: FloatArray) -> StepOutcome:
        d = self._data
        if d is None:
            raise RuntimeError("no day loaded; call reset(day, rng) first")
        a = d.actual
        c, dev = self.config, self.dev
        t = self.step_index
        dt = STEP_HOURS
        p = setpoints
        kappa = self._kappa if self._kappa_step == self.position else self.kappa()
        price = float(self._price[t])
        rows = storage.advance_rows(
            dev, p, self.energy, kappa, self.cell_temp, self.budget_left,
            float(a.ambient_c[t]), self._alpha, dt, price,
        )  # fmt: skip
        e_next, avail, temp, budget, _heat, cycles, soc, arb = rows
        self.energy, self.available, self.cell_temp, self.budget_left = e_next, avail, temp, budget

        # network
        net_p = a.load_p_mw[t] - self._inc @ p
        flow = self._pf.solve(net_p, a.load_q_mvar[t])
        nw = c.network
        v_min, v_max, v_viol, overload, losses = _network_kpis(
            flow.v, flow.branch_p_from_mw, flow.branch_q_from_mvar, flow.loss_p_mw,
            self._ratings, nw.v_min_pu, nw.v_max_pu,
        )  # fmt: skip
        base = float(a.base_loss_mw[t])

        # accounting
        o1 = price * (base - losses) * dt
        o2 = float(arb.sum())
        terminal = 0.0
        soc_viol = 0.0
        if t == N_STEPS - 1:
            miss = np.abs(e_next - dev.e_init)
            terminal = c.terminal_penalty_usd_per_mwh * float(miss.sum())
            soc_viol = float((miss / dev.e_cap).sum())
            if soc_viol < 1e-9:  # float noise of the terminal projection
                soc_viol = 0.0
        cost = {"loss_reduction": -o1, "arbitrage": -o2, "terminal_energy": terminal}
        rw = c.reward
        penalties = {
            "voltage_penalty": rw.voltage_penalty_usd_per_pu_h * v_viol * dt,
            "line_penalty": rw.line_penalty_usd_per_mva_h * overload * dt,
        }
        reward, reward_terms = self.reward(cost, penalties)
        self._extras.append(
            {
                # fresh arrays of this step (never written again; step_info copies them)
                "energy_mwh": e_next,
                "available_mwh": avail,
                "cell_temp_c": temp,
                "budget_left_mwh": budget,
                "cycles": cycles,
                "life_used": cycles / dev.cycle_life,
                "losses_mw": losses,
                "base_losses_mw": base,
                "loss_reduction_usd": o1,
                "arbitrage_usd": arb,
                "branch_p_mw": flow.branch_p_from_mw,
                "pf_converged": bool(flow.converged),
            }
        )
        kpi = StepKPI(
            cost=cost,
            soc=soc,
            tie_line_mw=float(flow.p_slack_mw),
            tie_line_ref_mw=0.0,
            v_min_pu=v_min,
            v_max_pu=v_max,
            voltage_violation_pu=v_viol,
            soc_violation=soc_viol,
            line_overload=overload,
        )
        return StepOutcome(kpi=kpi, reward=reward, reward_terms=reward_terms,
                           penalty_usd=float(sum(penalties.values())))

    # ------------------------------------------------------------------ info
    def _state_info(self) -> dict[str, Any]:
        return {
            "energy_mwh": self.energy.copy(),
            "available_mwh": self.available.copy(),
            "cell_temp_c": self.cell_temp.copy(),
            "budget_left_mwh": self.budget_left.copy(),
        }

    def reset_info(self) -> dict[str, Any]:
        info = super().reset_info()
        info.update(self._state_info())
        return info

    def step_info(self, record: CoreStep) -> dict[str, Any]:
        info = super().step_info(record)
        extras = self._extras[record.step]
        for key, value in extras.items():
            info[key] = value.copy() if isinstance(value, np.ndarray) else value
        return info

    # ------------------------------------------------------------------ schedule export
    def schedule_rows(self, record: CoreStep) -> list[dict[str, Any]]:
        """Loads (one row per bus), the storages as executed (``soc`` after the step) and the
        substation's ``grid`` row, for ``gridbench schedule``."""
        a = self.data
        t = record.step
        rows: list[dict[str, Any]] = []
        for i in range(1, self.grid.n_bus):
            rows.append(
                {
                    "element": f"load_{i + 1}",
                    "kind": "load",
                    "bus": i + 1,
                    "p_mw": -float(a.load_p_mw[t, i]),
                    "q_mvar": -float(a.load_q_mvar[t, i]),
                }
            )
        applied = np.asarray(record.applied, dtype=float)
        soc = np.asarray(record.kpi.soc, dtype=float)
        for k, (kind, bus) in enumerate(zip(self.dev.kind, self.dev.buses, strict=True)):
            rows.append(
                {
                    "element": f"{kind}_{bus}",
                    "kind": "storage",
                    "bus": int(bus),
                    "p_mw": float(applied[k]),
                    "q_mvar": 0.0,
                    "soc": float(soc[k]),
                }
            )
        flow = self._pf.solve(a.load_p_mw[t] - self._inc @ applied, a.load_q_mvar[t])
        rows.append(
            {
                "element": "grid",
                "kind": "grid",
                "bus": 1,
                "p_mw": float(flow.p_slack_mw),
                "q_mvar": float(flow.q_slack_mvar),
            }
        )
        return rows

    def schedule_parameters(self) -> dict[str, Any]:
        """Prices, the losses without storage and every storage parameter of the day."""
        a = self.data
        dev = self.dev
        return {
            "step_hours": STEP_HOURS,
            "series": {
                "price_usd_per_mwh": np.asarray(a.price_usd_per_mwh).tolist(),
                "ambient_c": np.asarray(a.ambient_c).tolist(),
                "base_losses_mw": np.asarray(a.base_loss_mw).tolist(),
            },
            "storage": {
                "kind": list(dev.kind),
                "buses": list(dev.buses),
                "p_max_mw": dev.p_max.tolist(),
                "capacity_mwh": dev.e_cap.tolist(),
                "f_min_mwh": dev.f_min.tolist(),
                "f_max_mwh": dev.f_max.tolist(),
                "energy_init_mwh": dev.e_init.tolist(),
                "cycle_budget_mwh": dev.budget.tolist(),
            },
            "terminal_penalty_usd_per_mwh": self.config.terminal_penalty_usd_per_mwh,
            "network": {
                "v_slack_pu": self.config.network.v_slack_pu,
                "v_min_pu": self.config.network.v_min_pu,
                "v_max_pu": self.config.network.v_max_pu,
            },
            "cost_terms": {
                "loss_reduction": "sum_t price_t * (losses_t - base_losses_t) * dt (AC flow)",
                "arbitrage": "-sum_t price_t * sum_k p_k,t * dt",
                "terminal_energy": "penalty * sum_k |E_k(24) - E_k(0)|",
            },
        }
