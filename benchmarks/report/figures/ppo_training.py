"""Training curves of the three PPO variants (SGLS paper Fig. 15), for a case's figure function.

Not registered (a case has one figure function, and the SGLS figures belong to that case's
module). Call it from there::

    from gridbench.benchmarks.report.figures.ppo_training import ppo_training_figure
    fig = ppo_training_figure(ctx, case_id)   # a Figure, or None with a note

It reads the training runs ``<training_dir>/<case>/<method>/seed<k>/`` that ``fit`` writes:
``monitor.csv`` (the referee's return of each training day) for the upper panel and
``progress.csv`` (``train/kl_beta``, ``train/kl``) for the lower one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np

from gridbench.benchmarks.report.context import ReportContext
from gridbench.benchmarks.report.plotting import RL_COLORS, case_slug, new_figure
from gridbench.benchmarks.report.registry import Figure
from gridbench.benchmarks.report.training_curves import moving_average, read_training_curve

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PPO_METHODS", "ppo_training_figure", "ppo_training_runs"]

#: The three variants of Fig. 15, in the paper's order (``ppo`` is PPO-clip).
PPO_METHODS: Final[tuple[str, ...]] = ("ppo", "ppo-kl", "ppo-clip-kl")


def ppo_training_runs(
    training_dirs: tuple[Path, ...], case_id: str, methods: tuple[str, ...] = PPO_METHODS
) -> dict[str, list[Path]]:
    """The seed directories of each method (the first training dir that has any)."""
    out: dict[str, list[Path]] = {}
    for method in methods:
        for root in training_dirs:
            base = root / case_id / method
            runs = sorted(p for p in base.glob("seed*") if p.is_dir()) if base.is_dir() else []
            if runs:
                out[method] = runs
                break
    return out


def _progress(run: Path) -> pd.DataFrame | None:
    import pandas as pd

    try:
        df = pd.read_csv(run / "progress.csv")
    except (OSError, ValueError):
        return None
    cols = [c for c in ("train/kl_beta", "train/kl") if c in df]
    if "train/kl_beta" not in cols:
        return None
    return df[cols].dropna().reset_index(drop=True)


def ppo_training_figure(ctx: ReportContext, case_id: str) -> Figure | None:
    """Upper panel: return of each training episode (one day) per variant, the mean over seeds
    of a moving average, shaded between the seeds' min and max (as the paper's Figs 8-10).
    Lower panel: β and the measured KL ``d`` of ``ppo-kl``/``ppo-clip-kl`` per update (log y).
    ``None`` (with a note) when no variant has a training run."""
    stored = ctx.given_training(case_id, PPO_METHODS)
    runs = ppo_training_runs(ctx.training_dirs, case_id, stored)
    for method in stored:
        if method not in runs:
            where = ", ".join(str(d / case_id / method) for d in ctx.training_dirs)
            ctx.note(case_id, f"no {method} training runs for Fig. 15 (looked in {where})")
    curves = {
        m: [c for c in (read_training_curve(r) for r in rs) if c is not None]
        for m, rs in runs.items()
    }
    curves = {m: c for m, c in curves.items() if c}
    if not curves:
        return None
    fig = new_figure(7.5, 6.0)
    top, bottom = fig.subplots(2, 1, height_ratios=(3, 2))
    for k, (method, cs) in enumerate(curves.items()):
        color = RL_COLORS[k % len(RL_COLORS)]
        n = min(len(y) for _, y, _ in cs)
        smooth = np.array([moving_average(y[:n]) for _, y, _ in cs])
        x = cs[0][0][:n]
        top.fill_between(x, smooth.min(axis=0), smooth.max(axis=0), color=color, alpha=0.2, lw=0)
        top.plot(x, smooth.mean(axis=0), color=color, lw=2, label=f"{method} ({len(cs)} seeds)")
    top.set_xlabel("training episode (one day)")
    top.set_ylabel("episode return (referee reward)")
    top.set_title(f"{case_id}: PPO variants, training reward")
    top.grid(True, alpha=0.3)
    top.legend(fontsize=8)
    any_beta = False
    for k, method in enumerate(PPO_METHODS):
        if method == "ppo" or method not in runs:
            continue
        color = RL_COLORS[k % len(RL_COLORS)]
        frames = [df for df in (_progress(r) for r in runs[method]) if df is not None and len(df)]
        if not frames:
            continue
        any_beta = True
        n = min(len(df) for df in frames)
        upd = np.arange(1, n + 1)
        beta = np.exp(
            np.mean([np.log(df["train/kl_beta"].to_numpy(float)[:n]) for df in frames], 0)
        )
        bottom.plot(upd, beta, color=color, lw=1.5, label=f"{method} β (geometric mean)")
        if all("train/kl" in df for df in frames):
            kl = np.mean([df["train/kl"].to_numpy(float)[:n] for df in frames], axis=0)
            bottom.plot(upd, kl, color=color, lw=1, ls="--", label=f"{method} KL d (mean)")
    if any_beta:
        bottom.set_yscale("log")
        bottom.set_xlabel("policy update")
        bottom.grid(True, alpha=0.3)
        bottom.legend(fontsize=7, ncol=2)
    else:
        bottom.set_axis_off()
        ctx.note(case_id, "no train/kl_beta in the PPO-KL runs' progress.csv: β panel left empty")
    return ctx.save(
        fig,
        f"{case_slug(case_id)}_ppo_training.png",
        "Training curves of PPO-clip, PPO-kl and PPO-clip-kl (paper Fig. 15)",
        "Top: return of each training episode (one train day, the referee's reward summed over "
        "the day, from the runs' monitor.csv); thick: the mean over seeds of a moving average "
        "(window 5 % of the run), shaded: the seeds' min-max. Bottom: the adaptive KL "
        "coefficient β used in each policy update and the KL d measured after it "
        "(progress.csv; β halves when d < d_targ/1.5 and doubles when d > 1.5·d_targ, "
        "d_targ = 0.01).",
    )
