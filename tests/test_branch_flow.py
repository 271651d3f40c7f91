"""The shared branch-flow SOCP blocks (:mod:`gridbench.cases.grid.branch_flow`) on tiny
feeders with hand-derived values."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from gridbench.cases.grid import RadialFeeder
from gridbench.cases.grid import branch_flow as bf
from gridbench.cases.grid.branch_flow import SolveResult, SolveStatus
from gridbench.cases.params import PlannerModel

cp = pytest.importorskip("cvxpy")

R_PU, X_PU = 0.1, 0.05


def _feeder(from_bus, to_bus, load_p, r=R_PU, x=X_PU, load_q=None) -> RadialFeeder:
    n = len(from_bus)
    return RadialFeeder(
        name="tiny",
        base_kv=1.0,  # z_base = 1 ohm: ohms are pu
        from_bus=np.array(from_bus),
        to_bus=np.array(to_bus),
        r_ohm=np.full(n, r),
        x_ohm=np.full(n, x),
        load_p_mw=np.array(load_p, dtype=float),
        load_q_mvar=np.zeros(len(load_p)) if load_q is None else np.array(load_q, dtype=float),
        rate_mva=np.full(n, math.inf),
    )


def test_network_matrices_of_a_forked_feeder():
    """Bus 1 feeds buses 2 and 3: branches 1 and 2 leave the bus branch 0 feeds."""
    fd = _feeder([0, 1, 1], [1, 2, 3], [0.0, 1.0, 2.0, 3.0])
    net = bf.BranchFlowNetwork.from_feeder(fd, [8.0, 20.0, math.inf], 1.02)
    assert net.children.tolist() == [[0, 0, 0], [1, 0, 0], [1, 0, 0]]
    assert net.root.tolist() == [1, 0, 0]
    assert net.v0 == pytest.approx(1.02**2)
    assert bf.subtree_matrix(fd).tolist() == [[0, 1, 1, 1], [0, 0, 1, 0], [0, 0, 0, 1]]
    # 1.2 · 1.25 · (subtree load): 9, 3, 4.5 MVA; only branch 0 can reach its 8 MVA
    assert net.flow_bound.tolist() == pytest.approx([9.0, 3.0, 4.5])
    assert net.limited.tolist() == [0]
    # 10 MW of feed-in at bus 2 dominates branches 0 and 1: 1.2 · 10
    bound = bf.flow_bound(fd, np.zeros(4), [0.0, 0.0, 10.0, 0.0])
    assert bound.tolist() == pytest.approx([12.0, 12.0, 4.5])
    assert net.device_map([2, 3]).tolist() == [[0, 1, 0], [0, 0, 1]]
    with pytest.raises(ValueError, match="rating_mva must hold 3"):
        bf.BranchFlowNetwork.from_feeder(fd, [1.0, 2.0], 1.0)


def _exact_current(p_load: float, q_load: float) -> float:
    """ℓ of a 2-bus feeder at v0 = 1: ℓ = (P_L + rℓ)² + (Q_L + xℓ)², the smaller root."""
    a = R_PU**2 + X_PU**2
    b = 2.0 * (R_PU * p_load + X_PU * q_load) - 1.0
    c = p_load**2 + q_load**2
    return (-b - math.sqrt(b * b - 4.0 * a * c)) / (2.0 * a)


@dataclass(frozen=True)
class _TwoBus:
    problem: cp.Problem
    net: bf.BranchFlowNetwork
    flows: object
    load_p: cp.Parameter
    load_q: cp.Parameter


def _two_bus(rating: float = math.inf, *, device: bool = False,
             model: PlannerModel = PlannerModel.EXACT, v_min: float = 0.8) -> _TwoBus:
    """Minimize the losses r·ℓ of one branch feeding a load (plus a free device at bus 1)."""
    fd = _feeder([0], [1], [0.0, 1.0])
    net = bf.BranchFlowNetwork.from_feeder(fd, [rating], 1.0, model=model)
    flows = type("Flows", (), bf.branch_flow_variables(1, 1))()
    load_p, load_q = cp.Parameter((1, 2), name="load_p"), cp.Parameter((1, 2), name="load_q")
    inj = None
    cons = []
    if device:
        g = cp.Variable((1, 1), nonneg=True)  # up to 0.6 MW at bus 1
        inj = g @ net.device_map([1])
        cons.append(g <= 0.6)
    cons += [
        *bf.define_nodal_balance_constraints(net, flows, load_p, load_q, inj),
        *bf.define_voltage_drop_constraints(net, flows),
        *bf.define_branch_flow_cone_constraints(net, flows),
        *bf.define_voltage_limit_constraints(net, flows, v_min, 1.1),
        *bf.define_line_limit_constraints(net, flows),
    ]
    problem = cp.Problem(cp.Minimize(cp.sum(flows.ell @ net.r)), cons)
    return _TwoBus(problem, net, flows, load_p, load_q)


@pytest.mark.parametrize(("p_load", "q_load"), [(1.0, 0.5), (0.5, 0.25)])
def test_two_bus_branch_flow_is_the_exact_power_flow(p_load, q_load):
    """(1, 0.5): ℓ = 30 − 20√2; (0.5, 0.25): ℓ = 35 − 20√3 (the quadratic above)."""
    m = _two_bus()
    assert m.problem.is_dpp()
    m.load_p.value = np.array([[0.0, p_load]])
    m.load_q.value = np.array([[0.0, q_load]])
    result = bf.solve_clarabel(
        m.problem,
        diagnostics=lambda: {"relaxation_gap": bf.relaxation_gap(m.net, m.flows, 1)},
    )
    assert result.status is SolveStatus.OPTIMAL
    ell = _exact_current(p_load, q_load)
    assert ell == pytest.approx(
        {1.0: 30 - 20 * math.sqrt(2), 0.5: 35 - 20 * math.sqrt(3)}[p_load], rel=1e-12
    )
    p, q = p_load + R_PU * ell, q_load + X_PU * ell
    v1 = 1.0 - 2.0 * (R_PU * p + X_PU * q) + (R_PU**2 + X_PU**2) * ell
    assert m.flows.ell.value[0, 0] == pytest.approx(ell, rel=1e-6)
    assert m.flows.p.value[0, 0] == pytest.approx(p, rel=1e-6)
    assert m.flows.q.value[0, 0] == pytest.approx(q, rel=1e-6)
    assert m.flows.v.value[0, 0] == pytest.approx(v1, rel=1e-6)
    assert result.objective == pytest.approx(R_PU * ell, rel=1e-6)
    assert result.relaxation_gap == pytest.approx(0.0, abs=1e-6)
    assert bf.voltage_extremes(m.net, m.flows, 1) == pytest.approx((math.sqrt(v1), 1.0), rel=1e-6)
    # no finite rating: no loading
    assert bf.branch_loading(m.net, m.flows, 1) == 0.0


def test_lossless_network_is_lindistflow():
    """ℓ = 0: the branch carries the load exactly, v1 = 1 − 2(r·P + x·Q) = 1 − 2(0.1 + 0.025)
    = 0.75 for (1, 0.5), and there is no relaxation to report."""
    m = _two_bus(model=PlannerModel.LOSSLESS, v_min=0.5)
    m.load_p.value = np.array([[0.0, 1.0]])
    m.load_q.value = np.array([[0.0, 0.5]])
    result = bf.solve_clarabel(m.problem, dpp=False)
    assert result.ok
    assert m.flows.ell.value[0, 0] == pytest.approx(0.0, abs=1e-9)
    assert m.flows.p.value[0, 0] == pytest.approx(1.0, rel=1e-8)
    assert m.flows.v.value[0, 0] == pytest.approx(0.75, rel=1e-8)
    assert bf.relaxation_gap(m.net, m.flows, 1) == 0.0


@pytest.mark.parametrize("model", [PlannerModel.EXACT, PlannerModel.LOSSLESS, PlannerModel.DC])
def test_dc_network_drops_the_voltage_band_and_rates_the_active_flow(model: PlannerModel):
    """Load (1, 0.5) under a 1.05 MVA rating and a 0.9 pu floor (v ≥ 0.81): the apparent flow
    is √1.25 = 1.118 MVA and v1 ≈ 0.75, so only the DC model, which rates |P| = 1 ≤ 1.05 and
    keeps no voltage band, finds the load servable."""
    m = _two_bus(rating=1.05, model=model, v_min=0.9)
    m.load_p.value = np.array([[0.0, 1.0]])
    m.load_q.value = np.array([[0.0, 0.5]])
    result = bf.solve_clarabel(m.problem, dpp=False)
    assert result.ok is (model is PlannerModel.DC)


@pytest.mark.parametrize(("model", "factor"), [(PlannerModel.IMPEDANCE_LOW, 0.9),
                                               (PlannerModel.IMPEDANCE_HIGH, 1.1)])
def test_impedance_variants_scale_r_and_x(model: PlannerModel, factor: float):
    fd = _feeder([0, 1], [1, 2], [0.0, 1.0, 1.0])
    exact = bf.BranchFlowNetwork.from_feeder(fd, [math.inf] * 2, 1.0)
    off = bf.BranchFlowNetwork.from_feeder(fd, [math.inf] * 2, 1.0, model=model)
    assert off.r == pytest.approx(factor * exact.r, rel=1e-15)
    assert off.x == pytest.approx(factor * exact.x, rel=1e-15)
    assert off.model is model and exact.model is PlannerModel.EXACT


def test_injection_at_the_load_bus_offsets_the_load():
    """A 0.6 MW device under a 1 MW load: the branch carries the flow of a 0.4 MW load."""
    m = _two_bus(device=True)
    m.load_p.value = np.array([[0.0, 1.0]])
    m.load_q.value = np.zeros((1, 2))
    result = bf.solve_clarabel(m.problem, dpp=False)
    assert result.ok
    ell = _exact_current(0.4, 0.0)
    assert m.flows.ell.value[0, 0] == pytest.approx(ell, rel=1e-6)
    assert m.flows.p.value[0, 0] == pytest.approx(0.4 + R_PU * ell, rel=1e-6)


def test_line_limit_binds_and_an_overload_is_a_status_not_an_exception():
    m = _two_bus(rating=1.0)
    m.load_p.value = np.array([[0.0, 1.0]])
    m.load_q.value = np.array([[0.0, 0.5]])
    result = bf.solve_clarabel(m.problem)  # 1.31 MVA needed through a 1 MVA branch
    assert result.status is SolveStatus.INFEASIBLE
    assert not result.ok and math.isnan(result.objective)
    m.load_q.value = np.zeros((1, 2))
    m.load_p.value = np.array([[0.0, 0.8]])
    result = bf.solve_clarabel(m.problem)  # DPP re-solve of the same compiled problem
    assert result.ok
    assert bf.branch_loading(m.net, m.flows, 1) <= 1.0 + 1e-6


def test_solve_clarabel_rejects_a_bad_time_limit():
    m = _two_bus()
    with pytest.raises(ValueError, match="time_limit_s must be > 0"):
        bf.solve_clarabel(m.problem, time_limit_s=0.0)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("optimal", SolveStatus.OPTIMAL),
        ("optimal_inaccurate", SolveStatus.OPTIMAL_INACCURATE),
        ("infeasible", SolveStatus.INFEASIBLE),
        ("infeasible_inaccurate", SolveStatus.INFEASIBLE),
        ("unbounded", SolveStatus.INFEASIBLE),
        ("user_limit", SolveStatus.TIMEOUT),
        ("solver_error", SolveStatus.FAILED),
        (None, SolveStatus.FAILED),
    ],
)
def test_solve_status_normalizes_cvxpy(status, expected):
    got = SolveStatus.from_cvxpy(status)
    assert got is expected
    assert got.ok is (expected in (SolveStatus.OPTIMAL, SolveStatus.OPTIMAL_INACCURATE))


def test_a_failed_solve_result_reads_as_not_ok():
    result = SolveResult(SolveStatus.FAILED, math.nan, 0.1, message="boom")
    assert not result.ok and math.isnan(result.relaxation_gap)


def test_a_numerical_failure_is_retried_once_at_looser_tolerances():
    """A solve that fails at Clarabel's default tolerances is retried at RETRY_TOLERANCES
    (here a stand-in ``direct`` that fails without them); one that fails again is FAILED."""
    m = _two_bus()
    m.load_p.value = np.array([[0.0, 1.0]])
    m.load_q.value = np.array([[0.0, 0.5]])
    calls: list[dict] = []

    def stalls_at_defaults(settings: dict, warm_start: bool) -> None:
        calls.append(dict(settings))
        if "tol_feas" not in settings:
            raise cp.error.SolverError("Solver 'CLARABEL' failed.")

    result = bf.solve_clarabel(m.problem, direct=stalls_at_defaults)
    assert result.ok and "retried at looser tolerances after SolverError" in result.message
    assert calls[1]["tol_feas"] == bf.RETRY_TOLERANCES["tol_feas"] == 1e-6
    assert m.flows.ell.value[0, 0] == pytest.approx(_exact_current(1.0, 0.5), rel=1e-4)

    def always_fails(settings: dict, warm_start: bool) -> None:
        raise cp.error.SolverError("Solver 'CLARABEL' failed.")

    failed = bf.solve_clarabel(m.problem, direct=always_fails)
    assert failed.status is SolveStatus.FAILED and "also at looser tolerances" in failed.message


def test_a_stall_at_the_iteration_limit_is_retried_but_not_a_time_limit():
    """USER_LIMIT well inside the time limit is Clarabel's iteration limit: retried (a stand-in
    ``direct`` stalls at 2 iterations without the retry's tolerances); a solve that used its
    time limit is a time-out, not retried."""
    m = _two_bus()
    m.load_p.value = np.array([[0.0, 1.0]])
    m.load_q.value = np.array([[0.0, 0.5]])

    def stalls(settings: dict, warm_start: bool) -> float | None:
        if "tol_feas" in settings:
            return None  # the retry: problem.solve as usual
        with pytest.warns(UserWarning):
            m.problem.solve(solver=cp.CLARABEL, max_iter=2)
        assert m.problem.status == cp.USER_LIMIT
        return 0.0

    result = bf.solve_clarabel(m.problem, direct=stalls)
    assert result.ok and "after the iteration limit" in result.message
    timed_out = bf.solve_clarabel(m.problem, direct=stalls, time_limit_s=1e-9)
    assert timed_out.status is SolveStatus.TIMEOUT and "retried" not in timed_out.message
