"""The one normalized outcome of an optimization solve, shared by every case's formulations
(the branch-flow SOCPs solved by Clarabel through cvxpy, the SGLS MILPs solved by HiGHS)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["SolveStatus"]


class SolveStatus(StrEnum):
    """Outcome of a solve, normalized over the solvers' statuses (linopy-style, one enum).

    ``optimal_inaccurate`` is a usable schedule (the solver stopped near the optimum);
    ``infeasible`` covers primal/dual infeasibility; ``timeout`` a time or iteration limit;
    ``failed`` a numerical error or an exception inside the solver.
    """

    OPTIMAL = "optimal"
    OPTIMAL_INACCURATE = "optimal_inaccurate"
    INFEASIBLE = "infeasible"
    FAILED = "failed"
    TIMEOUT = "timeout"

    @property
    def ok(self) -> bool:
        """A schedule can be read from the solution."""
        return self in (SolveStatus.OPTIMAL, SolveStatus.OPTIMAL_INACCURATE)

    @classmethod
    def from_cvxpy(cls, status: str | None) -> SolveStatus:
        import cvxpy as cp

        return {
            cp.OPTIMAL: cls.OPTIMAL,
            cp.OPTIMAL_INACCURATE: cls.OPTIMAL_INACCURATE,
            cp.INFEASIBLE: cls.INFEASIBLE,
            cp.INFEASIBLE_INACCURATE: cls.INFEASIBLE,
            cp.UNBOUNDED: cls.INFEASIBLE,
            cp.UNBOUNDED_INACCURATE: cls.INFEASIBLE,
            cp.USER_LIMIT: cls.TIMEOUT,
        }.get(status, cls.FAILED)
