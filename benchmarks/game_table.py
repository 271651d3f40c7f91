"""The Stackelberg cases' game table (issue 15, "GSESS vs CSESS"): per case and method, the
day's mean profit of each player, the system cost and the DSO's gap to the bilevel optimum,
from the rows' ``profit_<player>`` columns (the referee's money).

Definitions, per day and then averaged over the days every listed method ran:

* ``DSO``, ``EA``, ``LA``, ``storage``: each player's profit ($/day);
* system cost = −Σ players' profits = upstream purchase + the followers' own costs (the
  payments between the players cancel, ``tests/test_stackelberg_referee.py``);
* leader regret = (oracle's DSO profit − the method's at best responses) / |oracle's| on the
  same day: the leader's part of the Stackelberg gap, spec §7's Π_DSO(λ̂, BR(λ̂)), the prices
  the method posted evaluated against the followers' exact best responses (the rows'
  ``kpi_best_response_cost``, the referee's AC replay of them, negated; where a row lacks it,
  its realized profit, which is the same number when the followers best-respond);
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

Against the Shapley shares (:func:`shapley_table`, ``--shapley``): each player's share φ of the
day's social surplus (``solvers/stackelberg_shapley.py``: the coalitions' social optima,
seven convex QPs a day, a coalition without the DSO saving nothing) and, per method, each
player's gain vs ``tou`` minus its φ.

CLI: ``python -m gridbench.benchmarks.game_table --results DIR [--shapley]`` prints the
markdown tables; exit 2 with one line when ``DIR`` holds no Stackelberg rows.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from gridbench.benchmarks.bound_check import BEST_RESPONSE_COLUMN

__all__ = ["PLAYERS", "allocation_table", "game_table", "main", "shapley_table"]

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
    at_br = (-df[BEST_RESPONSE_COLUMN].astype(float) if BEST_RESPONSE_COLUMN in df
             else pd.Series(np.nan, index=df.index))
    df = df.assign(dso_at_best_response=at_br.where(np.isfinite(at_br), df["profit_dso"]))
    df = df.groupby(["case", "method", "day"], as_index=False)[
        [*cols, *regrets, *extra, "dso_at_best_response"]].mean()
    df["system_cost"] = -df[cols].sum(axis=1)
    return df


def _jain(gains: np.ndarray) -> float:
    """The case's Jain index (:func:`gridbench.cases.stackelberg.kpi.jain_index`) of the
    gains with a loss counted as 0; NaN where a gain is missing."""
    from gridbench.cases.stackelberg.kpi import jain_index

    return jain_index(np.maximum(gains, 0.0)) if np.all(np.isfinite(gains)) else float("nan")


def _day_gains(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`_day_profits` with each player's gain vs ``tou`` on the same day
    (``gain_<player>``, NaN on a day ``tou`` did not run)."""
    df = _day_profits(frame)
    if df.empty:
        return df
    key = ["case", "day"]
    tou = df[df["method"] == "tou"].set_index(key)[list(PROFITS)]
    base = tou.reindex(pd.MultiIndex.from_frame(df[key]))
    gains = df[list(PROFITS)].to_numpy() - base.to_numpy()
    for k, player in enumerate(PLAYERS):
        df[f"gain_{player}"] = gains[:, k]
    return df


def shapley_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per case: a ``Shapley share`` row with each player's mean share φ of the social
    surplus over the days ``tou`` ran (``solvers/stackelberg_shapley.py``, solved here: about
    1 s a day) and the surplus ``v(N)``; then per method each player's gain vs ``tou`` minus
    its share (``vs_shapley_<player>``, mean over the same days; > 0: the method gives the
    player more than its marginal contributions would)."""
    from gridbench.cases.registry import make_case
    from gridbench.solvers.stackelberg_shapley import surplus_shares

    df = _day_gains(frame)
    if df.empty:
        return pd.DataFrame()
    out: list[dict[str, object]] = []
    for case_id in sorted(df["case"].unique()):
        rows = df[df["case"] == case_id]
        days = sorted(rows.loc[rows["method"] == "tou", "day"].unique())
        if not days:
            continue
        case = make_case(case_id)
        games = {d: surplus_shares(case, d) for d in days}  # type: ignore[arg-type]
        phi = pd.DataFrame({p: [games[d].shares[p] for d in days] for p in PLAYERS},
                           index=days)
        out.append({"case": case_id, "method": "Shapley share", "days": len(days),
                    "surplus": float(np.mean([g.surplus for g in games.values()])),
                    **{f"vs_shapley_{p}": float(phi[p].mean()) for p in PLAYERS}})
        for method, m in rows[rows["day"].isin(days)].groupby("method"):
            share = phi.reindex(m["day"]).to_numpy()
            gains = m[[f"gain_{p}" for p in PLAYERS]].to_numpy()
            out.append({"case": case_id, "method": method, "days": int(m["day"].nunique()),
                        "surplus": float("nan"),
                        **{f"vs_shapley_{p}": float(np.mean(gains[:, k] - share[:, k]))
                           for k, p in enumerate(PLAYERS)}})
    return pd.DataFrame(out)


def allocation_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (case, method): each player's mean gain vs ``tou`` (``gain_<player>``,
    over the days both ran), the Jain index of those gains, and, on the GSESS case, each
    player's profit and the system cost minus the same method's on the CSESS case
    (``vs_csess_<player>``, ``vs_csess_system_cost``; module docstring)."""
    df = _day_gains(frame)
    if df.empty:
        return pd.DataFrame()
    cols = [*PROFITS, "system_cost"]
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
    df["leader_regret"] = (star - df["dso_at_best_response"].to_numpy()) / abs(star)
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


def _usd(v: float) -> str:
    return "—" if pd.isna(v) else f"{v:+,.1f}"


def _captioned(caption: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A caption line, then a markdown table of ``columns`` and ``rows``."""
    lines = [caption, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _allocation_markdown(table: pd.DataFrame) -> str:
    rows = [
        [str(r.case), str(r.method), _usd(r.gain_dso), _usd(r.gain_ea), _usd(r.gain_la),
         _usd(r.gain_gsess), "—" if pd.isna(r.jain) else f"{r.jain:.2f}", _usd(r.vs_csess_dso),
         _usd(r.vs_csess_ea), _usd(r.vs_csess_la), _usd(r.vs_csess_gsess),
         _usd(r.vs_csess_system_cost)]
        for r in table.itertuples(index=False)
    ]
    return _captioned(
        "Benefit allocation ($/day): each player's gain vs `tou`, the Jain index of the gains, "
        "and GSESS − CSESS for the same method.",
        ["case", "method", "DSO", "EA", "LA", "storage", "Jain", "GSESS − CSESS: DSO", "EA",
         "LA", "storage", "system cost"], rows)


def _shapley_markdown(table: pd.DataFrame) -> str:
    rows = [
        [str(r.case), str(r.method), str(r.days), _usd(r.vs_shapley_dso),
         _usd(r.vs_shapley_ea), _usd(r.vs_shapley_la), _usd(r.vs_shapley_gsess),
         "" if pd.isna(r.surplus) else f"{r.surplus:,.1f}"]
        for r in table.itertuples(index=False)
    ]
    return _captioned(
        "Against the Shapley shares of the social surplus ($/day): the `Shapley share` row holds "
        "each player's share φ and the surplus v(N) = system cost under `tou` − the social "
        "optimum's (in the social optimum's network model); every other row, each player's gain "
        "vs `tou` minus its φ.",
        ["case", "method", "days", "DSO", "EA", "LA", "storage", "surplus v(N)"], rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gridbench.benchmarks.game_table")
    parser.add_argument("--results", required=True, help="results directory (a store)")
    parser.add_argument("--shapley", action="store_true",
                        help="add the table against the Shapley shares (about 1 s a day)")
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
    if args.shapley:
        print()
        print(_shapley_markdown(shapley_table(frame)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
