"""AC check of an executed IEEE 30 day: the DC dispatch through ``pandapower.runpp``.

The referee dispatches ``sgls-ieee30-v0`` on the DC model (lossless, flat voltage); this module
re-runs each executed step (or every ``every``-th) through pandapower's Newton–Raphson AC power
flow on MATPOWER ``case30`` (:func:`~gridbench.cases.grid.dc.ac_check`): thermal units 2–6 at
their DC setpoints as ``gen`` (voltage-controlled), thermal unit 1 and the upstream tie line
both at bus 1 as the slack (which also takes the AC losses), storages, renewables and
flexible loads as negative/positive loads at their buses. Reported per step: convergence,
losses, voltage extremes and violations outside ``[v_min_pu, v_max_pu]``, line loadings above
100 %, and the slack's AC power (unit 1 stays at its setpoint as a negative load, so the
slack is the tie line) against the DC tie line: the difference is the AC losses.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gridbench.cases.referee import Layer

__all__ = ["ac_check_day"]


def ac_check_day(core: Any, every: int = 4) -> list[dict[str, float]]:
    """AC check of the intraday steps of ``core``'s current (finished) day, every ``every``-th
    step. ``core`` is an :class:`~gridbench.cases.sgls.core.SglsCore` on ``ieee30``."""
    from gridbench.cases.grid.dc import ac_check
    from gridbench.cases.grid.networks import ieee30_pandapower

    if core.radial:
        raise ValueError("ac_check_day is for sgls-ieee30 (IEEE 33 runs the AC flow itself)")
    net = ieee30_pandapower()
    lay = core.lay
    out = []
    for rec in core.history(Layer.INTRADAY)[::every]:
        sp = np.asarray(rec.applied)
        p, q = core._injections(core.act, rec.step, sp)  # net demand incl. thermal
        th = sp[lay.th]
        np.add.at(p, core.th_bus, th)  # thermal units back out of the demand ...
        res = ac_check(net, th[1:], p - _at(core.th_bus[:1], th[:1], p.size), q,
                       v_min_pu=core.config.v_min_pu, v_max_pu=core.config.v_max_pu)
        out.append({"step": rec.step, "converged": float(res.converged),
                    "losses_mw": res.losses_mw, "v_min_pu": res.v_min_pu,
                    "v_max_pu": res.v_max_pu, "voltage_violation_pu": res.voltage_violation_pu,
                    "max_loading_percent": res.max_loading_percent,
                    "line_overload_percent": res.line_overload_percent,
                    "slack_ac_mw": res.slack_p_mw,
                    "slack_dc_mw": float(rec.kpi.tie_line_mw)})
    return out


def _at(buses: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """... except unit 1, which stays as a negative load at the slack bus (the slack is the
    tie line; unit 1's DC setpoint is honoured and the slack supplies the rest)."""
    out = np.zeros(n)
    np.add.at(out, buses, values)
    return out
