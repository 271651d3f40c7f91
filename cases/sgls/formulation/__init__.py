"""Pyomo MILP of the SGLS dispatch, eqs (1)–(12) of Li et al. (2026), solved by HiGHS.

One *block* is a dispatch over ``T`` steps of ``Δt`` hours on one data set (a forecast, a
scenario or the actual day), built PyPSA-style (:func:`~.model.add_block`): parameters →
variables → constraints → objective, then :func:`~.solve.solve`. The modules:

* :mod:`.data` — :class:`BlockData`, a block's data cut from a day (:func:`block_data`), and
  the end-of-day SOC floor (:func:`return_floor`);
* :mod:`.network` — the grid as the MILPs see it: the flow with every device idle (IEEE 33:
  losses and voltages of :data:`~.network.MONITORED_BUSES`; IEEE 30: the referee's DC line
  flows), the devices' sensitivities, the limits, and which rows the variables' box bounds
  already satisfy (left out given the block's data at build time: ≈ 90 % of the voltage and ≈ 80 %
  of the line rows, the optimum unchanged);
* :mod:`.parameters` — the block's index sets and mutable ``Param`` s (every data value), and
  :func:`set_block`, :func:`set_loss_model`, :func:`set_trust_region`, which write them;
* :mod:`.variables` — one ``define_*_variables`` per device family, and :func:`read_block`;
* :mod:`.constraints` — one ``define_*_constraints`` per family: the thermal units' tangent
  segments and ramps (7) (capacity (6) is the bounds), the storages' power limits and binary
  exclusivity (10)–(12), SOC dynamics (band (9) the bounds), end-of-block target and floor,
  the flexible loads' limits and energy-neutral shifting, the network (IEEE 33: linearized
  voltages; IEEE 30: soft DC line limits), the power balance (5) with the tie line as the
  balancing player and a loss estimate (IEEE 33: the idle AC flow's losses, or linearized
  around a point; IEEE 30: 0), the trust region, the tie line's split;
* :mod:`.objective` — eq (1): thermal cost (2) as the maximum of ``K`` tangents (HiGHS has no
  MIQP; under-estimating it by at most :func:`cut_error_bound`), storage (3), flexible loads
  (4), the line penalty and the tie line (``tie="linear"``: a day-ahead purchase ``λ T Δt``;
  ``tie="imbalance"``: the two-price settlement of ``T − T*``);
* :mod:`.model` — :func:`add_block`, :func:`plan_model` (one block, deterministic) and
  :func:`two_stage_model` (an hourly day-ahead plan whose schedule ``T*_h`` is the first stage,
  and one 15-min recourse block per scenario weighted by its probability: the ``scenario``
  method, and ``oracle`` with the realized day as the only scenario);
* :mod:`.standard_form`, :mod:`.rounding`, :mod:`.solve` — :func:`solve` compiles a model
  with Pyomo's linear standard-form compiler and hands the matrices to ``highspy`` (an order
  of magnitude faster than ``appsi``'s expression walk on these models), solves the LP
  relaxation first and, where its storages charge and discharge at once, rounds the binaries
  by the larger of the two, re-solves that LP and keeps it if it is within ``mip_gap`` of the
  relaxation's bound; only otherwise it runs HiGHS's branch and bound from that incumbent.
  Its :class:`SolveInfo` carries the shared :class:`~gridbench.cases.solve_status.
  SolveStatus`;
* :mod:`.mpc` — :class:`Mpc` re-solves one compiled window with ``appsi_highs`` (a
  persistent interface that pushes only the changed values) instead of rebuilding.
"""

from __future__ import annotations

from gridbench.cases.sgls.formulation.data import BlockData, block_data, return_floor
from gridbench.cases.sgls.formulation.model import add_block, plan_model, two_stage_model
from gridbench.cases.sgls.formulation.mpc import Mpc
from gridbench.cases.sgls.formulation.network import (
    LINE_MARGIN,
    binding_rows,
    line_limits,
    line_ratings,
    loss_estimate,
)
from gridbench.cases.sgls.formulation.objective import cut_error_bound
from gridbench.cases.sgls.formulation.parameters import (
    set_block,
    set_loss_model,
    set_trust_region,
)
from gridbench.cases.sgls.formulation.solve import SolveInfo, solve
from gridbench.cases.sgls.formulation.variables import BlockResult, read_block
from gridbench.cases.solve_status import SolveStatus

# what the callers (solvers, Shapley allocation, tests, benchmark suites) import from here;
# everything else from its module
__all__ = [
    "LINE_MARGIN",
    "BlockData",
    "BlockResult",
    "Mpc",
    "SolveInfo",
    "SolveStatus",
    "add_block",
    "binding_rows",
    "block_data",
    "cut_error_bound",
    "line_limits",
    "line_ratings",
    "loss_estimate",
    "plan_model",
    "read_block",
    "return_floor",
    "set_block",
    "set_loss_model",
    "set_trust_region",
    "solve",
    "two_stage_model",
]
