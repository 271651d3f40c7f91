"""The Stackelberg cases' game table (issue 15, "GSESS vs CSESS"): per case and method, the
day's mean profit of each player, the system cost and the DSO's gap to the bilevel optimum,
from the rows' ``profit_<player>`` columns (the referee's money).

Definitions, per day and then averaged over the days every listed method ran:

* ``DSO``, ``EA``, ``LA``, ``storage``: each player's profit ($/day);
* system cost = −Σ players' profits = upstream purchase + the followers' own costs (the
  payments between the players cancel, ``tests/test_stackelberg_referee.py``);
* leader regret = (oracle's DSO profit − the method's) / |oracle's| on the same day: the
  leader's part of the Stackelberg gap (spec §7; from the realized profit, which is the
  spec's Π_DSO(λ̂, BR(λ̂)) when the followers best-respond);
* followers' regret = Σ over the followers of ``regret_<follower>`` (each one's cost of its
  executed schedule minus its exact best response's, $/day; 0 up to the QP tolerance for
  best-responding followers, positive for ``idle``'s), and the Stackelberg gap =
  leader regret + followers' regret / |oracle's DSO profit| (NaN for rows stored before the
  referee reported regrets);
* price of hierarchy = (system cost − ``social``'s) / |``social``'s| on the same day, both
  with the referee's penalties (``penalty_usd``) added (NaN without ``social`` rows);
* GSESS vs CSESS: the same method's system cost and DSO profit on both cases (the paper's
  claim is that GSESS lowers the cost).

CLI: ``python -m gridbench.benchmarks.game_table --results DIR`` prints the markdown table;
exit 2 with one line when ``DIR`` holds no Stackelberg rows.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

__all__ = ["PLAYERS", "game_table", "main"]

#: The players, as the rows' ``profit_<player>`` columns name them.
PLAYERS: Final[tuple[str, ...]] = ("dso", "ea", "la", "gsess")
CASE_PREFIX: Final[str] = "stackelberg-"


def game_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (case, method): days, each player's mean profit, the system cost and the
    leader regret against the case's ``oracle`` (module docstring)."""
    cols = [f"profit_{p}" for p in PLAYERS]
    df = frame[frame["case"].astype(str).str.startswith(CASE_PREFIX)]
    df = df[(df["status"] == "ok")]
    missing = [c for c in cols if c not in df]
    if df.empty or missing:
        return pd.DataFrame()
    regrets = [c for c in df.columns if c.startswith("regret_")]
    extra = ["penalty_usd"] if "penalty_usd" in df else []
    df = df.groupby(["case", "method", "day"], as_index=False)[[*cols, *regrets, *extra]].mean()
    df["system_cost"] = -df[cols].sum(axis=1)
    # NaN where the rows carry no regrets (rows stored before the referee reported them)
    df["follower_regret"] = df[regrets].sum(axis=1, min_count=1) if regrets else np.nan
    oracle = df[df["method"] == "oracle"].set_index(["case", "day"])["profit_dso"]
    key = pd.MultiIndex.from_frame(df[["case", "day"]])
    star = oracle.reindex(key).to_numpy()
    df["leader_regret"] = (star - df["profit_dso"].to_numpy()) / abs(star)
    df["stackelberg_gap"] = df["leader_regret"] + df["follower_regret"] / abs(star)
    # penalties the referee charged (a schedule outside the line ratings) count in the cost
    penalty = df["penalty_usd"].fillna(0.0) if "penalty_usd" in df else 0.0
    df["system_cost_penalized"] = df["system_cost"] + penalty
    social = df[df["method"] == "social"].set_index(["case", "day"])["system_cost_penalized"]
    best = social.reindex(key).to_numpy()
    df["price_of_hierarchy"] = (df["system_cost_penalized"].to_numpy() - best) / abs(best)
    out = df.groupby(["case", "method"], as_index=False).agg(
        days=("day", "nunique"),
        **{c: (c, "mean") for c in [*cols, "system_cost", "leader_regret", "follower_regret",
                                    "stackelberg_gap", "price_of_hierarchy"]},
    )  # fmt: skip
    return out.sort_values(["case", "profit_dso"], ascending=[True, False])


def _markdown(table: pd.DataFrame) -> str:
    head = ("| case | method | days | DSO $ | EA $ | LA $ | storage $ | system cost $ | "
            "leader regret | followers' regret $ | Stackelberg gap | price of hierarchy |")
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def pct(v: float) -> str:
        return "—" if pd.isna(v) else f"{100 * v:+.2f} %"

    for r in table.itertuples(index=False):
        followers = "—" if pd.isna(r.follower_regret) else f"{r.follower_regret:,.3g}"
        lines.append(
            f"| {r.case} | {r.method} | {r.days} | {r.profit_dso:,.1f} | {r.profit_ea:,.1f} | "
            f"{r.profit_la:,.1f} | {r.profit_gsess:,.1f} | {r.system_cost:,.1f} | "
            f"{pct(r.leader_regret)} | {followers} | {pct(r.stackelberg_gap)} | "
            f"{pct(r.price_of_hierarchy)} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gridbench.benchmarks.game_table")
    parser.add_argument("--results", required=True, help="results directory (a store)")
    args = parser.parse_args(argv)
    from gridbench.benchmarks.store import ResultsNotFound, ResultsStore

    try:
        table = game_table(ResultsStore(args.results).frame())
    except ResultsNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if table.empty:
        print(f"no Stackelberg rows with players' profits under {args.results}", file=sys.stderr)
        return 2
    print(_markdown(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
