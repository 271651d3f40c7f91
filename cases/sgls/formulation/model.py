"""The SGLS models, assembled PyPSA-style from the block's parts: parameters
(:mod:`.parameters`) → variables (:mod:`.variables`) → constraints (:mod:`.constraints`) →
objective (:mod:`.objective`).

:func:`add_block` adds one dispatch block; :func:`plan_model` is one deterministic block,
:func:`two_stage_model` an hourly day-ahead plan whose schedule ``T*_h`` is the first stage
and one 15-min recourse block per scenario weighted by its probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gridbench.cases.sgls.config import SglsConfig
from gridbench.cases.sgls.formulation.constraints import define_constraints
from gridbench.cases.sgls.formulation.data import BlockData
from gridbench.cases.sgls.formulation.network import network_rows
from gridbench.cases.sgls.formulation.objective import block_cost, day_ahead_cost
from gridbench.cases.sgls.formulation.parameters import define_block_parameters
from gridbench.cases.sgls.formulation.variables import define_variables

__all__ = ["add_block", "plan_model", "two_stage_model"]


def add_block(m, name: str, config: SglsConfig, T: int, dt: float, tie: str,
              ref: Any = None, *, data: BlockData | None = None, track: bool = False,
              network: bool = True, marginal_losses: bool = False):
    """A full dispatch block ``m.<name>``; returns ``(block, cost expression)``. ``tie``:
    ``"linear"`` (a day-ahead purchase) or ``"imbalance"`` (the two-price settlement of
    ``T − T*``, ``T*`` = ``ref`` or the block's own parameter); ``data``: the block's data,
    known at build time (network rows it makes redundant are left out,
    :func:`~.network.network_rows`); ``track``: build the SOC-tracking term (:class:`~.mpc.
    Mpc`); ``network=False``: no network rows (copper plate); ``marginal_losses``: the
    losses linearized (:func:`~.parameters.set_loss_model`)."""
    from pyomo.common.gc_manager import PauseGC

    with PauseGC():  # tens of thousands of small objects: the cyclic GC only slows this down
        b = define_block_parameters(m, name, config, T, dt, tie=tie, own_ref=ref is None,
                                    marginal_losses=marginal_losses)
        rows = network_rows(config, T, data) if network else None
        define_variables(b, config, track=track, rows=rows)
        define_constraints(b, config, tie=tie, ref=ref, track=track, rows=rows,
                           marginal_losses=marginal_losses)
        cost = block_cost(b, config, tie=tie, track=track, network=network, rows=rows)
    return b, cost


def plan_model(config: SglsConfig, T: int, dt: float, tie: str = "linear", *,
               data: BlockData | None = None, track: bool = False, network: bool = True):
    """One deterministic block ``m.b`` minimizing its cost (eq (1) + tie-line cost); ``data``,
    ``track`` and ``network`` as in :func:`add_block`."""
    import pyomo.environ as pyo

    m = pyo.ConcreteModel()
    _, cost = add_block(m, "b", config, T, dt, tie, data=data, track=track, network=network)
    m.obj = pyo.Objective(expr=cost, sense=pyo.minimize)
    return m


def two_stage_model(config: SglsConfig, probabilities: Sequence[float], link: bool = False,
                    *, plan_data: BlockData | None = None,
                    scenario_data: Sequence[BlockData] | None = None,
                    marginal_losses: bool = False):
    """Hourly day-ahead plan ``m.da`` (first stage: its schedule ``T*_h`` is bought at ``λ_h``)
    and one 15-min recourse block ``m.s<i>`` per scenario settling ``T − T*`` (second stage),
    expected cost minimized. The plan's device setpoints only shape ``T*`` (as in the
    referee, where intraday setpoints are free). ``link``: the plan's hourly setpoints are the
    hourly means of the (only) recourse. ``plan_data`` / ``scenario_data``: the blocks' data
    known at build time (:func:`add_block`); ``marginal_losses``: every block's losses
    linearized (:func:`~.constraints.define_power_balance_constraints`,
    :func:`~.parameters.set_loss_model`)."""
    import pyomo.environ as pyo

    m = pyo.ConcreteModel()
    da, _ = add_block(m, "da", config, 24, 1.0, "linear", data=plan_data,
                      marginal_losses=marginal_losses)
    # the plan's own costs are not in the objective (below): its shifted energy must balance
    # exactly, as the referee's day-ahead layer enforces, not through the priced slack
    for j in da.SH:
        da.xi[j].fix(0.0)
    # the referee ramps the first executed quarter-hour from the plan's hour 0 (on_layer_start)
    if config.thermal:
        ramp = {g: config.thermal[g].ramp_mw_per_h * 0.25 for g in da.G}
        m.first_ramp = pyo.ConstraintList()
    ref = {t: da.tie[t // 4] for t in range(96)}
    exp = 0.0
    m.scen = []
    for i, prob in enumerate(probabilities):
        b, cost = add_block(m, f"s{i}", config, 96, 0.25, "imbalance", ref=ref,
                            data=None if scenario_data is None else scenario_data[i],
                            marginal_losses=marginal_losses)
        m.scen.append(b)
        if config.thermal:
            for g in da.G:
                m.first_ramp.add(b.p[g, 0] - da.p[g, 0] <= ramp[g])
                m.first_ramp.add(da.p[g, 0] - b.p[g, 0] <= ramp[g])
        exp = exp + float(prob) * cost
    if link:
        _link_plan_to_recourse(m, da, m.scen[0])
    # the first stage pays only its energy purchase: the device costs of the plan are the
    # recourse blocks' (the referee charges executed setpoints, not planned ones)
    first = day_ahead_cost(da, config)
    m.obj = pyo.Objective(expr=first + exp, sense=pyo.minimize)
    return m


def _link_plan_to_recourse(m, da, b0) -> None:
    """The plan's hourly setpoints (storage and flexible net injections, thermal output) are
    the hourly means of the recourse block ``b0``'s quarter-hours."""
    import pyomo.environ as pyo

    def net_st(b, s, t):
        return b.dis[s, t] - b.ch[s, t]

    def net_fl(b, j, t):
        return b.up[j, t] - b.dn[j, t]

    m.link_st = pyo.Constraint(da.S, da.T, rule=lambda _, s, h: net_st(da, s, h) == sum(
        net_st(b0, s, 4 * h + q) for q in range(4)) / 4)
    m.link_fl = pyo.Constraint(da.F, da.T, rule=lambda _, j, h: net_fl(da, j, h) == sum(
        net_fl(b0, j, 4 * h + q) for q in range(4)) / 4)
    m.link_th = pyo.Constraint(da.G, da.T, rule=lambda _, g, h: da.p[g, h] == sum(
        b0.p[g, 4 * h + q] for q in range(4)) / 4)
