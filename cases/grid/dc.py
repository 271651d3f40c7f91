"""DC power flow for meshed grids (IEEE 30) and the AC check of a DC dispatch.

Why DC for dispatch: the SGLS case solves a MILP (Pyomo + HiGHS) over 96 steps; the DC
model keeps the network constraints linear, ``f = PTDF · p`` (lossless, flat voltage,
``sin θ ≈ θ``, resistances ignored), which is the standard model of transmission-level unit
commitment. Its errors (losses of a few percent of load, reactive power, voltages) are
measured afterwards by :func:`ac_check`, which runs the dispatch through pandapower's
Newton–Raphson AC power flow and reports voltage and loading violations.

    B' θ = p,     f_k = (θ_from(k) − θ_to(k)) / x_k          (x in pu, S_base = 1 MVA)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from .model import MeshedGrid

__all__ = ["AcCheck", "DcPowerFlow", "ac_check"]


class DcPowerFlow:
    """Power-transfer distribution factors of a meshed grid, slack at ``grid.slack_bus``."""

    def __init__(self, grid: MeshedGrid):
        self.grid = grid
        n, nb = grid.n_bus, grid.n_branch
        x_pu = grid.x_ohm / grid.base_kv**2
        if np.any(x_pu <= 0):
            raise ValueError(f"grid {grid.name!r}: every branch needs a positive reactance")
        incidence = np.zeros((nb, n))
        incidence[np.arange(nb), grid.from_bus] = 1.0
        incidence[np.arange(nb), grid.to_bus] = -1.0
        b_branch = 1.0 / x_pu
        b_bus = incidence.T @ (b_branch[:, None] * incidence)
        keep = np.setdiff1d(np.arange(n), [grid.slack_bus])
        ptdf = np.zeros((nb, n))
        ptdf[:, keep] = (b_branch[:, None] * incidence[:, keep]) @ np.linalg.inv(
            b_bus[np.ix_(keep, keep)]
        )
        #: Branch flow (MW, from → to) per MW injected at each bus and withdrawn at the slack.
        self.ptdf = ptdf

    def flows_mw(self, injection_mw: np.ndarray) -> np.ndarray:
        """Branch flows for net bus injections (generation − load), shape (..., n_bus)."""
        return np.asarray(injection_mw, dtype=float) @ self.ptdf.T


@dataclass(frozen=True)
class AcCheck:
    """AC power flow of a dispatch: convergence, losses and limit violations."""

    converged: bool
    losses_mw: float
    v_min_pu: float
    v_max_pu: float
    voltage_violation_pu: float
    max_loading_percent: float
    line_overload_percent: float
    slack_p_mw: float


def ac_check(
    net,
    gen_p_mw: np.ndarray,
    load_p_mw: np.ndarray,
    load_q_mvar: np.ndarray,
    *,
    v_min_pu: float = 0.95,
    v_max_pu: float = 1.05,
) -> AcCheck:
    """Run pandapower's AC power flow on ``net`` (a ``case30``-style net) for a dispatch.

    ``gen_p_mw`` holds the active power of the ``gen`` elements (the external grid is the
    slack and takes the losses); ``load_*`` are per-bus demands. Violations are summed
    magnitudes: voltage outside ``[v_min_pu, v_max_pu]`` and loading above 100 %.
    """
    import pandapower as pp

    net = copy.deepcopy(net)
    net.gen["p_mw"] = np.asarray(gen_p_mw, dtype=float)
    net.load.drop(net.load.index, inplace=True)
    for bus, (p, q) in enumerate(zip(load_p_mw, load_q_mvar, strict=True)):
        if p != 0.0 or q != 0.0:
            pp.create_load(net, bus=bus, p_mw=float(p), q_mvar=float(q))
    try:
        pp.runpp(net, numba=True)
    except pp.LoadflowNotConverged:
        nan = float("nan")
        return AcCheck(False, nan, nan, nan, nan, nan, nan, nan)
    vm = net.res_bus.vm_pu.to_numpy()
    loading = net.res_line.loading_percent.to_numpy()
    return AcCheck(
        converged=True,
        losses_mw=float(net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum()),
        v_min_pu=float(vm.min()),
        v_max_pu=float(vm.max()),
        voltage_violation_pu=float(
            np.clip(v_min_pu - vm, 0, None).sum() + np.clip(vm - v_max_pu, 0, None).sum()
        ),
        max_loading_percent=float(loading.max()),
        line_overload_percent=float(np.clip(loading - 100.0, 0, None).sum()),
        slack_p_mw=float(net.res_ext_grid.p_mw.sum()),
    )
