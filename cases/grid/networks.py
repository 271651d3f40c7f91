"""Factories of the grids the cases use, one function per network, source in each docstring.

Grids register themselves with :func:`grid_factory`; :func:`load_grid` looks them up by
name and suggests the closest name for a typo. Each factory is cached: grids are immutable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np

from ..naming import unknown_name_message
from .model import MeshedGrid, RadialFeeder

__all__ = ["UnknownGridError", "grid_factory", "grid_names", "load_grid"]

Grid = RadialFeeder | MeshedGrid
_FACTORIES: dict[str, Callable[[], Grid]] = {}


class UnknownGridError(ValueError):
    """An unknown grid name; the message suggests the closest known name."""


def grid_factory(name: str) -> Callable[[Callable[[], Grid]], Callable[[], Grid]]:
    """Register a grid factory under ``name`` (duplicates are rejected at once)."""

    def decorate(fn: Callable[[], Grid]) -> Callable[[], Grid]:
        if name in _FACTORIES:
            raise ValueError(f"grid {name!r} is registered twice")
        _FACTORIES[name] = cache(fn)
        return fn

    return decorate


def grid_names() -> tuple[str, ...]:
    return tuple(sorted(_FACTORIES))


def load_grid(name: str) -> Grid:
    """The grid registered as ``name`` (``ieee33``, ``feeder38``, ``ieee30``)."""
    try:
        return _FACTORIES[name]()
    except KeyError:
        raise UnknownGridError(unknown_name_message("grid", name, grid_names())) from None


def _quiet_pandapower_networks():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandapower.networks as pn
    return pn


@grid_factory("ieee33")
def ieee33() -> RadialFeeder:
    """IEEE 33-bus radial feeder, 12.66 kV, 3.715 MW + 2.3 Mvar nominal load.

    Source: M. E. Baran and F. F. Wu, "Network reconfiguration in distribution systems for
    loss reduction and load balancing", IEEE Trans. Power Delivery 4(2), 1989, as shipped in
    pandapower's ``case33bw`` (MATPOWER ``case33bw``). The five normally-open tie switches
    (out-of-service lines 33–37) are left out, keeping the 32 radial branches. Base case:
    202.68 kW of losses, minimum voltage 0.9131 pu at bus 18. The source gives no thermal
    ratings (``rate_mva = inf``): each case sets its own line limits.
    """
    pn = _quiet_pandapower_networks()
    net = pn.case33bw()
    lines = net.line[net.line.in_service].sort_values("to_bus")
    n = len(net.bus)
    p = np.zeros(n)
    q = np.zeros(n)
    np.add.at(p, net.load.bus.to_numpy(), net.load.p_mw.to_numpy())
    np.add.at(q, net.load.bus.to_numpy(), net.load.q_mvar.to_numpy())
    return RadialFeeder(
        name="ieee33",
        base_kv=float(net.bus.vn_kv.iloc[0]),
        from_bus=lines.from_bus.to_numpy(),
        to_bus=lines.to_bus.to_numpy(),
        r_ohm=(lines.r_ohm_per_km * lines.length_km).to_numpy(),
        x_ohm=(lines.x_ohm_per_km * lines.length_km).to_numpy(),
        load_p_mw=p,
        load_q_mvar=q,
        rate_mva=np.full(len(lines), math.inf),
        v_slack_pu=float(net.ext_grid.vm_pu.iloc[0]),
        source="Baran & Wu 1989 via pandapower.networks.case33bw",
    )


#: DER nodes of ``feeder38``: (new bus number, bus it connects to, DER it hosts).
FEEDER38_DER_NODES: tuple[tuple[int, int, str], ...] = (
    (34, 18, "pv"),
    (35, 22, "wind"),
    (36, 25, "storage"),
    (37, 30, "storage"),
    (38, 33, "ev"),
)
#: Impedance of each DER connection: 0.5 km of 12.66 kV overhead line at
#: 0.2 + j0.2 ohm/km (a short, stiff tap next to the feeder's 0.09–1.5 ohm sections).
FEEDER38_TAP_OHM: tuple[float, float] = (0.1, 0.1)


@grid_factory("feeder38")
def feeder38() -> RadialFeeder:
    """The 38-node feeder of the master-slave (Stackelberg GSESS) case.

    Dong et al. (Energy Reports 14, 2025) use "a modified 38-node distribution system"
    without publishing its data; only the abstract is available. We build it as the IEEE
    33-bus feeder (:func:`ieee33`, unchanged) plus five DER nodes 34–38, each tapped off a
    weak end of a lateral through a short line (``FEEDER38_TAP_OHM`` = 0.1 + j0.1 ohm):
    34 at bus 18 (PV), 35 at 22 (wind), 36 at 25 (shared storage), 37 at 30 (shared
    storage), 38 at 33 (EV charging station). The DER nodes carry no base load, so the
    base case equals IEEE 33's; the DER nodes matter once the case connects devices there.
    """
    base = ieee33()
    extra = len(FEEDER38_DER_NODES)
    new_from = [parent - 1 for _, parent, _ in FEEDER38_DER_NODES]
    new_to = [number - 1 for number, _, _ in FEEDER38_DER_NODES]
    r, x = FEEDER38_TAP_OHM
    kinds = base.bus_kind + tuple(f"der:{kind}" for _, _, kind in FEEDER38_DER_NODES)
    return RadialFeeder(
        name="feeder38",
        base_kv=base.base_kv,
        from_bus=np.concatenate([base.from_bus, new_from]),
        to_bus=np.concatenate([base.to_bus, new_to]),
        r_ohm=np.concatenate([base.r_ohm, np.full(extra, r)]),
        x_ohm=np.concatenate([base.x_ohm, np.full(extra, x)]),
        load_p_mw=np.concatenate([base.load_p_mw, np.zeros(extra)]),
        load_q_mvar=np.concatenate([base.load_q_mvar, np.zeros(extra)]),
        rate_mva=np.full(base.n_branch + extra, math.inf),
        v_slack_pu=base.v_slack_pu,
        source="IEEE 33 (Baran & Wu 1989) + 5 DER nodes, gridbench construction",
        bus_kind=kinds,
    )


def ieee30_pandapower():
    """A fresh pandapower net of the IEEE 30-bus case (``pandapower.networks.case30``)."""
    return _quiet_pandapower_networks().case30()


@grid_factory("ieee30")
def ieee30() -> MeshedGrid:
    """IEEE 30-bus system with its generator cost data, 135 kV, 189.2 MW nominal load.

    Source: MATPOWER ``case30`` (the IEEE 30-bus test case with the generator costs of
    Alsac & Stott, 1974) as shipped in pandapower ``case30``. Meshed, so the cases dispatch
    it on the DC model (:mod:`.dc`) and check the dispatch in pandapower's AC power flow:
    a radial sweep does not apply to a meshed grid, and a linear model keeps the MILP a
    MILP. Generator 0 is the external grid at bus 1 (the slack), then the five ``gen``.
    Ratings from ``max_i_ka``: ``S = sqrt(3) * V * I``.
    """
    net = ieee30_pandapower()
    lines = net.line[net.line.in_service]
    n = len(net.bus)
    p = np.zeros(n)
    q = np.zeros(n)
    np.add.at(p, net.load.bus.to_numpy(), net.load.p_mw.to_numpy())
    np.add.at(q, net.load.bus.to_numpy(), net.load.q_mvar.to_numpy())
    base_kv = float(net.bus.vn_kv.iloc[0])
    cost = net.poly_cost.set_index(["et", "element"])
    units = [("ext_grid", i, net.ext_grid.loc[i]) for i in net.ext_grid.index]
    units += [("gen", i, net.gen.loc[i]) for i in net.gen.index]
    return MeshedGrid(
        name="ieee30",
        base_kv=base_kv,
        from_bus=lines.from_bus.to_numpy(),
        to_bus=lines.to_bus.to_numpy(),
        r_ohm=(lines.r_ohm_per_km * lines.length_km).to_numpy(),
        x_ohm=(lines.x_ohm_per_km * lines.length_km).to_numpy(),
        load_p_mw=p,
        load_q_mvar=q,
        rate_mva=(math.sqrt(3.0) * base_kv * lines.max_i_ka * lines.parallel).to_numpy(),
        gen_bus=[int(row.bus) for _, _, row in units],
        gen_p_min_mw=[float(row.min_p_mw) for _, _, row in units],
        gen_p_max_mw=[float(row.max_p_mw) for _, _, row in units],
        gen_cost_c2=[float(cost.loc[(et, i), "cp2_eur_per_mw2"]) for et, i, _ in units],
        gen_cost_c1=[float(cost.loc[(et, i), "cp1_eur_per_mw"]) for et, i, _ in units],
        gen_cost_c0=[float(cost.loc[(et, i), "cp0_eur"]) for et, i, _ in units],
        slack_bus=int(net.ext_grid.bus.iloc[0]),
        source="MATPOWER case30 via pandapower.networks.case30",
    )
