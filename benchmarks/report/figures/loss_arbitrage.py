"""Report figures of ``loss-arbitrage-ieee33-v0`` (the DRL storage-scheduling article).

On one representative test day, re-simulated through the referee for idle, rule, mpc, the
best RL method with an agent and the oracle (those with stored rows):

* energy of the battery at bus 13 and the supercapacitor at bus 9 over the day (cell energy
  and remaining available energy F_a) against the peak/valley windows (the paper's energy
  figure for nodes 13 and 9);
* active branch flows before (idle) and after scheduling (the best method shown), per branch
  and hour (the paper's "power variations before and after scheduling");
* the per-node revenue table (a Markdown/HTML table, not a picture) before (rule) / after
  (best method) in the form of Table 3
  (:func:`gridbench.cases.loss_arbitrage.revenue.revenue_table`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from gridbench.benchmarks.report.context import ReportContext
from gridbench.benchmarks.report.plotting import case_slug, method_color, new_figure
from gridbench.benchmarks.report.registry import Figure, case_figures

if TYPE_CHECKING:
    from gridbench.benchmarks.schedule import DayRollout

__all__ = ["CASE_ID", "loss_arbitrage_figures", "setpoints_of"]

CASE_ID = "loss-arbitrage-ieee33-v0"


def setpoints_of(rollout: DayRollout) -> np.ndarray:
    """Executed setpoints of a day's roll-out, ``(24, n_dev)`` MW."""
    return np.array([np.asarray(r.applied, dtype=float) for r in rollout.records])


def revenue_of(rollout: DayRollout) -> float:
    """The referee's revenue of the day (loss reduction + arbitrage), $."""
    return -sum(
        float(info["cost"]["loss_reduction"]) + float(info["cost"]["arbitrage"])
        for info in rollout.infos
    )


def _runs(ctx: ReportContext, case_id: str, day: str) -> dict[str, DayRollout]:
    present = set(ctx.case_rows(case_id)["method"])
    runs: dict[str, DayRollout] = {}
    idle = ctx.rollout(case_id, "idle", day)
    if idle is not None:
        runs["idle"] = idle
    for name in ("rule", "mpc"):
        if name in present and (r := ctx.rollout(case_id, name, day)) is not None:
            runs[name] = r
    for name in ctx.ranked_rl_methods(case_id):
        if (r := ctx.rollout(case_id, name, day)) is not None:
            runs[name] = r
            break
    if "oracle" in present and (r := ctx.rollout(case_id, "oracle", day)) is not None:
        runs["oracle"] = r
    return runs


def _best(runs: Mapping[str, DayRollout]) -> str | None:
    """The scheduled method shown as "after": the RL method, else mpc, else the oracle."""
    for name in runs:
        if name not in ("idle", "rule", "mpc", "oracle"):
            return name
    for name in ("mpc", "oracle", "rule"):
        if name in runs:
            return name
    return None


def _peak_spans(ax: Any, price: np.ndarray) -> None:
    peak = np.isclose(price, price.max()) & ~np.isclose(price, price.min())
    for t in np.flatnonzero(peak):
        ax.axvspan(t, t + 1, color="#ff7f0e", alpha=0.07, lw=0)


def _energy_figure(
    ctx: ReportContext, case_id: str, day: str, runs: Mapping[str, DayRollout]
) -> Figure:
    any_run = next(iter(runs.values()))
    dev = any_run.case.config.devices()
    price = np.asarray(any_run.core.data.price_usd_per_mwh, dtype=float)
    edges = np.arange(price.size + 1)
    picks = [(k, f"{dev.kind[k]} at bus {dev.buses[k]}") for k in range(dev.n)
             if dev.buses[k] in (13, 9)]  # fmt: skip
    fig = new_figure(8.0, 2.6 * max(len(picks), 1) + 0.6)
    axes = np.atleast_1d(fig.subplots(max(len(picks), 1), 1, sharex=True, squeeze=False)[:, 0])
    for ax, (k, label) in zip(axes, picks, strict=False):
        _peak_spans(ax, price)
        for j, (name, r) in enumerate(runs.items()):
            energy = [dev.e_init[k]] + [float(i["energy_mwh"][k]) for i in r.infos]
            avail = [dev.e_init[k]] + [float(i["available_mwh"][k]) for i in r.infos]
            color = method_color(name, j)
            ax.plot(edges, energy, color=color, lw=1.6, label=f"E, {name}")
            ax.plot(edges, avail, color=color, lw=0.9, ls=":", label=f"F_a, {name}")
        ax.axhline(dev.f_min[k], color="black", lw=0.6, ls="--")
        ax.axhline(dev.f_max[k], color="black", lw=0.6, ls="--")
        ax.set_ylabel(f"MWh, {label}")
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=6, ncol=4)
    axes[-1].set_xlabel("hour of the day (shaded: peak price window)")
    axes[-1].set_xlim(0, price.size)
    fig.suptitle(f"{case_id}, {day}: storage energy against the price windows")
    return ctx.save(
        fig,
        f"{case_slug(case_id)}_energy.png",
        "Energy of the battery at bus 13 and the supercapacitor at bus 9",
        f"Test day {day}. Solid: cell energy E after each hour; dotted: the remaining available "
        "energy F_a = E − κ(T)·x (the polarization term at the hour's current and cell "
        "temperature); dashed: the window F_min…F_max; shaded: the peak-price window 6–20 h. "
        + ctx.describe_rollouts(case_id, day, runs),
    )


def _flows_figure(
    ctx: ReportContext, case_id: str, day: str, runs: Mapping[str, DayRollout], best: str
) -> Figure:
    before = np.array([np.asarray(i["branch_p_mw"]) for i in runs["idle"].infos]).T
    after = np.array([np.asarray(i["branch_p_mw"]) for i in runs[best].infos]).T
    lim = float(max(np.abs(before).max(), np.abs(after).max()))
    fig = new_figure(9.0, 6.6)
    axes = fig.subplots(3, 1, sharex=True)
    for ax, data, title, cmap, vlim in (
        (axes[0], before, "before: idle", "viridis", (0.0, lim)),
        (axes[1], after, f"after: {best}", "viridis", (0.0, lim)),
        (axes[2], after - before, f"{best} − idle", "RdBu_r", None),
    ):
        span = vlim or (-float(np.abs(data).max()), float(np.abs(data).max()))
        extent = (0, data.shape[1], 0.5, data.shape[0] + 0.5)
        im = ax.imshow(data, aspect="auto", origin="lower", cmap=cmap, vmin=span[0],
                       vmax=span[1], extent=extent)  # fmt: skip
        ax.set_ylabel("branch (to bus − 1)")
        ax.set_title(title, fontsize=9)
        fig.colorbar(im, ax=ax, label="MW")
    axes[-1].set_xlabel("hour of the day")
    return ctx.save(
        fig,
        f"{case_slug(case_id)}_line_flows.png",
        "Branch flows before and after scheduling",
        f"Test day {day}. Active power entering each of the 32 branches (branch k feeds bus "
        f"k + 2) per hour: idle storage, {best}, and the difference (discharging at the peak "
        "relieves the trunk; valley charging loads it). "
        + ctx.describe_rollouts(case_id, day, runs),
    )


def _table_figure(
    ctx: ReportContext, case_id: str, day: str, runs: Mapping[str, DayRollout], best: str
) -> Figure:
    from gridbench.cases.loss_arbitrage.revenue import revenue_table

    rollout = runs[best]
    table = revenue_table(
        rollout.case,
        rollout.day,
        before=setpoints_of(runs["rule"]),
        after=setpoints_of(rollout),
    )
    cols = [
        "node", "type", "loss_reduction_before_usd", "loss_reduction_after_usd",
        "arbitrage_before_usd", "arbitrage_after_usd",
    ]  # fmt: skip
    header = ["node", "type", "loss red. before $", f"loss red. {best} $", "arbitrage before $",
              f"arbitrage {best} $"]  # fmt: skip
    cells = [
        [str(row["node"]), str(row["type"])] + [f"{float(row[c]):.2f}" for c in cols[2:]]
        for _, row in table.iterrows()
    ]
    cells.append(["all", ""] + [f"{float(table[c].sum()):.2f}" for c in cols[2:]])
    res = max(abs(table.attrs["split_residual_before_usd"]),
              abs(table.attrs["split_residual_after_usd"]))  # fmt: skip
    return ctx.table(
        header,
        cells,
        f"Per-node revenue on {day} before (rule) and after ({best}) scheduling (paper Table 3)",
        f"Test day {day}, revenue in $ (positive: earned). Arbitrage: Σ price·p per device. "
        "Loss reduction: the feeder's "
        "referee term price·(losses without storage − with) split among the devices by the "
        "Aumann–Shapley rule (marginal loss reduction averaged from no storage to the "
        f"schedule; the split adds up to the feeder term within {res:.1e} $). 'Before' is the "
        f"time-of-use rule (the paper does not say what ran before its scheduling), 'after' "
        f"{best}. " + ctx.describe_rollouts(case_id, day, runs),
    )


@case_figures(CASE_ID)
def loss_arbitrage_figures(ctx: ReportContext, case_id: str) -> list[Figure]:
    """Figures of the loss-arbitrage case (module docstring)."""
    day = ctx.representative_day(case_id)
    if day is None:
        ctx.note(case_id, "no ok rows: no representative day to re-simulate")
        return []
    runs = _runs(ctx, case_id, day)
    if not runs:
        ctx.note(case_id, f"no method could be re-simulated on {day}")
        return []
    figures = [_energy_figure(ctx, case_id, day, runs)]
    best = _best(runs)
    if best is not None and "idle" in runs and best != "idle":
        figures.append(_flows_figure(ctx, case_id, day, runs, best))
        if "rule" in runs and best != "rule":
            figures.append(_table_figure(ctx, case_id, day, runs, best))
        else:
            ctx.note(case_id, "revenue table needs rule rows (the 'before' schedule)")
    else:
        ctx.note(case_id, "line-flow figure needs idle and a scheduling method")
    return figures
