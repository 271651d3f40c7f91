"""Every method's compute counted: the plan in ``reset`` amortized over the day's decisions.

Planners (``oracle``, ``day-ahead``, the SGLS plans, ``scenario``) compute their plan in the
controller's ``reset``; a per-step decision time alone makes them look free. Each row
therefore carries, beside ``decision_ms_p50``/``decision_ms_p95`` (the ``act`` calls only):

* ``plan_ms`` = 1000 · ``solve_s``: the controller's ``reset`` of the day, ms (for
  multi-agent controllers the same: their one ``reset``);
* ``compute_ms_per_decision`` = (``plan_ms`` + Σₖ act_msₖ) / ``n_steps``: all the day's
  compute per decision, ``n_steps`` being the number of ``act`` calls (NaN when 0).

Rows written before these columns existed carry ``solve_s``, ``decide_s`` (= Σₖ act_sₖ) and
``n_steps``; :func:`with_compute_columns` derives the columns from them, so that old and new
rows read alike (``plan_ms`` = 1000 · ``solve_s``, ``compute_ms_per_decision`` =
1000 · (``solve_s`` + ``decide_s``) / ``n_steps``). Both the harness's rows and the derivation
use :func:`per_decision_ms`: one formula.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COMPUTE_COLUMNS", "per_decision_ms", "with_compute_columns"]

#: The row columns this module defines, in row order.
COMPUTE_COLUMNS: Final[tuple[str, ...]] = ("plan_ms", "compute_ms_per_decision")


def per_decision_ms(
    plan_ms: npt.ArrayLike, act_ms_total: npt.ArrayLike, n_steps: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """(``plan_ms`` + ``act_ms_total``) / ``n_steps`` element-wise; NaN where ``n_steps`` ≤ 0
    or is missing, or where a time is NaN."""
    plan = np.asarray(plan_ms, dtype=float)
    acts = np.asarray(act_ms_total, dtype=float)
    steps = np.asarray(n_steps, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (plan + acts) / steps
    return np.where(steps > 0, out, np.nan)


def with_compute_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with both :data:`COMPUTE_COLUMNS`: kept where a row has them, derived from
    ``solve_s``, ``decide_s`` and ``n_steps`` where it has not (a row written before they
    existed, or a store mixing old and new rows: NaN there); NaN where underivable.
    Returns a copy; ``frame`` is unchanged."""
    out = frame.copy()
    n = len(out)

    def column(name: str) -> npt.NDArray[np.float64]:
        if name not in out:
            return np.full(n, np.nan)
        return out[name].astype(float).to_numpy()

    solve_ms = 1000.0 * column("solve_s")
    derived = {
        "plan_ms": solve_ms,
        "compute_ms_per_decision": per_decision_ms(
            solve_ms, 1000.0 * column("decide_s"), column("n_steps")
        ),
    }
    for name in COMPUTE_COLUMNS:
        have = column(name)
        out[name] = np.where(np.isnan(have), derived[name], have)
    return out
