"""A Pyomo model compiled to HiGHS's standard form ``row_lower ≤ A x ≤ row_upper``,
``col_lower ≤ x ≤ col_upper`` by Pyomo's linear standard-form compiler and handed to
``highspy`` as matrices (an order of magnitude faster than ``appsi``'s expression walk on
these models), and the way back: a solution vector loaded into the model's variables."""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.sgls.day import FloatArray

__all__ = ["StandardForm", "compile_to_highs", "load_solution"]


@dataclasses.dataclass(frozen=True)
class StandardForm:
    """A model compiled to ``row_lower ≤ A x ≤ row_upper``, ``col_lower ≤ x ≤ col_upper``:
    its columns (the Pyomo variables, in column order), the integer columns and the columns'
    bounds."""

    columns: list
    integer: NDArray[np.int32]
    col_lower: FloatArray
    col_upper: FloatArray


def compile_to_highs(m, h) -> StandardForm:
    """Compile ``m`` with Pyomo's linear standard-form compiler and pass it to ``highspy``
    object ``h`` as an LP (integrality left out)."""
    import highspy
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    sf = LinearStandardFormCompiler().write(m, mixed_form=True)
    A = sf.A.tocsc()
    n_row, n_col = A.shape
    rhs = np.asarray(sf.rhs, dtype=float).reshape(-1)
    kind = np.fromiter((r.bound_type for r in sf.rows), dtype=np.int8, count=n_row)
    row_lower = np.where(kind <= 0, rhs, -np.inf)  # 0: equality, -1: lower bound, 1: upper
    row_upper = np.where(kind >= 0, rhs, np.inf)
    cols = sf.columns
    col_lower = np.array([-np.inf if v.lb is None else v.lb for v in cols], dtype=float)
    col_upper = np.array([np.inf if v.ub is None else v.ub for v in cols], dtype=float)
    integer = np.flatnonzero([v.is_integer() for v in cols]).astype(np.int32)
    cost = sf.c.toarray()[0] if sf.c.shape[0] else np.zeros(n_col)
    offset = float(np.asarray(sf.c_offset, dtype=float).reshape(-1)[0]) \
        if np.size(sf.c_offset) else 0.0
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_col, n_row
    lp.col_cost_, lp.offset_ = cost, offset
    lp.col_lower_, lp.col_upper_ = col_lower, col_upper
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_col, n_row
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    h.passModel(lp)
    return StandardForm(cols, integer, col_lower, col_upper)


def load_solution(m, comp: StandardForm, x: FloatArray) -> None:
    """Write the column values ``x`` into ``m``'s variables (a variable in no row and not in
    the objective gets any value within its bounds)."""
    import pyomo.environ as pyo

    for v, val in zip(comp.columns, x, strict=True):
        v.set_value(float(val), skip_validation=True)
    for v in m.component_data_objects(pyo.Var, descend_into=True):
        if v.value is None:  # in no row and not in the objective: any value in bounds
            v.set_value(0.0 if v.lb is None else max(0.0, v.lb), skip_validation=True)
