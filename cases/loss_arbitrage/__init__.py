"""Loss-arbitrage case (distributed batteries and supercapacitors, remaining-available-energy
model, loss-reduction and peak–valley arbitrage revenue): registered lazily.

Modules: ``config`` (parameters), ``storage`` (the F_a model), ``day`` (one day's data shared
by the referee and the formulation), ``core`` (referee physics), ``case``, ``formulation``
(SOCP), ``revenue`` (per-node revenue table).
"""

from gridbench.cases.registry import register_case

__all__ = ["register"]


def register() -> None:
    """Register the case(s) of this package (idempotent; discovery calls it every time)."""
    register_case(
        "loss-arbitrage-ieee33-v0", "gridbench.cases.loss_arbitrage.case:LossArbitrageCase"
    )


register()
