"""The SES-carbon dispatch as a convex SOCP: branch flow (DistFlow) with the Farivar–Low
relaxation, built in cvxpy from the same :class:`~.config.SesCarbonConfig` and
:class:`~.day.SesCarbonDay` objects the referee (``core.py``) simulates.

Model (Zhong et al., Processes 12 (2024) 1791, eqs (1)–(14); every cost term is the one
:mod:`.accounting` and the referee charge, so that the objective equals the referee's day
cost plus its SOC penalty, up to the relaxation). Indices: slot ``k = 0 … H−1`` of the
horizon (slot ``k`` is day step ``t0 + k``), branch ``ij`` feeding bus ``j`` (the feeder's
branch order), storage ``s``, turbine ``g``, PV plant ``p``; per unit on ``S_base = 1 MVA``
(powers in pu = MW), ``z_pu = z_ohm / base_kv²``.

Variables: branch flows ``P_ij, Q_ij`` (sending end), squared currents ``ℓ_ij``, squared
voltages ``v_j`` (``v_1 = V_slack²`` fixed), turbine outputs ``P_g``, storage charge and
discharge powers ``P_s^ch, P_s^dis ≥ 0`` (separate, no binaries; the executed setpoint is
``p_s = P_s^dis − P_s^ch``), stored energies ``E_s``, the import ``P^imp ≥ max(P^UPG, 0)``,
the ladder epigraph ``z`` and the SOC-window slacks ``σ ≥ 0``.

Objective (eq (1) with the referee's cost terms, plus eq (17)'s soft SOC term at the
referee's weight λ1)::

    Σ_k [ λ_k·P_k^UPG + Σ_g (a·P_gk² + b·P_gk + c) + λ^BESS·Σ_s (P_sk^ch + P_sk^dis) ]·Δt
    + z − C_ce(ΔQ_so_far)                                    (carbon settlement, eq (14))
    + π_T·Σ_s (E_s^day0 − E_s,H)                             (terminal energy settlement)
    + λ1·Δt·Σ_ks (σ_sk^lo + σ_sk^hi)                         (MWh outside the SOC window)

The terminal settlement (:func:`.accounting.terminal_energy_settlement`) compares the energy
at the end of the horizon with the energy at the start of the *day* ``E^day0`` (a parameter:
for a re-solve at hour t0 > 0 it is not the re-solve's initial energy), and is active only
when the horizon reaches the end of the day (``t0 + H ≥ 24``), where the referee charges it;
``π_T`` is the config's :attr:`~.config.SesCarbonConfig.terminal_price_usd_per_mwh`.

Voltage band (eq (6)) and line ratings (eq (4)) are hard constraints, as in the paper's
model; the referee penalizes their violation and the harness counts it as infeasible.

Every constraint family has its own ``define_*_constraints`` function with its equation in
the docstring (PyPSA's ``optimization/constraints.py`` style): the network's — nodal
balance, voltage drop, branch-flow cone, voltage band and line limits, eqs (2)–(6) — are the
shared ones of :mod:`gridbench.cases.grid.branch_flow` (``bf``), the devices' and the carbon
accounting's are below.

Everything that changes between re-solves — loads, PV, tariff, upstream intensity, the
initial energies, the terminal settlement (price, and its constant with the day's initial
energies), ΔQ so far and which slots are active — is a :class:`cvxpy.Parameter`, and
the problem is DPP (:meth:`SesCarbonFormulation.is_dpp`): it compiles once and a re-solve
only refills the parameters. A horizon reaching past the end of the day is padded with
*inactive* slots (zero loads, PV, prices, intensity and device limits, no SOC penalty), so a
shrinking-horizon MPC re-solves one compiled 24-slot model all day. DPP solves call Clarabel
directly on the *active* slots of the compiled problem's data (:class:`_ActiveSlotSolver`:
the padded slots are a zero-cost block, removed from the data cvxpy applies the parameters
to; one Clarabel solver per number of active slots, refilled in place): the same optimum as
the padded problem (objectives within 1e-9 relative, first actions within ~1e-5 MW in the
tests), at a fraction of the interior-point work late in the day.

Differences from the referee, by construction:

* the referee runs an AC power flow; here the branch-flow equations are relaxed to
  ``ℓ·v ≥ P² + Q²`` (exact when :attr:`SolveResult.relaxation_gap` is ~0);
* the line limit is one cone on the branch's midpoint flow, conservative by the branch's
  own loss (:func:`~gridbench.cases.grid.branch_flow.define_line_limit_constraints`), and
  only on branches whose flow can reach their rating;
* the allowance of eq (14) uses the model's loads (the forecast in MPC / day-ahead runs).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridbench.cases.grid import branch_flow as bf
from gridbench.cases.grid.branch_flow import SolveResult, SolveStatus
from gridbench.cases.ses_carbon import accounting as acc
from gridbench.cases.ses_carbon.config import SesCarbonConfig
from gridbench.cases.ses_carbon.day import GRID, N_STEPS, STEP_HOURS, SesCarbonDay

if TYPE_CHECKING:
    import cvxpy as cp

    from gridbench.cases.grid import RadialFeeder

__all__ = [
    "Plan",
    "SesCarbonFormulation",
    "SolveResult",
    "SolveStatus",
    "define_carbon_ladder_constraints",
    "define_emission_constraints",
    "define_gas_turbine_constraints",
    "define_storage_energy_constraints",
    "define_storage_power_constraints",
]

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Plan:
    """The schedule of a solved horizon (active slots only) and its priced terms.

    Arrays have one row per active slot ``k`` (day step ``t0 + k``). ``storage_mw`` is the
    referee's setpoint ``p = P^dis − P^ch`` (``> 0`` discharges); ``soc`` has ``n + 1`` rows
    (before the first slot, then after each). ``cost_usd`` holds the referee's cost terms of
    the horizon computed by :mod:`.accounting` from the planned flows (``carbon_settlement``
    = ``C_ce(ΔQ_end) − C_ce(ΔQ_so_far)``; ``storage_terminal_energy`` = the settlement of the
    planned end energies against the day's initial ones, 0 unless the horizon reaches the end
    of the day), ``penalty_usd`` the model's SOC penalty, and
    ``objective_terms_usd`` the same terms as the model's objective evaluates them (the
    ladder through its epigraph ``z``). ``v_min_pu``/``v_max_pu`` are the model's voltage
    extremes, ``max_loading`` its largest ``max(S_from, S_to) / S^max`` over branches.
    """

    t0: int
    gas_turbine_mw: FloatArray
    storage_mw: FloatArray
    charge_mw: FloatArray
    discharge_mw: FloatArray
    soc: FloatArray
    tie_line_mw: FloatArray
    losses_mw: FloatArray
    emissions_t: FloatArray
    carbon_net_end_t: float
    cost_usd: dict[str, float] = field(default_factory=dict)
    penalty_usd: dict[str, float] = field(default_factory=dict)
    objective_terms_usd: dict[str, float] = field(default_factory=dict)
    v_min_pu: float = math.nan
    v_max_pu: float = math.nan
    max_loading: float = math.nan

    @property
    def n_steps(self) -> int:
        return int(self.gas_turbine_mw.shape[0])

    @property
    def cost_total_usd(self) -> float:
        """Σ of the referee's cost terms over the plan (the KPI ``cost``, penalties excluded)."""
        return math.fsum(self.cost_usd.values())

    def action(self, k: int) -> NDArray[np.float32]:
        """The referee action of slot ``k``: ``[P_g … , p_s …]`` (MW, float32)."""
        if not 0 <= k < self.n_steps:
            raise IndexError(f"plan slot {k} outside 0..{self.n_steps - 1}")
        return np.concatenate([self.gas_turbine_mw[k], self.storage_mw[k]]).astype(np.float32)

    def actions(self) -> NDArray[np.float32]:
        """All actions, ``(n_steps, n_gt + n_storage)``."""
        return np.hstack([self.gas_turbine_mw, self.storage_mw]).astype(np.float32)


# ====================================================================== network data
def _network(
    feeder: RadialFeeder, config: SesCarbonConfig, rating: FloatArray
) -> bf.BranchFlowNetwork:
    """The feeder's branch-flow data; line limits only where the flow can reach the rating:
    devices draw at most the storages' charging and inject at most PV rated + turbines +
    discharging (:func:`~gridbench.cases.grid.branch_flow.flow_bound`)."""
    st, gt, pv = config.storage, config.gas_turbine, config.pv
    nb = feeder.n_bus
    charge = np.zeros(nb)
    np.add.at(charge, st.bus_index, st.p_max_mw)
    inject = charge.copy()
    np.add.at(inject, pv.bus_index, pv.rated_mw)
    np.add.at(inject, gt.bus_index, gt.p_max_mw)
    return bf.BranchFlowNetwork.from_feeder(
        feeder,
        rating,
        config.network.v_slack_pu,  # the referee's substation voltage
        withdraw_mw=charge,
        inject_mw=inject,
    )


# ====================================================================== containers
@dataclass(frozen=True, eq=False)
class _Vars:
    p: cp.Variable  # (H, nl) P_ij
    q: cp.Variable  # (H, nl) Q_ij
    ell: cp.Variable  # (H, nl) ℓ_ij
    v: cp.Variable  # (H, nl) v_j of the bus each branch feeds
    p_gt: cp.Variable  # (H, ng)
    p_ch: cp.Variable  # (H, ns)
    p_dis: cp.Variable  # (H, ns)
    energy: cp.Variable  # (H + 1, ns)
    p_import: cp.Variable  # (H,)
    z_carbon: cp.Variable  # ()
    soc_lo: cp.Variable  # (H, ns) MWh below the window
    soc_hi: cp.Variable  # (H, ns)


@dataclass(frozen=True, eq=False)
class _Params:
    load_p: cp.Parameter  # (H, nb) MW
    load_q: cp.Parameter  # (H, nb) Mvar
    pv: cp.Parameter  # (H, npv) MW
    price: cp.Parameter  # (H,) $/MWh
    intensity: cp.Parameter  # (H,) t/MWh, nonneg
    active: cp.Parameter  # (H,) 1 for active slots, 0 for padding, nonneg
    gt_min: cp.Parameter  # (H, ng)
    gt_max: cp.Parameter  # (H, ng)
    st_max: cp.Parameter  # (H, ns)
    energy_init: cp.Parameter  # (ns,) MWh
    allowance_t: cp.Parameter  # () free allowance of the active slots
    carbon_net_so_far_t: cp.Parameter  # () ΔQ before slot 0
    carbon_cost_so_far_usd: cp.Parameter  # () C_ce(ΔQ so far)
    fuel_const_usd: cp.Parameter  # () Σ over active slots of c·n_g·Δt
    purchase_const_usd: cp.Parameter  # () Σ_k λ_k·P_1,k^l·Δt (load at the substation bus)
    terminal_price: cp.Parameter  # () π_T if the horizon reaches the day's end, else 0; nonneg
    terminal_const_usd: cp.Parameter  # () terminal_price·Σ_s E_s^day0


# ====================================================================== constraint families
def define_gas_turbine_constraints(var: _Vars, par: _Params) -> list[cp.Constraint]:
    """Turbine output range, eq (10) (``P_g^max = 0`` in inactive slots)::

    P_g^min ≤ P_gk ≤ P_g^max
    """
    return [var.p_gt >= par.gt_min, var.p_gt <= par.gt_max]


def define_storage_power_constraints(var: _Vars, par: _Params) -> list[cp.Constraint]:
    """Charge and discharge ranges, eqs (8)–(9) (limit 0 in inactive slots)::

    0 ≤ P_sk^ch ≤ P_s^max,    0 ≤ P_sk^dis ≤ P_s^max
    """
    return [var.p_ch <= par.st_max, var.p_dis <= par.st_max]


def define_storage_energy_constraints(
    var: _Vars,
    par: _Params,
    eta_ch: float,
    eta_dis: float,
    e_max: float,
    soc_min: float,
    soc_max: float,
    dt_h: float,
) -> list[cp.Constraint]:
    """Energy balance, eq (11), hard energy limits, eq (12), and the soft SOC window::

    E_s,0 = E_s^init
    E_s,k+1 = E_s,k + η^ch·P_sk^ch·Δt − P_sk^dis/η^dis·Δt
    0 ≤ E_s,k+1 ≤ E_s^max
    SOC_min·E_s^max − σ_sk^lo ≤ E_s,k+1 ≤ SOC_max·E_s^max + σ_sk^hi,    σ ≥ 0
    """
    e_next = var.energy[1:]
    return [
        var.energy[0] == par.energy_init,
        e_next == var.energy[:-1] + (eta_ch * dt_h) * var.p_ch - (dt_h / eta_dis) * var.p_dis,
        e_next >= 0.0,
        e_next <= e_max,
        e_next >= soc_min * e_max - var.soc_lo,
        e_next <= soc_max * e_max + var.soc_hi,
    ]


def define_emission_constraints(
    net: bf.BranchFlowNetwork, var: _Vars, par: _Params
) -> list[cp.Constraint]:
    """Import epigraph for the emissions of eq (13)'s numerator
    (:func:`.accounting.step_emissions_t`: exports carry no credit)::

        P_k^imp ≥ P_k^UPG,   P_k^imp ≥ 0,   with P_k^UPG = Σ_{1j} P_1j,k + P_1,k^l

    so that ``Σ_k (C_k^UPG·P_k^imp + C^G·Σ_g P_gk)·Δt`` is the day's emissions at the optimum
    (the emissions are priced with a positive slope, so ``P^imp = max(P^UPG, 0)``).
    """
    return [var.p_import >= _tie_line(net, var, par), var.p_import >= 0.0]


def define_carbon_ladder_constraints(
    var: _Vars,
    par: _Params,
    emissions: cp.Expression,
    slopes: FloatArray,
    intercepts: FloatArray,
) -> list[cp.Constraint]:
    """Epigraph of the ladder-type carbon cost of eq (14), convex piecewise linear
    (:func:`.accounting.ladder_affine_pieces`)::

        ΔQ = ΔQ_so_far + Σ_k emissions_k − allowance
        z ≥ s_m·ΔQ + b_m      for every tier m

    so that ``z = C_ce(ΔQ)`` at the optimum (``z`` has a positive cost).
    """
    delta_q = par.carbon_net_so_far_t + emissions - par.allowance_t
    return [
        var.z_carbon >= float(s) * delta_q + float(b)
        for s, b in zip(slopes, intercepts, strict=True)
    ]


def _tie_line(net: bf.BranchFlowNetwork, var: _Vars, par: _Params) -> cp.Expression:
    """``P^UPG = Σ_{1j} P_1j + P_1^l`` per slot."""
    return var.p @ net.root + par.load_p[:, 0]


# ====================================================================== the formulation
class SesCarbonFormulation(bf.BranchFlowFormulation):
    """The compiled SOCP of ``horizon`` hourly slots for one config (see the module docstring).

    Typical use::

        form = SesCarbonFormulation(case.config)            # build once
        form.update(case.day_data(day), t0=0)               # fill the parameters
        result = form.solve()                               # SolveResult (never raises)
        if result.ok:
            plan = form.plan()                               # Plan: actions and priced terms

    Re-solving after another :meth:`update` reuses the compiled problem (DPP) and Clarabel's
    allocated solver (:meth:`solve`'s ``warm_start``: the one kept for this number of active
    slots, its data updated in place).
    """

    label = "ses-carbon"

    def __init__(
        self,
        config: SesCarbonConfig,
        horizon: int = N_STEPS,
        *,
        feeder: RadialFeeder | None = None,
        line_rating_mva: ArrayLike | None = None,
    ) -> None:
        """Build the problem (no solve, no compilation yet).

        Args:
            config: the case's config (devices, limits, prices of the ladder).
            horizon: slots ``H`` (1–24 hourly steps).
            feeder: the network; default the case's IEEE 33 feeder with the substation at
                ``network.v_slack_pu`` (another radial feeder serves small test instances).
            line_rating_mva: branch ratings; default :func:`~.day.line_ratings_mva` for the
                case's feeder, ``feeder.rate_mva`` for another one (``inf`` = no limit).
        """
        import cvxpy as cp

        from gridbench.cases.grid import load_grid
        from gridbench.cases.ses_carbon.day import line_ratings_mva

        super().__init__(horizon, N_STEPS)
        if feeder is None:
            feeder = load_grid(GRID)
            default_rating = line_ratings_mva(config)
        else:
            default_rating = feeder.rate_mva
        rating = np.asarray(
            default_rating if line_rating_mva is None else line_rating_mva, dtype=float
        )
        if rating.shape != (feeder.n_branch,) or np.isnan(rating).any() or (rating <= 0).any():
            raise ValueError(
                f"line_rating_mva must hold {feeder.n_branch} positive ratings, got {rating!r}"
            )
        for what, buses in (
            ("storage", config.storage.buses),
            ("gas turbine", config.gas_turbine.buses),
            ("PV", config.pv.buses),
        ):
            if max(buses) > feeder.n_bus:
                raise ValueError(
                    f"{what} buses {list(buses)} outside the feeder {feeder.name!r} "
                    f"(buses 2..{feeder.n_bus})"
                )
        self.config = config
        self.dt_h = STEP_HOURS
        self._net = _network(feeder, config, rating)
        net, h = self._net, horizon
        st, gt, pv = config.storage, config.gas_turbine, config.pv
        nl, nb, ns, ng, npv = net.n_branch, net.n_bus, st.n, gt.n, pv.n
        self._inj_gt = net.device_map(gt.bus_index)
        self._inj_st = net.device_map(st.bus_index)
        self._inj_pv = net.device_map(pv.bus_index)

        var = _Vars(
            **bf.branch_flow_variables(h, nl),
            p_gt=cp.Variable((h, ng), name="p_gt"),
            p_ch=cp.Variable((h, ns), nonneg=True, name="p_ch"),
            p_dis=cp.Variable((h, ns), nonneg=True, name="p_dis"),
            energy=cp.Variable((h + 1, ns), name="energy"),
            p_import=cp.Variable(h, name="p_import"),
            z_carbon=cp.Variable(name="z_carbon"),
            soc_lo=cp.Variable((h, ns), nonneg=True, name="soc_lo"),
            soc_hi=cp.Variable((h, ns), nonneg=True, name="soc_hi"),
        )
        par = _Params(
            load_p=cp.Parameter((h, nb), name="load_p"),
            load_q=cp.Parameter((h, nb), name="load_q"),
            pv=cp.Parameter((h, npv), name="pv"),
            price=cp.Parameter(h, name="price"),
            intensity=cp.Parameter(h, nonneg=True, name="intensity"),
            active=cp.Parameter(h, nonneg=True, name="active"),
            gt_min=cp.Parameter((h, ng), name="gt_min"),
            gt_max=cp.Parameter((h, ng), name="gt_max"),
            st_max=cp.Parameter((h, ns), nonneg=True, name="st_max"),
            energy_init=cp.Parameter(ns, name="energy_init"),
            allowance_t=cp.Parameter(name="allowance_t"),
            carbon_net_so_far_t=cp.Parameter(name="carbon_net_so_far_t"),
            carbon_cost_so_far_usd=cp.Parameter(name="carbon_cost_so_far_usd"),
            fuel_const_usd=cp.Parameter(name="fuel_const_usd"),
            purchase_const_usd=cp.Parameter(name="purchase_const_usd"),
            terminal_price=cp.Parameter(nonneg=True, name="terminal_price"),
            terminal_const_usd=cp.Parameter(name="terminal_const_usd"),
        )
        self._var, self._par = var, par

        dt = self.dt_h
        emissions = (par.intensity @ var.p_import + gt.carbon_t_per_mwh * cp.sum(var.p_gt)) * dt
        self._slopes, self._intercepts = acc.ladder_affine_pieces(config.carbon)
        nw = config.network
        # PV, turbines and storages inject at unity power factor, as in the referee
        injection = (
            par.pv @ self._inj_pv + var.p_gt @ self._inj_gt + (var.p_dis - var.p_ch) @ self._inj_st
        )
        constraints = [
            *bf.define_nodal_balance_constraints(net, var, par.load_p, par.load_q, injection),
            *bf.define_voltage_drop_constraints(net, var),
            *bf.define_branch_flow_cone_constraints(net, var),
            *bf.define_voltage_limit_constraints(var, nw.v_min_pu, nw.v_max_pu),
            *bf.define_line_limit_constraints(net, var),
            *define_gas_turbine_constraints(var, par),
            *define_storage_power_constraints(var, par),
            *define_storage_energy_constraints(
                var,
                par,
                st.eta_charge,
                st.eta_discharge,
                st.energy_mwh,
                st.soc_min,
                st.soc_max,
                dt,
            ),
            *define_emission_constraints(net, var, par),
            *define_carbon_ladder_constraints(var, par, emissions, self._slopes, self._intercepts),
        ]

        self._terms: dict[str, cp.Expression] = {
            # λ·P^UPG·Δt with P^UPG = Σ P_1j + P_1^l; λ·P_1^l (parameter × parameter) is
            # precomputed in update() to keep the product DPP
            "energy_purchase": (par.price @ (var.p @ net.root)) * dt + par.purchase_const_usd,
            "gas_turbine_fuel": (
                gt.cost_a_usd_per_mw2h * cp.sum_squares(var.p_gt)
                + gt.cost_b_usd_per_mwh * cp.sum(var.p_gt)
            )
            * dt
            + par.fuel_const_usd,
            "storage_degradation": st.degradation_usd_per_mwh * dt * cp.sum(var.p_ch + var.p_dis),
            "carbon_settlement": var.z_carbon - par.carbon_cost_so_far_usd,
            # π_T·Σ_s (E_s^day0 − E_s,H); the padding slots keep E constant, so row H is the
            # energy after the last active slot. π_T·ΣE^day0 (parameter × parameter) is
            # precomputed in update() to keep the product DPP
            "storage_terminal_energy": par.terminal_const_usd
            - par.terminal_price * cp.sum(var.energy[h]),
            "soc_penalty": st.soc_penalty_usd_per_mwh_h
            * dt
            * cp.sum(par.active @ (var.soc_lo + var.soc_hi)),
        }
        self._emissions = emissions
        self.problem = cp.Problem(cp.Minimize(cp.sum(list(self._terms.values()))), constraints)
        self._energy_day_start = np.full(ns, st.soc_init * st.energy_mwh)
        self._terminal_price = config.terminal_price_usd_per_mwh
        # active-slot re-solver of DPP solves (None: not built yet, False: not applicable)
        self._direct: _ActiveSlotSolver | bool | None = None

    # ------------------------------------------------------------------ parameters
    def update(
        self,
        data: SesCarbonDay,
        *,
        t0: int = 0,
        soc: FloatArray | float | None = None,
        carbon_net_so_far_t: float = 0.0,
        soc_day_start: FloatArray | float | None = None,
    ) -> None:
        """Fill every parameter for slots ``t0 … t0 + H − 1`` of ``data``.

        Args:
            data: the day (actual or a forecast) — the same object the referee would build.
            t0: day step of slot 0; slots beyond step 23 are inactive padding.
            soc: SOC of each storage before slot 0 (0–1; default ``storage.soc_init``).
            carbon_net_so_far_t: ΔQ (emissions − allowance) accumulated before ``t0`` (t).
            soc_day_start: SOC of each storage at the start of the *day* (step 0), the
                reference of the terminal energy settlement (0–1; default ``soc`` when
                ``t0 == 0``, else ``storage.soc_init``, where the referee starts every day).
        """
        t0, n = self._window(t0)
        c = self.config
        st, gt = c.storage, c.gas_turbine
        h = self.horizon
        par = self._par

        def padded(a: ArrayLike, width: int | None = None) -> FloatArray:
            return bf.pad_window(a, t0, n, h, width)

        load_p = padded(data.load_p_mw, self._net.n_bus)
        par.load_p.value = load_p
        par.load_q.value = padded(data.load_q_mvar, self._net.n_bus)
        par.pv.value = padded(data.pv_available_mw, c.pv.n)
        price = padded(data.price_usd_per_mwh)
        par.price.value = price
        par.purchase_const_usd.value = float(price @ load_p[:, 0]) * self.dt_h
        par.intensity.value = np.maximum(padded(data.carbon_intensity_t_per_mwh), 0.0)
        active = np.zeros(h)
        active[:n] = 1.0
        par.active.value = active
        par.gt_min.value = np.outer(active, np.full(gt.n, gt.p_min_mw))
        par.gt_max.value = np.outer(active, np.full(gt.n, gt.p_max_mw))
        par.st_max.value = np.outer(active, np.full(st.n, st.p_max_mw))
        soc0 = self._soc_vector(soc, "soc")
        par.energy_init.value = np.clip(soc0, 0.0, 1.0) * st.energy_mwh
        if soc_day_start is None and t0 == 0:
            soc_day = soc0
        else:
            soc_day = self._soc_vector(soc_day_start, "soc_day_start")
        self._energy_day_start = np.clip(soc_day, 0.0, 1.0) * st.energy_mwh
        # the referee settles the end energy after step 23: only a horizon reaching it does
        terminal = self._terminal_price if t0 + n == N_STEPS else 0.0
        par.terminal_price.value = terminal
        par.terminal_const_usd.value = terminal * float(self._energy_day_start.sum())
        par.allowance_t.value = float(
            acc.allowance_t(load_p[:n], c.carbon.allowance_t_per_mwh, self.dt_h).sum()
        )
        net0 = float(carbon_net_so_far_t)
        if not math.isfinite(net0):
            raise ValueError(f"carbon_net_so_far_t must be finite, got {net0}")
        par.carbon_net_so_far_t.value = net0
        par.carbon_cost_so_far_usd.value = float(acc.ladder_carbon_cost(net0, 0.0, c.carbon))
        par.fuel_const_usd.value = gt.cost_c_usd_per_h * gt.n * self.dt_h * n
        self._t0, self._n_active = t0, n

    def _soc_vector(self, soc: FloatArray | float | None, name: str) -> FloatArray:
        """``soc`` broadcast to one finite entry per storage (``None``: ``soc_init``)."""
        st = self.config.storage
        if soc is None:
            return np.full(st.n, st.soc_init)
        vec = np.broadcast_to(np.asarray(soc, dtype=float), (st.n,))
        if not np.all(np.isfinite(vec)):
            raise ValueError(f"{name} must be finite, got {vec}")
        return np.array(vec)

    @property
    def reaches_day_end(self) -> bool:
        """The horizon of the last :meth:`update` ends with the day's last step (the terminal
        energy settlement is in the objective)."""
        return self._t0 is not None and self._t0 + self._n_active == N_STEPS

    # ------------------------------------------------------------------ solving
    def _solve_direct(self, settings: dict[str, Any], warm_start: bool) -> float | None:
        """A DPP solve by the active-slot re-solver (its compile seconds), or ``None`` when it
        does not apply to this problem (then cvxpy solves it)."""
        direct = self._direct_solver()
        return direct.solve(settings, reuse=warm_start) if direct is not None else None

    def _direct_solver(self) -> _ActiveSlotSolver | None:
        """The active-slot re-solver (:class:`_ActiveSlotSolver`), built on first use; None
        (solve through cvxpy) when this problem does not have the structure it needs."""
        if self._direct is None:
            try:
                self._direct = _ActiveSlotSolver(
                    self, {"canon_backend": bf.DPP_CANON_BACKEND, "solver_opts": {}}
                )
            except _SliceError as exc:
                logger.debug("ses-carbon: re-solves through cvxpy (%s)", exc)
                self._direct = False
        return self._direct or None

    # ------------------------------------------------------------------ results
    def plan(self) -> Plan:
        """The schedule of the last solution and its priced terms (:class:`Plan`)."""
        self._require_solution()
        var, par, n = self._var, self._par, self._n_active
        c = self.config
        st, gt = c.storage, c.gas_turbine
        dt = self.dt_h
        p_gt = np.clip(var.p_gt.value[:n], gt.p_min_mw, gt.p_max_mw)
        ch = np.clip(var.p_ch.value[:n], 0.0, st.p_max_mw)
        dis = np.clip(var.p_dis.value[:n], 0.0, st.p_max_mw)
        p_st = dis - ch
        tie = np.asarray(_tie_line(self._net, var, par).value)[:n]
        losses = (var.ell.value[:n] * self._net.r).sum(axis=1)
        price = par.price.value[:n]
        ci = par.intensity.value[:n]
        emissions = acc.elementwise(
            acc.step_emissions_t, tie, ci, p_gt.sum(axis=1), gt.carbon_t_per_mwh, dt
        )
        net0 = float(par.carbon_net_so_far_t.value)
        net_end = net0 + float(emissions.sum()) - float(par.allowance_t.value)
        fuel = acc.gas_turbine_fuel_usd(
            float((p_gt * p_gt).sum()),
            float(p_gt.sum()),
            p_gt.size,
            gt.cost_a_usd_per_mw2h,
            gt.cost_b_usd_per_mwh,
            gt.cost_c_usd_per_h,
            dt,
        )
        cost = {
            "energy_purchase": float(acc.energy_purchase_usd(tie, price, dt).sum()),
            "gas_turbine_fuel": fuel,
            "storage_degradation": float(
                acc.storage_degradation_usd(np.abs(p_st), st.degradation_usd_per_mwh, dt).sum()
            ),
            "carbon_settlement": acc.CarbonLadder.from_params(c.carbon).settlement_usd(
                net0, net_end
            ),
            "storage_terminal_energy": (
                acc.terminal_energy_settlement(
                    self._energy_day_start, var.energy.value[n], self._terminal_price
                )
                if self.reaches_day_end
                else 0.0
            ),
        }
        terms = {name: float(expr.value) for name, expr in self._terms.items()}
        penalty = {name: terms[name] for name in ("soc_penalty",)}
        soc = var.energy.value[: n + 1] / st.energy_mwh
        v_min, v_max = bf.voltage_extremes(self._net, var, n)
        return Plan(
            t0=self.t0,
            gas_turbine_mw=p_gt,
            storage_mw=p_st,
            charge_mw=ch,
            discharge_mw=dis,
            soc=soc,
            tie_line_mw=tie,
            losses_mw=losses,
            emissions_t=emissions,
            carbon_net_end_t=net_end,
            cost_usd=cost,
            penalty_usd=penalty,
            objective_terms_usd=terms,
            v_min_pu=v_min,
            v_max_pu=v_max,
            max_loading=bf.branch_loading(self._net, var, n),
        )


# ====================================================================== active-slot re-solves
class _SliceError(RuntimeError):
    """The compiled problem does not have the padded-slot structure the sliced re-solve
    relies on (then :class:`SesCarbonFormulation` re-solves through cvxpy instead)."""


@dataclass(frozen=True)
class _ProbeSolution:
    """The fields of a Clarabel solution that cvxpy's ``invert`` reads."""

    status: str
    x: FloatArray
    z: FloatArray
    obj_val: float
    solve_time: float
    iterations: int


#: Column kinds of :class:`_ActiveSlotSolver` (of a slot at or after the first inactive one).
_ZERO_FIXED: Final[tuple[str, ...]] = ("p_gt", "p_ch", "p_dis")  # limits 0..0 when inactive
_FREE: Final[tuple[str, ...]] = ("p", "q", "ell", "v", "p_import", "soc_lo", "soc_hi")


class _ActiveSlotSolver:
    """DPP re-solves with Clarabel called directly on the *active* slots of the compiled
    problem.

    The compiled problem has ``H`` slots; after an update with ``n < H`` active slots the
    padded slots carry zero loads, PV, prices, intensities and device limits and no SOC
    penalty: their turbines and storages are fixed at 0, their energies equal the energy
    after the last active slot, and their network variables cost nothing and appear in no
    constraint of an active slot. Their columns and rows are therefore removed from the
    problem data cvxpy applies the parameters to (``get_problem_data``, no
    re-canonicalization), the padded energies merged into ``E_n`` (the terminal settlement's
    ``E_H``), and Clarabel solves the ``n``-slot problem — the same optimum as the padded one
    (its padded part is a zero-cost block), at a fraction of the interior-point work late in
    the day. One Clarabel solver per ``n`` is kept and refilled in place (``update``).
    The solution is expanded (padded network at zero flow and ``v = V_slack²``) and handed to
    cvxpy's ``unpack_results``, so variables, status and statistics read as after
    ``problem.solve``. A structure that breaks these assumptions raises :class:`_SliceError`
    (checked, not assumed).
    """

    def __init__(self, form: SesCarbonFormulation, canon_opts: dict[str, Any]) -> None:
        import cvxpy as cp

        self.form = form
        self._canon_opts = canon_opts
        problem = form.problem
        start = time.perf_counter()
        data, chain, inv = problem.get_problem_data(cp.CLARABEL, **canon_opts)
        #: Seconds the first (compiling) ``get_problem_data`` took, reported by the first solve.
        self.pending_compile_s = time.perf_counter() - start
        ncol = int(np.asarray(data["c"]).size)
        nrow = int(data["A"].shape[0])
        # probe: unpack x = 0, 1, 2, … and read back which column holds every variable entry
        probe = _ProbeSolution("Solved", np.arange(ncol, dtype=float), np.zeros(nrow), 0.0, 0.0, 0)
        problem.unpack_results(probe, chain, inv)
        h = form.horizon
        self._cols: dict[str, NDArray[np.intp]] = {}
        seen = np.zeros(ncol, dtype=int)
        for name in (*_ZERO_FIXED, *_FREE, "energy", "z_carbon"):
            value = getattr(form._var, name).value
            idx = np.rint(np.asarray(value, dtype=float)).astype(np.intp)
            if idx.shape[:1] != ((h + 1,) if name == "energy" else (h,) if idx.ndim else ()):
                raise _SliceError(f"variable {name} has shape {idx.shape}")
            self._cols[name] = idx
            np.add.at(seen, idx.reshape(-1), 1)
        if not (seen == 1).all():
            raise _SliceError("variables do not map one-to-one onto the problem's columns")
        self._ncol, self._nrow = ncol, nrow
        self._solvers: dict[int, tuple[Any, Any]] = {}  # n → (solver, (A pattern))
        self._structure: dict[int, tuple[Any, ...]] = {}

    def _slice(self, n: int, data: dict[str, Any]) -> tuple[Any, ...]:
        """Rows kept, column map ``M`` (full → reduced) and cones for ``n`` active slots."""
        import scipy.sparse as sp

        cols, h = self._cols, self.form.horizon
        kind = np.zeros(self._ncol, dtype=np.int8)  # 0 kept, 1 zero-fixed, 2 free, 3 merged
        for name in _ZERO_FIXED:
            kind[cols[name][n:].reshape(-1)] = 1
        for name in _FREE:
            kind[cols[name][n:].reshape(-1)] = 2
        energy = cols["energy"]
        kind[energy[n + 1 :].reshape(-1)] = 3
        kept_cols = np.flatnonzero(kind == 0)
        red = np.full(self._ncol, -1, dtype=np.intp)
        red[kept_cols] = np.arange(kept_cols.size)
        target = red.copy()
        for k in range(n + 1, h + 1):
            target[energy[k]] = red[energy[n]]  # E_k = E_n in the padded slots
        rows_m = np.flatnonzero(target >= 0)
        m = sp.csc_array(
            (np.ones(rows_m.size), (rows_m, target[rows_m])), shape=(self._ncol, kept_cols.size)
        )
        a = sp.csr_array(data["A"])
        a.eliminate_zeros()
        row_of = np.repeat(np.arange(self._nrow), np.diff(a.indptr))
        k_nz = kind[a.indices]
        has_kept = np.zeros(self._nrow, dtype=bool)
        has_free = np.zeros(self._nrow, dtype=bool)
        has_kept[row_of[k_nz == 0]] = True
        has_free[row_of[k_nz == 2]] = True
        if (has_kept & has_free).any():
            raise _SliceError("a constraint couples active and padded network variables")
        keep = has_kept.copy()
        reduced = (a[keep] @ m).tocsr()
        reduced.eliminate_zeros()
        empty = np.diff(reduced.indptr) == 0
        dims = data["dims"]
        kept_rows = np.flatnonzero(keep)
        b = np.asarray(data["b"], dtype=float)
        # rows emptied by the merge (the recursion into the first padded slot): 0 = b or 0 <= b
        for r in kept_rows[empty]:
            if (r < dims.zero and abs(b[r]) > 1e-9) or (r >= dims.zero and b[r] < -1e-9):
                raise _SliceError(f"row {r} reduces to an inconsistent constant")
        keep[kept_rows[empty]] = False
        # cones: equalities, inequalities, then second-order blocks kept or dropped whole
        if dims.exp or dims.psd or dims.p3d or getattr(dims, "pnd", None):
            raise _SliceError("only zero, nonnegative and second-order cones are sliced")
        import clarabel

        cones: list[Any] = []
        n_zero = int(keep[: dims.zero].sum())
        n_nonneg = int(keep[dims.zero : dims.zero + dims.nonneg].sum())
        if n_zero:
            cones.append(clarabel.ZeroConeT(n_zero))
        if n_nonneg:
            cones.append(clarabel.NonnegativeConeT(n_nonneg))
        start = dims.zero + dims.nonneg
        for size in dims.soc:
            block = keep[start : start + size]
            if block.any() and not block.all():
                raise _SliceError("a second-order cone is split by the padded slots")
            if block.all():
                cones.append(clarabel.SecondOrderConeT(int(size)))
            start += size
        q = np.asarray(data["c"], dtype=float)
        if np.any(q[kind == 2] != 0.0):
            raise _SliceError("a padded network variable has a cost")
        p = sp.csc_array(data["P"]) if data.get("P") is not None else None
        if p is not None:
            pc = p.tocoo()
            if np.any(kind[pc.row] >= 2) or np.any(kind[pc.col] >= 2):
                raise _SliceError("a padded network or energy variable has a quadratic cost")
        return np.flatnonzero(keep), m, cones, kind

    def solve(self, settings: dict[str, Any], *, reuse: bool = True) -> float:
        """Solve the active slots and unpack into the cvxpy problem (see the class doc);
        returns the seconds spent applying the parameters and slicing (the "compilation")."""
        import clarabel
        import cvxpy as cp
        import scipy.sparse as sp

        form = self.form
        n = form.n_active
        problem = form.problem
        start = time.perf_counter()
        data, chain, inv = problem.get_problem_data(cp.CLARABEL, **self._canon_opts)
        if n not in self._structure:
            self._structure[n] = self._slice(n, data)
        rows, m, cones, _ = self._structure[n]
        a = (sp.csr_array(data["A"])[rows] @ m).tocsc()
        a.eliminate_zeros()
        b = np.asarray(data["b"], dtype=float)[rows]
        q = m.T @ np.asarray(data["c"], dtype=float)
        if data.get("P") is not None:
            p = sp.triu(m.T @ sp.csc_array(data["P"]) @ m).tocsc()
        else:
            p = sp.csc_array((m.shape[1], m.shape[1]))
        compile_s = time.perf_counter() - start + self.pending_compile_s
        self.pending_compile_s = 0.0
        cached = self._solvers.get(n) if reuse else None
        pattern = (a.indptr.tobytes(), a.indices.tobytes(), p.indptr.tobytes(), p.indices.tobytes())
        stt = clarabel.DefaultSettings()
        stt.verbose = False
        for key, value in settings.items():
            setattr(stt, key, value)
        solver = None
        if cached is not None and cached[1] == pattern:
            solver = cached[0]
            try:
                solver.update(P=p, q=q, A=a, b=b, settings=stt)
            except Exception:  # a refused update only means a fresh solver
                solver = None
        if solver is None:
            solver = clarabel.DefaultSolver(p, q, a, b, cones, stt)
            self._solvers[n] = (solver, pattern)
        sol = solver.solve()
        x = np.zeros(self._ncol)
        z = np.zeros(self._nrow)
        if sol.x is not None and len(sol.x):
            x = m @ np.asarray(sol.x, dtype=float)  # kept and merged columns; padded: 0
            x[self._cols["v"][n:].reshape(-1)] = form._net.v0  # padded network at zero flow
            st = form.config.storage
            e_n = x[self._cols["energy"][n]]
            lo = np.maximum(st.soc_min * st.energy_mwh - e_n, 0.0)
            hi = np.maximum(e_n - st.soc_max * st.energy_mwh, 0.0)
            x[self._cols["soc_lo"][n:]] = lo  # the window slacks E_n needs (weight 0)
            x[self._cols["soc_hi"][n:]] = hi
        if sol.z is not None and len(sol.z):
            z[rows] = np.asarray(sol.z, dtype=float)
        problem.unpack_results(
            _ProbeSolution(
                str(sol.status), x, z, float(sol.obj_val), float(sol.solve_time),
                int(sol.iterations),
            ),
            chain,
            inv,
        )  # fmt: skip
        return compile_s
