"""The declared tuning of every learned family on a case, as a table: the trials each family
got on val days (``results/tuning/<case>/<method>.csv``, written by ``python -m
gridbench.benchmarks.tuning``), the configuration frozen into ``hyperparams.json``, and its
val-day gap to the oracle on the same days (``references.csv``)."""

from __future__ import annotations

import json
from pathlib import Path

from gridbench.benchmarks.report.context import ReportContext
from gridbench.benchmarks.report.registry import Figure

__all__ = ["tuning_table"]


def _tuning_dirs(ctx: ReportContext, case_id: str) -> list[Path]:
    dirs = [ctx.results / "tuning" / case_id, ctx.results.parent / "tuning" / case_id]
    seen: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [s.resolve() for s in seen]:
            seen.append(d)
    return seen


def _gap(cost: float, oracle: float | None) -> str:
    if oracle is None or oracle == 0.0:
        return "–"
    return f"{100.0 * (cost - oracle) / abs(oracle):+.2f} %"


def tuning_table(ctx: ReportContext, case_id: str) -> list[Figure]:
    """One row per learned family tuned on ``case_id``: trials, env steps and CPU seconds
    per trial, the best configuration and its val-day cost and gap to the oracle."""
    import pandas as pd

    dirs = _tuning_dirs(ctx, case_id)
    tables = [p for d in dirs for p in sorted(d.glob("*.csv")) if p.name != "references.csv"]
    if not tables:
        ctx.note(case_id, "no tuning tables (python -m gridbench.benchmarks.tuning)")
        return []
    refs: dict[str, float] = {}
    for d in dirs:
        if (d / "references.csv").is_file():
            frame = pd.read_csv(d / "references.csv")
            refs = dict(zip(frame["method"], frame["val_cost_mean"], strict=True))
            break
    oracle = refs.get("oracle")
    rows = []
    for path in tables:
        frame = pd.read_csv(path)
        if frame.empty:
            continue
        best = frame.loc[frame["val_cost_mean"].idxmin()]
        params = ", ".join(f"{k} {v}" for k, v in json.loads(str(best["params"])).items())
        rows.append([
            str(best["method"]),
            str(len(frame)),
            f"{int(frame['env_steps'].iloc[0]):,}",
            f"{frame['fit_cpu_s'].mean():.0f}",
            params,
            f"{best['val_cost_mean']:.2f}",
            _gap(float(best["val_cost_mean"]), oracle),
            f"{frame['val_cost_mean'].min():.2f} – {frame['val_cost_mean'].max():.2f}",
        ])
    scale = ", ".join(f"{k} {v:.2f} $" for k, v in refs.items()) or "not computed"
    days = int(pd.read_csv(tables[0])["val_days"].iloc[0])
    return [
        ctx.table(
            ["family", "trials", "env steps / trial", "CPU s / trial", "frozen configuration",
             "val cost $", "gap to oracle", "range over trials $"],
            rows,
            "Declared tuning on val days (the same number of trials per family)",
            f"Each learned family's trials on the first {days} validation days (one seed, half "
            "its reference CPU budget; grid declared in rl_agents/hyperparams.json 'tuning'); "
            "the best is frozen into the file's case_kwargs and then trained with 5 fresh seeds "
            f"for the test-day leaderboard. Same days for scale: {scale}. The solvers are not "
            "tuned: their settings are their formulations' documented defaults (solver "
            "tolerances, MIP gap, horizons). Files: results/tuning/<case>/*.csv.",
        )
    ]
