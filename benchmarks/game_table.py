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
  ``social`` itself is no outcome of the game: its regrets and gap are left blank;
* GSESS vs CSESS: the same method's system cost and DSO profit on both cases (the paper's
  claim is that GSESS lowers the cost).

The benefit allocation (:func:`allocation_table`, spec §7), per (case, method), from the same
day profits:

* each player's **gain vs ``tou``**: its profit minus its profit under ``tou`` on the same day
  (the regulated tariff every follower could fall back on), $/day;
* the **Jain index** of the gains, ``J = (Σ g⁺)² / (n·Σ (g⁺)²)`` over the ``n = 4`` players'
  mean gains with a loss counted as 0 (1 = the surplus over ``tou`` shared equally, as when
  nobody gains; ``1/n`` = one player takes it all);
* **GSESS − CSESS**: each player's profit and the system cost on the GSESS case minus the same
  method's on the CSESS case, over the days both ran (the paper's claim: the generalized
  storage lowers the system cost).

Not here yet: each player's Shapley share of the social surplus (the coalitions' social
optima, 2⁴ convex problems a day).

CLI: ``python -m gridbench.benchmarks.game_table --results DIR`` prints both markdown tables;
exit 2 with one line when ``DIR`` holds no Stackelberg rows.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

__all__ = ["PLAYERS", "allocation_table", "game_table", "main"]

#: The players, as the rows' ``profit_<player>`` columns name them.
PLAYERS: Final[tuple[str, ...]] = ("dso", "ea", "la", "gsess")
CASE_PREFIX: Final[str] = "stackelberg-"


PROFITS: Final[tuple[str, ...]] = tuple(f"profit_{p}" for p in PLAYERS)


def _day_profits(frame: pd.DataFrame) -> pd.DataFrame:
    """The Stackelberg ``ok`` rows as one row per (case, method, day): the mean over seeds of
    each player's profit (and of the regrets and penalties where present) and the system cost;
    empty without profit columns."""
    cols = list(PROFITS)
    df = frame[frame["case"].astype(str).str.startswith(CASE_PREFIX)]
    df = df[(df["status"] == "ok")]
    if df.empty or any(c not in df for c in cols):
        return pd.DataFrame()
    regrets = [c for c in df.columns if c.startswith("regret_")]
    extra = ["penalty_usd"] if "penalty_usd" in df else []
    df = df.groupby(["case", "method", "day"], as_index=False)[[*cols, *regrets, *extra]].mean()
    df["system_cost"] = -df[cols].sum(axis=1)
    return df


def _jain(gains: np.ndarray) -> float:
    """The case's Jain index (:func:`gridbench.cases.stackelberg.kpi.jain_index`) of the
    gains with a loss counted as 0; NaN where a gain is missing."""
    from gridbench.cases.stackelberg.kpi import jain_index

    return jain_index(np.maximum(gains, 0.0)) if np.all(np.isfinite(gains)) else float("nan")


def allocation_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (case, method): each player's mean gain vs ``tou`` (``gain_<player>``,
    over the days both ran), the Jain index of those gains, and, on the GSESS case, each
    player's profit and the system cost minus the same method's on the CSESS case
    (``vs_csess_<player>``, ``vs_csess_system_cost``; module docstring)."""
    df = _day_profits(frame)
    if df.empty:
        return pd.DataFrame()
    cols = [*PROFITS, "system_cost"]
    key = ["case", "day"]
    tou = df[df["method"] == "tou"].set_index(key)[list(PROFITS)]
    base = tou.reindex(pd.MultiIndex.from_frame(df[key]))
    gains = df[list(PROFITS)].to_numpy() - base.to_numpy()
    for k, player in enumerate(PLAYERS):
        df[f"gain_{player}"] = gains[:, k]
    csess = df[df["case"].str.contains("-csess-")].assign(
        case=lambda d: d["case"].str.replace("-csess-", "-gsess-"))
    other = csess.set_index(["case", "method", "day"])[cols].reindex(
        pd.MultiIndex.from_frame(df[["case", "method", "day"]]))
    for c in cols:
        df[f"vs_csess_{c.removeprefix('profit_')}"] = df[c].to_numpy() - other[c].to_numpy()
    agg = [f"gain_{p}" for p in PLAYERS] + [f"vs_csess_{c.removeprefix('profit_')}"
                                           for c in cols]
    out = df.groupby(["case", "method"], as_index=False)[agg].mean()
    out["jain"] = [_jain(g) for g in out[[f"gain_{p}" for p in PLAYERS]].to_numpy()]
    return out.sort_values(["case", "method"]).reset_index(drop=True)


def game_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (case, method): days, each player's mean profit, the system cost and the
    leader regret against the case's ``oracle`` (module docstring)."""
    cols = list(PROFITS)
    df = _day_profits(frame)
    if df.empty:
        return pd.DataFrame()
    regrets = [c for c in df.columns if c.startswith("regret_")]
    # NaN where the rows carry no regrets (rows stored before the referee reported them)
    df["follower_regret"] = df[regrets].sum(axis=1, min_count=1) if regrets else np.nan
    oracle = df[df["method"] == "oracle"].set_index(["case", "day"])["profit_dso"]
    key = pd.MultiIndex.from_frame(df[["case", "day"]])
    star = oracle.reindex(key).to_numpy()
    df["leader_regret"] = (star - df["profit_dso"].to_numpy()) / abs(star)
    df["stackelberg_gap"] = df["leader_regret"] + df["follower_regret"] / abs(star)
    # the social optimum is no outcome of the game: no regrets, no Stackelberg gap
    not_game = df["method"] == "social"
    df.loc[not_game, ["leader_regret", "follower_regret", "stackelberg_gap"]] = np.nan
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


def _allocation_markdown(table: pd.DataFrame) -> str:
    def usd(v: float) -> str:
        return "—" if pd.isna(v) else f"{v:+,.1f}"

    lines = [
        "Benefit allocation ($/day): each player's gain vs `tou`, the Jain index of the gains, "
        "and GSESS − CSESS for the same method.",
        "",
        "| case | method | DSO | EA | LA | storage | Jain | GSESS − CSESS: DSO | EA | LA | "
        "storage | system cost |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples(index=False):
        jain = "—" if pd.isna(r.jain) else f"{r.jain:.2f}"
        lines.append(
            f"| {r.case} | {r.method} | {usd(r.gain_dso)} | {usd(r.gain_ea)} | "
            f"{usd(r.gain_la)} | {usd(r.gain_gsess)} | {jain} | {usd(r.vs_csess_dso)} | "
            f"{usd(r.vs_csess_ea)} | {usd(r.vs_csess_la)} | {usd(r.vs_csess_gsess)} | "
            f"{usd(r.vs_csess_system_cost)} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gridbench.benchmarks.game_table")
    parser.add_argument("--results", required=True, help="results directory (a store)")
    args = parser.parse_args(argv)
    from gridbench.benchmarks.store import ResultsNotFound, ResultsStore

    try:
        frame = ResultsStore(args.results).frame()
        table = game_table(frame)
    except ResultsNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if table.empty:
        print(f"no Stackelberg rows with players' profits under {args.results}", file=sys.stderr)
        return 2
    print(_markdown(table))
    print()
    print(_allocation_markdown(allocation_table(frame)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
