"""Batched AC power flow for radial feeders (implicit Z-bus / BIBC–BCBV fixed point).

For a radial feeder with substation voltage ``V0`` and constant-power net demands ``S_j``
(load minus injection) at buses ``j = 1..n-1``, the branch currents are sums of downstream
bus currents and the bus voltages are ``V0`` minus the drops along the path:

    I_j      = conj(S_j / V_j)                     (bus current drawn, pu)
    I_branch = T I                                  (T[k, j] = 1 if branch k is on bus j's path)
    V        = V0 - T^T diag(z) T I  =  V0 - Z I    (Z = BCBV · BIBC, Teng 2003)

computed as a backward/forward sweep along the tree (O(n) per iteration, compiled with
numba and looped over the batch of scenarios); ``T`` and ``Z`` are kept for the linearized
models of the cases. The fixed point converges for the loadings of distribution feeders
(including reverse flow from PV); it stops when ``max |ΔV| < tol`` for every scenario and
reports non-converged scenarios instead of raising. Units: ``S_base = 1 MVA``, so pu
powers equal MW/Mvar.

Reference: J.-H. Teng, "A direct approach for distribution system load flow solutions",
IEEE Trans. Power Delivery 18(3), 2003.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .model import RadialFeeder

__all__ = ["PowerFlowResult", "RadialPowerFlow"]


@dataclass(frozen=True, eq=False)
class PowerFlowResult:
    """Batched results; leading axis = scenario (absent for a single snapshot).

    ``branch_*_from`` are the flows entering each branch at its upstream end (MW/Mvar,
    positive downstream), ``loss_*`` the branch losses, ``p_slack_mw``/``q_slack_mvar`` the
    substation (tie-line) import.
    """

    v: np.ndarray
    branch_current_pu: np.ndarray
    branch_p_from_mw: np.ndarray
    branch_q_from_mvar: np.ndarray
    loss_p_mw: np.ndarray
    loss_q_mvar: np.ndarray
    p_slack_mw: np.ndarray
    q_slack_mvar: np.ndarray
    converged: np.ndarray
    iterations: int

    @property
    def vm_pu(self) -> np.ndarray:
        return np.abs(self.v)

    @property
    def total_loss_mw(self) -> np.ndarray:
        return self.loss_p_mw.sum(axis=-1)

    @property
    def branch_s_from_mva(self) -> np.ndarray:
        return np.hypot(self.branch_p_from_mw, self.branch_q_from_mvar)


class RadialPowerFlow:
    """Precomputed power flow of one feeder; call :meth:`solve` for one or many scenarios."""

    def __init__(self, feeder: RadialFeeder, *, tol: float = 1e-11, max_iter: int = 100):
        if tol <= 0 or max_iter < 1:
            raise ValueError(f"need tol > 0 and max_iter >= 1, got tol={tol}, max_iter={max_iter}")
        self.feeder = feeder
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        n = feeder.n_bus
        m = n - 1
        z = (feeder.r_ohm + 1j * feeder.x_ohm) / feeder.z_base_ohm
        parent = np.zeros(n, dtype=np.int64)
        parent[feeder.to_bus] = feeder.from_bus
        # path[i, j] = 1 if the branch feeding bus i+1 lies on the path from bus 0 to bus j+1
        path = np.zeros((m, m))
        for j in range(1, n):
            b = j
            for _ in range(n):
                if b == 0:
                    break
                path[b - 1, j - 1] = 1.0
                b = parent[b]
            else:
                raise ValueError(f"feeder {feeder.name!r}: bus {j + 1} is not connected to bus 1")
        z_by_bus = np.empty(m, dtype=complex)
        z_by_bus[feeder.to_bus - 1] = z
        #: T of the module docstring (BIBC), indexed by downstream bus - 1.
        self.path_matrix = path
        #: Z = T^T diag(z) T (BCBV · BIBC) in pu, for linearized models.
        self.zbus_pu = path.T @ (z_by_bus[:, None] * path)
        self._z_by_bus = z_by_bus
        self._parent = parent
        depth = path.sum(axis=0)  # branches between the substation and each bus
        self._topo = (np.argsort(depth, kind="stable") + 1).astype(np.int64)
        self._v0 = complex(feeder.v_slack_pu)
        self._n = n
        self._branch_bus = np.asarray(feeder.to_bus, dtype=np.int64)

    def solve(self, p_mw: np.ndarray, q_mvar: np.ndarray) -> PowerFlowResult:
        """Solve for net bus demands ``p_mw``/``q_mvar`` (load minus injection).

        Shapes ``(n_bus,)`` for one snapshot or ``(B, n_bus)`` for a batch; the substation
        entry (bus 1) is ignored.
        """
        n = self._n
        if (  # one snapshot of contiguous float64 vectors (the referee's step): no conversion
            type(p_mw) is np.ndarray
            and type(q_mvar) is np.ndarray
            and p_mw.shape == q_mvar.shape == (n,)
            and p_mw.dtype == q_mvar.dtype == np.float64
            and p_mw.flags.c_contiguous
            and q_mvar.flags.c_contiguous
        ):
            v = np.empty((1, n), dtype=np.complex128)
            branch = np.empty((5, 1, n - 1))
            slack = np.empty((2, 1))
            converged = np.zeros(1, dtype=np.bool_)
            iterations = _sweep(
                p_mw.reshape(1, n), q_mvar.reshape(1, n), self._topo, self._parent,
                self._z_by_bus, self._branch_bus, self._v0, self.tol, self.max_iter,
                v, branch, slack, converged,
            )  # fmt: skip
            if iterations < 0:
                raise ValueError(f"feeder {self.feeder.name!r}: demands contain NaN or inf")
            branch = branch[:, 0]
            return PowerFlowResult(
                v=v[0],
                branch_current_pu=branch[0],
                branch_p_from_mw=branch[1],
                branch_q_from_mvar=branch[2],
                loss_p_mw=branch[3],
                loss_q_mvar=branch[4],
                p_slack_mw=slack[0, 0],
                q_slack_mvar=slack[1, 0],
                converged=converged[0],
                iterations=int(iterations),
            )
        p = np.asarray(p_mw, dtype=np.float64)
        q = np.asarray(q_mvar, dtype=np.float64)
        single = p.ndim == 1
        if single:
            p, q = p.reshape(1, -1), q.reshape(1, -1)
        if p.shape != q.shape or p.ndim != 2 or p.shape[1] != self._n:
            raise ValueError(
                f"feeder {self.feeder.name!r}: demands must have shape (n_bus,) or (B, n_bus) "
                f"with n_bus={self._n}; got p {np.shape(p_mw)}, q {np.shape(q_mvar)}"
            )
        n_scen = p.shape[0]
        v = np.empty((n_scen, self._n), dtype=np.complex128)
        branch = np.empty((5, n_scen, self._n - 1))  # |I|, P_from, Q_from, P_loss, Q_loss
        slack = np.empty((2, n_scen))
        converged = np.zeros(n_scen, dtype=np.bool_)
        iterations = _sweep(
            np.ascontiguousarray(p), np.ascontiguousarray(q), self._topo, self._parent,
            self._z_by_bus, self._branch_bus, self._v0, self.tol, self.max_iter,
            v, branch, slack, converged,
        )
        if iterations < 0:
            raise ValueError(f"feeder {self.feeder.name!r}: demands contain NaN or inf")
        if single:
            v, branch, slack, converged = v[0], branch[:, 0], slack[:, 0], converged[0]
        return PowerFlowResult(
            v=v,
            branch_current_pu=branch[0],
            branch_p_from_mw=branch[1],
            branch_q_from_mvar=branch[2],
            loss_p_mw=branch[3],
            loss_q_mvar=branch[4],
            p_slack_mw=slack[0],
            q_slack_mvar=slack[1],
            converged=converged,
            iterations=int(iterations),
        )


@njit(cache=True)
def _sweep(p, q, topo, parent, z, branch_bus, v0, tol, max_iter, v, branch, slack, converged):  # pragma: no cover  # noqa: E501
    """Backward/forward sweep per scenario; fills ``v``, ``branch``, ``slack``, ``converged``.

    Returns the largest iteration count, or -1 if a demand is not finite. ``topo`` lists
    the non-substation buses parents-first; ``z[j - 1]`` is the impedance of the branch
    feeding bus ``j``; ``branch_bus[k]`` is the downstream bus of branch ``k`` (feeder order).
    Backward: ``I_b(j) = conj(S_j / V_j) + sum of I_b(children)``; forward:
    ``V_j = V_parent(j) - z_j I_b(j)``. Then per branch ``k`` into bus ``j``:
    ``S_from = V_parent conj(I_b)``, ``S_loss = z |I_b|^2``; the slack power is the sum of
    ``S_from`` over the branches leaving the substation.
    """
    n_scen, n = p.shape
    m = n - 1
    for b in range(n_scen):
        for j in range(n):
            if not (np.isfinite(p[b, j]) and np.isfinite(q[b, j])):
                return -1
    ib = np.empty(n, dtype=np.complex128)
    vv = np.empty(n, dtype=np.complex128)
    s_conj = np.empty(n, dtype=np.complex128)
    worst = 0
    for b in range(n_scen):
        for j in range(n):
            vv[j] = v0
            s_conj[j] = complex(p[b, j], -q[b, j])
        it = 0
        for it in range(1, max_iter + 1):  # noqa: B007 - `it` is read after the loop
            for j in range(1, n):
                ib[j] = s_conj[j] / np.conj(vv[j])
            for t in range(m - 1, -1, -1):
                j = topo[t]
                pj = parent[j]
                if pj != 0:
                    ib[pj] += ib[j]
            delta = 0.0
            for t in range(m):
                j = topo[t]
                new = vv[parent[j]] - z[j - 1] * ib[j]
                d = abs(new - vv[j])
                if d > delta:
                    delta = d
                vv[j] = new
            if delta < tol:
                converged[b] = True
                break
        for j in range(1, n):
            ib[j] = s_conj[j] / np.conj(vv[j])
        for t in range(m - 1, -1, -1):
            j = topo[t]
            pj = parent[j]
            if pj != 0:
                ib[pj] += ib[j]
        s_slack = 0j
        for k in range(m):
            j = branch_bus[k]
            i_k = ib[j]
            i2 = i_k.real * i_k.real + i_k.imag * i_k.imag
            s_from = vv[parent[j]] * np.conj(i_k)
            s_loss = z[j - 1] * i2
            branch[0, b, k] = np.sqrt(i2)
            branch[1, b, k] = s_from.real
            branch[2, b, k] = s_from.imag
            branch[3, b, k] = s_loss.real
            branch[4, b, k] = s_loss.imag
            if parent[j] == 0:
                s_slack += s_from
        slack[0, b] = s_slack.real
        slack[1, b] = s_slack.imag
        for j in range(n):
            v[b, j] = vv[j]
        if it > worst:
            worst = it
    return worst
