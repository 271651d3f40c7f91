"""Base-case summary of a grid, as printed by ``gridbench grid NAME``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .model import RadialFeeder, bus_number
from .networks import ieee30_pandapower, load_grid
from .powerflow import RadialPowerFlow

__all__ = ["grid_summary"]


def grid_summary(name: str) -> dict[str, Any]:
    """Bus and branch counts, base-case losses (kW) and the minimum voltage with its bus.

    Radial feeders are solved with gridbench's own sweep (:mod:`.powerflow`); the meshed
    IEEE 30 with pandapower's Newton–Raphson at its published generator set-points.
    Buses are numbered from 1 at the substation (slack).
    """
    grid = load_grid(name)
    if isinstance(grid, RadialFeeder):
        result = RadialPowerFlow(grid).solve(grid.load_p_mw, grid.load_q_mvar)
        vm = result.vm_pu
        losses_kw = float(result.total_loss_mw) * 1e3
        method = "gridbench backward/forward sweep"
    else:
        import pandapower as pp

        net = ieee30_pandapower()
        pp.runpp(net, numba=True)
        vm = net.res_bus.vm_pu.to_numpy()
        losses_kw = float(net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum()) * 1e3
        method = "pandapower Newton-Raphson (AC)"
    i_min = int(np.argmin(vm))
    return {
        "name": grid.name,
        "buses": grid.n_bus,
        "branches": grid.n_branch,
        "base_kv": grid.base_kv,
        "load_mw": round(float(grid.load_p_mw.sum()), 6),
        "load_mvar": round(float(grid.load_q_mvar.sum()), 6),
        "losses_kw": round(losses_kw, 4),
        "v_min_pu": round(float(vm[i_min]), 6),
        "v_min_bus": bus_number(i_min),
        "power_flow": method,
        "source": grid.source,
    }
