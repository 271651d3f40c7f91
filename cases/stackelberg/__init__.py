"""The Stackelberg GSESS cases (paper 000; design ``../shared/specs/stackelberg-gsess.md``): a
DSO leader posting prices to three followers on the 38-node feeder. Registered lazily.

Modules: ``config`` (parameters), ``ev_fleet`` (the day's EVs and their virtual battery),
``follower`` (a follower as a convex QP in the prices, its exact best response), ``players``
(the day's data and the three followers, the leader's problem), ``network`` (the MILP's
LinDistFlow rows), ``bilevel`` (the exact single-level MILP, its certification, the social
optimum), ``prices`` (the referee's price projection), ``core`` (referee physics), ``case``,
``kpi`` (Stackelberg gap, Jain index).
"""

from typing import Final

from gridbench.cases.registry import register_case

__all__ = ["CASE_IDS", "register"]

#: The cases of this package and their entry points (day-ahead and hourly commitment,
#: ``tou3`` prices; GSESS and CSESS each).
_ENTRY_POINTS: Final[dict[str, str]] = {
    "stackelberg-gsess-feeder38-v0": "StackelbergGsessCase",
    "stackelberg-csess-feeder38-v0": "StackelbergCsessCase",
    "stackelberg-gsess-hourly-feeder38-v0": "StackelbergGsessHourlyCase",
    "stackelberg-csess-hourly-feeder38-v0": "StackelbergCsessHourlyCase",
    "stackelberg-gsess-tou3-feeder38-v0": "StackelbergGsessTou3Case",
    "stackelberg-csess-tou3-feeder38-v0": "StackelbergCsessTou3Case",
}
#: The ids this package registers.
CASE_IDS: Final[tuple[str, ...]] = tuple(_ENTRY_POINTS)


def register() -> None:
    """Register the case(s) of this package (idempotent; discovery calls it every time)."""
    for case_id, name in _ENTRY_POINTS.items():
        register_case(case_id, f"gridbench.cases.stackelberg.case:{name}")


register()
