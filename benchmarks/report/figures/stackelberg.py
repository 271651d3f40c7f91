"""The Stackelberg cases' leaderboard columns and report figures.

Columns: each player's profit of the day, the DSO's upstream purchase and the day KPIs of
spec §7 (share of posted prices at a bound, the import's peak–valley difference and
peak-to-average ratio), all computed by the referee (the scored cost is −(DSO profit)).

Figures, on one representative test day re-simulated through the referee for ``tou``,
``day-ahead``, the ``oracle``, the leader-only ``ppo`` and ``maddpg`` (those with stored rows
and, for the learners, a shipped or trained agent of the stored seed):

* the prices posted against the tariff, one panel per price vector (EA's sale to the DSO,
  LA's purchase, the storage player's purchase and sale);
* each player's mean profit per method over the stored test days (no re-simulation);
* the storage player's battery SOC and the EV fleet's energy hour by hour.

And from the training logs (``monitor.csv`` of each run, in the results' ``training/`` or
beside the shipped agents): the leader's return of each training day against training time,
MADDPG (every player learning) against leader-only RL (``ppo``/``sac``/``td3``, the followers
best-responding exactly), with ``tou``'s mean test-day DSO profit for scale.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from gridbench.benchmarks.leaderboard import register_case_columns
from gridbench.benchmarks.report.context import ReportContext
from gridbench.benchmarks.report.figures.ppo_training import ppo_training_runs
from gridbench.benchmarks.report.plotting import case_slug, method_color, new_figure
from gridbench.benchmarks.report.registry import Figure, case_figures
from gridbench.benchmarks.report.training_curves import moving_average, read_training_curve
from gridbench.cases.stackelberg import CASE_IDS
from gridbench.cases.stackelberg.core import StackelbergCore

if TYPE_CHECKING:
    from gridbench.benchmarks.schedule import DayRollout

__all__ = ["stackelberg_figures"]

CASES = CASE_IDS
PLAYERS = ("dso", "ea", "la", "gsess")
#: The learners of the learning-curve figure: the multi-agent one, then leader-only RL.
LEARNERS = ("maddpg", "ppo", "sac", "td3")
_PRICE_TITLES = {"ea": "EA's sale to the DSO", "la": "LA's purchase",
                 "gsess_buy": "storage player's purchase", "gsess_sell": "storage player's sale"}

register_case_columns(
    "stackelberg-",
    (
        ("profit_dso", "DSO profit $"),
        ("profit_ea", "EA profit $"),
        ("profit_la", "LA profit $"),
        ("profit_gsess", "storage player profit $"),
        ("cost_energy_purchase", "upstream purchase $"),
        ("kpi_prices_at_bound_share", "prices at a bound"),
        ("kpi_import_peak_valley_mw", "import peak-valley MW"),
        ("kpi_import_par", "import PAR"),
        ("kpi_ev_unmet_mwh", "EV unmet MWh"),
    ),
)


def _runs(ctx: ReportContext, case_id: str, day: str) -> dict[str, DayRollout]:
    present = set(ctx.case_rows(case_id)["method"])
    runs: dict[str, DayRollout] = {}
    for name in ("tou", "day-ahead", "oracle", "ppo", "maddpg"):
        if name in present and (r := ctx.rollout(case_id, name, day)) is not None:
            runs[name] = r
    return runs


def _prices_figure(ctx: ReportContext, case_id: str, day: str,
                   runs: Mapping[str, DayRollout]) -> Figure:
    from gridbench.cases.stackelberg.players import PRICES, price_slice, tariff_prices

    tariff = tariff_prices(next(iter(runs.values())).case.config)  # type: ignore[attr-defined]
    fig = new_figure(9.0, 6.0)
    axes = fig.subplots(2, 2, sharex=True).ravel()
    hours = np.arange(25)
    for ax, name in zip(axes, PRICES, strict=True):
        sl = price_slice(name)
        ax.step(hours, np.append(tariff[sl], tariff[sl][-1]), where="post", color="black",
                lw=1.0, ls=":", label="tariff (raw)")
        for k, (method, r) in enumerate(runs.items()):
            posted = getattr(r.core, "prices", None)
            if posted is None:
                continue
            y = np.asarray(posted)[sl]
            ax.step(hours, np.append(y, y[-1]), where="post", color=method_color(method, k),
                    lw=1.6, label=method)
        ax.set_title(_PRICE_TITLES[name], fontsize=9)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7)
    for ax in axes[2:]:
        ax.set_xlabel("hour")
    for ax in axes[::2]:
        ax.set_ylabel("$/MWh")
    fig.suptitle(f"{case_id}, {day}: prices posted (after the referee's projection)")
    return ctx.save(fig, f"{case_slug(case_id)}_prices.png", "Prices posted against the tariff",
                    f"The DSO's 96 prices on {day} as the referee posted them (box, average "
                    "caps and sell ≤ buy applied) for each leader method, with the raw tariff "
                    "(the followers' outside option and every price's cap).")


def _profits_figure(ctx: ReportContext, case_id: str) -> Figure | None:
    entries = [e for e in ctx.case_entries(case_id)
               if all(np.isfinite(float(e.get(f"profit_{p}", np.nan))) for p in PLAYERS)]
    if not entries:
        ctx.note(case_id, "no rows with the players' profits: no profit figure")
        return None
    fig = new_figure(8.0, 4.2)
    ax = fig.add_subplot()
    width = 0.8 / len(entries)
    x = np.arange(len(PLAYERS))
    for k, e in enumerate(entries):
        values = [float(e[f"profit_{p}"]) for p in PLAYERS]
        ax.bar(x + k * width, values, width, color=method_color(str(e["method"]), k),
               label=str(e["method"]))
    ax.set_xticks(x + width * (len(entries) - 1) / 2, ["DSO", "EA", "LA", "storage player"])
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_ylabel("profit, $/day (IQM over seeds of the mean over days)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(f"{case_id}: each player's profit")
    return ctx.save(fig, f"{case_slug(case_id)}_profits.png", "Each player's profit per method",
                    "The referee's money of each player (its own problem's terms), mean over "
                    "the stored test days; the payments between the players cancel, so the "
                    "bars of one method sum to minus the system cost.")


def _storage_figure(ctx: ReportContext, case_id: str, day: str,
                    runs: Mapping[str, DayRollout]) -> Figure:
    fig = new_figure(8.0, 5.4)
    top, bottom = fig.subplots(2, 1, sharex=True)
    hours = np.arange(1, 25)
    for k, (method, r) in enumerate(runs.items()):
        soc = np.array([float(np.asarray(i["soc"]).reshape(-1)[0]) for i in r.infos])
        color = method_color(method, k)
        top.plot(hours[: soc.size], soc, marker=".", color=color, label=method)
        core = r.core
        ev = core.executed("gsess", "X") if isinstance(core, StackelbergCore) else np.zeros(0)
        if ev.size:
            bottom.plot(hours[: len(ev)], ev, marker=".", color=color, label=method)
    top.set_ylabel("battery SOC")
    bottom.set_ylabel("EV fleet energy, MWh")
    bottom.set_xlabel("end of hour")
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle(f"{case_id}, {day}: the storage player's stocks")
    return ctx.save(fig, f"{case_slug(case_id)}_storage.png", "Battery SOC and EV energy",
                    f"The storage player's aggregate battery SOC and the EV fleet's energy on "
                    f"{day}, each method's followers best-responding to its prices.")


def _learning_figure(ctx: ReportContext, case_id: str) -> Figure | None:
    """The leader's return per training day against training time, per learner: each
    seed's moving average over 5 % of its days (:func:`moving_average`), the mean over seeds
    on their common time span, shaded between the seeds' min and max."""
    methods = ctx.given_training(case_id, LEARNERS)
    runs = ppo_training_runs(ctx.training_dirs, case_id, methods)
    curves = {m: [c[:2] for c in (read_training_curve(r, by_time=True) for r in rs)
                  if c is not None] for m, rs in runs.items()}
    curves = {m: cs for m, cs in curves.items() if cs}
    if not curves:
        ctx.note(case_id, "no MADDPG or leader-only RL training logs: no learning-curve figure")
        return None
    scale = ctx.case(case_id).config.reward.scale_usd
    fig = new_figure(8.0, 4.6)
    ax = fig.add_subplot()
    for k, (method, cs) in enumerate(curves.items()):
        start = max(float(t[0]) for t, _ in cs)
        grid = np.linspace(start, max(min(float(t[-1]) for t, _ in cs), start), 200)
        arr = np.array([np.interp(grid, t, moving_average(r) * scale) for t, r in cs])
        color = method_color(method, k)
        label = f"{method} ({len(cs)} seeds, {np.mean([len(r) for _, r in cs]):,.0f} days)"
        ax.fill_between(grid, arr.min(axis=0), arr.max(axis=0), color=color, alpha=0.2, lw=0)
        ax.plot(grid, arr.mean(axis=0), color=color, lw=2, label=label)
    tou = [e for e in ctx.case_entries(case_id) if str(e["method"]) == "tou"]
    if tou and np.isfinite(float(tou[0].get("profit_dso", np.nan))):
        ax.axhline(float(tou[0]["profit_dso"]), color="black", ls=":", lw=1,
                   label="tou (test days)")
    ax.set_xlabel("training time, s (one core per run)")
    ax.set_ylabel("leader's training-day return, $")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(f"{case_id}: MADDPG against leader-only RL")
    return ctx.save(fig, f"{case_slug(case_id)}_learning.png",
                    "Learning curves: MADDPG against leader-only RL",
                    "The DSO's return of each training day (its profit less the network "
                    "penalties, in $) against training time, moving average over 5 % of a "
                    "run's days, mean over seeds with their range shaded. MADDPG trains every "
                    "player at once; the leader-only learners face exact best responses. "
                    "Training days carry the reward baseline's exploration, so the level is "
                    "below the test-day profit of the same agent.")


@case_figures(*CASES)
def stackelberg_figures(ctx: ReportContext, case_id: str) -> list[Figure]:
    figures: list[Figure] = []
    for figure in (_profits_figure(ctx, case_id), _learning_figure(ctx, case_id)):
        if figure is not None:
            figures.append(figure)
    day = ctx.representative_day(case_id)
    if day is None:
        ctx.note(case_id, "no ok rows: no re-simulated figures")
        return figures
    runs = _runs(ctx, case_id, day)
    if not runs:
        ctx.note(case_id, f"no leader method could be re-simulated on {day}")
        return figures
    figures += [_prices_figure(ctx, case_id, day, runs), _storage_figure(ctx, case_id, day, runs)]
    return figures
