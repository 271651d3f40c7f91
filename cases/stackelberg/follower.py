"""A follower of the Stackelberg game: a convex QP parametrized by the leader's prices, and its
exact best response (``../shared/specs/stackelberg-gsess.md`` §3, "Generic follower").

Follower ``f`` chooses ``x ∈ Rⁿ`` to minimize its cost at the posted prices ``λ``::

    U_f(x, λ) = ½ Σ_j q_j x_j² + c'x + λ'(B x + d)
    s.t.  lb ≤ x ≤ ub,   A x ≤ b,   G x = h

``λ'(B x + d)`` is what ``f`` pays the leader (``B``: the priced quantities per price, a sale
entering with a minus sign; ``d``: priced data such as must-sell renewables or the fixed load,
a constant to ``f``). With every ``q_j > 0`` the objective is strictly convex and the
constraints linear, so the best response is unique for every price vector and the KKT
conditions are necessary and sufficient (no Slater condition needed) — the reason every
follower of the case carries a quadratic term (spec §8, T3). ``q_j = 0`` is allowed (a linear
follower, as in T3), but then the response may be a set and :func:`best_response` returns one
point of it.

:class:`BestResponder` solves it with HiGHS's QP solver, building the model once and changing
only the linear costs for each new price vector (the warm re-solve of the spec's timing table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    FloatArray = NDArray[np.float64]

__all__ = ["BestResponder", "BestResponse", "FollowerQP", "best_response", "clarabel_qp"]


def _vector(name: str, owner: str, values: ArrayLike, n: int) -> FloatArray:
    out = np.asarray(values, dtype=float).reshape(-1)
    if out.shape != (n,):
        raise ValueError(f"follower {owner!r}: {name} has {out.size} entries, expected {n}")
    return out


def _matrix(name: str, owner: str, values: object, rows: int | None, n: int) -> sp.csr_matrix:
    out = sp.csr_matrix(values if values is not None else (0, n), dtype=float)
    if out.shape[1] != n or (rows is not None and out.shape[0] != rows):
        expected = f"{rows if rows is not None else 'm'} x {n}"
        raise ValueError(
            f"follower {owner!r}: {name} is {out.shape[0]} x {out.shape[1]}, expected {expected}"
        )
    if not np.all(np.isfinite(out.data)):
        raise ValueError(f"follower {owner!r}: {name} holds a non-finite coefficient")
    return out


@dataclass(frozen=True, eq=False)
class FollowerQP:
    """One follower's problem in the form of the module docstring (arrays are copied and
    checked: shapes, ``q ≥ 0``, ``lb ≤ ub``, finite coefficients; absent rows become empty
    matrices). ``variables`` names the columns (for errors and reports); ``n_prices`` is the
    length of the leader's price vector."""

    name: str
    n_prices: int
    q: FloatArray
    c: FloatArray
    price_map: sp.csr_matrix
    priced_data: FloatArray
    lb: FloatArray
    ub: FloatArray
    a_ub: sp.csr_matrix | None = None
    b_ub: FloatArray | None = None
    a_eq: sp.csr_matrix | None = None
    b_eq: FloatArray | None = None
    variables: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        name = self.name
        q = np.asarray(self.q, dtype=float).reshape(-1)
        n = q.size
        if n == 0:
            raise ValueError(f"follower {name!r} has no decision variable")
        if self.n_prices < 1:
            raise ValueError(f"follower {name!r}: n_prices must be >= 1, got {self.n_prices}")
        if not np.all(np.isfinite(q)) or np.any(q < 0):
            raise ValueError(f"follower {name!r}: q must be finite and >= 0, got {q.tolist()}")
        set_ = object.__setattr__
        set_(self, "q", q)
        set_(self, "c", _vector("c", name, self.c, n))
        set_(self, "price_map", _matrix("price_map", name, self.price_map, self.n_prices, n))
        set_(self, "priced_data", _vector("priced_data", name, self.priced_data, self.n_prices))
        lb, ub = _vector("lb", name, self.lb, n), _vector("ub", name, self.ub, n)
        bad = np.flatnonzero(~(lb <= ub) | np.isnan(lb) | np.isnan(ub) | (lb == np.inf)
                             | (ub == -np.inf))
        if bad.size:
            j = int(bad[0])
            raise ValueError(
                f"follower {name!r}: bounds of variable {self.label(j)} are [{lb[j]}, {ub[j]}]; "
                "valid: lb <= ub, lb < inf, ub > -inf"
            )
        set_(self, "lb", lb)
        set_(self, "ub", ub)
        a_ub = _matrix("a_ub", name, self.a_ub, None, n)
        set_(self, "a_ub", a_ub)
        set_(self, "b_ub", _vector("b_ub", name, self.b_ub if self.b_ub is not None else [],
                                   a_ub.shape[0]))
        a_eq = _matrix("a_eq", name, self.a_eq, None, n)
        set_(self, "a_eq", a_eq)
        set_(self, "b_eq", _vector("b_eq", name, self.b_eq if self.b_eq is not None else [],
                                   a_eq.shape[0]))
        for label, vec in (("c", self.c), ("priced_data", self.priced_data),
                           ("b_ub", self.b_ub), ("b_eq", self.b_eq)):
            if not np.all(np.isfinite(vec)):
                raise ValueError(f"follower {name!r}: {label} holds a non-finite value")
        if self.variables and len(self.variables) != n:
            raise ValueError(
                f"follower {name!r}: {len(self.variables)} variable names for {n} variables"
            )

    @property
    def n(self) -> int:
        """Number of decision variables."""
        return int(self.q.size)

    def label(self, j: int) -> str:
        """Variable ``j`` as errors name it: its name, else its index."""
        return repr(self.variables[j]) if self.variables else str(j)

    def prices(self, prices: ArrayLike) -> FloatArray:
        """``prices`` as a checked float vector of length ``n_prices``."""
        lam = np.asarray(prices, dtype=float).reshape(-1)
        if lam.shape != (self.n_prices,):
            raise ValueError(
                f"follower {self.name!r}: {lam.size} prices given, expected {self.n_prices}"
            )
        if not np.all(np.isfinite(lam)):
            raise ValueError(f"follower {self.name!r}: prices must be finite, got {lam.tolist()}")
        return lam

    def linear_cost(self, prices: ArrayLike) -> FloatArray:
        """The linear coefficient of ``x`` at ``prices``: ``c + B'λ``."""
        return self.c + self.price_map.T @ self.prices(prices)

    def payment(self, x: ArrayLike, prices: ArrayLike) -> float:
        """What the follower pays the leader: ``λ'(B x + d)`` (negative: the leader pays)."""
        lam = self.prices(prices)
        return float(lam @ (self.price_map @ self._x(x) + self.priced_data))

    def own_cost(self, x: ArrayLike) -> float:
        """The follower's cost other than its payment: ``½ Σ q_j x_j² + c'x``."""
        x = self._x(x)
        return float(0.5 * self.q @ (x * x) + self.c @ x)

    def cost(self, x: ArrayLike, prices: ArrayLike) -> float:
        """``U_f(x, λ)`` of the module docstring."""
        return self.own_cost(x) + self.payment(x, prices)

    def _own_terms(self, x: FloatArray, columns: ArrayLike | slice) -> FloatArray:
        """Column ``j``'s share ``½ q_j x_j² + c_j x_j`` of :meth:`own_cost`, for ``columns``."""
        xj = x[columns]
        return 0.5 * self.q[columns] * xj * xj + self.c[columns] * xj

    def _payment_terms(self, x: FloatArray, lam: FloatArray, rows: ArrayLike | slice,
                       ) -> FloatArray:
        """Price ``i``'s share ``λ_i (B x + d)_i`` of :meth:`payment`, for ``rows``."""
        return lam[rows] * ((self.price_map @ x)[rows] + self.priced_data[rows])

    def cost_by_period(
        self, x: ArrayLike, prices: ArrayLike, column_period: ArrayLike,
        price_period: ArrayLike, n_periods: int,
    ) -> tuple[FloatArray, FloatArray]:
        """:meth:`own_cost` and :meth:`payment` split by period (e.g. the hour), ``(own,
        payment)`` each ``(n_periods,)``: column ``j``'s ``½ q_j x_j² + c_j x_j`` falls in
        ``column_period[j]``, price ``i``'s ``λ_i (B x + d)_i`` in ``price_period[i]``. They
        sum to the day's :meth:`own_cost` and :meth:`payment`."""
        x = self._x(x)
        lam = self.prices(prices)
        every = slice(None)
        own = np.bincount(np.asarray(column_period), weights=self._own_terms(x, every),
                          minlength=n_periods)
        pay = np.bincount(np.asarray(price_period), weights=self._payment_terms(x, lam, every),
                          minlength=n_periods)
        return own, pay

    def cost_in_period(self, x: ArrayLike, prices: ArrayLike, columns: ArrayLike,
                       price_rows: ArrayLike) -> tuple[float, float]:
        """One period's entry of :meth:`cost_by_period`, ``(own, payment)``: the period's
        ``columns`` and ``price_rows`` (ascending indices), without the other periods' terms
        (the referee's money of one hour)."""
        x = self._x(x)
        lam = self.prices(prices)
        return (float(self._own_terms(x, columns).sum()),
                float(self._payment_terms(x, lam, price_rows).sum()))

    def violation(self, x: ArrayLike) -> float:
        """The largest violation of any constraint by ``x`` (0 when feasible)."""
        x = self._x(x)
        parts = [np.maximum(self.lb - x, 0.0), np.maximum(x - self.ub, 0.0)]
        if self.a_ub.shape[0]:
            parts.append(np.maximum(self.a_ub @ x - self.b_ub, 0.0))
        if self.a_eq.shape[0]:
            parts.append(np.abs(self.a_eq @ x - self.b_eq))
        return float(max(np.max(p) if p.size else 0.0 for p in parts))

    def _x(self, x: ArrayLike) -> FloatArray:
        out = np.asarray(x, dtype=float).reshape(-1)
        if out.shape != (self.n,):
            raise ValueError(f"follower {self.name!r}: {out.size} values for {self.n} variables")
        return out


@dataclass(frozen=True)
class BestResponse:
    """The follower's optimal ``x`` at ``prices``, its cost ``U_f`` there, and the solver's
    wall time."""

    follower: str
    x: FloatArray
    cost: float
    solve_s: float


class BestResponder:
    """Exact best responses of one follower, one HiGHS QP kept between price vectors (only the
    linear costs change: a warm re-solve); asked again at the prices of its last answer, it
    returns that answer (read-only) without solving. Not thread-safe; one per process."""

    def __init__(self, qp: FollowerQP) -> None:
        import highspy

        from gridbench.cases.highs import diagonal_hessian, highs_lp, new_highs

        self.qp = qp
        h = new_highs(primal_feasibility_tolerance=1e-8, dual_feasibility_tolerance=1e-8)
        self._rows = sp.vstack([qp.a_ub, qp.a_eq], format="csr")
        self._row_lo = np.concatenate([np.full(qp.a_ub.shape[0], -np.inf), qp.b_eq])
        self._row_hi = np.concatenate([qp.b_ub, qp.b_eq])
        lp = highs_lp(self._rows, qp.c, qp.lb, qp.ub, self._row_lo, self._row_hi)
        if h.passModel(lp) == highspy.HighsStatus.kError:
            raise ValueError(f"follower {qp.name!r}: HiGHS refused the model")
        hess = diagonal_hessian(qp.q)
        if hess is not None and h.passHessian(hess) == highspy.HighsStatus.kError:
            raise ValueError(f"follower {qp.name!r}: HiGHS refused the Hessian")
        self._h = h
        self._cols = np.arange(qp.n, dtype=np.int32)
        self._last: tuple[FloatArray, BestResponse] | None = None

    def __call__(self, prices: ArrayLike) -> BestResponse:
        """The best response at ``prices``; a ``RuntimeError`` naming the HiGHS status if the
        QP is not solved to optimality (an infeasible follower, for instance)."""
        import time

        import highspy

        qp = self.qp
        lam = qp.prices(prices)
        if self._last is not None and np.array_equal(lam, self._last[0]):
            return self._last[1]  # the same QP at the same prices: the same answer
        t0 = time.perf_counter()
        self._h.changeColsCost(qp.n, self._cols, qp.linear_cost(lam))
        self._h.run()
        status = self._h.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            x = np.asarray(self._h.getSolution().col_value, dtype=float)
        else:
            # HiGHS's active-set QP solver stops with "Solve error" on some days' storage
            # player (e.g. 2016-02-29 at the bilevel optimum's prices); the interior-point
            # solver takes over
            outcome, x = clarabel_qp(qp.q, qp.linear_cost(lam), self._rows, self._row_lo,
                                     self._row_hi, qp.lb, qp.ub)
            if outcome != "Solved":
                raise RuntimeError(
                    f"follower {qp.name!r}: best response not optimal "
                    f"(HiGHS: {self._h.modelStatusToString(status)}, Clarabel: {outcome})"
                )
        x = np.clip(x, qp.lb, qp.ub)
        x.setflags(write=False)
        response = BestResponse(qp.name, x, qp.cost(x, lam), time.perf_counter() - t0)
        self._last = (lam.copy(), response)
        return response

    def regret(self, x: ArrayLike, prices: ArrayLike) -> float:
        """``U_f(x, λ) − min_x' U_f(x', λ)`` (≥ 0 up to the solver's tolerance): how much the
        follower loses by playing ``x`` instead of its best response (spec §7, ε_f)."""
        return self.qp.cost(x, prices) - self(prices).cost


def clarabel_qp(
    q: ArrayLike, cost: ArrayLike, a: sp.spmatrix, row_lo: ArrayLike, row_hi: ArrayLike,
    col_lo: ArrayLike, col_hi: ArrayLike, *, time_limit_s: float = float("inf"),
) -> tuple[str, FloatArray]:
    """``min ½ x'diag(q)x + cost'x`` s.t. ``row_lo ≤ a x ≤ row_hi``, ``col_lo ≤ x ≤ col_hi``
    (infinite bounds are absent) by Clarabel (interior point): ``(status, x)`` with
    Clarabel's status name (``"Solved"`` when solved) and ``x`` NaN otherwise."""
    import clarabel

    a = sp.csr_matrix(a)
    row_lo, row_hi = np.asarray(row_lo, dtype=float), np.asarray(row_hi, dtype=float)
    col_lo, col_hi = np.asarray(col_lo, dtype=float), np.asarray(col_hi, dtype=float)
    n = col_lo.size
    eye = sp.identity(n, format="csr")
    eq = np.flatnonzero(row_lo == row_hi)
    up = np.flatnonzero((row_hi < np.inf) & (row_lo != row_hi))
    dn = np.flatnonzero((row_lo > -np.inf) & (row_lo != row_hi))
    cu, cl = np.flatnonzero(col_hi < np.inf), np.flatnonzero(col_lo > -np.inf)
    stacked = sp.vstack([a[eq], a[up], -a[dn], eye[cu], -eye[cl]], format="csc")
    rhs = np.concatenate([row_hi[eq], row_hi[up], -row_lo[dn], col_hi[cu], -col_lo[cl]])
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    if np.isfinite(time_limit_s):
        settings.time_limit = float(time_limit_s)
    solver = clarabel.DefaultSolver(
        sp.diags(np.asarray(q, dtype=float), format="csc"), np.asarray(cost, dtype=float),
        stacked, rhs,
        [clarabel.ZeroConeT(eq.size),
         clarabel.NonnegativeConeT(up.size + dn.size + cu.size + cl.size)],
        settings,
    )  # fmt: skip
    result = solver.solve()
    status = str(result.status)
    if status not in ("Solved", "AlmostSolved"):
        return status, np.full(n, np.nan)
    return status, np.asarray(result.x, dtype=float)


def best_response(qp: FollowerQP, prices: ArrayLike) -> BestResponse:
    """One best response (builds a :class:`BestResponder`; keep one for repeated calls)."""
    return BestResponder(qp)(prices)
