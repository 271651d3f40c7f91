"""The Stackelberg GSESS cases (paper 000; design ``../shared/specs/stackelberg-gsess.md``): a
DSO leader posting prices to three followers on the 38-node feeder. Registered lazily.

Modules: ``config`` (parameters), ``ev_fleet`` (the day's EVs and their virtual battery),
``follower`` (a follower as a convex QP in the prices, its exact best response), ``players``
(the day's data and the three followers, the leader's problem), ``network`` (the MILP's
LinDistFlow rows), ``bilevel`` (the exact single-level MILP, its certification, the social
optimum), ``prices`` (the referee's price projection), ``core`` (referee physics), ``case``,
``kpi`` (Stackelberg gap, Jain index).
"""

from gridbench.cases.registry import register_case

__all__ = ["register"]


def register() -> None:
    """Register the case(s) of this package (idempotent; discovery calls it every time)."""
    register_case("stackelberg-gsess-feeder38-v0",
                  "gridbench.cases.stackelberg.case:StackelbergGsessCase")
    register_case("stackelberg-csess-feeder38-v0",
                  "gridbench.cases.stackelberg.case:StackelbergCsessCase")
    register_case("stackelberg-gsess-hourly-feeder38-v0",
                  "gridbench.cases.stackelberg.case:StackelbergGsessHourlyCase")
    register_case("stackelberg-csess-hourly-feeder38-v0",
                  "gridbench.cases.stackelberg.case:StackelbergCsessHourlyCase")


register()
