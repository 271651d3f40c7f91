"""The loss-arbitrage schedule as a convex SOCP: branch flow (DistFlow) with the Farivar–Low
relaxation and the storage model (S1)–(S3) of :mod:`.storage`, in cvxpy/Clarabel, built from
the same :class:`~.config.LossArbitrageConfig` and :class:`~.day.LossArbitrageDay` the referee
simulates.

Indices: slot ``k = 0 … H−1`` (day step ``t0 + k``), branch ``ij`` feeding bus ``j``, device
``s``; per unit on 1 MVA (pu power = MW), ``z_pu = z_ohm / base_kv²``.

Variables: branch flows ``P, Q``, squared currents ``ℓ``, squared voltages ``v``; per device
DC charge/discharge powers ``x^ch, x^dis ≥ 0`` (no binaries), joule heat ``J ≥ 0`` and cell
energy ``E`` (``H + 1`` rows).

Objective (the referee's cost, i.e. minus the paper's revenue ``O = o_1 + o_2``)::

    min Σ_k β_k·(Σ_ij r_ij·ℓ_ij,k − L⁰_k)·Δt − Σ_k β_k·Σ_s p_s,k·Δt
    with p_s,k = η_d·x^dis − x^ch/η_c  (grid side)

Constraints:

* power balance at every bus (the paper's power-flow equations in branch-flow form)::

      P_ij − r_ij·ℓ_ij − Σ_jk P_jk = P_j^L − Σ_{s@j} p_s,     Q_ij − x_ij·ℓ_ij − Σ_jk Q_jk = Q_j^L

* voltage drop ``v_j = v_i − 2(r P + x Q) + |z|²ℓ``, ``v_1 = V_slack²``, band
  ``V_min² ≤ v ≤ V_max²``; cone ``ℓ_ij·v_i ≥ P_ij² + Q_ij²`` (relaxed; the gap is reported);
  line ratings as one cone on the midpoint flow of each branch that can reach its rating;
* storage (S1) relaxed to a cone: ``J ≥ ρ·((x^ch)² + (x^dis)²)``,
  ``E_{k+1} = E_k − (x^dis − x^ch)·Δt − J·Δt`` (exact when ``J`` is tight and charge and
  discharge do not overlap; both gaps are reported);
* available energy (S3): ``F_min ≤ E_{k+1} − κ_k·(x^dis − x^ch) ≤ F_max`` with ``κ_k`` the
  polarization coefficient at the cell temperature expected at slot ``k`` (a parameter: the
  temperature-dependent terms are known ahead);
* ratings ``x^ch ≤ η_c·P_max``, ``x^dis ≤ P_max/η_d``;
* cycle limit as a throughput bound: ``Σ_k (x^ch + x^dis)·Δt ≤ budget`` (the referee's count);
* end energy = the day's initial energy: ``E_H = E^day0``.

Everything that changes between solves (loads, prices, ``L⁰``, κ, initial energies, budgets,
which slots are active) is a :class:`cvxpy.Parameter`; the problem is DPP, so an MPC compiles
once and re-solves by refilling the parameters. A horizon past the end of the day is padded
with inactive slots (zero loads, prices and device limits), so ``E_H`` is the energy at
midnight for every ``t0``.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridbench.cases.loss_arbitrage import storage
from gridbench.cases.loss_arbitrage.config import LossArbitrageConfig
from gridbench.cases.loss_arbitrage.day import N_STEPS, STEP_HOURS, LossArbitrageDay

if TYPE_CHECKING:
    import cvxpy as cp

__all__ = [
    "LossArbitrageFormulation",
    "Plan",
    "SolveResult",
    "SolveStatus",
    "define_available_energy_constraints",
    "define_branch_flow_cone_constraints",
    "define_cycle_constraints",
    "define_line_limit_constraints",
    "define_nodal_balance_constraints",
    "define_storage_energy_constraints",
    "define_voltage_constraints",
    "idle_temperatures",
    "plan_temperatures",
]

logger = logging.getLogger(__name__)
FloatArray = NDArray[np.float64]

_CLARABEL_DEFAULTS: Final[dict[str, Any]] = {"presolve_enable": False}
#: MWh of cycle budget the model leaves unused (1 Wh: float noise of the referee's count).
BUDGET_MARGIN_MWH: Final[float] = 1e-6


class SolveStatus(StrEnum):
    """Outcome of a solve, normalized over cvxpy's statuses."""

    OPTIMAL = "optimal"
    OPTIMAL_INACCURATE = "optimal_inaccurate"
    INFEASIBLE = "infeasible"
    FAILED = "failed"
    TIMEOUT = "timeout"

    @property
    def ok(self) -> bool:
        return self in (SolveStatus.OPTIMAL, SolveStatus.OPTIMAL_INACCURATE)

    @classmethod
    def from_cvxpy(cls, status: str | None) -> SolveStatus:
        import cvxpy as cp

        return {
            cp.OPTIMAL: cls.OPTIMAL,
            cp.OPTIMAL_INACCURATE: cls.OPTIMAL_INACCURATE,
            cp.INFEASIBLE: cls.INFEASIBLE,
            cp.INFEASIBLE_INACCURATE: cls.INFEASIBLE,
            cp.UNBOUNDED: cls.INFEASIBLE,
            cp.UNBOUNDED_INACCURATE: cls.INFEASIBLE,
            cp.USER_LIMIT: cls.TIMEOUT,
        }.get(status, cls.FAILED)


@dataclass(frozen=True)
class SolveResult:
    """Record of one solve: status, objective ($, the referee's cost of the horizon), wall,
    solver and compile times, and the relaxation gaps: ``relaxation_gap`` = max
    ``|ℓ·v − P² − Q²|`` (pu²), ``storage_gap_mwh`` = max over slots and devices of the
    energy the relaxed storage model wastes (``(J − ρx²)·Δt`` plus overlapping charge and
    discharge), MWh."""

    status: SolveStatus
    objective: float
    solve_time_s: float
    solver_time_s: float = math.nan
    compile_time_s: float = math.nan
    iterations: int = -1
    relaxation_gap: float = math.nan
    storage_gap_mwh: float = math.nan
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status.ok


@dataclass(frozen=True, eq=False)
class Plan:
    """The schedule of a solved horizon (active slots only): grid-side setpoints
    ``storage_mw`` ``(n, n_dev)``, DC powers, energies ``(n + 1, n_dev)``, available energies,
    losses and revenues as the model computes them."""

    t0: int
    storage_mw: FloatArray
    dc_mw: FloatArray
    energy_mwh: FloatArray
    available_mwh: FloatArray
    losses_mw: FloatArray
    base_losses_mw: FloatArray
    loss_reduction_usd: float
    arbitrage_usd: float
    v_min_pu: float = math.nan
    v_max_pu: float = math.nan
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_steps(self) -> int:
        return int(self.storage_mw.shape[0])

    @property
    def revenue_usd(self) -> float:
        return self.loss_reduction_usd + self.arbitrage_usd

    def action(self, k: int) -> NDArray[np.float32]:
        if not 0 <= k < self.n_steps:
            raise IndexError(f"plan slot {k} outside 0..{self.n_steps - 1}")
        return self.storage_mw[k].astype(np.float32)


def idle_temperatures(
    config: LossArbitrageConfig, ambient_c: ArrayLike, t0_temp_c: ArrayLike | None = None
) -> FloatArray:
    """Cell temperature at the start of every step with every device idle (S4 without heat),
    ``(len(ambient), n_dev)``; ``t0_temp_c`` the temperatures at the first step (default the
    first ambient value, as the referee starts the day)."""
    dev = config.devices()
    amb = np.asarray(ambient_c, dtype=float)
    out = np.empty((amb.size, dev.n))
    temp = np.full(dev.n, amb[0]) if t0_temp_c is None else np.asarray(t0_temp_c, float).copy()
    alpha = np.exp(-STEP_HOURS / dev.tau_h)
    for k in range(amb.size):
        out[k] = temp
        temp = amb[k] + (temp - amb[k]) * alpha
    return out


def plan_temperatures(
    config: LossArbitrageConfig, ambient_c: ArrayLike, dc_mw: ArrayLike,
    t0_temp_c: ArrayLike | None = None,
) -> FloatArray:  # fmt: skip
    """Cell temperature at the start of every step when the devices run the DC powers
    ``dc_mw`` ``(n_steps, n_dev)`` (S4 with the joule heat ``ρ·x²``), ``(n_steps, n_dev)``:
    the oracle's fixed point (plan → temperatures → plan)."""
    dev = config.devices()
    amb = np.asarray(ambient_c, dtype=float)
    x = np.asarray(dc_mw, dtype=float)
    out = np.empty((amb.size, dev.n))
    temp = np.full(dev.n, amb[0]) if t0_temp_c is None else np.asarray(t0_temp_c, float).copy()
    for k in range(amb.size):
        out[k] = temp
        heat = dev.joule * x[k] ** 2 if k < x.shape[0] else 0.0
        temp = storage.thermal_step(temp, amb[k], heat, dev, STEP_HOURS)
    return out


# ====================================================================== network data
@dataclass(frozen=True, eq=False)
class _Network:
    n_bus: int
    n_branch: int
    r: FloatArray
    x: FloatArray
    children: FloatArray  # [c, k] = 1 if branch c leaves the bus branch k feeds
    root: FloatArray
    bus_to_branch: FloatArray  # [i, k] = 1 if bus i is fed by branch k
    rating: FloatArray
    v0: float
    limited: NDArray[np.intp]

    @classmethod
    def build(cls, fd: Any, rating: FloatArray, v_slack: float, p_device_max: FloatArray,
              device_bus: NDArray[np.intp]) -> _Network:  # fmt: skip
        nb, nl = fd.n_bus, fd.n_branch
        branch_of_bus = np.full(nb, -1)
        branch_of_bus[fd.to_bus] = np.arange(nl)
        children = np.zeros((nl, nl))
        for c in range(nl):
            fb = int(fd.from_bus[c])
            if fb != 0:
                children[c, branch_of_bus[fb]] = 1.0
        bus_to_branch = np.zeros((nb, nl))
        bus_to_branch[fd.to_bus, np.arange(nl)] = 1.0
        # which branches can reach their rating: subtree loads (1.25 × nominal) + charging
        parent = np.zeros(nb, dtype=np.intp)
        parent[fd.to_bus] = fd.from_bus
        below = np.zeros((nl, nb))
        for j in range(1, nb):
            b = j
            while b != 0:
                below[branch_of_bus[b], j] = 1.0
                b = int(parent[b])
        charge = np.zeros(nb)
        np.add.at(charge, device_bus, p_device_max)
        p_b = np.maximum(below @ (1.25 * fd.load_p_mw + charge), below @ charge)
        q_b = below @ (1.25 * np.abs(fd.load_q_mvar))
        bound = 1.2 * np.hypot(p_b, q_b)
        rating = np.asarray(rating, dtype=float)
        return cls(
            n_bus=nb,
            n_branch=nl,
            r=fd.r_ohm / fd.z_base_ohm,
            x=fd.x_ohm / fd.z_base_ohm,
            children=children,
            root=(fd.from_bus == 0).astype(float),
            bus_to_branch=bus_to_branch,
            rating=rating,
            v0=float(v_slack) ** 2,
            limited=np.flatnonzero(np.isfinite(rating) & (bound >= rating)),
        )


@dataclass(frozen=True, eq=False)
class _Vars:
    p: Any
    q: Any
    ell: Any
    v: Any
    x_ch: Any
    x_dis: Any
    joule: Any
    energy: Any


@dataclass(frozen=True, eq=False)
class _Params:
    load_p: Any  # (H, nb)
    load_q: Any
    price: Any  # (H,)
    ch_max: Any  # (H, n) DC charge limit (0 in padding)
    dis_max: Any
    joule_max: Any  # (H, n) MW (0 in padding: no energy can vanish there)
    kappa: Any  # (H, n) h, nonneg
    energy_init: Any  # (n,)
    energy_end: Any  # (n,)
    budget: Any  # (n,)
    base_cost: Any  # () Σ β·L⁰·Δt


# ====================================================================== constraint families
def _v_from(net: _Network, var: _Vars) -> cp.Expression:
    h = var.v.shape[0]
    return var.v @ net.children.T + net.v0 * np.tile(net.root, (h, 1))


def define_nodal_balance_constraints(
    net: _Network, var: _Vars, par: _Params, inj: FloatArray, dev: Any
) -> list[cp.Constraint]:
    """Active and reactive balance at every bus ``j ≠ 1`` (module docstring)::

    P_ij − r·ℓ − Σ P_jk = P_j^L − Σ_{s@j} (η_d·x^dis − x^ch/η_c),   Q_ij − x·ℓ − Σ Q_jk = Q_j^L
    """
    import cvxpy as cp

    h = var.p.shape[0]
    r = np.tile(net.r, (h, 1))
    x = np.tile(net.x, (h, 1))
    p_grid = var.x_dis @ np.diag(dev.eta_d) - var.x_ch @ np.diag(1.0 / dev.eta_c)
    return [
        var.p - cp.multiply(r, var.ell) - var.p @ net.children
        == par.load_p @ net.bus_to_branch - p_grid @ inj,
        var.q - cp.multiply(x, var.ell) - var.q @ net.children == par.load_q @ net.bus_to_branch,
    ]


def define_voltage_constraints(
    net: _Network, var: _Vars, v_min: float, v_max: float
) -> list[cp.Constraint]:
    """Voltage drop ``v_j = v_i − 2(r·P + x·Q) + |z|²·ℓ`` and band ``V_min² ≤ v ≤ V_max²``."""
    import cvxpy as cp

    h = var.v.shape[0]
    r, x = np.tile(net.r, (h, 1)), np.tile(net.x, (h, 1))
    z2 = np.tile(net.r**2 + net.x**2, (h, 1))
    return [
        var.v
        == _v_from(net, var)
        - 2.0 * (cp.multiply(r, var.p) + cp.multiply(x, var.q))
        + cp.multiply(z2, var.ell),
        var.v >= v_min**2,
        var.v <= v_max**2,
    ]


def define_branch_flow_cone_constraints(net: _Network, var: _Vars) -> list[cp.Constraint]:
    """Farivar–Low: ``ℓ·v_i ≥ P² + Q²`` ⇔ ``‖(2P, 2Q, ℓ − v_i)‖ ≤ ℓ + v_i``."""
    import cvxpy as cp

    v_from = _v_from(net, var)
    return [
        cp.SOC(
            cp.vec(var.ell + v_from, order="C"),
            cp.vstack(
                [
                    cp.vec(2.0 * var.p, order="C"),
                    cp.vec(2.0 * var.q, order="C"),
                    cp.vec(var.ell - v_from, order="C"),
                ]
            ),
            axis=0,
        )
    ]


def define_line_limit_constraints(net: _Network, var: _Vars) -> list[cp.Constraint]:
    """Rating of every branch that can reach it, on the midpoint flow (conservative by the
    branch's own loss)::

        ‖(P − r·ℓ/2, Q − x·ℓ/2)‖ + |z|·ℓ/2 ≤ S^max
    """
    import cvxpy as cp

    idx = net.limited
    if idx.size == 0:
        return []
    h = var.p.shape[0]
    r, x = np.tile(net.r[idx], (h, 1)), np.tile(net.x[idx], (h, 1))
    z = np.tile(np.hypot(net.r[idx], net.x[idx]), (h, 1))
    ell = var.ell[:, idx]
    p_mid = var.p[:, idx] - cp.multiply(r / 2.0, ell)
    q_mid = var.q[:, idx] - cp.multiply(x / 2.0, ell)
    bound = np.tile(net.rating[idx], (h, 1)) - cp.multiply(z / 2.0, ell)
    return [
        cp.SOC(
            cp.vec(bound, order="C"),
            cp.vstack([cp.vec(p_mid, order="C"), cp.vec(q_mid, order="C")]),
            axis=0,
        )
    ]


def define_storage_energy_constraints(
    var: _Vars, par: _Params, dev: Any, dt: float
) -> list[cp.Constraint]:
    """(S1) relaxed, ratings and the end energy::

    J ≥ ρ·((x^ch)² + (x^dis)²)          ⇔ ‖(2x^ch, 2x^dis, J/ρ − 1)‖ ≤ J/ρ + 1
    E_{k+1} = E_k − (x^dis − x^ch)·Δt − J·Δt,   E_0 = E^init,   E_H = E^day0
    x^ch ≤ η_c·P_max,   x^dis ≤ P_max/η_d   (0 in padding slots)
    """
    import cvxpy as cp

    cons: list[cp.Constraint] = [
        var.x_ch <= par.ch_max,
        var.x_dis <= par.dis_max,
        var.joule <= par.joule_max,
        var.energy[0] == par.energy_init,
        var.energy[1:] == var.energy[:-1] - (var.x_dis - var.x_ch) * dt - var.joule * dt,
        var.energy[-1] == par.energy_end,
    ]
    rho = np.asarray(dev.joule, dtype=float)
    has = rho > 0
    if has.any():
        h = var.x_ch.shape[0]
        inv = np.tile(np.where(has, 1.0 / np.where(has, rho, 1.0), 0.0), (h, 1))
        cols = np.flatnonzero(has)
        j_scaled = cp.multiply(inv[:, cols], var.joule[:, cols])
        cons.append(
            cp.SOC(
                cp.vec(j_scaled + 1.0, order="C"),
                cp.vstack(
                    [
                        cp.vec(2.0 * var.x_ch[:, cols], order="C"),
                        cp.vec(2.0 * var.x_dis[:, cols], order="C"),
                        cp.vec(j_scaled - 1.0, order="C"),
                    ]
                ),
                axis=0,
            )
        )
    if (~has).any():
        cons.append(var.joule[:, np.flatnonzero(~has)] == 0.0)
    return cons


def define_available_energy_constraints(var: _Vars, par: _Params, dev: Any) -> list[cp.Constraint]:
    """(S3): ``F_min ≤ E_{k+1} − κ_k·(x^dis − x^ch) ≤ F_max`` (κ known ahead)."""
    import cvxpy as cp

    h = var.x_ch.shape[0]
    avail = var.energy[1:] - cp.multiply(par.kappa, var.x_dis - var.x_ch)
    return [avail >= np.tile(dev.f_min, (h, 1)), avail <= np.tile(dev.f_max, (h, 1))]


def define_cycle_constraints(var: _Vars, par: _Params, dt: float) -> list[cp.Constraint]:
    """At most ``N_cyc`` equivalent full cycles: ``Σ_k (x^ch + x^dis)·Δt ≤ budget``."""
    import cvxpy as cp

    return [cp.sum(var.x_ch + var.x_dis, axis=0) * dt <= par.budget]


# ====================================================================== formulation
class LossArbitrageFormulation:
    """The compiled SOCP of ``horizon`` hourly slots (module docstring).

    Typical use::

        form = LossArbitrageFormulation(case.config)
        form.update(case.day_data(day), t0=0)
        result = form.solve()
        plan = form.plan() if result.ok else None
    """

    def __init__(
        self,
        config: LossArbitrageConfig,
        horizon: int = N_STEPS,
        *,
        grid: Any | None = None,
        line_rating_mva: ArrayLike | None = None,
    ) -> None:
        import cvxpy as cp

        from gridbench.cases.loss_arbitrage.day import feeder, line_ratings_mva

        if isinstance(horizon, bool) or not isinstance(horizon, int) or not 1 <= horizon <= N_STEPS:
            raise ValueError(f"horizon must be an int in 1..{N_STEPS}, got {horizon!r}")
        self.config = config
        self.horizon = horizon
        self.dt_h = STEP_HOURS
        dev = self.dev = config.devices()
        nw = config.network
        fd = feeder(nw.v_slack_pu) if grid is None else grid
        if line_rating_mva is not None:
            rating = np.asarray(line_rating_mva, dtype=float)
        elif grid is None:
            rating = line_ratings_mva(config)
        else:
            rating = np.full(fd.n_branch, np.inf)
        net = self._net = _Network.build(
            fd, rating, nw.v_slack_pu if grid is None else fd.v_slack_pu, dev.p_max, dev.bus_index
        )
        h, nl, nb, n = horizon, net.n_branch, net.n_bus, dev.n
        var = self._var = _Vars(
            p=cp.Variable((h, nl), name="P"),
            q=cp.Variable((h, nl), name="Q"),
            ell=cp.Variable((h, nl), nonneg=True, name="ell"),
            v=cp.Variable((h, nl), nonneg=True, name="v"),
            x_ch=cp.Variable((h, n), nonneg=True, name="x_ch"),
            x_dis=cp.Variable((h, n), nonneg=True, name="x_dis"),
            joule=cp.Variable((h, n), nonneg=True, name="J"),
            energy=cp.Variable((h + 1, n), name="E"),
        )
        par = self._par = _Params(
            load_p=cp.Parameter((h, nb), name="load_p"),
            load_q=cp.Parameter((h, nb), name="load_q"),
            price=cp.Parameter(h, name="price"),
            ch_max=cp.Parameter((h, n), nonneg=True, name="ch_max"),
            dis_max=cp.Parameter((h, n), nonneg=True, name="dis_max"),
            joule_max=cp.Parameter((h, n), nonneg=True, name="joule_max"),
            kappa=cp.Parameter((h, n), nonneg=True, name="kappa"),
            energy_init=cp.Parameter(n, name="energy_init"),
            energy_end=cp.Parameter(n, name="energy_end"),
            budget=cp.Parameter(n, nonneg=True, name="budget"),
            base_cost=cp.Parameter(name="base_cost"),
        )
        inj = net.bus_to_branch[dev.bus_index]  # (n, nl)
        dt = self.dt_h
        constraints = [
            *define_nodal_balance_constraints(net, var, par, inj, dev),
            *define_voltage_constraints(net, var, nw.v_min_pu, nw.v_max_pu),
            *define_branch_flow_cone_constraints(net, var),
            *define_line_limit_constraints(net, var),
            *define_storage_energy_constraints(var, par, dev, dt),
            *define_available_energy_constraints(var, par, dev),
            *define_cycle_constraints(var, par, dt),
        ]
        losses = var.ell @ net.r  # (H,)
        p_grid = var.x_dis @ dev.eta_d - var.x_ch @ (1.0 / dev.eta_c)  # (H,) Σ over devices
        self._terms = {
            "loss_reduction": (par.price @ losses) * dt - par.base_cost,
            "arbitrage": -(par.price @ p_grid) * dt,
        }
        objective = cp.Minimize(self._terms["loss_reduction"] + self._terms["arbitrage"])
        self.problem = cp.Problem(objective, constraints)
        self._t0: int | None = None
        self._n_active = 0
        self._ok = False
        self._base_loss = np.zeros(h)

    # ------------------------------------------------------------------ parameters
    def is_dpp(self) -> bool:
        return bool(self.problem.is_dpp())

    @property
    def t0(self) -> int:
        if self._t0 is None:
            raise RuntimeError("no data yet: call update(data, t0=...) first")
        return self._t0

    def update(
        self,
        data: LossArbitrageDay,
        *,
        t0: int = 0,
        energy_mwh: ArrayLike | None = None,
        cell_temp_c: ArrayLike | None = None,
        temperatures_c: ArrayLike | None = None,
        budget_left_mwh: ArrayLike | None = None,
        energy_end_mwh: ArrayLike | None = None,
    ) -> None:
        """Fill every parameter for slots ``t0 … t0 + H − 1`` of ``data``.

        Args:
            energy_mwh: cell energies before slot 0 (default the day's initial energies).
            cell_temp_c: cell temperatures before slot 0 (default: the ambient at ``t0``);
                with ``temperatures_c`` absent, slot temperatures follow (S4) without heat.
            temperatures_c: cell temperature at the start of each day step ``(24, n)`` (the
                "known ahead" trajectory), overriding the idle projection.
            budget_left_mwh: remaining DC-throughput budget (default the daily budget).
            energy_end_mwh: the energy to end the day with (default the initial energies).
        """
        if isinstance(t0, bool) or not isinstance(t0, int | np.integer) or not 0 <= t0 < N_STEPS:
            raise ValueError(f"t0 must be an int in 0..{N_STEPS - 1}, got {t0!r}")
        t0 = int(t0)
        dev, par, h = self.dev, self._par, self.horizon
        n = min(h, N_STEPS - t0)
        rows = slice(t0, t0 + n)

        def padded(a: ArrayLike, width: int | None = None) -> FloatArray:
            arr = np.asarray(a, dtype=float)
            if not np.isfinite(arr[rows]).all():
                raise ValueError("day data contains NaN or inf")
            out = np.zeros((h,) if width is None else (h, width))
            out[:n] = arr[rows]
            return out

        nb = self._net.n_bus
        par.load_p.value = padded(data.load_p_mw, nb)
        par.load_q.value = padded(data.load_q_mvar, nb)
        price = padded(data.price_usd_per_mwh)
        par.price.value = price
        base = padded(data.base_loss_mw)
        self._base_loss = base
        par.base_cost.value = float(price @ base) * self.dt_h
        active = np.zeros(h)
        active[:n] = 1.0
        par.ch_max.value = np.outer(active, dev.eta_c * dev.p_max)
        par.dis_max.value = np.outer(active, dev.p_max / dev.eta_d)
        par.joule_max.value = np.outer(
            active, dev.joule * ((dev.eta_c * dev.p_max) ** 2 + (dev.p_max / dev.eta_d) ** 2)
        )
        if temperatures_c is not None:
            temps = np.asarray(temperatures_c, dtype=float)[rows]
        else:
            temps = idle_temperatures(self.config, np.asarray(data.ambient_c)[rows], cell_temp_c)
        kappa = np.zeros((h, dev.n))
        kappa[:n] = storage.polarization_coeff(self.dev, temps)
        par.kappa.value = kappa
        par.energy_init.value = self._vec(energy_mwh, dev.e_init, "energy_mwh")
        par.energy_end.value = self._vec(energy_end_mwh, dev.e_init, "energy_end_mwh")
        # a hair below the referee's budget: its float bookkeeping must never find the plan
        # over budget (the last step needs the rest to return to the initial energy)
        budget = self._vec(budget_left_mwh, dev.budget, "budget") - BUDGET_MARGIN_MWH
        par.budget.value = np.maximum(budget, 0.0)
        self._t0, self._n_active = t0, n

    def _vec(self, value: ArrayLike | None, default: FloatArray, name: str) -> FloatArray:
        if value is None:
            return np.array(default, dtype=float)
        vec = np.broadcast_to(np.asarray(value, dtype=float), (self.dev.n,))
        if not np.all(np.isfinite(vec)):
            raise ValueError(f"{name} must be finite, got {vec}")
        return np.array(vec)

    # ------------------------------------------------------------------ solving
    def solve(
        self, *, time_limit_s: float | None = None, dpp: bool = True, **solver_options: Any
    ) -> SolveResult:
        """Solve with Clarabel; failures are reported in the status, never raised."""
        import cvxpy as cp

        if self._t0 is None:
            raise RuntimeError("no data yet: call update(data, t0=...) before solve()")
        opts: dict[str, Any] = {**_CLARABEL_DEFAULTS, **solver_options}
        if time_limit_s is not None:
            if not time_limit_s > 0:
                raise ValueError(f"time_limit_s must be > 0, got {time_limit_s!r}")
            opts["time_limit"] = float(time_limit_s)
        if dpp:
            opts["canon_backend"] = "COO"
        else:
            opts["ignore_dpp"] = True
        self._ok = False
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                self.problem.solve(solver=cp.CLARABEL, **opts)
        except Exception as exc:  # a failing solve must never crash a controller
            wall = time.perf_counter() - start
            logger.debug("loss-arbitrage solve failed", exc_info=True)
            status = (
                SolveStatus.TIMEOUT if self.problem.status == cp.USER_LIMIT else SolveStatus.FAILED
            )
            return SolveResult(status, math.nan, wall, message=f"{type(exc).__name__}: {exc}")
        wall = time.perf_counter() - start
        status = SolveStatus.from_cvxpy(self.problem.status)
        if status.ok and self._var.p.value is None:
            status = SolveStatus.FAILED
        stats = self.problem.solver_stats
        ok = self._ok = status.ok
        compile_time = getattr(self.problem, "compilation_time", None)
        return SolveResult(
            status=status,
            objective=float(self.problem.value) if ok else math.nan,
            solve_time_s=wall,
            solver_time_s=float(stats.solve_time) if stats and stats.solve_time else math.nan,
            compile_time_s=float(compile_time) if compile_time is not None else math.nan,
            iterations=int(stats.num_iters) if stats and stats.num_iters is not None else -1,
            relaxation_gap=self.relaxation_gap() if ok else math.nan,
            storage_gap_mwh=self.storage_gap_mwh() if ok else math.nan,
            message=str(self.problem.status),
        )

    # ------------------------------------------------------------------ results
    def relaxation_gap(self) -> float:
        """``max |ℓ·v_i − P² − Q²|`` over active slots of the last solution (pu²)."""
        if not self._ok:
            return math.nan
        var, n = self._var, self._n_active
        v_from = _v_from(self._net, var).value[:n]
        gap = var.ell.value[:n] * v_from - var.p.value[:n] ** 2 - var.q.value[:n] ** 2
        return float(np.max(np.abs(gap))) if gap.size else 0.0

    def storage_gap_mwh(self) -> float:
        """Max energy (MWh) the relaxed storage model wastes in one slot and device: the slack
        of the joule cone ``(J − ρ·x²)·Δt`` with ``x = x^dis − x^ch``, which also counts
        overlapping charge and discharge (``2ρ·x^ch·x^dis``)."""
        if not self._ok:
            return math.nan
        var, n = self._var, self._n_active
        x = var.x_dis.value[:n] - var.x_ch.value[:n]
        waste = (var.joule.value[:n] - self.dev.joule * x * x) * self.dt_h
        overlap = np.minimum(var.x_ch.value[:n], var.x_dis.value[:n]) * self.dt_h
        return float(max(np.max(np.abs(waste), initial=0.0), np.max(overlap, initial=0.0)))

    def plan(self) -> Plan:
        """The schedule of the last solution (:class:`Plan`)."""
        if not self._ok:
            raise RuntimeError("no solution: the last solve() did not succeed (see its status)")
        var, par, n, dev = self._var, self._par, self._n_active, self.dev
        x_ch = np.clip(var.x_ch.value[:n], 0.0, None)
        x_dis = np.clip(var.x_dis.value[:n], 0.0, None)
        x = x_dis - x_ch
        p = np.clip(storage.grid_power(x, dev), -dev.p_max, dev.p_max)
        energy = var.energy.value[: n + 1]
        avail = energy[1:] - par.kappa.value[:n] * x
        losses = var.ell.value[:n] @ self._net.r
        price = par.price.value[:n]
        base = self._base_loss[:n]
        vm = np.sqrt(np.maximum(var.v.value[:n], 0.0))
        return Plan(
            t0=self.t0,
            storage_mw=p,
            dc_mw=x,
            energy_mwh=energy,
            available_mwh=avail,
            losses_mw=losses,
            base_losses_mw=base,
            loss_reduction_usd=float(price @ (base - losses)) * self.dt_h,
            arbitrage_usd=float(price @ p.sum(axis=1)) * self.dt_h,
            v_min_pu=float(min(vm.min(initial=np.inf), math.sqrt(self._net.v0))),
            v_max_pu=float(max(vm.max(initial=-np.inf), math.sqrt(self._net.v0))),
        )
