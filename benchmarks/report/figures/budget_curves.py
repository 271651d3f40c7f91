"""Quality against training budget, drawn for every case that has curves: the mean val-day
cost of each RL method's checkpoints (``results/curves/*.csv``, written by
``python -m gridbench.benchmarks.budget_curve``), idle and the oracle for scale."""

from __future__ import annotations

from pathlib import Path

from gridbench.benchmarks.report.context import ReportContext
from gridbench.benchmarks.report.plotting import CURVE_COLORS, case_slug, new_figure
from gridbench.benchmarks.report.registry import Figure

__all__ = ["budget_curves"]


def _curve_dirs(ctx: ReportContext) -> list[Path]:
    dirs = [ctx.results / "curves", ctx.results.parent / "curves"]
    return [d for i, d in enumerate(dirs) if d.is_dir() and d.resolve() not in
            [e.resolve() for e in dirs[:i]]]


def _describe_settings(settings: str) -> str:
    """A curve's settings for a legend: ``train_freq 4, gradient_steps 1`` from the JSON the
    budget curve stores (free text is kept as it is)."""
    import json

    if settings in ("{}", "nan", ""):
        return ""
    try:
        data = json.loads(settings)
    except ValueError:
        return settings
    if isinstance(data, dict):
        return ", ".join(f"{k} {v}" for k, v in data.items())
    return str(data)


def budget_curves(ctx: ReportContext, case_id: str) -> list[Figure]:
    """Quality against training budget (``python -m gridbench.benchmarks.budget_curve``):
    mean val-day cost of each RL method's checkpoints, idle and oracle for scale."""
    import pandas as pd

    frames = []
    for d in _curve_dirs(ctx):
        for path in sorted(d.glob("*.csv")):
            frame = pd.read_csv(path)
            if "case" not in frame:
                continue
            frame = frame[frame["case"] == case_id]
            if not frame.empty:
                frames.append(frame.assign(file=path.name))
    if not frames:
        where = ", ".join(str(d) for d in _curve_dirs(ctx)) or "no curves directory"
        ctx.note(case_id, f"no quality-vs-budget curves for this case ({where})")
        return []
    data = pd.concat(frames, ignore_index=True)
    fig = new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    rl = data[data["kind"] == "rl"].copy()
    rl["settings"] = rl["settings"].astype(str) if "settings" in rl else "{}"
    for k, ((method, settings), group) in enumerate(
        rl.groupby(["method", "settings"], sort=True)
    ):
        stats = group.groupby("steps")["val_cost_mean"].agg(["mean", "min", "max", "count"])
        seeds = int(group["seed"].nunique())
        label = f"{method} ({seeds} seed{'s' if seeds > 1 else ''})"
        described = _describe_settings(settings)
        if described:
            label += f", {described}"
        color = CURVE_COLORS[k % len(CURVE_COLORS)]
        ax.plot(stats.index, stats["mean"], marker="o", lw=1.5, color=color, label=label)
        if seeds > 1:
            ax.fill_between(stats.index, stats["min"], stats["max"], color=color, alpha=0.15)
    for kind, style in (("idle", ":"), ("oracle", "--")):
        ref = data[data["kind"] == kind]["val_cost_mean"]
        if not ref.empty:
            ax.axhline(float(ref.mean()), color="black", ls=style, lw=1, label=kind)
    ax.set_xscale("log")
    ax.set_xlabel("training env steps (hours of train days)")
    ax.set_ylabel("mean val-day cost, $")
    ax.set_title(f"{case_id}: quality against training budget")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    days = sorted(set(int(v) for v in data["val_days"]))
    return [
        ctx.save(
            fig,
            f"{case_slug(case_id)}_budget_curve.png",
            "Quality against training budget (how the reference budget was chosen)",
            "Mean referee cost on the first "
            f"{'/'.join(map(str, days))} validation days of the checkpoints of training runs "
            "(train days only; never test days), against env steps: line = mean over seeds, "
            "band = min to max over seeds; idle and the oracle on the same days for scale. "
            "Files: results/curves/*.csv, written by python -m "
            "gridbench.benchmarks.budget_curve (--from-runs for a reference run's seeds).",
        )
    ]
