"""SES-carbon case (Zhong et al., Processes 12 (2024) 1791): registered lazily.

Modules: ``config`` (parameters), ``day`` (one day's data, shared by the referee and the
formulations), ``accounting`` (the equations, each implemented once), ``core`` (referee
physics), ``formulation`` (the SOCP), ``case``.
"""

from gridbench.cases.registry import register_case

__all__ = ["register"]


def register() -> None:
    """Register the case(s) of this package (idempotent; discovery calls it every time)."""
    register_case("ses-carbon-ieee33-v0", "gridbench.cases.ses_carbon.case:SesCarbonCase")


register()
