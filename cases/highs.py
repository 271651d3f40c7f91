"""HiGHS without its banner in our logs, and models built from arrays.

``highspy.Highs()`` prints a licence banner ("Running HiGHS … Copyright …") to the process's
standard output the first time one is constructed, before any option (``output_flag``) can be
set; Pyomo's ``appsi_highs`` and cvxpy construct one inside. :func:`quiet_highs_banner` makes
that first construction with file descriptor 1 pointed at ``/dev/null``, so that the banner
is spent where nobody reads it; every caller still sets ``output_flag=False`` itself.

:func:`new_highs` is a quiet, single-threaded, seeded solver with the given options;
:func:`highs_lp` a ``HighsLp`` from a sparse matrix and its bounds; :func:`diagonal_hessian` the
``HighsHessian`` of ``½ Σ q_j x_j²``.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

__all__ = ["diagonal_hessian", "highs_lp", "new_highs", "quiet_highs_banner"]


@functools.cache
def quiet_highs_banner() -> None:
    """Construct (and drop) one ``highspy.Highs`` with stdout silenced; idempotent per process."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def new_highs(**options: Any) -> Any:
    """A ``highspy.Highs`` without output, on one thread, seed 0, with ``options`` set."""
    import highspy

    quiet_highs_banner()
    h = highspy.Highs()
    for key, val in {"output_flag": False, "threads": 1, "random_seed": 0, **options}.items():
        h.setOptionValue(key, val)
    return h


def highs_lp(
    a: sp.spmatrix,
    cost: ArrayLike,
    col_lo: ArrayLike,
    col_hi: ArrayLike,
    row_lo: ArrayLike,
    row_hi: ArrayLike,
    integer: Sequence[bool] | None = None,
) -> Any:
    """``min cost'x`` s.t. ``row_lo ≤ a x ≤ row_hi``, ``col_lo ≤ x ≤ col_hi`` as a
    ``highspy.HighsLp`` (column-wise matrix; ``integer`` marks integer columns)."""
    import highspy

    csc = sp.csc_matrix(a)
    m, n = csc.shape
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_ = np.asarray(col_lo, dtype=float)
    lp.col_upper_ = np.asarray(col_hi, dtype=float)
    lp.row_lower_ = np.asarray(row_lo, dtype=float)
    lp.row_upper_ = np.asarray(row_hi, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(float)
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, m
    if integer is not None:
        lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous
                           for b in integer]
    return lp


def diagonal_hessian(q: ArrayLike) -> Any:
    """The ``highspy.HighsHessian`` of ``½ Σ_j q_j x_j²`` (lower triangle, zeros left out), or
    ``None`` when every ``q_j`` is 0 (a linear model)."""
    import highspy

    q = np.asarray(q, dtype=float).reshape(-1)
    nz = np.flatnonzero(q != 0)
    if not nz.size:
        return None
    hess = highspy.HighsHessian()
    hess.dim_ = q.size
    hess.format_ = highspy.HessianFormat.kTriangular
    start = np.zeros(q.size + 1, dtype=np.int32)
    start[1:] = np.cumsum(q != 0)
    hess.start_ = start
    hess.index_ = nz.astype(np.int32)
    hess.value_ = q[nz]
    return hess
