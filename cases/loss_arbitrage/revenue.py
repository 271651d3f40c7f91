"""Per-node daily revenue before/after scheduling, in the form of the paper's Table 3.

For executed setpoints ``p`` ``(24, n_dev)`` (grid side, MW) of a day:

* arbitrage revenue of device ``k``: ``o_2,k = Σ_t β_t·p_k,t·Δt`` (exactly the referee's);
* loss-reduction revenue of device ``k``: the referee's network term ``o_1,t = β_t·(L⁰_t −
  L_t)·Δt`` is a property of the whole feeder; it is split among the devices by the
  Aumann–Shapley rule along the straight path from no storage to ``p_t``::

      o_1,k,t = β_t·Δt·p_k,t·∫₀¹ −∂L/∂p_k (s·p_t) ds

  (the marginal loss reduction of each device averaged over the path). The shares add up to
  ``o_1,t`` (fundamental theorem of calculus); the integral uses 4-point Gauss–Legendre and
  the gradient central differences of the same AC power flow as the referee (one batched
  solve per day), and :func:`revenue_table` reports the residual of the sum.

"Before" and "after" are two schedules of the same day (e.g. the tariff ``rule`` and a
scheduling method); the paper does not say what ran before its DRL scheduling.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["node_revenues", "revenue_table"]

FloatArray = NDArray[np.float64]
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(4)
_FD_STEP_MW = 1e-4


def node_revenues(case: Any, day: datetime.date, setpoints: ArrayLike) -> dict[str, Any]:
    """Loss-reduction and arbitrage revenue per device of ``setpoints`` on ``day`` ($), the
    feeder's loss-reduction revenue and the split's residual (module docstring)."""
    from gridbench.cases.grid import RadialPowerFlow
    from gridbench.cases.loss_arbitrage.day import STEP_HOURS, feeder

    config = case.config
    data = case.day_data(day)
    dev = config.devices()
    p = np.asarray(setpoints, dtype=float)
    if p.shape != (data.n_steps, dev.n):
        raise ValueError(f"setpoints must have shape ({data.n_steps}, {dev.n}), got {p.shape}")
    fd = feeder(config.network.v_slack_pu)
    pf = RadialPowerFlow(fd)
    steps, n = p.shape
    inc = np.zeros((fd.n_bus, n))
    inc[dev.bus_index, np.arange(n)] = 1.0
    s = 0.5 * (_GL_NODES + 1.0)  # nodes on [0, 1]
    w = 0.5 * _GL_WEIGHTS
    # scenarios: step t, node g, device k, ±h
    base = s[None, :, None, None, None] * p[:, None, None, None, :]  # (T, G, 1, 1, n)
    bump = np.zeros((1, 1, n, 2, n))
    bump[0, 0, np.arange(n), 0, np.arange(n)] = _FD_STEP_MW
    bump[0, 0, np.arange(n), 1, np.arange(n)] = -_FD_STEP_MW
    inj = (base + bump).reshape(-1, n)  # (T·G·n·2, n)
    reps = inj.shape[0] // steps
    load_p = np.repeat(data.load_p_mw, reps, axis=0)
    load_q = np.repeat(data.load_q_mvar, reps, axis=0)
    loss = pf.solve(load_p - inj @ inc.T, load_q).loss_p_mw.sum(axis=1)
    loss = loss.reshape(steps, s.size, n, 2)
    grad = (loss[..., 0] - loss[..., 1]) / (2.0 * _FD_STEP_MW)  # (T, G, n) ∂L/∂p_k
    path = np.einsum("g,tgk->tk", w, grad)  # ∫ ∂L/∂p_k ds
    price = np.asarray(data.price_usd_per_mwh, dtype=float)
    share = -price[:, None] * p * path * STEP_HOURS  # (T, n) $
    actual = pf.solve(data.load_p_mw - p @ inc.T, data.load_q_mvar).loss_p_mw.sum(axis=1)
    feeder_o1 = float(price @ (np.asarray(data.base_loss_mw) - actual)) * STEP_HOURS
    return {
        "loss_reduction_usd": share.sum(axis=0),
        "arbitrage_usd": (price[:, None] * p).sum(axis=0) * STEP_HOURS,
        "feeder_loss_reduction_usd": feeder_o1,
        "split_residual_usd": float(share.sum()) - feeder_o1,
    }


def revenue_table(
    case: Any, day: datetime.date, *, before: Any, after: Any
) -> pd.DataFrame:
    """Table 3 of the paper for ``day``: one row per storage node (batteries, then
    supercapacitors) with its loss-reduction and arbitrage revenue before and after
    scheduling ($). ``before``/``after``: setpoint arrays ``(24, n_dev)`` or objects with a
    ``setpoints`` attribute. ``DataFrame.attrs`` holds the feeder totals and residuals."""
    import pandas as pd

    dev = case.config.devices()
    cols: dict[str, Any] = {"node": list(dev.buses), "type": list(dev.kind)}
    attrs: dict[str, float] = {}
    for when, sched in (("before", before), ("after", after)):
        sp = getattr(sched, "setpoints", sched)
        rev = node_revenues(case, day, sp)
        cols[f"loss_reduction_{when}_usd"] = rev["loss_reduction_usd"]
        cols[f"arbitrage_{when}_usd"] = rev["arbitrage_usd"]
        attrs[f"feeder_loss_reduction_{when}_usd"] = rev["feeder_loss_reduction_usd"]
        attrs[f"split_residual_{when}_usd"] = rev["split_residual_usd"]
    table = pd.DataFrame(cols)
    table.attrs.update(attrs)
    return table
