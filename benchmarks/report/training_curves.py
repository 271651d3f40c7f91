"""Training curves for the report: one run's episode returns read from the files ``fit``
writes (``monitor.csv``, else ``progress.csv``) and the moving average the figures draw."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["moving_average", "read_training_curve"]


def read_training_curve(run_dir: Path, *, by_time: bool = False
                        ) -> tuple[np.ndarray, np.ndarray, str] | None:
    """(x, episode return, x label) of one training run: ``monitor.csv`` (per episode), else
    ``progress.csv`` (``rollout/ep_rew_mean``). ``by_time``: x is the training time in
    seconds (the Monitor's ``t``, the progress log's ``time/time_elapsed``), not the
    episode."""
    import pandas as pd

    monitor = run_dir / "monitor.csv"
    if monitor.is_file():
        try:
            df = pd.read_csv(monitor, comment="#")
        except (ValueError, OSError):
            df = None
        if df is not None and "r" in df and len(df) and (not by_time or "t" in df):
            if by_time:
                return df["t"].to_numpy(float), df["r"].to_numpy(float), "training time, s"
            return np.arange(1, len(df) + 1, dtype=float), df["r"].to_numpy(float), "episode"
    progress = run_dir / "progress.csv"
    if progress.is_file():
        try:
            df = pd.read_csv(progress)
        except (ValueError, OSError):
            return None
        y_col = "rollout/ep_rew_mean"
        x_col, label = (("time/time_elapsed", "training time, s") if by_time
                        else ("time/episodes", "episode"))
        if y_col in df and x_col in df:
            df = df[[x_col, y_col]].dropna()
            if len(df):
                return df[x_col].to_numpy(float), df[y_col].to_numpy(float), label
    return None


def moving_average(y: np.ndarray) -> np.ndarray:
    """``y`` smoothed by a trailing moving average over 5 % of its length (its first points:
    the running mean up to them), as long as ``y``; ``y`` itself when the window is one point."""
    window = max(1, len(y) // 20)
    if window == 1:
        return y
    kernel = np.ones(window) / window
    head = np.cumsum(y[: window - 1]) / np.arange(1, window)
    return np.concatenate([head, np.convolve(y, kernel, mode="valid")])
