"""Report figures of the SGLS cases (Li et al. 2026, Figs. 11–15).

* tie-line power before/after control (Figs. 12–13): the day-ahead schedule ``T*`` of idle
  ("before control") and of the planning methods, and the executed intraday tie line;
* storage: planned vs executed output and SOC (Fig. 14) for the intraday methods;
* distribution of the daily cost over the stored test days for ``scenario``, ``day-ahead``
  and the PPO variants (Fig. 11);
* training curves of ``ppo``, ``ppo-kl``, ``ppo-clip-kl`` (Fig. 15), when training runs exist.

Every curve is re-simulated through the referee (:meth:`ReportContext.rollout`) or read from
the stored rows; nothing is recomputed outside the referee.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from gridbench.benchmarks.leaderboard import register_case_columns
from gridbench.benchmarks.report.context import ReportContext
from gridbench.benchmarks.report.figures.ppo_training import ppo_training_figure
from gridbench.benchmarks.report.plotting import case_slug, method_color, new_figure
from gridbench.benchmarks.report.registry import Figure, case_figures

if TYPE_CHECKING:
    from gridbench.benchmarks.schedule import DayRollout

__all__ = ["sgls_figures"]

INTRADAY_METHODS = ("mpc", "full-smoothing", "single-step", "ppo", "ppo-kl", "ppo-clip-kl")
DISTRIBUTION_METHODS = ("scenario", "day-ahead", "mpc", "ppo", "ppo-kl", "ppo-clip-kl")


def _runs(ctx: ReportContext, case_id: str, day: str, names) -> dict[str, DayRollout]:
    present = set(ctx.case_rows(case_id)["method"])
    out = {}
    for name in ("idle", *names):
        if name != "idle" and name not in present:
            continue
        r = ctx.rollout(case_id, name, day)
        if r is not None and r.complete:
            out[name] = r
    return out


def _tie_figure(ctx: ReportContext, case_id: str, day: str,
                runs: Mapping[str, DayRollout]) -> Figure:
    fig = new_figure(8.0, 6.4)
    top, bottom = fig.subplots(2, 1, sharex=True)
    hours = np.arange(24)
    t15 = np.arange(96) * 0.25
    for k, (name, r) in enumerate(runs.items()):
        plan = np.asarray(r.core.plan_tie)
        top.step(np.append(hours, 24), np.append(plan, plan[-1]), where="post",
                 color=method_color(name, k), label=f"{name}" + (" (before control)"
                                                              if name == "idle" else ""))
        tie = np.array([float(i["tie_line_mw"]) for i in r.infos])
        bottom.plot(t15, tie, color=method_color(name, k), lw=1.2, label=name)
    if "idle" in runs:
        ref = np.array([float(i["tie_line_ref_mw"]) for i in runs["idle"].infos])
        bottom.step(t15, ref, where="post", color="black", ls="--", lw=0.8,
                    label="day-ahead schedule (idle)")
    top.set_ylabel("scheduled tie line, MW")
    top.set_title(f"{case_id}, {day}: tie line before/after control (paper Figs. 12-13)")
    top.legend(fontsize=7, ncol=3)
    bottom.set_ylabel("executed tie line, MW")
    bottom.set_xlabel("hour of the day")
    bottom.legend(fontsize=7, ncol=3)
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
    return ctx.save(fig, f"{case_slug(case_id)}_tie_line.png",
                    "Tie-line power before and after control (paper Figs. 12-13)",
                    f"Test day {day}. Top: hourly day-ahead schedule T* each method's plan "
                    "commits (idle = before control). Bottom: executed 15-min tie line; the "
                    "dashed line is idle's schedule. Re-simulated through the referee.")


def _storage_figure(ctx: ReportContext, case_id: str, day: str,
                    runs: Mapping[str, DayRollout]) -> Figure | None:
    names = [n for n in runs if n in INTRADAY_METHODS]
    if not names:
        ctx.note(case_id, "no intraday method re-simulated: no storage figure (Fig. 14)")
        return None
    fig = new_figure(8.0, 2.6 * len(names))
    axes = np.atleast_2d(fig.subplots(len(names), 2, squeeze=False))
    t15 = np.arange(96) * 0.25
    for row, name in zip(axes, names, strict=True):
        r = runs[name]
        lay = r.core.lay
        actual = np.array([np.asarray(rec.applied)[lay.st].sum() for rec in r.records])
        plan = np.array([np.asarray(i["storage_plan_mw"]).sum() for i in r.infos])
        soc = np.array([np.mean(i["soc"]) for i in r.infos])
        soc_ref = np.array([np.mean(i["soc_ref"]) for i in r.infos])
        row[0].step(t15, plan, where="post", color="black", ls="--", label="day-ahead plan")
        row[0].step(t15, actual, where="post", color=method_color(name), label="intraday actual")
        row[0].set_ylabel(f"{name}\nstorage MW (>0 out)")
        row[1].plot(t15, soc_ref, color="black", ls="--", label="planned SOC")
        row[1].plot(t15, soc, color=method_color(name), label="actual SOC")
        row[1].set_ylabel("mean SOC")
        for ax in row:
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7)
    axes[-1][0].set_xlabel("hour of the day")
    axes[-1][1].set_xlabel("hour of the day")
    return ctx.save(fig, f"{case_slug(case_id)}_storage.png",
                    "Storage: day-ahead plan vs intraday output and SOC (paper Fig. 14)",
                    f"Test day {day}. Total storage power (left) and mean SOC over storages "
                    "(right), planned (dashed) and executed, per intraday method.")


def _distribution_figure(ctx: ReportContext, case_id: str) -> Figure | None:
    df = ctx.case_rows(case_id)
    names = [n for n in DISTRIBUTION_METHODS if n in set(df["method"])]
    if not names:
        ctx.note(case_id, "no scenario/day-ahead/PPO rows: no cost distribution (Fig. 11)")
        return None
    fig = new_figure(7.0, 4.0)
    ax = fig.subplots()
    data = [df[df["method"] == n].groupby("day")["cost"].mean().to_numpy() for n in names]
    ax.boxplot(data, tick_labels=names, showmeans=True)
    ax.set_ylabel("daily cost, $ (referee)")
    ax.set_title(f"{case_id}: objective over the stored days (paper Fig. 11)")
    ax.grid(True, alpha=0.3)
    counts = ", ".join(f"{n}: {len(d)} days" for n, d in zip(names, data, strict=True))
    return ctx.save(fig, f"{case_slug(case_id)}_cost_distribution.png",
                    "Distribution of the daily objective (paper Fig. 11)",
                    f"Daily referee cost per stored day (mean over seeds); {counts}.")


@case_figures("sgls-ieee33-v0", "sgls-ieee30-v0")
def sgls_figures(ctx: ReportContext, case_id: str) -> list[Figure]:
    out: list[Figure] = []
    day = ctx.representative_day(case_id)
    if day is not None:
        runs = _runs(ctx, case_id, day, ("day-ahead", "mpc", "full-smoothing", "single-step",
                                         "ppo", "ppo-kl", "ppo-clip-kl"))
        if runs:
            out.append(_tie_figure(ctx, case_id, day, runs))
            if (f := _storage_figure(ctx, case_id, day, runs)) is not None:
                out.append(f)
    else:
        ctx.note(case_id, "no ok rows: no representative day to re-simulate")
    if (f := _distribution_figure(ctx, case_id)) is not None:
        out.append(f)
    if (f := ppo_training_figure(ctx, case_id)) is not None:
        out.append(f)
    return out


# The SGLS paper's Tables 3, 4 and 6 as leaderboard columns (all computed by the referee;
# procurement = day-ahead energy + imbalance, intraday cost = cost - day-ahead energy).
register_case_columns(
    "sgls-",
    (
        ("cost_day_ahead_energy", "day-ahead energy $"),
        ("cost_imbalance", "imbalance $"),
        ("cost_thermal", "thermal $"),
        ("cost_storage", "storage $"),
        ("cost_flexible_load", "flex load $"),
        ("cost_network_loss", "network loss $"),
        ("soc_dev_max", "SOC dev max"),
        ("reward_sum", "cum. reward"),
    ),
)
