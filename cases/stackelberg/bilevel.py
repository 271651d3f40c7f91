"""The leader's problem against rational followers as one MILP: the exact single-level
reformulation of ``../shared/specs/stackelberg-gsess.md`` §3, solved by HiGHS.

The leader chooses prices ``λ`` (and its own variables ``y``, e.g. the network's flows) to
maximize::

    Π = Σ_f λ'(B_f x_f + d_f) + g_λ'λ + g_y'y + Σ_f g_f'x_f + g_0
    s.t.  λ_lo ≤ λ ≤ λ_hi,   P λ ≤ r,   y_lo ≤ y ≤ y_hi,
          row_lo ≤ L_λ λ + L_y y + Σ_f L_f x_f ≤ row_hi,
          x_f ∈ argmin U_f(·, λ) for every follower f   (:class:`~.follower.FollowerQP`)

Each follower's argmin is replaced by its KKT conditions, with every inequality ``r`` of ``f``
(its rows ``A x ≤ b`` and its finite bounds, together ``Â x ≤ b̂``) made complementary by a
binary ``z_r`` (Fortuny-Amat–McCarl; HiGHS has no SOS1 or indicator rows)::

    stationarity     diag(q) x + c + B'λ + Â'μ + G'ν = 0,   μ ≥ 0,  ν free
    complementarity  μ_r ≤ MD_r·z_r,   b̂_r − Â_r x ≤ MP_r·(1 − z_r),
                     z_lo + z_up ≤ 1 for each variable's two bounds

``MP_r`` is the exact slack range of the row over the variable bounds; ``MD_r`` the dual bound
the caller states (:class:`DualBounds`; :func:`box_dual_bounds` derives it from stationarity
and the price box for a variable that appears in its bounds only). The bilinear payments use
the strong-duality identity (stationarity times ``x``, then complementarity)::

    λ'B x = −x'diag(q)x − c'x − b̂'μ − h'ν

and ``q_j x_j²`` its epigraph ``w_j ≥ 2a x_j − a²`` at ``tangents`` points ``a`` evenly spaced
over the variable's bounds. The leader maximizes ``−q_j w_j``, so ``w_j`` sits on the highest
tangent below ``x_j²`` and the MILP's objective exceeds the true profit of its own solution by
at most ``Σ q_j s_j²/4`` (``s_j`` the spacing): :attr:`BilevelSolution.approximation_bound`.
:func:`certify` computes the true profit under exact best responses (the lower bound) beside
HiGHS's dual bound (the upper bound).

Variables fixed by their bounds (``lb = ub``) are presolved out of the KKT conditions: their
bound duals are free and degenerate (spec §3, "Presolve"); their payment is linear in ``λ``.

The optimum is the *optimistic* one: where a follower is indifferent (``q_j = 0``), the MILP
picks the response that suits the leader (spec §8, T3).

HiGHS runs with :data:`MILP_OPTIONS` unless the caller passes its own: its presolve off, no
RINS sub-MIP (RENS kept: without it, GSESS 2016-03-31 found no incumbent for 9 s and took
33 s) and HiGHS's own feasibility tolerances (primal 1e-7, integrality 1e-6) instead of 1e-9.
None changes the model or the 1e-4 gap, only the search; the certificate (:func:`certify`)
measures what the tolerances leave of complementarity (the followers' regret at the MILP's
prices). Why each, on GSESS days where one setting returned a wrong "optimal" with a zero gap
(prices worth more under the followers' exact best responses exist, found by another setting
and certified; the worse prices fixed, the MILP reaches the better value with every setting):

* HiGHS 1.16's presolve: 2016-02-19 (val) stopped at 987.36 $ against a certified 1005.55 $;
* tolerances of 1e-9 with the presolve off: 2016-10-31 (test) stopped at 864.70 $ against a
  certified 892.79 $ (node LPs declared infeasible on the big-M rows at that precision);
  with HiGHS's tolerances both days reach the better value (1005.55, 892.79).

Measured on the first 10 validation days of GSESS and 8 of CSESS (one thread, one process),
presolve and RINS off with the 1e-9 tolerances: GSESS median 18.9 s → 4.3 s (max 35 s →
6.9 s), CSESS median 12.7 s → 2.7 s (max 19.1 s → 5.0 s); with HiGHS's tolerances: the
README of ``cases/stackelberg``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import numpy as np
import scipy.sparse as sp

from gridbench.cases.solve_status import SolveStatus
from gridbench.cases.stackelberg.follower import BestResponder, FollowerQP, clarabel_qp

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    FloatArray = NDArray[np.float64]

__all__ = [
    "MILP_OPTIONS",
    "BilevelProblem",
    "BilevelSolution",
    "Certificate",
    "DualBounds",
    "LeaderRows",
    "SocialSolution",
    "box_dual_bounds",
    "certify",
    "leader_profit",
    "solve_bilevel",
    "solve_social",
    "system_cost",
]


#: HiGHS options of :func:`solve_bilevel` beyond its gap, time limit and tolerances (module
#: docstring): ``{}`` is HiGHS's defaults with the 1e-9 tolerances, the MILP as solved before
#: these were chosen.
MILP_OPTIONS: Final[Mapping[str, bool | str | float]] = MappingProxyType(
    {"presolve": "off", "mip_heuristic_run_rins": False,
     "primal_feasibility_tolerance": 1e-7, "mip_feasibility_tolerance": 1e-6}
)


@dataclass(frozen=True)
class DualBounds:
    """``MD`` of one follower: an upper bound on the dual of each row of ``a_ub`` (``rows``), of
    each finite lower bound (``lower``) and each finite upper bound (``upper``), one entry per
    variable (ignored where the bound is infinite or the variable fixed). A bound that is too
    small cuts off the optimum silently (Pineda & Morales 2019): :func:`solve_bilevel`'s
    ``dual_scale`` re-solves with all of them scaled, the spec's ×10 check."""

    rows: FloatArray
    lower: FloatArray
    upper: FloatArray

    def scaled(self, factor: float) -> DualBounds:
        """Every bound times ``factor``."""
        return DualBounds(self.rows * factor, self.lower * factor, self.upper * factor)


def box_dual_bounds(
    qp: FollowerQP,
    price_lo: ArrayLike,
    price_hi: ArrayLike,
    *,
    safety: float = 2.0,
    rows: ArrayLike | None = None,
) -> DualBounds:
    """Dual bounds from stationarity for variables that appear in their bounds only:
    ``q_j x_j + c_j + B_j'λ + μ_up − μ_lo = 0`` gives ``μ_up ≤ max(0, −(q_j ub_j + c_j +
    min_λ B_j'λ))`` and ``μ_lo ≤ max(0, q_j lb_j + c_j + max_λ B_j'λ)`` over the price box,
    times ``safety``. A variable in a row of ``a_ub`` or ``a_eq`` needs the caller's own bound
    (a ``ValueError`` names it); ``rows`` are the bounds of the ``a_ub`` rows, given by the
    caller."""
    lo = np.asarray(price_lo, dtype=float).reshape(-1)
    hi = np.asarray(price_hi, dtype=float).reshape(-1)
    if lo.shape != (qp.n_prices,) or hi.shape != (qp.n_prices,):
        raise ValueError(f"follower {qp.name!r}: price bounds need {qp.n_prices} entries each")
    coupled = np.zeros(qp.n, dtype=bool)
    for mat in (qp.a_ub, qp.a_eq):
        coupled[np.unique(mat.indices)] = True
    free = qp.lb < qp.ub
    if np.any(coupled & free & (np.isfinite(qp.lb) | np.isfinite(qp.ub))):
        j = int(np.flatnonzero(coupled & free)[0])
        raise ValueError(
            f"follower {qp.name!r}: variable {qp.label(j)} appears in a row, so its bound "
            "duals need the caller's own bound"
        )
    bt = qp.price_map.T.tocsr()
    pos, neg = bt.maximum(0), bt.minimum(0)
    price_min = pos @ lo + neg @ hi  # min over the box of B_j'λ
    price_max = pos @ hi + neg @ lo
    with np.errstate(invalid="ignore"):
        upper = np.maximum(0.0, -(qp.q * qp.ub + qp.c + price_min))
        lower = np.maximum(0.0, qp.q * qp.lb + qp.c + price_max)
    upper = np.where(np.isfinite(upper), upper, 0.0) * safety
    lower = np.where(np.isfinite(lower), lower, 0.0) * safety
    row_bounds = np.asarray(rows if rows is not None else np.zeros(qp.a_ub.shape[0]), dtype=float)
    if row_bounds.shape != (qp.a_ub.shape[0],):
        raise ValueError(f"follower {qp.name!r}: {row_bounds.size} row dual bounds for "
                         f"{qp.a_ub.shape[0]} rows")
    return DualBounds(row_bounds, lower, upper)


@dataclass(frozen=True)
class LeaderRows:
    """The leader's own linear rows ``row_lo ≤ L_λ λ + L_y y + Σ_f L_f x_f ≤ row_hi``
    (``followers`` maps a follower's name to its ``L_f``; missing followers have no
    coefficient)."""

    lo: FloatArray
    hi: FloatArray
    prices: sp.csr_matrix
    own: sp.csr_matrix
    followers: Mapping[str, sp.csr_matrix] = field(default_factory=dict)


@dataclass(frozen=True)
class BilevelProblem:
    """The leader's problem of the module docstring. ``objective_*`` are the ``g`` vectors of
    Π (maximized); the followers' payments ``λ'(B_f x_f + d_f)`` are added to it always."""

    followers: tuple[FollowerQP, ...]
    dual_bounds: Mapping[str, DualBounds]
    price_lo: FloatArray
    price_hi: FloatArray
    price_rows: sp.csr_matrix | None = None
    price_rhs: FloatArray | None = None
    own_lo: FloatArray | None = None
    own_hi: FloatArray | None = None
    leader_rows: LeaderRows | None = None
    objective_prices: FloatArray | None = None
    objective_own: FloatArray | None = None
    objective_followers: Mapping[str, FloatArray] = field(default_factory=dict)
    objective_constant: float = 0.0

    def __post_init__(self) -> None:
        lo = np.asarray(self.price_lo, dtype=float).reshape(-1)
        hi = np.asarray(self.price_hi, dtype=float).reshape(-1)
        if lo.shape != hi.shape or not np.all(np.isfinite(lo)) or not np.all(np.isfinite(hi)):
            raise ValueError("price bounds must be finite vectors of equal length")
        bad = np.flatnonzero(lo > hi)
        if bad.size:
            k = int(bad[0])
            raise ValueError(f"price {k}: lower bound {lo[k]} above upper bound {hi[k]}")
        names = [f.name for f in self.followers]
        if len(set(names)) != len(names):
            raise ValueError(f"follower names must be unique, got {names}")
        for f in self.followers:
            if f.n_prices != lo.size:
                raise ValueError(
                    f"follower {f.name!r} is priced by {f.n_prices} prices, the leader posts "
                    f"{lo.size}"
                )
            if f.name not in self.dual_bounds:
                raise ValueError(f"no dual bounds for follower {f.name!r}")
            if not (np.all(np.isfinite(f.lb)) and np.all(np.isfinite(f.ub))):
                raise ValueError(
                    f"follower {f.name!r}: the MILP needs finite bounds on every variable "
                    "(the big-Ms and tangents are taken over them)"
                )
        unknown = set(self.objective_followers) - set(names)
        if self.leader_rows is not None:
            unknown |= set(self.leader_rows.followers) - set(names)
        if unknown:
            raise ValueError(f"unknown follower(s) {sorted(unknown)}; valid: {names}")
        object.__setattr__(self, "price_lo", lo)
        object.__setattr__(self, "price_hi", hi)

    @property
    def n_prices(self) -> int:
        return int(self.price_lo.size)

    @property
    def n_own(self) -> int:
        return 0 if self.own_lo is None else int(np.asarray(self.own_lo).size)

    def follower(self, name: str) -> FollowerQP:
        for f in self.followers:
            if f.name == name:
                return f
        raise ValueError(f"unknown follower {name!r}; valid: {[f.name for f in self.followers]}")


@dataclass(frozen=True)
class BilevelSolution:
    """The MILP's outcome: posted prices, the followers' KKT responses, the leader's own
    variables, the MILP objective (≥ the true profit of this solution by at most
    ``approximation_bound``), HiGHS's dual bound and relative gap."""

    status: SolveStatus
    prices: FloatArray
    responses: Mapping[str, FloatArray]
    own: FloatArray
    objective: float
    dual_bound: float
    mip_gap: float
    approximation_bound: float
    solve_s: float
    n_binaries: int
    message: str = ""


@dataclass(frozen=True)
class Certificate:
    """Spec §3 certifications (1)–(2): the followers' exact best responses at the MILP's
    prices, their distance to the MILP's responses and regret, the true leader profit under
    them (``lower``), the MILP's dual bound (``upper``) and the bilevel gap
    ``(upper − lower)/max(|upper|, 1)``."""

    max_response_gap: float
    regret: Mapping[str, float]
    lower: float
    upper: float
    gap: float
    responses: Mapping[str, FloatArray]


# ---------------------------------------------------------------------------- presolve
@dataclass(frozen=True)
class _Reduced:
    """A follower without its fixed variables: ``qp`` over the free columns ``free``; the
    fixed ones at ``fixed_x`` moved into the priced data, the right-hand sides and a
    constant."""

    qp: FollowerQP
    free: NDArray[np.intp]
    fixed: NDArray[np.intp]
    fixed_x: FloatArray
    dual_bounds: DualBounds


def _reduce(qp: FollowerQP, bounds: DualBounds, tol: float = 1e-9) -> _Reduced:
    fixed = np.flatnonzero(qp.ub - qp.lb <= tol)
    free = np.flatnonzero(qp.ub - qp.lb > tol)
    if free.size == 0:
        raise ValueError(f"follower {qp.name!r} has every variable fixed: nothing to decide")
    xf = qp.lb[fixed]
    a_ub, a_eq = qp.a_ub.tocsc(), qp.a_eq.tocsc()
    b_ub = qp.b_ub - a_ub[:, fixed] @ xf
    b_eq = qp.b_eq - a_eq[:, fixed] @ xf
    a_ub, a_eq = a_ub[:, free].tocsr(), a_eq[:, free].tocsr()
    keep_ub = np.diff(a_ub.indptr) > 0
    keep_eq = np.diff(a_eq.indptr) > 0
    if np.any(b_ub[~keep_ub] < -tol) or np.any(np.abs(b_eq[~keep_eq]) > tol):
        raise ValueError(f"follower {qp.name!r}: its fixed variables violate one of its rows")
    rows = np.asarray(bounds.rows, dtype=float).reshape(-1)
    if rows.shape != (qp.a_ub.shape[0],):
        raise ValueError(f"follower {qp.name!r}: {rows.size} row dual bounds for "
                         f"{qp.a_ub.shape[0]} rows")
    lower = np.asarray(bounds.lower, dtype=float).reshape(-1)
    upper = np.asarray(bounds.upper, dtype=float).reshape(-1)
    if lower.shape != (qp.n,) or upper.shape != (qp.n,):
        raise ValueError(f"follower {qp.name!r}: bound duals need {qp.n} entries each")
    for label, vec in (("rows", rows), ("lower", lower), ("upper", upper)):
        if not np.all(np.isfinite(vec)) or np.any(vec < 0):
            raise ValueError(f"follower {qp.name!r}: dual bounds ({label}) must be finite >= 0")
    price_map = qp.price_map.tocsc()
    reduced = FollowerQP(
        name=qp.name,
        n_prices=qp.n_prices,
        q=qp.q[free],
        c=qp.c[free],
        price_map=price_map[:, free].tocsr(),
        priced_data=qp.priced_data + price_map[:, fixed] @ xf,
        lb=qp.lb[free],
        ub=qp.ub[free],
        a_ub=a_ub[keep_ub],
        b_ub=b_ub[keep_ub],
        a_eq=a_eq[keep_eq],
        b_eq=b_eq[keep_eq],
        variables=tuple(qp.variables[j] for j in free) if qp.variables else (),
    )
    return _Reduced(reduced, free, fixed, xf,
                    DualBounds(rows[keep_ub], lower[free], upper[free]))


# ---------------------------------------------------------------------------- the MILP
class _Columns:
    """Column blocks of the MILP (bounds, cost, integrality), appended in order."""

    def __init__(self) -> None:
        self.lo: list[FloatArray] = []
        self.hi: list[FloatArray] = []
        self.cost: list[FloatArray] = []
        self.integer: list[NDArray[np.bool_]] = []
        self.n = 0

    def add(self, lo: ArrayLike, hi: ArrayLike, cost: ArrayLike | float = 0.0,
            integer: bool = False) -> slice:
        lo = np.asarray(lo, dtype=float).reshape(-1)
        hi = np.broadcast_to(np.asarray(hi, dtype=float), lo.shape).copy()
        self.lo.append(lo)
        self.hi.append(hi)
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=float), lo.shape).copy())
        self.integer.append(np.full(lo.size, integer))
        out = slice(self.n, self.n + lo.size)
        self.n += lo.size
        return out


class _Rows:
    """Rows of the MILP as COO triplets with their bounds."""

    def __init__(self) -> None:
        self.r: list[NDArray[np.intp]] = []
        self.c: list[NDArray[np.intp]] = []
        self.v: list[FloatArray] = []
        self.lo: list[FloatArray] = []
        self.hi: list[FloatArray] = []
        self.m = 0

    def add(self, blocks: Sequence[tuple[slice, sp.spmatrix]], lo: ArrayLike,
            hi: ArrayLike) -> None:
        lo = np.asarray(lo, dtype=float).reshape(-1)
        hi = np.broadcast_to(np.asarray(hi, dtype=float), lo.shape).copy()
        for cols, mat in blocks:
            coo = sp.coo_matrix(mat)
            if coo.shape != (lo.size, cols.stop - cols.start):
                raise ValueError(f"internal: block {coo.shape} for {lo.size} rows x "
                                 f"{cols.stop - cols.start} columns")
            self.r.append(coo.row + self.m)
            self.c.append(coo.col + cols.start)
            self.v.append(coo.data)
        self.lo.append(lo)
        self.hi.append(hi)
        self.m += lo.size


def _matrix_of(rows: _Rows, n_cols: int) -> sp.csc_matrix:
    """The rows' coefficients as one sparse matrix (``rows.m × n_cols``; empty is fine)."""
    if not rows.v:
        return sp.csc_matrix((rows.m, n_cols))
    return sp.csc_matrix(
        (np.concatenate(rows.v), (np.concatenate(rows.r), np.concatenate(rows.c))),
        shape=(rows.m, n_cols),
    )


@dataclass(frozen=True)
class _FollowerBlock:
    reduced: _Reduced
    x: slice
    mu: slice
    nu: slice
    z: slice
    w: slice
    w_index: NDArray[np.intp]


def _inequalities(qp: FollowerQP) -> tuple[sp.csr_matrix, FloatArray]:
    """``Â, b̂``: the rows ``A x ≤ b``, then ``x_j ≤ ub_j`` and ``−x_j ≤ −lb_j`` for every
    variable (the reduced follower's variables are all free with finite bounds)."""
    eye = sp.identity(qp.n, format="csr")
    a_hat = sp.vstack([qp.a_ub, eye, -eye], format="csr")
    return a_hat, np.concatenate([qp.b_ub, qp.ub, -qp.lb])


def _slack_range(a_hat: sp.csr_matrix, b_hat: FloatArray, lb: FloatArray,
                 ub: FloatArray) -> FloatArray:
    """``MP_r = b̂_r − min_{lb ≤ x ≤ ub} Â_r x``: the largest slack row ``r`` can have."""
    pos, neg = a_hat.maximum(0), a_hat.minimum(0)
    return np.maximum(b_hat - (pos @ lb + neg @ ub), 0.0)


def _tangent_rows(lb: float, ub: float, n: int) -> FloatArray:
    return np.linspace(lb, ub, max(int(n), 2))


def solve_bilevel(
    problem: BilevelProblem,
    *,
    time_limit_s: float = 300.0,
    mip_gap: float = 1e-4,
    tangents: int = 24,
    dual_scale: float = 1.0,
    fix_prices: ArrayLike | None = None,
    presolve: bool = True,
    highs_options: Mapping[str, bool | int | float | str] | None = None,
) -> BilevelSolution:
    """Build and solve the MILP of the module docstring. ``dual_scale`` multiplies every
    ``MD`` (the ×10 invariance check); ``fix_prices`` pins ``λ`` (then the MILP's follower
    blocks must equal their QP best responses: spec §8, T4). ``presolve=False`` keeps the
    followers' fixed variables with their KKT rows (spec §3 warns that their free duals are
    degenerate). ``highs_options`` replace :data:`MILP_OPTIONS` (``{}``: HiGHS's defaults with
    feasibility tolerances of 1e-9, the benchmarks' reference); an option HiGHS does not take
    is a ``ValueError``."""
    import highspy

    from gridbench.cases.highs import highs_lp, new_highs

    if dual_scale <= 0 or not np.isfinite(dual_scale):
        raise ValueError(f"dual_scale must be a finite number > 0, got {dual_scale}")
    if tangents < 2:
        raise ValueError(f"tangents must be >= 2, got {tangents}")
    n_p = problem.n_prices
    cols, rows = _Columns(), _Rows()
    price_lo, price_hi = problem.price_lo, problem.price_hi
    if fix_prices is not None:
        fixed = np.asarray(fix_prices, dtype=float).reshape(-1)
        if fixed.shape != (n_p,) or np.any(fixed < price_lo - 1e-9) or np.any(
            fixed > price_hi + 1e-9
        ):
            raise ValueError(f"fix_prices must be {n_p} prices inside the price bounds")
        price_lo = price_hi = fixed
    g_price = np.zeros(n_p) if problem.objective_prices is None else np.asarray(
        problem.objective_prices, dtype=float)
    g_price = g_price + sum((f.priced_data for f in problem.followers), np.zeros(n_p))
    constant = float(problem.objective_constant)
    # HiGHS minimizes: every cost below is minus the leader's objective
    lam = cols.add(price_lo, price_hi, -g_price)
    own = cols.add(
        problem.own_lo if problem.own_lo is not None else [],
        problem.own_hi if problem.own_hi is not None else [],
        -(np.asarray(problem.objective_own, dtype=float) if problem.objective_own is not None
          else np.zeros(problem.n_own)),
    )
    if problem.price_rows is not None:
        pr = sp.csr_matrix(problem.price_rows, dtype=float)
        rhs = np.asarray(problem.price_rhs, dtype=float).reshape(-1)
        rows.add([(lam, pr)], np.full(rhs.size, -np.inf), rhs)
    blocks: dict[str, _FollowerBlock] = {}
    approx = 0.0
    n_bin = 0
    for f in problem.followers:
        red = _reduce(f, problem.dual_bounds[f.name].scaled(dual_scale),
                      tol=1e-9 if presolve else -np.inf)
        qp = red.qp
        g_f = problem.objective_followers.get(f.name)
        g_f = np.zeros(f.n) if g_f is None else np.asarray(g_f, dtype=float).reshape(-1)
        if g_f.shape != (f.n,):
            raise ValueError(f"objective of follower {f.name!r}: {g_f.size} entries, "
                             f"expected {f.n}")
        # fixed variables: their payment is linear in λ, their leader term a constant
        pm = f.price_map.tocsc()
        g_price_fixed = pm[:, red.fixed] @ red.fixed_x
        cols.cost[0] -= g_price_fixed
        constant += float(g_f[red.fixed] @ red.fixed_x)
        a_hat, b_hat = _inequalities(qp)
        slack = _slack_range(a_hat, b_hat, qp.lb, qp.ub)
        md = np.concatenate([red.dual_bounds.rows, red.dual_bounds.upper,
                             red.dual_bounds.lower])
        # strong duality: λ'Bx = −Σ q w − c'x − b̂'μ − h'ν; leader gets it, HiGHS minimizes −
        x = cols.add(qp.lb, qp.ub, -(g_f[red.free] - qp.c))
        mu = cols.add(np.zeros(b_hat.size), md, b_hat)
        nu = cols.add(np.full(qp.b_eq.size, -np.inf), np.full(qp.b_eq.size, np.inf), qp.b_eq)
        z = cols.add(np.zeros(b_hat.size), np.ones(b_hat.size), 0.0, integer=True)
        n_bin += b_hat.size
        w_index = np.flatnonzero(qp.q > 0)
        sq_lo = np.where((qp.lb <= 0) & (qp.ub >= 0), 0.0,
                         np.minimum(qp.lb ** 2, qp.ub ** 2))[w_index]
        sq_hi = np.maximum(qp.lb ** 2, qp.ub ** 2)[w_index]
        w = cols.add(sq_lo, sq_hi, qp.q[w_index])
        # primal feasibility
        if qp.a_ub.shape[0]:
            rows.add([(x, qp.a_ub)], np.full(qp.b_ub.size, -np.inf), qp.b_ub)
        if qp.a_eq.shape[0]:
            rows.add([(x, qp.a_eq)], qp.b_eq, qp.b_eq)
        # stationarity
        rows.add([(x, sp.diags(qp.q)), (lam, qp.price_map.T), (mu, a_hat.T), (nu, qp.a_eq.T)],
                 -qp.c, -qp.c)
        # complementarity: μ ≤ MD z ; b̂ − Â x ≤ MP (1 − z) ; z_lo + z_up ≤ 1
        m = b_hat.size
        rows.add([(mu, sp.identity(m)), (z, -sp.diags(md))], np.full(m, -np.inf), 0.0)
        rows.add([(x, -a_hat), (z, sp.diags(slack))], np.full(m, -np.inf), slack - b_hat)
        k = qp.a_ub.shape[0]
        pair = sp.hstack([sp.csr_matrix((qp.n, k)), sp.identity(qp.n), sp.identity(qp.n)])
        rows.add([(z, pair)], np.full(qp.n, -np.inf), 1.0)
        # tangents of x_j² below w_j: 2a x_j − w_j ≤ a²
        for i, j in enumerate(w_index):
            pts = _tangent_rows(qp.lb[j], qp.ub[j], tangents)
            n_t = pts.size
            xs = sp.csr_matrix((2 * pts, (np.arange(n_t), np.full(n_t, j))), shape=(n_t, qp.n))
            ws = sp.csr_matrix((-np.ones(n_t), (np.arange(n_t), np.full(n_t, i))),
                               shape=(n_t, w_index.size))
            rows.add([(x, xs), (w, ws)], np.full(n_t, -np.inf), pts ** 2)
            spacing = (qp.ub[j] - qp.lb[j]) / (n_t - 1)
            approx += float(qp.q[j] * spacing ** 2 / 4)
        blocks[f.name] = _FollowerBlock(red, x, mu, nu, z, w, w_index)
    if problem.leader_rows is not None:
        lr = problem.leader_rows
        parts: list[tuple[slice, sp.spmatrix]] = [(lam, sp.csr_matrix(lr.prices)),
                                                  (own, sp.csr_matrix(lr.own))]
        lo = np.asarray(lr.lo, dtype=float)
        hi = np.asarray(lr.hi, dtype=float)
        for name, mat in lr.followers.items():
            blk = blocks[name]
            mat = sp.csc_matrix(mat)
            shift = mat[:, blk.reduced.fixed] @ blk.reduced.fixed_x
            lo, hi = lo - shift, hi - shift
            parts.append((blk.x, mat[:, blk.reduced.free]))
        rows.add(parts, lo, hi)

    h = new_highs(time_limit=float(time_limit_s), mip_rel_gap=float(mip_gap),
                  mip_feasibility_tolerance=1e-9, primal_feasibility_tolerance=1e-9)
    for key, val in (MILP_OPTIONS if highs_options is None else highs_options).items():
        if h.setOptionValue(key, val) != highspy.HighsStatus.kOk:
            raise ValueError(f"HiGHS refused the option {key}={val!r}")
    lp = highs_lp(
        _matrix_of(rows, cols.n), np.concatenate(cols.cost), np.concatenate(cols.lo),
        np.concatenate(cols.hi), np.concatenate(rows.lo) if rows.lo else np.zeros(0),
        np.concatenate(rows.hi) if rows.hi else np.zeros(0), np.concatenate(cols.integer),
    )
    t0 = time.perf_counter()
    h.passModel(lp)
    h.run()
    solve_s = time.perf_counter() - t0
    ms = h.getModelStatus()
    MS = highspy.HighsModelStatus
    status = {MS.kOptimal: SolveStatus.OPTIMAL, MS.kInfeasible: SolveStatus.INFEASIBLE,
              MS.kUnboundedOrInfeasible: SolveStatus.INFEASIBLE,
              MS.kTimeLimit: SolveStatus.TIMEOUT}.get(ms, SolveStatus.FAILED)
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if status is SolveStatus.TIMEOUT and has_solution:
        status = SolveStatus.OPTIMAL_INACCURATE
    if not status.ok:
        nan = float("nan")
        return BilevelSolution(status, np.full(n_p, nan), {}, np.full(problem.n_own, nan), nan,
                               nan, nan, approx, solve_s, n_bin, h.modelStatusToString(ms))
    sol = np.asarray(h.getSolution().col_value, dtype=float)
    responses = {}
    for name, blk in blocks.items():
        full = np.empty(blk.reduced.free.size + blk.reduced.fixed.size)
        full[blk.reduced.free] = sol[blk.x]
        full[blk.reduced.fixed] = blk.reduced.fixed_x
        responses[name] = full
    objective = -float(info.objective_function_value) + constant
    dual = -float(info.mip_dual_bound) + constant
    return BilevelSolution(
        status=status,
        prices=sol[lam].copy(),
        responses=responses,
        own=sol[own].copy(),
        objective=objective,
        dual_bound=dual,
        mip_gap=float(info.mip_gap),
        approximation_bound=approx,
        solve_s=solve_s,
        n_binaries=n_bin,
        message=h.modelStatusToString(ms),
    )


# ---------------------------------------------------------------------------- evaluation
def leader_profit(
    problem: BilevelProblem,
    prices: ArrayLike,
    responses: Mapping[str, ArrayLike],
) -> float:
    """Π of the module docstring at ``prices`` and the followers' ``responses``, exact (no
    tangents), with the leader's own variables ``y`` optimized for them (an LP; ``-inf`` when
    the leader's rows cannot be met, e.g. a voltage band the responses violate)."""
    lam = np.asarray(prices, dtype=float).reshape(-1)
    if lam.shape != (problem.n_prices,):
        raise ValueError(f"{lam.size} prices given, expected {problem.n_prices}")
    value = float(problem.objective_constant)
    if problem.objective_prices is not None:
        value += float(np.asarray(problem.objective_prices, dtype=float) @ lam)
    xs = {}
    for f in problem.followers:
        if f.name not in responses:
            raise ValueError(f"no response for follower {f.name!r}")
        x = np.asarray(responses[f.name], dtype=float).reshape(-1)
        xs[f.name] = x
        value += f.payment(x, lam)
        g_f = problem.objective_followers.get(f.name)
        if g_f is not None:
            value += float(np.asarray(g_f, dtype=float) @ x)
    if problem.n_own == 0 and problem.leader_rows is None:
        return value
    return value + _best_own(problem, lam, xs)


def _best_own(problem: BilevelProblem, lam: FloatArray, xs: Mapping[str, FloatArray],
              tol: float = 1e-7) -> float:
    """``max g_y'y`` over the leader's rows with ``λ`` and the responses fixed (rows met
    within ``tol``)."""
    import highspy

    from gridbench.cases.highs import highs_lp, new_highs

    n_y = problem.n_own
    g_y = np.zeros(n_y) if problem.objective_own is None else np.asarray(
        problem.objective_own, dtype=float)
    lo = np.asarray(problem.own_lo if problem.own_lo is not None else [], dtype=float)
    hi = np.asarray(problem.own_hi if problem.own_hi is not None else [], dtype=float)
    lr = problem.leader_rows
    if lr is None:
        return float(np.sum(np.where(g_y > 0, g_y * hi, g_y * lo)))
    shift = sp.csr_matrix(lr.prices) @ lam
    for name, mat in lr.followers.items():
        shift = shift + sp.csr_matrix(mat) @ xs[name]
    row_lo = np.asarray(lr.lo, dtype=float) - shift
    row_hi = np.asarray(lr.hi, dtype=float) - shift
    if n_y == 0:  # nothing to optimize: the rows hold or they do not
        met = np.all(row_lo <= tol) and np.all(row_hi >= -tol)
        return 0.0 if met else float("-inf")
    h = new_highs()
    lp = highs_lp(lr.own, -g_y, lo, hi, row_lo, row_hi)
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return float("-inf")
    return -float(h.getInfo().objective_function_value)


def certify(problem: BilevelProblem, solution: BilevelSolution) -> Certificate:
    """Spec §3 certifications (1) and (2) of a solved MILP: re-solve every follower's QP at
    the posted prices, compare with the MILP's responses and evaluate the leader's true
    profit under the exact responses."""
    if not solution.status.ok:
        raise ValueError(f"cannot certify a {solution.status} solve")
    exact: dict[str, FloatArray] = {}
    regret: dict[str, float] = {}
    gap = 0.0
    for f in problem.followers:
        br = BestResponder(f)(solution.prices)
        exact[f.name] = br.x
        regret[f.name] = f.cost(solution.responses[f.name], solution.prices) - br.cost
        gap = max(gap, float(np.max(np.abs(br.x - solution.responses[f.name]))))
    lower = leader_profit(problem, solution.prices, exact)
    upper = solution.dual_bound
    return Certificate(gap, regret, lower, upper,
                       (upper - lower) / max(abs(upper), 1.0), exact)


# ---------------------------------------------------------------------------- social optimum
@dataclass(frozen=True)
class SocialSolution:
    """The centralized optimum (spec §6 ``social``): every player's decisions chosen together
    to minimize the system cost (:func:`system_cost`); prices are transfers and drop out."""

    status: SolveStatus
    responses: Mapping[str, FloatArray]
    own: FloatArray
    system_cost: float
    solve_s: float


def system_cost(problem: BilevelProblem, responses: Mapping[str, ArrayLike],
                own: ArrayLike | None = None) -> float:
    """What the system pays whatever the prices: every follower's own cost (fuel,
    discomfort, degradation, regularizers) minus the leader's objective without the payments
    (its upstream purchase, losses included when its own variables carry them), i.e.
    ``Σ_f (½ x'Q_f x + c_f'x) − Σ_f g_f'x_f − g_y'y − g_0``. The payments cancel between
    the players. ``own`` defaults to the leader's best choice for these responses."""
    value = -float(problem.objective_constant)
    xs = {}
    for f in problem.followers:
        x = np.asarray(responses[f.name], dtype=float).reshape(-1)
        xs[f.name] = x
        value += f.own_cost(x)
        g_f = problem.objective_followers.get(f.name)
        if g_f is not None:
            value -= float(np.asarray(g_f, dtype=float) @ x)
    if problem.n_own == 0 and problem.leader_rows is None:
        return value
    lam = np.asarray(problem.price_lo, dtype=float)  # the leader's rows do not hold prices here
    if own is None:
        return value - _best_own(problem, lam, xs)
    g_y = np.zeros(problem.n_own) if problem.objective_own is None else np.asarray(
        problem.objective_own, dtype=float)
    return value - float(g_y @ np.asarray(own, dtype=float))


def solve_social(problem: BilevelProblem, *, time_limit_s: float = 300.0,
                 fixed: Mapping[str, ArrayLike] | None = None) -> SocialSolution:
    """Minimize :func:`system_cost` over every follower's constraints and the leader's rows
    jointly (a convex QP, Clarabel). The leader's rows must not involve the prices.
    ``fixed``: followers whose decisions are given (a coalition's outsiders, e.g. at their
    best response to the tariff; clipped into their bounds), substituted out of the problem:
    their terms of the leader's rows move to the rows' bounds, their own rows are theirs to
    keep (a best response keeps them)."""
    lr = problem.leader_rows
    if lr is not None and sp.csr_matrix(lr.prices).nnz:
        raise ValueError("the social optimum has no prices: the leader's rows must not use them")
    given: dict[str, FloatArray] = {}
    for name, value in (fixed or {}).items():
        f = next((g for g in problem.followers if g.name == name), None)
        if f is None:
            raise ValueError(f"fixed follower {name!r} is not among "
                             f"{[g.name for g in problem.followers]}")
        x = np.asarray(value, dtype=float).reshape(-1)
        if x.size != f.n:
            raise ValueError(f"fixed {name} has {x.size} entries, not {f.n}")
        given[name] = np.clip(x, f.lb, f.ub)
    cols, rows = _Columns(), _Rows()
    hess: list[FloatArray] = []
    blocks: dict[str, slice] = {}
    for f in problem.followers:
        if f.name in given:  # substituted out: its own rows hold, the leader's rows shift
            continue
        g_f = problem.objective_followers.get(f.name)
        g_f = np.zeros(f.n) if g_f is None else np.asarray(g_f, dtype=float)
        blocks[f.name] = cols.add(f.lb, f.ub, f.c - g_f)
        hess.append(f.q)
        if f.a_ub.shape[0]:
            rows.add([(blocks[f.name], f.a_ub)], np.full(f.b_ub.size, -np.inf), f.b_ub)
        if f.a_eq.shape[0]:
            rows.add([(blocks[f.name], f.a_eq)], f.b_eq, f.b_eq)
    g_y = np.zeros(problem.n_own) if problem.objective_own is None else np.asarray(
        problem.objective_own, dtype=float)
    own = cols.add(problem.own_lo if problem.own_lo is not None else [],
                   problem.own_hi if problem.own_hi is not None else [], -g_y)
    hess.append(np.zeros(problem.n_own))
    if lr is not None:
        parts: list[tuple[slice, sp.spmatrix]] = [(own, sp.csr_matrix(lr.own))]
        parts += [(blocks[name], sp.csr_matrix(mat)) for name, mat in lr.followers.items()
                  if name not in given]
        shift = sum((sp.csr_matrix(lr.followers[name]) @ x for name, x in given.items()
                     if name in lr.followers), np.zeros(np.asarray(lr.lo).size))
        rows.add(parts, np.asarray(lr.lo, dtype=float) - shift,
                 np.asarray(lr.hi, dtype=float) - shift)
    # Clarabel (interior point): HiGHS's QP solver stops with "Solve error" on this model once
    # the loss cuts are in (the spec's prototype saw the same)
    a = _matrix_of(rows, cols.n).tocsr()
    row_lo = np.concatenate(rows.lo) if rows.lo else np.zeros(0)
    row_hi = np.concatenate(rows.hi) if rows.hi else np.zeros(0)
    col_lo, col_hi = np.concatenate(cols.lo), np.concatenate(cols.hi)
    t0 = time.perf_counter()
    outcome, x = clarabel_qp(np.concatenate(hess), np.concatenate(cols.cost), a, row_lo,
                             row_hi, col_lo, col_hi, time_limit_s=time_limit_s)
    solve_s = time.perf_counter() - t0
    status = {"Solved": SolveStatus.OPTIMAL, "AlmostSolved": SolveStatus.OPTIMAL_INACCURATE,
              "PrimalInfeasible": SolveStatus.INFEASIBLE, "DualInfeasible": SolveStatus.INFEASIBLE,
              "MaxTime": SolveStatus.TIMEOUT}.get(outcome, SolveStatus.FAILED)
    if not status.ok:
        nan = float("nan")
        return SocialSolution(status, {}, np.full(problem.n_own, nan), nan, solve_s)
    sol = np.clip(x, col_lo, col_hi)
    responses = {f.name: (given[f.name].copy() if f.name in given else sol[blocks[f.name]].copy())
                 for f in problem.followers}
    return SocialSolution(status, responses, sol[own].copy(),
                          system_cost(problem, responses, sol[own]), solve_s)
