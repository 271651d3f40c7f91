"""Report figures of ``ses-carbon-ieee33-v0`` (Zhong et al. 2024, Figs 5–9).

On one representative test day re-simulated through the referee for idle, rule, mpc, the best
RL method and the oracle (those present in the store):

* carbon intensity: upstream ``C^UPG`` vs the network intensity of eq (13) per hour, and the
  hourly emission reduction against idle (paper Fig. 6);
* SOC of the five storages against the tariff, one panel per method (Figs 7–9);
* training curves of ``ddpg`` vs ``ddpg-per-or`` from the training runs' ``monitor.csv``
  (episode return = −the training day's cost; Fig. 5).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from gridbench.benchmarks.report.context import ReportContext
from gridbench.benchmarks.report.plotting import RL_COLORS, case_slug, method_color, new_figure
from gridbench.benchmarks.report.registry import Figure, case_figures
from gridbench.benchmarks.report.training_curves import moving_average, read_training_curve

if TYPE_CHECKING:
    from gridbench.benchmarks.schedule import DayRollout

__all__ = ["ses_carbon_figures"]


def _ses_rollouts(ctx: ReportContext, case_id: str, day: str) -> dict[str, DayRollout]:
    present = set(ctx.case_rows(case_id)["method"])
    runs: dict[str, DayRollout] = {}
    idle = ctx.rollout(case_id, "idle", day)
    if idle is not None:
        runs["idle"] = idle
        if "idle" not in present:
            ctx.note(case_id, "idle has no stored rows; re-simulated as the figures' reference")
    for name in ("rule", "mpc"):
        if name in present and (r := ctx.rollout(case_id, name, day)) is not None:
            runs[name] = r
    rl = ctx.ranked_rl_methods(case_id)
    for name in rl:
        r = ctx.rollout(case_id, name, day)
        if r is not None:
            if name != rl[0]:
                ctx.note(case_id, f"figures show {name}, the best RL method with an agent")
            runs[name] = r
            break
    if "oracle" in present and (r := ctx.rollout(case_id, "oracle", day)) is not None:
        runs["oracle"] = r
    return runs


def _series(rollout: DayRollout, key: str) -> np.ndarray:
    """The per-hour value of ``key`` in the roll-out's step infos (NaN where absent)."""
    return np.array([float(info.get(key, math.nan)) for info in rollout.infos])


def _ses_carbon_figure(
    ctx: ReportContext, case_id: str, day: str, runs: Mapping[str, DayRollout]
) -> Figure:
    any_run = next(iter(runs.values()))
    upstream = np.asarray(any_run.core.data.carbon_intensity_t_per_mwh, dtype=float)
    hours = np.arange(len(upstream))
    edges = np.arange(len(upstream) + 1)

    def closed(y: np.ndarray) -> np.ndarray:  # a step plot covering the last hour too
        return np.append(y, y[-1])

    fig = new_figure(8.0, 6.4)
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.step(edges, closed(upstream), where="post", color="#d62728", lw=2.2, label="upstream grid")
    others = [m for m in runs if m != "idle"]
    for k, (name, r) in enumerate(runs.items()):
        style = "--" if name == "oracle" else "-"
        top.step(
            edges,
            closed(_series(r, "network_carbon_intensity")),
            where="post",
            ls=style,
            color=method_color(name, k),
            label=f"network, {name}",
        )
    top.set_ylabel("carbon intensity, t/MWh")
    top.set_title(f"{case_id}, {day}: upstream vs network carbon intensity (eq 13)")
    top.legend(fontsize=7, ncol=3)
    top.grid(True, alpha=0.3)
    if "idle" in runs and others:
        base = _series(runs["idle"], "emissions_t")
        width = 0.8 / len(others)
        for k, name in enumerate(others):
            reduction = base - _series(runs[name], "emissions_t")
            bottom.bar(
                hours + (k - (len(others) - 1) / 2) * width + 0.5,
                reduction,
                width=width,
                color=method_color(name, k),
                label=name,
            )
        bottom.axhline(0.0, color="black", lw=0.6)
        bottom.set_ylabel("emission reduction vs idle, t/h")
        bottom.legend(fontsize=7, ncol=4)
    else:
        bottom.text(0.5, 0.5, "no method besides idle to compare", ha="center",
                    transform=bottom.transAxes)  # fmt: skip
    bottom.set_xlabel("hour of the day")
    bottom.set_xlim(0, len(hours))
    bottom.grid(True, alpha=0.3)
    return ctx.save(
        fig,
        f"{case_slug(case_id)}_carbon_intensity.png",
        "Carbon intensity and hourly emission reduction (paper Fig. 6)",
        f"Test day {day}. Top: the upstream grid's intensity C^UPG and the network intensity "
        "of eq (13) ((grid import·C^UPG + turbines·C^G) / (import + turbines + PV + storage "
        "discharge)) per hour and method. Bottom: emissions of idle minus the method's, per "
        "hour (t); > 0 is a reduction. " + ctx.describe_rollouts(case_id, day, runs),
    )


def _ses_soc_figure(
    ctx: ReportContext, case_id: str, day: str, runs: Mapping[str, DayRollout]
) -> Figure:
    names = list(runs)
    any_run = runs[names[0]]
    st = any_run.case.config.storage
    price = np.asarray(any_run.core.data.price_usd_per_mwh, dtype=float)
    edges = np.arange(len(price) + 1)
    fig = new_figure(8.0, 1.9 * len(names) + 0.8)
    axes = np.atleast_1d(fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0])
    for ax, name in zip(axes, names, strict=True):
        r = runs[name]
        soc = np.array([np.asarray(rec.kpi.soc, dtype=float) for rec in r.records])
        soc = np.vstack([np.full(soc.shape[1], st.soc_init), soc])
        ax.axhspan(st.soc_min, st.soc_max, color="#2ca02c", alpha=0.08, lw=0)
        for k, bus in enumerate(st.buses):
            ax.plot(edges, soc[:, k], marker=".", ms=3, lw=1.3, label=f"SES {k + 1} (bus {bus})")
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel(f"SOC, {name}")
        ax.grid(True, alpha=0.3)
        twin = ax.twinx()
        twin.step(edges, np.append(price, price[-1]), where="post", color="black", lw=1,
                  alpha=0.5, ls=":")  # fmt: skip
        twin.set_ylabel("tariff $/MWh", fontsize=8)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, ncol=5, loc="outside lower center")
    fig.suptitle(f"{case_id}, {day}: storage SOC against the time-of-use tariff")
    axes[-1].set_xlabel("hour of the day")
    axes[-1].set_xlim(0, len(price))
    return ctx.save(
        fig,
        f"{case_slug(case_id)}_soc.png",
        "Storage SOC against the tariff (paper Figs 7–9)",
        f"Test day {day}. SOC of the five shared storages at the end of each hour (hour 0: the "
        f"initial {st.soc_init}), one panel per method; green band: the soft SOC window "
        f"{st.soc_min}–{st.soc_max}; dotted: the tariff (right axis). "
        + ctx.describe_rollouts(case_id, day, runs),
    )


def _ses_training_figure(ctx: ReportContext, case_id: str) -> Figure | None:
    scale = float(ctx.case(case_id).config.reward.scale_usd)  # reward unit, $
    curves: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for method in ctx.given_training(case_id, ("ddpg", "ddpg-per-or")):
        for root in ctx.training_dirs:
            base = root / case_id / method
            if not base.is_dir():
                continue
            for run_dir in sorted(p for p in base.glob("seed*") if p.is_dir()):
                curve = read_training_curve(run_dir)
                if curve is not None:
                    curves.setdefault(method, []).append((curve[0], curve[1] * scale))
            if method in curves:
                break
        if method not in curves:
            where = ", ".join(str(d / case_id / method) for d in ctx.training_dirs)
            ctx.note(
                case_id, f"no {method} training curves (no monitor.csv/progress.csv in {where})"
            )
    if not curves:
        return None
    fig = new_figure(7.0, 4.0)
    ax = fig.add_subplot()
    for k, (method, runs) in enumerate(curves.items()):
        color = RL_COLORS[k]
        for x, y in runs:
            ax.plot(x, y, color=color, lw=0.5, alpha=0.25)
        n = min(len(y) for _, y in runs)
        mean = np.mean([moving_average(y[:n]) for _, y in runs], axis=0)
        ax.plot(runs[0][0][:n], mean, color=color, lw=2, label=f"{method} ({len(runs)} seeds)")
    ax.set_xlabel("training episode (one day)")
    ax.set_ylabel("episode return × reward scale, $")
    ax.set_title(f"{case_id}: training curves")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return ctx.save(
        fig,
        f"{case_slug(case_id)}_training.png",
        "Training curves, DDPG vs DDPG+PER+OR (paper Fig. 5)",
        "Return of each training episode (one train day; the referee's reward summed over the "
        f"day, from the training runs' monitor.csv, times the reward scale {scale:g} $: minus "
        "the day's cost and SOC, voltage and line penalties): thin lines per seed, thick the "
        "mean over seeds of a moving average (window: 5 % of the run).",
    )


@case_figures("ses-carbon-ieee33-v0")
def ses_carbon_figures(ctx: ReportContext, case_id: str) -> list[Figure]:
    """Figures of the SES-carbon case (module docstring)."""
    figures: list[Figure] = []
    day = ctx.representative_day(case_id)
    if day is None:
        ctx.note(case_id, "no ok rows: no representative day to re-simulate")
    else:
        runs = _ses_rollouts(ctx, case_id, day)
        if runs:
            figures.append(_ses_carbon_figure(ctx, case_id, day, runs))
            figures.append(_ses_soc_figure(ctx, case_id, day, runs))
        else:
            ctx.note(case_id, f"no method could be re-simulated on {day}")
    training = _ses_training_figure(ctx, case_id)
    if training is not None:
        figures.append(training)
    return figures
