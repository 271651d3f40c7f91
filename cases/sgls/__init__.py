"""SGLS cases (Li et al., DGAEJ 41 (2026)): registered lazily.

Modules: ``config`` (parameters), ``day`` (one day's data shared by the referee and the
MILPs), ``core`` (referee physics), ``case``, ``formulation`` (package: Pyomo MILP, HiGHS),
``shapley`` (exact Shapley allocation of the cooperative game).
"""

from gridbench.cases.registry import register_case

__all__ = ["register"]


def register() -> None:
    """Register the case(s) of this package (idempotent; discovery calls it every time)."""
    register_case("sgls-ieee33-v0", "gridbench.cases.sgls.case:SglsIeee33Case")
    register_case("sgls-ieee30-v0", "gridbench.cases.sgls.case:SglsIeee30Case")


register()
