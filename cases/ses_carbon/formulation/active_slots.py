"""DPP re-solves with Clarabel called directly on the *active* slots of the compiled problem
(:class:`ActiveSlotSolver`).

The compiled problem has ``H`` slots; after an update with ``n < H`` active slots the padded
slots carry zero loads, PV, prices, intensities and device limits and no SOC penalty: their
turbines and storages are fixed at 0, their energies equal the energy after the last active
slot, and their network variables cost nothing and appear in no constraint of an active slot
(each variable's :class:`~.variables.SlotPadding`). Their columns and rows are therefore
removed from the problem data cvxpy applies the parameters to (``get_problem_data``, no
re-canonicalization), the padded energies merged into ``E_n`` (the terminal settlement's
``E_H``), and Clarabel solves the ``n``-slot problem — the same optimum as the padded one (its
padded part is a zero-cost block), at a fraction of the interior-point work late in the day.
One Clarabel solver per ``n`` is kept and refilled in place (``update``). The solution is
expanded (padded network at zero flow and ``v = V_slack²``) and handed to cvxpy's
``unpack_results``, so variables, status and statistics read as after ``problem.solve``. A
structure that breaks these assumptions raises :class:`SliceError` (checked, not assumed).

Which column holds which variable entry is read back through cvxpy's public round trip
(``get_problem_data`` then ``unpack_results`` of the solution ``x = 0, 1, 2, …``), not from
the compiled problem's internals: ``ParamConeProg.var_id_to_col`` knows only the variables
the reductions kept, and ``CvxAttr2Constr`` replaces every ``nonneg=True`` variable
(``p_ch``, ``p_dis``, ``soc_lo``, ``soc_hi``) by a new one with a new id, so mapping those
would mean reading that reduction's private inverse data — more of cvxpy's internals, not
fewer, for the same columns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.ses_carbon.config import StorageParams
from gridbench.cases.ses_carbon.formulation.variables import SlotPadding, Variables

if TYPE_CHECKING:
    import cvxpy as cp

__all__ = ["ActiveSlotSolver", "SliceError"]

FloatArray = NDArray[np.float64]


class SliceError(RuntimeError):
    """The compiled problem does not have the padded-slot structure the sliced re-solve
    relies on (then the formulation re-solves through cvxpy instead)."""


@dataclass(frozen=True)
class _ClarabelSolution:
    """The fields of a Clarabel solution that cvxpy's ``invert`` reads (the interface's
    solution object, for ``unpack_results``)."""

    status: str
    x: FloatArray
    z: FloatArray
    obj_val: float
    solve_time: float
    iterations: int


class ActiveSlotSolver:
    """Active-slot re-solves of one compiled problem (module docstring)."""

    def __init__(
        self,
        problem: cp.Problem,
        variables: Variables,
        horizon: int,
        v_root: float,
        storage: StorageParams,
        canon_opts: dict[str, Any],
    ) -> None:
        """``v_root``: the squared substation voltage (the padded network's ``v``);
        ``storage``: the SOC window of the padded slots' slacks."""
        import cvxpy as cp

        self._problem = problem
        self._horizon = horizon
        self._v_root = v_root
        self._storage = storage
        self._canon_opts = canon_opts
        start = time.perf_counter()
        data, chain, inv = problem.get_problem_data(cp.CLARABEL, **canon_opts)
        #: Seconds the first (compiling) ``get_problem_data`` took, reported by the first solve.
        self.pending_compile_s = time.perf_counter() - start
        self._ncol = int(np.asarray(data["c"]).size)
        self._nrow = int(data["A"].shape[0])
        by_padding = variables.by_padding()
        self._padding = {name: padding for name, (padding, _) in by_padding.items()}
        held = [name for name, p in self._padding.items() if p is SlotPadding.HELD]
        if len(held) != 1:
            raise SliceError(f"one stored-energy variable expected, got {held}")
        self._held = held[0]
        self._cols = self._column_map(by_padding, data, chain, inv)
        self._solvers: dict[int, tuple[Any, Any]] = {}  # n → (solver, (A pattern))
        self._structure: dict[int, tuple[Any, ...]] = {}

    def _column_map(
        self,
        by_padding: dict[str, tuple[SlotPadding, cp.Variable]],
        data: dict[str, Any],
        chain: Any,
        inv: Any,
    ) -> dict[str, NDArray[np.intp]]:
        """The column of every variable entry: unpack ``x = 0, 1, 2, …`` and read it back."""
        ncol, h = self._ncol, self._horizon
        probe = _ClarabelSolution(
            "Solved", np.arange(ncol, dtype=float), np.zeros(self._nrow), 0.0, 0.0, 0
        )
        self._problem.unpack_results(probe, chain, inv)
        cols: dict[str, NDArray[np.intp]] = {}
        seen = np.zeros(ncol, dtype=int)
        for name, (padding, var) in by_padding.items():
            idx = np.rint(np.asarray(var.value, dtype=float)).astype(np.intp)
            expected = {SlotPadding.HELD: (h + 1,), SlotPadding.KEPT: ()}.get(padding, (h,))
            if idx.shape[: len(expected)] != expected or (not expected and idx.ndim):
                raise SliceError(f"variable {name} has shape {idx.shape}")
            cols[name] = idx
            np.add.at(seen, idx.reshape(-1), 1)
        if not (seen == 1).all():
            raise SliceError("variables do not map one-to-one onto the problem's columns")
        return cols

    def _slice(self, n: int, data: dict[str, Any]) -> tuple[Any, ...]:
        """Rows kept, column map ``M`` (full → reduced) and cones for ``n`` active slots."""
        import scipy.sparse as sp

        kind, m = self._column_kinds(n)
        keep = self._kept_rows(data, kind, m)
        cones = _sliced_cones(keep, data["dims"])
        q = np.asarray(data["c"], dtype=float)
        if np.any(q[kind == 2] != 0.0):
            raise SliceError("a padded network variable has a cost")
        p = sp.csc_array(data["P"]) if data.get("P") is not None else None
        if p is not None:
            pc = p.tocoo()
            if np.any(kind[pc.row] >= 2) or np.any(kind[pc.col] >= 2):
                raise SliceError("a padded network or energy variable has a quadratic cost")
        return np.flatnonzero(keep), m, cones, kind

    def _column_kinds(self, n: int) -> tuple[NDArray[np.int8], Any]:
        """Each column's kind (0 kept, 1 zero-fixed, 2 free, 3 merged into ``E_n``) and the
        column map ``M`` (full → reduced) for ``n`` active slots."""
        import scipy.sparse as sp

        h = self._horizon
        kind = np.zeros(self._ncol, dtype=np.int8)  # 0 kept, 1 zero-fixed, 2 free, 3 merged
        for name, padding in self._padding.items():
            if padding is SlotPadding.ZERO_FIXED:
                kind[self._cols[name][n:].reshape(-1)] = 1
            elif padding is SlotPadding.FREE:
                kind[self._cols[name][n:].reshape(-1)] = 2
        energy = self._cols[self._held]
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
        return kind, m

    def _kept_rows(self, data: dict[str, Any], kind: NDArray[np.int8], m: Any) -> NDArray[np.bool_]:
        """The rows of an active slot (none may touch a padded network variable), less those
        the merge of the padded energies empties (checked consistent)."""
        import scipy.sparse as sp

        a = sp.csr_array(data["A"])
        a.eliminate_zeros()
        row_of = np.repeat(np.arange(self._nrow), np.diff(a.indptr))
        k_nz = kind[a.indices]
        has_kept = np.zeros(self._nrow, dtype=bool)
        has_free = np.zeros(self._nrow, dtype=bool)
        has_kept[row_of[k_nz == 0]] = True
        has_free[row_of[k_nz == 2]] = True
        if (has_kept & has_free).any():
            raise SliceError("a constraint couples active and padded network variables")
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
                raise SliceError(f"row {r} reduces to an inconsistent constant")
        keep[kept_rows[empty]] = False
        return keep

    def solve(self, n_active: int, settings: dict[str, Any], *, reuse: bool = True) -> float:
        """Solve the ``n_active`` active slots and unpack into the cvxpy problem (module
        docstring); returns the seconds spent applying the parameters and slicing (the
        "compilation")."""
        import cvxpy as cp

        n = n_active
        start = time.perf_counter()
        data, chain, inv = self._problem.get_problem_data(cp.CLARABEL, **self._canon_opts)
        if n not in self._structure:
            self._structure[n] = self._slice(n, data)
        rows, m, cones, _ = self._structure[n]
        p, q, a, b = _reduced_data(data, rows, m)
        compile_s = time.perf_counter() - start + self.pending_compile_s
        self.pending_compile_s = 0.0
        sol = self._clarabel_solve(n, (p, q, a, b), cones, settings, reuse)
        x, z = self._expanded_solution(sol, n, rows, m)
        self._problem.unpack_results(
            _ClarabelSolution(
                str(sol.status), x, z, float(sol.obj_val), float(sol.solve_time),
                int(sol.iterations),
            ),
            chain,
            inv,
        )  # fmt: skip
        return compile_s

    def _clarabel_solve(
        self, n: int, pqab: tuple[Any, ...], cones: list[Any], settings: dict[str, Any], reuse: bool
    ) -> Any:
        """Clarabel's solution of the reduced data, with the solver kept for ``n`` refilled in
        place when ``reuse`` and its sparsity pattern is unchanged (else a fresh one)."""
        import clarabel

        p, q, a, b = pqab
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
        return solver.solve()

    def _expanded_solution(
        self, sol: Any, n: int, rows: NDArray[np.intp], m: Any
    ) -> tuple[FloatArray, FloatArray]:
        """The full problem's ``(x, z)`` of a reduced solution: kept and merged columns from
        it, the padded network at zero flow (``v = V_slack²``), the padded window slacks the
        energy ``E_n`` needs (weight 0); duals of dropped rows 0."""
        x = np.zeros(self._ncol)
        z = np.zeros(self._nrow)
        if sol.x is not None and len(sol.x):
            x = m @ np.asarray(sol.x, dtype=float)  # kept and merged columns; padded: 0
            x[self._cols["v"][n:].reshape(-1)] = self._v_root  # padded network at zero flow
            st = self._storage
            e_n = x[self._cols[self._held][n]]
            lo = np.maximum(st.soc_min * st.energy_mwh - e_n, 0.0)
            hi = np.maximum(e_n - st.soc_max * st.energy_mwh, 0.0)
            x[self._cols["soc_lo"][n:]] = lo  # the window slacks E_n needs (weight 0)
            x[self._cols["soc_hi"][n:]] = hi
        if sol.z is not None and len(sol.z):
            z[rows] = np.asarray(sol.z, dtype=float)
        return x, z


def _reduced_data(data: dict[str, Any], rows: NDArray[np.intp], m: Any) -> tuple[Any, ...]:
    """``(P, q, A, b)`` of the kept rows and reduced columns (``P`` upper triangular)."""
    import scipy.sparse as sp

    a = (sp.csr_array(data["A"])[rows] @ m).tocsc()
    a.eliminate_zeros()
    b = np.asarray(data["b"], dtype=float)[rows]
    q = m.T @ np.asarray(data["c"], dtype=float)
    if data.get("P") is not None:
        p = sp.triu(m.T @ sp.csc_array(data["P"]) @ m).tocsc()
    else:
        p = sp.csc_array((m.shape[1], m.shape[1]))
    return p, q, a, b


def _sliced_cones(keep: NDArray[np.bool_], dims: Any) -> list[Any]:
    """Clarabel's cones of the kept rows: equalities, inequalities, then second-order blocks
    kept or dropped whole."""
    if dims.exp or dims.psd or dims.p3d or getattr(dims, "pnd", None):
        raise SliceError("only zero, nonnegative and second-order cones are sliced")
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
            raise SliceError("a second-order cone is split by the padded slots")
        if block.all():
            cones.append(clarabel.SecondOrderConeT(int(size)))
        start += size
    return cones
