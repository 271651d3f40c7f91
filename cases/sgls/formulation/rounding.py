"""The rounding heuristic of the LP-first solve (:func:`~.solve.solve`): integer values for a
relaxation's solution, the storages' binaries set by the larger of charge and discharge."""

from __future__ import annotations

import numpy as np

from gridbench.cases.sgls.day import FloatArray
from gridbench.cases.sgls.formulation.standard_form import StandardForm

__all__ = ["round_binaries"]


def round_binaries(comp: StandardForm, x: FloatArray) -> FloatArray:
    """Integer values for a relaxation's solution ``x``: a storage's ``u`` is 1 where it
    charges more than it discharges, 0 where less (its integral value otherwise); any other
    integer variable is rounded to the nearest integer."""
    pos = {id(v): i for i, v in enumerate(comp.columns)}
    out = np.round(x[comp.integer])
    for k, j in enumerate(comp.integer):
        v = comp.columns[j]
        if v.parent_component().local_name != "u":
            continue
        b, idx = v.parent_block(), v.index()
        ic, idis = pos.get(id(b.ch[idx])), pos.get(id(b.dis[idx]))
        ch = x[ic] if ic is not None else 0.0
        dis = x[idis] if idis is not None else 0.0
        if ch > dis:
            out[k] = 1.0
        elif dis > ch:
            out[k] = 0.0
    return np.clip(out, comp.col_lower[comp.integer], comp.col_upper[comp.integer])
