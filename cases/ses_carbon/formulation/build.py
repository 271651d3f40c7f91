"""The SES-carbon SOCP built PyPSA-style: :class:`SesCarbonFormulation` checks its inputs,
then defines the variables (:mod:`.variables`), the parameters (:mod:`.parameters`), the
constraints (:mod:`.constraints`) and the objective (:mod:`.objective`); :meth:`update` fills
the parameters, :meth:`solve` solves (DPP re-solves by :mod:`.active_slots`), :meth:`plan`
reads the schedule back (:mod:`.plan`)."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridbench.cases.grid import branch_flow as bf
from gridbench.cases.params import PlannerModel
from gridbench.cases.ses_carbon import accounting as acc
from gridbench.cases.ses_carbon.config import SesCarbonConfig
from gridbench.cases.ses_carbon.day import GRID, N_STEPS, STEP_HOURS, SesCarbonDay
from gridbench.cases.ses_carbon.formulation.active_slots import ActiveSlotSolver, SliceError
from gridbench.cases.ses_carbon.formulation.constraints import define_constraints, tie_line
from gridbench.cases.ses_carbon.formulation.objective import (
    define_objective_terms,
    emissions_expression,
)
from gridbench.cases.ses_carbon.formulation.parameters import define_parameters
from gridbench.cases.ses_carbon.formulation.plan import Plan, horizon_cost_terms
from gridbench.cases.ses_carbon.formulation.variables import define_variables

if TYPE_CHECKING:
    import cvxpy as cp

    from gridbench.cases.grid import RadialFeeder

__all__ = ["SesCarbonFormulation"]

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]


# ====================================================================== check, network data
def _checked_feeder(
    config: SesCarbonConfig, feeder: RadialFeeder | None, line_rating_mva: ArrayLike | None
) -> tuple[RadialFeeder, FloatArray]:
    """The feeder (default the case's IEEE 33 one) and its branch ratings (default
    :func:`~gridbench.cases.ses_carbon.day.line_ratings_mva`, ``feeder.rate_mva`` for another
    feeder), checked: one positive rating per branch, every device on a bus of the feeder."""
    from gridbench.cases.grid import load_grid
    from gridbench.cases.ses_carbon.day import line_ratings_mva

    if feeder is None:
        feeder = load_grid(GRID)
        default_rating = line_ratings_mva(config)
    else:
        default_rating = feeder.rate_mva
    rating = np.asarray(default_rating if line_rating_mva is None else line_rating_mva, dtype=float)
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
    return feeder, rating


def _network(
    feeder: RadialFeeder, config: SesCarbonConfig, rating: FloatArray, model: PlannerModel
) -> bf.BranchFlowNetwork:
    """The feeder's branch-flow data in the network ``model``; line limits only where the flow
    can reach the rating: devices draw at most the storages' charging and inject at most PV
    rated + turbines + discharging (:func:`~gridbench.cases.grid.branch_flow.flow_bound`)."""
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
        model=model,
    )


# ====================================================================== the formulation
class SesCarbonFormulation(bf.BranchFlowFormulation):
    """The compiled SOCP of ``horizon`` hourly slots for one config (see the package docstring).

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
        model: PlannerModel = PlannerModel.EXACT,
    ) -> None:
        """Build the problem (no solve, no compilation yet): check → variables → parameters →
        constraints → objective.

        Args:
            config: the case's config (devices, limits, prices of the ladder).
            horizon: slots ``H`` (1–24 hourly steps).
            feeder: the network; default the case's IEEE 33 feeder with the substation at
                ``network.v_slack_pu`` (another radial feeder serves small test instances).
            line_rating_mva: branch ratings; default :func:`~.day.line_ratings_mva` for the
                case's feeder, ``feeder.rate_mva`` for another one (``inf`` = no limit).
            model: the physics of the formulation: the referee's (default) or a planner's
                simplified network (:class:`~gridbench.cases.params.PlannerModel`; the
                storage model has no variant here).
        """
        import cvxpy as cp

        super().__init__(horizon, N_STEPS)
        feeder, rating = _checked_feeder(config, feeder, line_rating_mva)
        self.config = config
        self.dt_h = STEP_HOURS
        if not PlannerModel(model).exact_storage:
            raise ValueError(f"planner model {model!r} has no SES-carbon formulation; valid: "
                             f"{', '.join(m for m in PlannerModel if m.exact_storage)}")
        self.model = PlannerModel(model)
        self._net = _network(feeder, config, rating, self.model)
        net, h, dt = self._net, horizon, self.dt_h
        st, gt, pv = config.storage, config.gas_turbine, config.pv
        self._inj_gt = net.device_map(gt.bus_index)
        self._inj_st = net.device_map(st.bus_index)
        self._inj_pv = net.device_map(pv.bus_index)
        var = define_variables(h, net.n_branch, st.n, gt.n)
        par = define_parameters(h, net.n_bus, pv.n, gt.n, st.n)
        self._var, self._par = var, par
        emissions = emissions_expression(var, par, config, dt)
        self._slopes, self._intercepts = acc.ladder_affine_pieces(config.carbon)
        self._ladder = acc.CarbonLadder.from_params(config.carbon)
        # PV, turbines and storages inject at unity power factor, as in the referee
        injection = (
            par.pv @ self._inj_pv + var.p_gt @ self._inj_gt + (var.p_dis - var.p_ch) @ self._inj_st
        )
        ladder = (self._slopes, self._intercepts)
        constraints = define_constraints(net, var, par, config, injection, emissions, ladder, dt)
        self._terms: dict[str, cp.Expression] = define_objective_terms(net, var, par, config, dt)
        self._emissions = emissions
        self.problem = cp.Problem(cp.Minimize(cp.sum(list(self._terms.values()))), constraints)
        self._energy_day_start = np.full(st.n, st.soc_init * st.energy_mwh)
        self._terminal_price = config.terminal_price_usd_per_mwh
        # active-slot re-solver of DPP solves (None: not built yet, False: not applicable)
        self._direct: ActiveSlotSolver | bool | None = None

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
        par.carbon_cost_so_far_usd.value = self._ladder.cost_usd(net0)
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
        return (
            direct.solve(self._n_active, settings, reuse=warm_start) if direct is not None else None
        )

    def _direct_solver(self) -> ActiveSlotSolver | None:
        """The active-slot re-solver (:class:`~.active_slots.ActiveSlotSolver`), built on
        first use; None (solve through cvxpy) when this problem does not have the structure it
        needs."""
        if self._direct is None:
            try:
                self._direct = ActiveSlotSolver(
                    self.problem,
                    self._var,
                    self.horizon,
                    self._net.v0,
                    self.config.storage,
                    {"canon_backend": bf.DPP_CANON_BACKEND, "solver_opts": {}},
                )
            except SliceError as exc:
                logger.debug("ses-carbon: re-solves through cvxpy (%s)", exc)
                self._direct = False
        return self._direct or None

    # ------------------------------------------------------------------ results
    def plan(self) -> Plan:
        """The schedule of the last solution and its priced terms (:class:`~.plan.Plan`)."""
        self._require_solution()
        var, par, n = self._var, self._par, self._n_active
        st, gt = self.config.storage, self.config.gas_turbine
        p_gt = np.clip(var.p_gt.value[:n], gt.p_min_mw, gt.p_max_mw)
        ch = np.clip(var.p_ch.value[:n], 0.0, st.p_max_mw)
        dis = np.clip(var.p_dis.value[:n], 0.0, st.p_max_mw)
        p_st = dis - ch
        tie = np.asarray(tie_line(self._net, var, par).value)[:n]
        emissions, net_end, cost = horizon_cost_terms(
            self.config,
            tie_line_mw=tie,
            price_usd_per_mwh=par.price.value[:n],
            upstream_t_per_mwh=par.intensity.value[:n],
            gas_turbine_mw=p_gt,
            storage_mw=p_st,
            carbon_net_so_far_t=float(par.carbon_net_so_far_t.value),
            allowance_t=float(par.allowance_t.value),
            energy_day_start_mwh=self._energy_day_start,
            energy_end_mwh=var.energy.value[n],
            terminal_price_usd_per_mwh=self._terminal_price if self.reaches_day_end else None,
            dt_h=self.dt_h,
        )
        terms = {name: float(expr.value) for name, expr in self._terms.items()}
        v_min, v_max = bf.voltage_extremes(self._net, var, n)
        return Plan(
            t0=self.t0,
            gas_turbine_mw=p_gt,
            storage_mw=p_st,
            charge_mw=ch,
            discharge_mw=dis,
            soc=var.energy.value[: n + 1] / st.energy_mwh,
            tie_line_mw=tie,
            losses_mw=(var.ell.value[:n] * self._net.r).sum(axis=1),
            emissions_t=emissions,
            carbon_net_end_t=net_end,
            cost_usd=cost,
            penalty_usd={name: terms[name] for name in ("soc_penalty",)},
            objective_terms_usd=terms,
            v_min_pu=v_min,
            v_max_pu=v_max,
            max_loading=bf.branch_loading(self._net, var, n),
        )
