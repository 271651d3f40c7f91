"""Branch-flow (DistFlow) SOCP building blocks in cvxpy, shared by every radial-feeder
formulation (SES-carbon, loss-arbitrage).

The model is Baran–Wu's branch flow on a radial feeder with Farivar–Low's second-order cone
relaxation (M. Farivar, S. H. Low, *Branch flow model: relaxations and convexification*,
IEEE Trans. Power Syst. 28 (2013)), written as in Zhong et al., Processes 12 (2024) 1791,
eqs (2)–(6) (the SES-carbon paper; the loss-arbitrage article states the same power-flow
equations without numbers). Indices: slot ``k = 0 … H−1`` of the horizon, branch ``ij``
feeding bus ``j`` (the feeder's branch order: column ``k`` of every ``(H, n_branch)`` array
is the branch feeding bus ``to_bus[k]``); per unit on ``S_base = 1 MVA`` (pu power = MW),
``z_pu = z_ohm / base_kv²``.

Variables (:func:`branch_flow_variables`): sending-end flows ``P_ij, Q_ij``, squared currents
``ℓ_ij`` and squared voltages ``v_j`` of the bus each branch feeds (``v_1 = V_slack²`` is the
constant :attr:`BranchFlowNetwork.v0`). One ``define_<family>_constraints`` function per
constraint family, the equation in its docstring (PyPSA's ``optimization/constraints.py``
style): :func:`define_nodal_balance_constraints` (eqs (2)–(3)),
:func:`define_voltage_drop_constraints` (eq (5)), :func:`define_branch_flow_cone_constraints`
(the relaxation of the current definition), :func:`define_voltage_limit_constraints`
(eq (6)), :func:`define_line_limit_constraints` (eq (4)). The network enters as constant
matrices; loads and device injections are whatever the caller passes — cvxpy parameters in
both formulations, so that the problem stays DPP (it compiles once and re-solves by
refilling the parameters).

Also here: the :class:`SolveResult` record (its status the shared
:class:`~gridbench.cases.solve_status.SolveStatus`, re-exported here),
:func:`solve_clarabel`, the one Clarabel call of both formulations (a failure is a status,
never an exception), and :class:`BranchFlowFormulation`, the base both formulations build on
(the horizon window of an update, ``solve``, the relaxation read-outs).

Simplified network models (the crossover study's structural mismatch,
:class:`~gridbench.cases.params.PlannerModel`, held by :attr:`BranchFlowNetwork.model`): each
family reads the model, so a formulation built on a simplified network stays one set of calls.
``lossless`` (LinDistFlow) sets ``ℓ = 0`` in place of the cone; ``dc`` also drops the voltage
band and rates the active flow only; the impedance variants scale ``r`` and ``x``.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridbench.cases.params import PlannerModel
from gridbench.cases.solve_status import SolveStatus

if TYPE_CHECKING:
    import cvxpy as cp

    from gridbench.cases.grid.model import RadialFeeder

__all__ = [
    "CLARABEL_DEFAULTS",
    "DPP_CANON_BACKEND",
    "BranchFlowFormulation",
    "BranchFlowNetwork",
    "BranchFlows",
    "SolveResult",
    "SolveStatus",
    "branch_flow_variables",
    "branch_loading",
    "define_branch_flow_cone_constraints",
    "define_line_limit_constraints",
    "define_nodal_balance_constraints",
    "define_voltage_drop_constraints",
    "define_voltage_limit_constraints",
    "flow_bound",
    "pad_window",
    "relaxation_gap",
    "sending_voltage",
    "solve_clarabel",
    "subtree_matrix",
    "voltage_extremes",
]

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]

#: Clarabel settings of every solve: presolve off so that a re-solve of the compiled problem
#: updates the solver's data in place instead of rebuilding it (cvxpy only allows the update
#: without presolve).
CLARABEL_DEFAULTS: Final[Mapping[str, Any]] = MappingProxyType({"presolve_enable": False})
#: cvxpy's canonicalization backend for the parametric (DPP) compile: "COO" builds the
#: parameter tensor of these models about twice as fast as the default "CPP".
DPP_CANON_BACKEND: Final[str] = "COO"
#: Clarabel's tolerances of the one retry after a numerical failure (its defaults are 1e-8):
#: a nearly infeasible re-solve late in the day (an MPC whose storage must just reach its end
#: energy within the cycle budget) can stall at 1e-8 and solve at these.
RETRY_TOLERANCES: Final[Mapping[str, float]] = MappingProxyType(
    {"tol_feas": 1e-6, "tol_gap_abs": 1e-6, "tol_gap_rel": 1e-6}
)
#: Margins of :func:`flow_bound`: loads (forecast errors above the nominal peak, which the
#: hourly actuals never exceed) and the losses and voltage drops inside a subtree.
LOAD_MARGIN: Final[float] = 1.25
FLOW_MARGIN: Final[float] = 1.2


# ====================================================================== solve result
@dataclass(frozen=True)
class SolveResult:
    """Record of one solve.

    Attributes:
        status: normalized outcome.
        objective: optimal value ($, the formulation's objective; ``nan`` unless
            ``status.ok``).
        solve_time_s: wall time of the call (compilation or parameter refill + solver).
        solver_time_s: time inside the solver (Clarabel's own clock; ``nan`` if unknown).
        compile_time_s: cvxpy's canonicalization time of this call (large on the first
            solve of a parametric problem, small on a DPP re-solve; ``nan`` if unknown).
        iterations: interior-point iterations (-1 if unknown).
        relaxation_gap: ``max |ℓ·v_i − P² − Q²|`` over active slots and branches (pu², 0 =
            the relaxation is exact; ``nan`` unless ``status.ok``).
        message: the solver's status or the exception text.
    """

    status: SolveStatus
    objective: float
    solve_time_s: float
    solver_time_s: float = math.nan
    compile_time_s: float = math.nan
    iterations: int = -1
    relaxation_gap: float = math.nan
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status.ok


R = TypeVar("R", bound=SolveResult)


def _clarabel_options(
    time_limit_s: float | None, dpp: bool, solver_options: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The keyword arguments of ``problem.solve``: :data:`CLARABEL_DEFAULTS` with
    ``solver_options`` over them, the time limit, the DPP canonicalization backend (or
    ``ignore_dpp``)."""
    opts: dict[str, Any] = {**CLARABEL_DEFAULTS, **(solver_options or {})}
    if time_limit_s is not None:
        if not time_limit_s > 0:
            raise ValueError(f"time_limit_s must be > 0, got {time_limit_s!r}")
        opts["time_limit"] = float(time_limit_s)
    if dpp:
        opts["canon_backend"] = DPP_CANON_BACKEND
    else:
        opts["ignore_dpp"] = True
    return opts


def _run_clarabel(
    problem: cp.Problem,
    opts: dict[str, Any],
    dpp: bool,
    warm_start: bool,
    direct: Callable[[dict[str, Any], bool], float | None] | None,
) -> float | None:
    """Solve ``problem`` (``direct`` first where it applies, else ``problem.solve``); returns
    ``direct``'s compile seconds, ``None`` where ``problem.solve`` ran. Raises what they raise."""
    import cvxpy as cp

    direct_compile_s: float | None = None
    with warnings.catch_warnings():
        # the status says it all; cvxpy's "may be inaccurate" warning adds nothing
        warnings.simplefilter("ignore", UserWarning)
        if dpp and direct is not None:
            settings = {k: v for k, v in opts.items() if k != "canon_backend"}
            direct_compile_s = direct(settings, warm_start)
        if direct_compile_s is None:
            problem.solve(solver=cp.CLARABEL, warm_start=warm_start, **opts)
    return direct_compile_s


def _attempt(
    problem: cp.Problem,
    opts: dict[str, Any],
    dpp: bool,
    warm_start: bool,
    direct: Callable[[dict[str, Any], bool], float | None] | None,
    label: str,
) -> tuple[float | None, str | None]:
    """:func:`_run_clarabel`, its exception as a one-line message (``None``: none raised)."""
    try:
        return _run_clarabel(problem, opts, dpp, warm_start, direct), None
    except Exception as exc:  # a failing solve must never crash a controller
        logger.debug("%s solve failed", label, exc_info=True)
        return None, f"{type(exc).__name__}: {exc}"


def _solution_found(problem: cp.Problem) -> bool:
    """Whether ``problem`` and every one of its variables hold a value."""
    return problem.value is not None and all(
        var.value is not None for var in problem.variables()
    )


def solve_clarabel(
    problem: cp.Problem,
    *,
    time_limit_s: float | None = None,
    dpp: bool = True,
    warm_start: bool = True,
    solver_options: Mapping[str, Any] | None = None,
    direct: Callable[[dict[str, Any], bool], float | None] | None = None,
    diagnostics: Callable[[], Mapping[str, float]] | None = None,
    result_type: type[R] = SolveResult,  # type: ignore[assignment]
    label: str = "branch-flow",
) -> R:
    """Solve ``problem`` with Clarabel; infeasibility, failure and time-out are reported in
    the returned status, never raised. A numerical failure or a stall at the iteration limit
    (not the time limit) is retried once from cold at :data:`RETRY_TOLERANCES`, as a deployed
    controller would; the result's message says so.

    Args:
        time_limit_s: Clarabel's time limit (its iterations; compilation not counted).
        dpp: compile the parametric problem (once; later solves only refill the parameters,
            with :data:`DPP_CANON_BACKEND`). ``False`` canonicalizes with the current values
            as constants — faster for a problem solved once (the oracle), no reuse.
        warm_start: let cvxpy (or ``direct``) reuse the solver of the previous solve when only
            parameter values changed.
        solver_options: Clarabel settings (e.g. ``tol_gap_rel``), over
            :data:`CLARABEL_DEFAULTS`.
        direct: a DPP solve that bypasses ``problem.solve`` (SES-carbon's active-slot
            solver): called with the Clarabel settings and ``warm_start``, it unpacks its
            solution into ``problem`` and returns its compile seconds, or returns ``None``
            without solving when it does not apply (then ``problem.solve`` runs).
        diagnostics: extra fields of ``result_type`` computed from an ``ok`` solution
            (``relaxation_gap`` and the like).
        result_type: :class:`SolveResult` or a subclass with the fields ``diagnostics``
            returns.
        label: what to call the problem in the debug log of a failure.
    """
    import cvxpy as cp

    opts = _clarabel_options(time_limit_s, dpp, solver_options)
    start = time.perf_counter()
    retried = ""
    direct_compile_s, failure = _attempt(problem, opts, dpp, warm_start, direct, label)
    # USER_LIMIT well inside the time limit: Clarabel stalled at its iteration limit
    stalled = failure is None and problem.status == cp.USER_LIMIT and (
        time_limit_s is None or time.perf_counter() - start < 0.5 * time_limit_s)
    if stalled or (failure is not None and problem.status != cp.USER_LIMIT):
        why = failure or "the iteration limit"
        direct_compile_s, again = _attempt(problem, {**opts, **RETRY_TOLERANCES}, dpp, False,
                                           direct, label)
        if again is not None:
            status = SolveStatus.TIMEOUT if problem.status == cp.USER_LIMIT else \
                SolveStatus.FAILED
            return result_type(status, math.nan, time.perf_counter() - start,
                               message=f"{why} (also at looser tolerances)")
        retried = f" (retried at looser tolerances after {why})"
    elif failure is not None:  # the time limit
        return result_type(SolveStatus.TIMEOUT, math.nan, time.perf_counter() - start,
                           message=failure)
    wall = time.perf_counter() - start
    status = SolveStatus.from_cvxpy(problem.status)
    stats = problem.solver_stats
    solver_time = (
        float(stats.solve_time) if stats is not None and stats.solve_time is not None else math.nan
    )
    iters = int(stats.num_iters) if stats is not None and stats.num_iters is not None else -1
    compile_time = (
        direct_compile_s
        if direct_compile_s is not None
        else getattr(problem, "compilation_time", None)
    )
    has_solution = _solution_found(problem)
    if status.ok and not has_solution:
        status = SolveStatus.FAILED
    ok = status.ok
    extra = dict(diagnostics()) if ok and diagnostics is not None else {}
    return result_type(
        status=status,
        objective=float(problem.value) if ok else math.nan,
        solve_time_s=wall,
        solver_time_s=solver_time,
        compile_time_s=float(compile_time) if compile_time is not None else math.nan,
        iterations=iters,
        message=str(problem.status) + retried,
        **extra,
    )


# ====================================================================== network data
def subtree_matrix(feeder: RadialFeeder) -> FloatArray:
    """``(n_branch, n_bus)``: ``[k, j] = 1`` if bus ``j`` lies below branch ``k`` (or is the
    bus it feeds) — which buses' demand a branch carries."""
    nb, nl = feeder.n_bus, feeder.n_branch
    branch_of_bus = np.full(nb, -1)
    branch_of_bus[feeder.to_bus] = np.arange(nl)
    parent = np.zeros(nb, dtype=np.intp)
    parent[feeder.to_bus] = feeder.from_bus
    below = np.zeros((nl, nb))
    for j in range(1, nb):
        b = j
        while b != 0:
            below[branch_of_bus[b], j] = 1.0
            b = int(parent[b])
    return below


def flow_bound(
    feeder: RadialFeeder,
    withdraw_mw: ArrayLike,
    inject_mw: ArrayLike,
    *,
    load_margin: float = LOAD_MARGIN,
    flow_margin: float = FLOW_MARGIN,
) -> FloatArray:
    """Upper bound on the apparent flow of each branch over every day and schedule, MVA.

    A branch carries its subtree's net demand plus the subtree's losses: at most
    ``max(Σ 1.25·P_nom + withdraw, Σ inject)`` active and ``Σ 1.25·|Q_nom|`` reactive power
    over the buses below it (bus loads never exceed their nominal value,
    :func:`~gridbench.cases.data.bus_loads`; 25 % covers load forecasts), times 1.2 for
    losses. ``withdraw_mw``/``inject_mw`` ``(n_bus,)``: the most the devices at each bus can
    draw (charging) and feed in (PV, turbines, discharging). Branches whose bound stays below
    the rating need no line limit.
    """
    below = subtree_matrix(feeder)
    withdraw = np.asarray(withdraw_mw, dtype=float)
    inject = np.asarray(inject_mw, dtype=float)
    p_bound = np.maximum(below @ (load_margin * feeder.load_p_mw + withdraw), below @ inject)
    q_bound = below @ (load_margin * np.abs(feeder.load_q_mvar))
    return flow_margin * np.hypot(p_bound, q_bound)


@dataclass(frozen=True, eq=False)
class BranchFlowNetwork:
    """Constant matrices of a radial feeder for the branch-flow model (branch ``k`` feeds bus
    ``to_bus[k]``; build with :meth:`from_feeder`)."""

    n_bus: int
    n_branch: int
    r: FloatArray  # (nl,) pu
    x: FloatArray  # (nl,) pu
    children: FloatArray  # (nl, nl): [c, k] = 1 if branch c leaves the bus branch k feeds
    root: FloatArray  # (nl,): 1 for branches leaving the substation
    bus_to_branch: FloatArray  # (nb, nl): [i, k] = 1 if bus i is fed by branch k
    rating: FloatArray  # (nl,) MVA (inf = no limit)
    v0: float  # squared substation voltage
    limited: NDArray[np.intp]  # branches whose flow can reach the rating
    flow_bound: FloatArray  # (nl,) MVA, bound on the apparent flow of each branch
    #: The network model (the referee's unless a planner's simplified one; module docstring).
    model: PlannerModel = PlannerModel.EXACT

    @classmethod
    def from_feeder(
        cls,
        feeder: RadialFeeder,
        rating_mva: ArrayLike,
        v_slack_pu: float,
        *,
        withdraw_mw: ArrayLike | None = None,
        inject_mw: ArrayLike | None = None,
        model: PlannerModel = PlannerModel.EXACT,
    ) -> BranchFlowNetwork:
        """The network of ``feeder`` with branch ratings ``rating_mva`` and the substation at
        ``v_slack_pu``; ``withdraw_mw``/``inject_mw`` ``(n_bus,)`` are the devices' largest
        draw and feed-in per bus (:func:`flow_bound`, default none), which decide the
        branches that get a line limit (:attr:`limited`); ``model`` the network model (its
        impedance factor applied to ``r`` and ``x`` here)."""
        nb, nl = feeder.n_bus, feeder.n_branch
        rating = np.asarray(rating_mva, dtype=float)
        if rating.shape != (nl,):
            raise ValueError(f"rating_mva must hold {nl} ratings, got shape {rating.shape}")
        branch_of_bus = np.full(nb, -1)
        branch_of_bus[feeder.to_bus] = np.arange(nl)
        children = np.zeros((nl, nl))
        for c in range(nl):
            fb = int(feeder.from_bus[c])
            if fb != 0:
                children[c, branch_of_bus[fb]] = 1.0
        bus_to_branch = np.zeros((nb, nl))
        bus_to_branch[feeder.to_bus, np.arange(nl)] = 1.0
        zeros = np.zeros(nb)
        bound = flow_bound(
            feeder,
            zeros if withdraw_mw is None else withdraw_mw,
            zeros if inject_mw is None else inject_mw,
        )
        return cls(
            n_bus=nb,
            n_branch=nl,
            r=model.impedance_scale * feeder.r_ohm / feeder.z_base_ohm,
            x=model.impedance_scale * feeder.x_ohm / feeder.z_base_ohm,
            children=children,
            root=(feeder.from_bus == 0).astype(float),
            bus_to_branch=bus_to_branch,
            rating=rating,
            v0=float(v_slack_pu) ** 2,
            limited=np.flatnonzero(np.isfinite(rating) & (bound >= rating)),
            flow_bound=bound,
            model=PlannerModel(model),
        )

    def device_map(self, bus_index: ArrayLike) -> FloatArray:
        """``(n_devices, nl)``: device ``d`` injects at the bus fed by its column's branch."""
        return self.bus_to_branch[np.asarray(bus_index, dtype=np.intp)]


class BranchFlows(Protocol):
    """The branch-flow variables a formulation holds (each ``(H, n_branch)``)."""

    @property
    def p(self) -> cp.Variable: ...  # P_ij, sending end
    @property
    def q(self) -> cp.Variable: ...  # Q_ij
    @property
    def ell(self) -> cp.Variable: ...  # ℓ_ij = |I_ij|²
    @property
    def v(self) -> cp.Variable: ...  # v_j of the bus each branch feeds


def branch_flow_variables(horizon: int, n_branch: int, *, nonneg: bool = False) -> dict[str, Any]:
    """The variables ``p, q, ell, v`` (keyword arguments of a formulation's variable record),
    ``(horizon, n_branch)`` each; ``nonneg`` declares ``ℓ, v ≥ 0`` (implied by the cone)."""
    import cvxpy as cp

    shape = (horizon, n_branch)
    return {
        "p": cp.Variable(shape, name="P"),
        "q": cp.Variable(shape, name="Q"),
        "ell": cp.Variable(shape, nonneg=nonneg, name="ell"),
        "v": cp.Variable(shape, nonneg=nonneg, name="v"),
    }


def _tile(row: FloatArray, h: int) -> FloatArray:
    return np.tile(row, (h, 1))


# ====================================================================== constraint families
def sending_voltage(net: BranchFlowNetwork, flows: BranchFlows) -> cp.Expression:
    """Squared voltage ``v_i`` at the sending bus of every branch, ``(H, nl)``."""
    h = flows.v.shape[0]
    return flows.v @ net.children.T + net.v0 * _tile(net.root, h)


def define_nodal_balance_constraints(
    net: BranchFlowNetwork,
    flows: BranchFlows,
    load_p: cp.Expression,
    load_q: cp.Expression,
    injection_p: cp.Expression | None = None,
) -> list[cp.Constraint]:
    """Active and reactive power balance at every bus j ≠ 1, eqs (2)–(3)::

        P_ij − r_ij·ℓ_ij − Σ_{jk} P_jk = P_j^l − P_j^inj
        Q_ij − x_ij·ℓ_ij − Σ_{jk} Q_jk = Q_j^l

    ``load_p``/``load_q`` ``(H, n_bus)``: bus loads (MW, Mvar); ``injection_p`` ``(H, nl)``:
    the devices' net active injection at the bus each branch feeds (devices at unity power
    factor; build it with :meth:`BranchFlowNetwork.device_map`).
    """
    import cvxpy as cp

    h = flows.p.shape[0]
    demand_p = load_p @ net.bus_to_branch
    if injection_p is not None:
        demand_p = demand_p - injection_p
    return [
        flows.p - cp.multiply(_tile(net.r, h), flows.ell) - flows.p @ net.children == demand_p,
        flows.q - cp.multiply(_tile(net.x, h), flows.ell) - flows.q @ net.children
        == load_q @ net.bus_to_branch,
    ]


def define_voltage_drop_constraints(
    net: BranchFlowNetwork, flows: BranchFlows
) -> list[cp.Constraint]:
    """Voltage drop along every branch ij, eq (5)::

    v_j = v_i − 2·(r_ij·P_ij + x_ij·Q_ij) + (r_ij² + x_ij²)·ℓ_ij,    v_1 = V_slack²
    """
    import cvxpy as cp

    h = flows.v.shape[0]
    r, x = _tile(net.r, h), _tile(net.x, h)
    z2 = _tile(net.r**2 + net.x**2, h)
    return [
        flows.v
        == sending_voltage(net, flows)
        - 2.0 * (cp.multiply(r, flows.p) + cp.multiply(x, flows.q))
        + cp.multiply(z2, flows.ell)
    ]


def define_branch_flow_cone_constraints(
    net: BranchFlowNetwork, flows: BranchFlows
) -> list[cp.Constraint]:
    """Farivar–Low relaxation of ``ℓ_ij·v_i = P_ij² + Q_ij²`` as a rotated second-order cone
    per branch and slot::

        ℓ_ij·v_i ≥ P_ij² + Q_ij²   ⇔   ‖(2·P_ij, 2·Q_ij, ℓ_ij − v_i)‖₂ ≤ ℓ_ij + v_i

    A lossless network model (LinDistFlow, DC) has ``ℓ_ij = 0`` instead.
    """
    import cvxpy as cp

    if not net.model.losses:
        return [flows.ell == 0.0]
    v_from = sending_voltage(net, flows)
    return [
        cp.SOC(
            cp.vec(flows.ell + v_from, order="C"),
            cp.vstack(
                [
                    cp.vec(2.0 * flows.p, order="C"),
                    cp.vec(2.0 * flows.q, order="C"),
                    cp.vec(flows.ell - v_from, order="C"),
                ]
            ),
            axis=0,
        )
    ]


def define_voltage_limit_constraints(
    net: BranchFlowNetwork, flows: BranchFlows, v_min_pu: float, v_max_pu: float
) -> list[cp.Constraint]:
    """Voltage band at every bus j ≠ 1, eq (6)::

    V_min² ≤ v_j ≤ V_max²

    (none in the DC network model: flat voltage).
    """
    if not net.model.voltage_band:
        return []
    return [flows.v >= v_min_pu**2, flows.v <= v_max_pu**2]


def define_line_limit_constraints(
    net: BranchFlowNetwork, flows: BranchFlows
) -> list[cp.Constraint]:
    """Apparent-power rating of every branch that can reach it, eq (4), at both ends (the
    referees measure ``max(S_from, S_to)``), as one cone on the branch's midpoint flow::

        ‖(P_ij − r_ij·ℓ_ij/2, Q_ij − x_ij·ℓ_ij/2)‖₂ + |z_ij|·ℓ_ij/2 ≤ S_ij^max

    By the triangle inequality this implies ``‖(P_ij, Q_ij)‖ ≤ S^max`` (sending end) and
    ``‖(P_ij − r·ℓ, Q_ij − x·ℓ)‖ ≤ S^max`` (receiving end); it is conservative by at most
    the branch's own loss ``|z|·ℓ`` (MVA), a fraction of a percent of the rating. Branches
    whose flow cannot reach the rating (:attr:`BranchFlowNetwork.limited`) get no cone. The
    DC network model rates the active flow only: ``|P_ij| ≤ S_ij^max``.
    """
    import cvxpy as cp

    idx = net.limited
    if idx.size == 0:
        return []
    h = flows.p.shape[0]
    if not net.model.reactive:
        rating = _tile(net.rating[idx], h)
        return [flows.p[:, idx] <= rating, flows.p[:, idx] >= -rating]
    r, x = _tile(net.r[idx], h), _tile(net.x[idx], h)
    z = _tile(np.hypot(net.r[idx], net.x[idx]), h)
    ell = flows.ell[:, idx]
    p_mid = flows.p[:, idx] - cp.multiply(r / 2.0, ell)
    q_mid = flows.q[:, idx] - cp.multiply(x / 2.0, ell)
    bound = _tile(net.rating[idx], h) - cp.multiply(z / 2.0, ell)
    return [
        cp.SOC(
            cp.vec(bound, order="C"),
            cp.vstack([cp.vec(p_mid, order="C"), cp.vec(q_mid, order="C")]),
            axis=0,
        )
    ]


# ====================================================================== solution read-outs
def relaxation_gap(net: BranchFlowNetwork, flows: BranchFlows, n: int) -> float:
    """``max |ℓ·v_i − P² − Q²|`` over the first ``n`` slots of the solution (pu²; 0 = the
    relaxation is exact; 0 for a lossless network model, which has no relaxation)."""
    if not net.model.losses:
        return 0.0
    v_from = sending_voltage(net, flows).value[:n]
    p, q, ell = flows.p.value[:n], flows.q.value[:n], flows.ell.value[:n]
    gap = ell * v_from - p**2 - q**2
    return float(np.max(np.abs(gap))) if gap.size else 0.0


def voltage_extremes(net: BranchFlowNetwork, flows: BranchFlows, n: int) -> tuple[float, float]:
    """Smallest and largest voltage magnitude (pu) of the first ``n`` slots, substation
    included."""
    vm = np.sqrt(np.maximum(flows.v.value[:n], 0.0))
    v0 = math.sqrt(net.v0)
    return float(min(vm.min(initial=np.inf), v0)), float(max(vm.max(initial=-np.inf), v0))


def branch_loading(net: BranchFlowNetwork, flows: BranchFlows, n: int) -> float:
    """Largest ``max(S_from, S_to) / S^max`` over the first ``n`` slots and rated branches."""
    p, q, ell = flows.p.value[:n], flows.q.value[:n], flows.ell.value[:n]
    s_from = np.hypot(p, q)
    s_to = np.hypot(p - net.r * ell, q - net.x * ell)
    finite = np.isfinite(net.rating)
    loading = np.maximum(s_from, s_to)[:, finite] / net.rating[finite]
    return float(loading.max(initial=0.0))


# ====================================================================== formulation base
def pad_window(
    values: ArrayLike, t0: int, n_active: int, horizon: int, width: int | None = None
) -> FloatArray:
    """Rows ``t0 … t0 + n_active − 1`` of a day's series ``values`` (``(steps,)`` or
    ``(steps, width)``) in a ``horizon``-row array, zero-padded after the active rows."""
    arr = np.asarray(values, dtype=float)
    shape = (horizon,) if width is None else (horizon, width)
    if arr.shape[1:] != shape[1:] or arr.shape[0] < t0 + n_active:
        raise ValueError(
            f"day data of shape {arr.shape} does not cover steps {t0}..{t0 + n_active - 1} "
            f"with {shape[1:] or 'scalar'} columns"
        )
    rows = arr[t0 : t0 + n_active]
    if not np.isfinite(rows).all():
        raise ValueError("day data contains NaN or inf")
    out = np.zeros(shape)
    out[:n_active] = rows
    return out


class BranchFlowFormulation:
    """What every branch-flow formulation shares: a compiled problem of ``horizon`` slots of a
    day of ``steps_per_day`` steps, the window its last ``update`` filled, :meth:`solve` and
    the relaxation read-outs.

    A subclass builds :attr:`problem`, ``_net`` (:class:`BranchFlowNetwork`) and ``_var``
    (holding :class:`BranchFlows`) in ``__init__`` after ``super().__init__``, and its
    ``update`` opens the window with :meth:`_window` and closes it by setting
    ``self._t0, self._n_active``. Slots past the end of the day are inactive padding.
    """

    #: Name in the debug log of a failed solve.
    label: ClassVar[str] = "branch-flow"
    #: The record :meth:`solve` returns (a subclass adds its own diagnostics).
    result_type: ClassVar[type[SolveResult]] = SolveResult

    problem: cp.Problem
    _net: BranchFlowNetwork
    _var: BranchFlows

    def __init__(self, horizon: int, steps_per_day: int) -> None:
        if (
            isinstance(horizon, bool)
            or not isinstance(horizon, int)
            or not 1 <= horizon <= steps_per_day
        ):
            raise ValueError(f"horizon must be an int in 1..{steps_per_day}, got {horizon!r}")
        self.horizon = horizon
        self.steps_per_day = steps_per_day
        self._t0: int | None = None
        self._n_active = 0
        self._solution_ok = False

    # ------------------------------------------------------------------ window
    @property
    def parameters(self) -> MappingProxyType[str, cp.Parameter]:
        """Every parameter by name (read-only mapping)."""
        return MappingProxyType({p.name(): p for p in self.problem.parameters()})

    def is_dpp(self) -> bool:
        """The problem follows DPP: re-solves skip canonicalization."""
        return bool(self.problem.is_dpp())

    @property
    def t0(self) -> int:
        """Day step of slot 0 (after ``update``)."""
        if self._t0 is None:
            raise RuntimeError("no data yet: call update(data, t0=...) first")
        return self._t0

    @property
    def n_active(self) -> int:
        """Active slots ``min(horizon, steps_per_day − t0)``."""
        return self._n_active

    def _window(self, t0: int) -> tuple[int, int]:
        """``(t0, n_active)`` of an update starting at day step ``t0`` (validated)."""
        last = self.steps_per_day - 1
        if isinstance(t0, bool) or not isinstance(t0, int | np.integer) or not 0 <= t0 <= last:
            raise ValueError(f"t0 must be an int in 0..{last}, got {t0!r}")
        return int(t0), min(self.horizon, self.steps_per_day - int(t0))

    # ------------------------------------------------------------------ solving
    def solve(
        self,
        *,
        time_limit_s: float | None = None,
        dpp: bool = True,
        warm_start: bool = True,
        **solver_options: Any,
    ) -> SolveResult:
        """Solve with Clarabel (:func:`solve_clarabel`); a solver failure, infeasibility or
        time-out is reported in the returned status, never raised.

        Args:
            time_limit_s: Clarabel's time limit (its iterations; compilation not counted).
            dpp: compile the parametric problem (once; later solves only refill the
                parameters). ``False`` canonicalizes with the current values as constants —
                faster for a problem solved once (the oracle), no reuse.
            warm_start: reuse the solver of the previous solve when only parameter values
                changed.
            **solver_options: Clarabel settings (e.g. ``tol_gap_rel``, ``max_iter``).
        """
        if self._t0 is None:
            raise RuntimeError("no data yet: call update(data, t0=...) before solve()")
        self._solution_ok = False
        result = solve_clarabel(
            self.problem,
            time_limit_s=time_limit_s,
            dpp=dpp,
            warm_start=warm_start,
            solver_options=solver_options,
            direct=self._solve_direct,
            diagnostics=self._diagnostics,
            result_type=self.result_type,
            label=self.label,
        )
        self._solution_ok = result.ok
        return result

    def _solve_direct(self, settings: dict[str, Any], warm_start: bool) -> float | None:
        """A DPP solve that bypasses cvxpy's (see :func:`solve_clarabel`); ``None``: none."""
        return None

    def _diagnostics(self) -> dict[str, float]:
        """The result's diagnostics of an ``ok`` solution (the relaxation gap)."""
        return {"relaxation_gap": relaxation_gap(self._net, self._var, self._n_active)}

    # ------------------------------------------------------------------ results
    def relaxation_gap(self) -> float:
        """``max |ℓ·v_i − P² − Q²|`` over the active slots of the last solution (pu²)."""
        if not self._solution_ok:
            return math.nan
        return relaxation_gap(self._net, self._var, self._n_active)

    def _require_solution(self) -> None:
        if not self._solution_ok:
            raise RuntimeError("no solution: the last solve() did not succeed (see its status)")
