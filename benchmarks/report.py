"""``gridbench report``: the leaderboard per case and the figures, as Markdown and HTML.

Public API
----------
* :func:`build_report` — read a results store, write ``report.md``, ``report.html`` and the
  figures (PNG, matplotlib's Agg canvas, no pyplot state) into a temporary directory beside
  the output directory, then swap it in (rename). Returns a :class:`ReportResult`.
* :func:`case_figures` — decorator registering a case's figure function under one or more
  case ids in :data:`CASE_FIGURES`: ``fn(ctx: ReportContext, case_id: str) -> list[Figure]``.
  A figure function saves its PNGs with :meth:`ReportContext.save` and records what it had to
  leave out with :meth:`ReportContext.note`; it must not raise for missing data (an
  exception is caught and becomes a note, so one broken figure never loses the report).
* :class:`ReportContext` — what a figure function gets: the store's rows, the leaderboard
  entries, the results directory, the training-curve directories, helpers to choose a
  representative day and to re-simulate a method on it through the referee
  (:meth:`ReportContext.rollout`: deterministic methods are fitted as ``run`` fits them; RL
  methods only *load* a shipped or trained agent — never train — and are skipped with a note
  when none exists).

Report layout
-------------
First, one page answering "when does RL beat mathematical programming, and by how much?"
across the cases (:mod:`gridbench.benchmarks.answer`). Then per case: the leaderboard
(:mod:`gridbench.benchmarks.leaderboard`, ``test`` split; other
splits when the case has no ``test`` rows), a cost-vs-decision-time scatter of every method
(log x, ``compute_ms_per_decision``: the plan in ``reset`` amortized over the day's
decisions with every ``act``; error bars: the cost's 95 % interval), then the case's own
figures. Last, a "Missing" section: what the report could not show and why (no RL or oracle
rows yet, registered methods never run, failed units, agents or training logs not found).

Every case also gets :func:`budget_curves` (from ``results/curves/*.csv``). Registered here for
``ses-carbon-ieee33-v0`` (Zhong et al. 2024, Figs 5–9), on one
representative test day re-simulated through the referee for idle, rule, mpc, the best RL
method and the oracle (those present in the store):

* carbon intensity: upstream ``C^UPG`` vs the network intensity of eq (13) per hour, and the
  hourly emission reduction against idle (paper Fig. 6);
* SOC of the five storages against the tariff, one panel per method (Figs 7–9);
* training curves of ``ddpg`` vs ``ddpg-per-or`` from the training runs' ``monitor.csv``
  (episode return = −the training day's cost; Fig. 5).
"""

from __future__ import annotations

import contextlib
import datetime
import html
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from gridbench.benchmarks.leaderboard import (
    finite_number,
    format_number,
    run_state,
    split_columns,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure as MplFigure

    from gridbench.benchmarks.schedule import DayRollout
    from gridbench.cases.contracts import Case

__all__ = [
    "CASE_FIGURES",
    "DEFAULT_REPORT_DIR",
    "Figure",
    "ReportContext",
    "ReportError",
    "ReportResult",
    "best_rl_summary",
    "build_report",
    "case_figures",
    "check_report_dir",
]

#: Default output directory of ``gridbench report``.
DEFAULT_REPORT_DIR: Final[Path] = Path("results") / "report"
#: Manifest marking a directory as a gridbench report: JSON ``{"written_by": ..., "files":
#: [...]}`` listing every file the report wrote. A directory is replaced only when it holds
#: nothing but the files of its manifest (a report never deletes what it did not write).
REPORT_MARKER: Final[str] = ".gridbench-report"
#: Files a report of the first format (marker text without a file list) may have written.
_LEGACY_REPORT_FILES: Final[frozenset[str]] = frozenset({"report.md", "report.html"})
_DPI: Final[int] = 110

FigureFunction = Callable[["ReportContext", str], "list[Figure]"]
#: Figure functions per case id (filled by :func:`case_figures`).
CASE_FIGURES: dict[str, FigureFunction] = {}


class ReportError(ValueError):
    """A report that cannot be written (user error: one line, exit status 2)."""


def case_figures(*case_ids: str) -> Callable[[FigureFunction], FigureFunction]:
    """Register ``fn(ctx, case_id) -> list[Figure]`` as the figures of ``case_ids``."""
    if not case_ids:
        raise ValueError("case_figures needs at least one case id")

    def register(fn: FigureFunction) -> FigureFunction:
        for case_id in case_ids:
            if case_id in CASE_FIGURES and CASE_FIGURES[case_id] is not fn:
                raise ValueError(f"case {case_id!r} already has a figure function")
            CASE_FIGURES[case_id] = fn
        return fn

    return register


@dataclass(frozen=True, slots=True)
class Figure:
    """A saved figure (its PNG file name, relative to the report) or a table (``file`` empty,
    ``table`` = header and rows of text cells), with its title and caption."""

    file: str
    title: str
    caption: str
    table: tuple[tuple[str, ...], tuple[tuple[str, ...], ...]] | None = None


@dataclass(frozen=True, slots=True)
class ReportResult:
    """What :func:`build_report` wrote."""

    out: Path
    markdown: Path
    html: Path
    figures: tuple[Figure, ...]
    notes: tuple[str, ...]


# --------------------------------------------------------------------------- context


@dataclass(eq=False)
class ReportContext:
    """What a figure function works with (see the module docstring).

    Attributes:
        results: the results directory; ``frame``: its rows; ``entries``: the leaderboard
            entries of every case; ``split``: the split the leaderboard ranks per case.
        figure_dir: where :meth:`save` writes (the report's temporary directory).
        training_dirs: directories searched for ``<case>/<method>/seed<k>/`` training runs.
    """

    results: Path
    frame: pd.DataFrame
    entries: list[dict[str, Any]]
    figure_dir: Path
    training_dirs: tuple[Path, ...]
    split: dict[str, str | None] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    _cases: dict[str, Case] = field(default_factory=dict)
    _rollouts: dict[tuple[str, str, str], DayRollout | None] = field(default_factory=dict)
    #: What each re-simulation ran, per (case, method, day): seed, budget, agent file.
    sources: dict[tuple[str, str, str], str] = field(default_factory=dict)

    # -- bookkeeping -------------------------------------------------------------
    def note(self, case_id: str, text: str) -> None:
        """Record what the report of ``case_id`` leaves out, and why (one line)."""
        mine = self.notes.setdefault(case_id, [])
        if text not in mine:
            mine.append(text)

    def case(self, case_id: str) -> Case:
        """The registered case ``case_id`` (built once)."""
        if case_id not in self._cases:
            from gridbench.cases.registry import make_case

            self._cases[case_id] = make_case(case_id)
        return self._cases[case_id]

    def case_entries(self, case_id: str) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["case"] == case_id]

    def stored_methods(self, case_id: str) -> frozenset[str]:
        """The methods with rows of ``case_id`` in the results the report was given."""
        if self.frame.empty or "case" not in self.frame:
            return frozenset()
        df = self.frame[self.frame["case"] == case_id]
        return frozenset(str(m) for m in df["method"].dropna().unique())

    def given_training(self, case_id: str, methods: Iterable[str]) -> tuple[str, ...]:
        """Those of ``methods`` whose training curves the report may draw: the ones with rows
        in the given results, or with runs in the results' own ``training/``. Never a method
        the report was not given (the checkout's shipped agents of other methods)."""
        stored = self.stored_methods(case_id)
        own = self.results / "training" / case_id
        return tuple(m for m in methods if m in stored or (own / m).is_dir())

    def case_rows(self, case_id: str, *, ok_only: bool = True) -> pd.DataFrame:
        """The stored rows of ``case_id`` on the leaderboard's split (``ok`` rows only)."""
        df = self.frame[self.frame["case"] == case_id]
        split = self.split.get(case_id)
        if split is not None and "split" in df:
            df = df[df["split"] == split]
        if ok_only and "status" in df:
            df = df[df["status"].fillna("") == "ok"]
        return df

    def save(self, fig: MplFigure, name: str, title: str, caption: str) -> Figure:
        """Save ``fig`` as ``name`` (PNG) in the report and return its :class:`Figure`."""
        fig.savefig(self.figure_dir / name, dpi=_DPI, format="png")
        return Figure(name, title, caption)

    @staticmethod
    def table(
        header: Sequence[str], rows: Sequence[Sequence[str]], title: str, caption: str
    ) -> Figure:
        """A table for the report (Markdown and HTML tables, not a picture of one)."""
        return Figure(
            "", title, caption, (tuple(map(str, header)), tuple(tuple(map(str, r)) for r in rows))
        )

    # -- re-simulation -------------------------------------------------------------
    def representative_day(self, case_id: str) -> str | None:
        """A representative day of ``case_id``'s stored rows: among the days with the most
        methods, the one with the median idle cost (the median mean cost over methods when
        idle has no rows). ``None`` when the case has no ``ok`` rows."""
        df = self.case_rows(case_id)
        if df.empty:
            return None
        counts = df.groupby("day")["method"].nunique()
        days = sorted(counts[counts == counts.max()].index)
        ref = df[df["method"] == "idle"] if (df["method"] == "idle").any() else df
        cost = ref[ref["day"].isin(days)].groupby("day")["cost"].mean()
        if cost.empty:
            return str(days[len(days) // 2])
        order = sorted(cost.items(), key=lambda kv: (kv[1], kv[0]))
        return str(order[(len(order) - 1) // 2][0])

    def stored_seed(self, case_id: str, method: str, day: str) -> tuple[int, str] | None:
        """The lowest seed with an ``ok`` row of ``method`` on ``day`` and its budget (the
        highest stored budget, as the leaderboard ranks)."""
        from gridbench.cases.contracts import Budget

        df = self.case_rows(case_id)
        df = df[(df["method"] == method) & (df["day"] == day)]
        if df.empty:
            return None
        order = {b.value: i for i, b in enumerate(Budget)}
        best = max(df["budget"].astype(str), key=lambda b: order.get(b, -1))
        df = df[df["budget"].astype(str) == best]
        return int(df["seed"].min()), best

    def _load_agent(self, case: Case, method: Any, seed: int) -> str | None:
        """Load a shipped or trained agent into an RL ``method``; the path, or ``None``."""
        candidates: list[Path] = []
        if hasattr(method, "agent_path"):
            candidates.append(Path(method.agent_path(case, seed)))
        for root in self.training_dirs:
            candidates.append(root / case.id / method.name / f"seed{seed}" / "model.zip")
        for path in candidates:
            if path.is_file():
                method.load(case, seed, path)
                return str(path)
        return None

    def rollout(
        self, case_id: str, method_name: str, day: str, *, seed: int | None = None
    ) -> DayRollout | None:
        """Re-simulate ``method_name`` on ``day`` through the referee (cached). Seed and
        budget: those of its stored row on that day (seed 0, budget ``quick`` when it has
        none: the idle reference). RL methods load a shipped/trained agent, never train.
        ``None`` (with a note) when it cannot run or the day does not finish."""
        key = (case_id, method_name, day)
        if key in self._rollouts:
            return self._rollouts[key]
        result = None
        try:
            result = self._rollout(case_id, method_name, day, seed)
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.note(case_id, f"{method_name} not re-simulated on {day}: {first}")
        self._rollouts[key] = result
        return result

    def _rollout(
        self, case_id: str, method_name: str, day: str, seed: int | None
    ) -> DayRollout | None:
        from gridbench.benchmarks.schedule import roll_out
        from gridbench.cases.contracts import Budget, MethodFamily
        from gridbench.cases.registry import get_method

        case = self.case(case_id)
        stored = self.stored_seed(case_id, method_name, day)
        run_seed, budget = stored if stored else (0, Budget.QUICK.value)
        if seed is not None:
            run_seed = seed
        method = get_method(method_name).make()
        if MethodFamily(method.family) is MethodFamily.RL:
            if not hasattr(method, "load"):
                self.note(case_id, f"{method_name} skipped: it cannot load a trained agent")
                return None
            agent = self._load_agent(case, method, run_seed)
            if agent is None:
                where = ", ".join(str(d) for d in self.training_dirs) or "no training directory"
                self.note(
                    case_id,
                    f"{method_name} skipped in the figures: no shipped or trained agent for seed "
                    f"{run_seed} (looked in the shipped agents and in {where}); report never "
                    "trains",
                )
                return None
            rollout = roll_out(case, method, day, run_seed, budget=budget, fit=False)
            source = f"seed {run_seed}, agent {agent}"
        else:
            rollout = roll_out(case, method, day, run_seed, budget=budget, fit=True)
            source = f"seed {run_seed}, budget {budget}"
        self.sources[(case_id, method_name, day)] = source
        if not rollout.complete or rollout.status != "ok":
            self.note(
                case_id,
                f"{method_name} on {day}: re-simulation ended with status {rollout.status} "
                f"({rollout.row.get('message') or 'incomplete day'}); left out of the figures",
            )
            return None
        if stored is not None:
            row = self.case_rows(case_id)
            row = row[(row["method"] == method_name) & (row["day"] == day)]
            row = row[(row["seed"] == run_seed) & (row["budget"].astype(str) == budget)]
            if not row.empty:
                want = finite_number(row["cost"].iloc[0])
                got = finite_number(rollout.row.get("cost"))
                if want is not None and got is not None and abs(got - want) > 1e-3 * abs(want):
                    self.note(
                        case_id,
                        f"{method_name} on {day}: re-simulated cost {got:.2f} $ differs from "
                        f"the stored {want:.2f} $ (a different agent or code version)",
                    )
        return rollout


# --------------------------------------------------------------------------- figures


#: One colour per built-in method, the same in every figure (red, ``#d62728``, is kept for
#: references such as the upstream grid); other methods take :data:`_RL_COLORS` in turn.
_METHOD_COLORS: Final[dict[str, str]] = {
    "idle": "#7f7f7f",
    "rule": "#ff7f0e",
    "mpc": "#2ca02c",
    "day-ahead": "#bcbd22",
    "oracle": "#000000",
    "scenario": "#8c6d31",
    "full-smoothing": "#637939",
    "single-step": "#e377c2",
    "ddpg": "#1f77b4",
    "ddpg-per-or": "#9467bd",
    "td3": "#17becf",
    "sac": "#8c564b",
    "ppo": "#393b79",
    "ppo-kl": "#3182bd",
    "ppo-clip-kl": "#7b4173",
}
_FAMILY_MARKERS: Final[dict[str, str]] = {
    "baseline": "s",
    "solver": "D",
    "rl": "o",
    "bound": "*",
}
_RL_COLORS: Final[tuple[str, ...]] = (
    "#1f77b4", "#9467bd", "#17becf", "#8c564b", "#393b79", "#e377c2", "#637939", "#843c39",
)
#: matplotlib's tab10 without grey: one colour per curve of the budget figure.
_CURVE_COLORS: Final[tuple[str, ...]] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
    "#17becf",
)


def _color(method: str, family: str = "", k: int = 0) -> str:
    if method in _METHOD_COLORS:
        return _METHOD_COLORS[method]
    return _RL_COLORS[k % len(_RL_COLORS)]


def _new_figure(width: float, height: float) -> MplFigure:
    from matplotlib.figure import Figure as MplFigure

    return MplFigure(figsize=(width, height), layout="constrained")


def _slug(case_id: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in case_id).strip("_")


def cost_vs_decision_time(ctx: ReportContext, case_id: str) -> list[Figure]:
    """Scatter of every method's cost (IQM, 95 % interval) against its compute per decision
    including the plan, ``compute_ms_per_decision`` = (plan in ``reset`` + Σ act) / decisions
    (log axis), so a planner's solve is counted — drawn for every case."""
    points = []
    for e in ctx.case_entries(case_id):
        x, y = finite_number(e.get("compute_ms_per_decision")), finite_number(e.get("cost"))
        if x is None or y is None or x <= 0:
            ctx.note(case_id, f"{e['method']} left out of the cost-vs-time scatter (no cost/time)")
            continue
        lo, hi = finite_number(e.get("cost_lo")), finite_number(e.get("cost_hi"))
        points.append((e["method"], e["family"], x, y, lo if lo is not None else y, hi or y))
    if not points:
        return []
    fig = _new_figure(6.4, 4.2)
    ax = fig.add_subplot()
    other = 0
    for method, family, x, y, lo, hi in points:
        color = _color(method, family, other)
        other += method not in _METHOD_COLORS
        ax.errorbar(
            [x],
            [y],
            yerr=[[max(y - lo, 0.0)], [max(hi - y, 0.0)]],
            fmt=_FAMILY_MARKERS.get(family, "o"),
            color=color,
            markersize=9 if family == "bound" else 6,
            capsize=3,
            label=f"{method} ({family})",
        )
    ax.set_xscale("log")
    ax.set_xlabel("compute per decision incl. the plan, ms (log)")
    ax.set_ylabel("day cost, $ (IQM over seeds)")
    ax.set_title(f"{case_id}: cost vs compute per decision")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return [
        ctx.save(
            fig,
            f"{_slug(case_id)}_cost_vs_decision_time.png",
            "Cost vs compute per decision (plan included)",
            "Each method's day cost (interquartile mean over seeds of the mean over days, bars: "
            "95 % bootstrap interval) against its compute per decision including the plan: "
            "(the controller's reset, where planners compute their plan, + every act) / the "
            "day's decisions (compute_ms_per_decision, amortized, log scale).",
        )
    ]


# --------------------------------------------------------------------------- SES-carbon


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
    fig = _new_figure(7.0, 4.2)
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
        color = _CURVE_COLORS[k % len(_CURVE_COLORS)]
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
            f"{_slug(case_id)}_budget_curve.png",
            "Quality against training budget (how the reference budget was chosen)",
            "Mean referee cost on the first "
            f"{'/'.join(map(str, days))} validation days of the checkpoints of training runs "
            "(train days only; never test days), against env steps: line = mean over seeds, "
            "band = min to max over seeds; idle and the oracle on the same days for scale. "
            "Files: results/curves/*.csv, written by python -m "
            "gridbench.benchmarks.budget_curve (--from-runs for a reference run's seeds).",
        )
    ]


def _best_rl(ctx: ReportContext, case_id: str) -> list[str]:
    """RL methods of the case's leaderboard, best first."""
    rl = [e for e in ctx.case_entries(case_id) if e["family"] == "rl"]
    rl.sort(key=lambda e: (e["rank"] is None, e["rank"] or 0, e["method"]))
    return [e["method"] for e in rl]


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
    rl = _best_rl(ctx, case_id)
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


def _sources(ctx: ReportContext, case_id: str, day: str, runs: Mapping[str, DayRollout]) -> str:
    parts = [f"{m} ({ctx.sources.get((case_id, m, day), 'seed 0')})" for m in runs]
    return "Re-simulated through the referee: " + "; ".join(parts) + "."


def _series(rollout: DayRollout, key: str) -> np.ndarray:
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

    fig = _new_figure(8.0, 6.4)
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
            color=_color(name, "", k),
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
                color=_color(name, "", k),
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
        f"{_slug(case_id)}_carbon_intensity.png",
        "Carbon intensity and hourly emission reduction (paper Fig. 6)",
        f"Test day {day}. Top: the upstream grid's intensity C^UPG and the network intensity "
        "of eq (13) ((grid import·C^UPG + turbines·C^G) / (import + turbines + PV + storage "
        "discharge)) per hour and method. Bottom: emissions of idle minus the method's, per "
        "hour (t); > 0 is a reduction. " + _sources(ctx, case_id, day, runs),
    )


def _ses_soc_figure(
    ctx: ReportContext, case_id: str, day: str, runs: Mapping[str, DayRollout]
) -> Figure:
    names = list(runs)
    any_run = runs[names[0]]
    st = any_run.case.config.storage
    price = np.asarray(any_run.core.data.price_usd_per_mwh, dtype=float)
    edges = np.arange(len(price) + 1)
    fig = _new_figure(8.0, 1.9 * len(names) + 0.8)
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
        f"{_slug(case_id)}_soc.png",
        "Storage SOC against the tariff (paper Figs 7–9)",
        f"Test day {day}. SOC of the five shared storages at the end of each hour (hour 0: the "
        f"initial {st.soc_init}), one panel per method; green band: the soft SOC window "
        f"{st.soc_min}–{st.soc_max}; dotted: the tariff (right axis). "
        + _sources(ctx, case_id, day, runs),
    )


def _read_training_curve(run_dir: Path) -> tuple[np.ndarray, np.ndarray, str] | None:
    """(x, episode return, x label) of one training run: ``monitor.csv`` (per episode), else
    ``progress.csv`` (``rollout/ep_rew_mean``)."""
    import pandas as pd

    monitor = run_dir / "monitor.csv"
    if monitor.is_file():
        try:
            df = pd.read_csv(monitor, comment="#")
        except (ValueError, OSError):
            df = None
        if df is not None and "r" in df and len(df):
            return np.arange(1, len(df) + 1, dtype=float), df["r"].to_numpy(float), "episode"
    progress = run_dir / "progress.csv"
    if progress.is_file():
        try:
            df = pd.read_csv(progress)
        except (ValueError, OSError):
            return None
        y_col, x_col = "rollout/ep_rew_mean", "time/episodes"
        if y_col in df and x_col in df:
            df = df[[x_col, y_col]].dropna()
            if len(df):
                return df[x_col].to_numpy(float), df[y_col].to_numpy(float), "episode"
    return None


def _smooth(y: np.ndarray) -> np.ndarray:
    window = max(1, len(y) // 20)
    if window == 1:
        return y
    kernel = np.ones(window) / window
    head = np.cumsum(y[: window - 1]) / np.arange(1, window)
    return np.concatenate([head, np.convolve(y, kernel, mode="valid")])


def _ses_training_figure(ctx: ReportContext, case_id: str) -> Figure | None:
    scale = float(ctx.case(case_id).config.reward.scale_usd)  # reward unit, $
    curves: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for method in ctx.given_training(case_id, ("ddpg", "ddpg-per-or")):
        for root in ctx.training_dirs:
            base = root / case_id / method
            if not base.is_dir():
                continue
            for run_dir in sorted(p for p in base.glob("seed*") if p.is_dir()):
                curve = _read_training_curve(run_dir)
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
    fig = _new_figure(7.0, 4.0)
    ax = fig.add_subplot()
    for k, (method, runs) in enumerate(curves.items()):
        color = _RL_COLORS[k]
        for x, y in runs:
            ax.plot(x, y, color=color, lw=0.5, alpha=0.25)
        n = min(len(y) for _, y in runs)
        mean = np.mean([_smooth(y[:n]) for _, y in runs], axis=0)
        ax.plot(runs[0][0][:n], mean, color=color, lw=2, label=f"{method} ({len(runs)} seeds)")
    ax.set_xlabel("training episode (one day)")
    ax.set_ylabel("episode return × reward scale, $")
    ax.set_title(f"{case_id}: training curves")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return ctx.save(
        fig,
        f"{_slug(case_id)}_training.png",
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


# --------------------------------------------------------------------------- documents


def _fmt(value: Any, digits: int = 4) -> str:
    return format_number(value, digits)




def _html_table(entries: Sequence[Mapping[str, Any]]) -> str:
    columns, extra = split_columns(str(entries[0]["case"]), entries) if entries else ((), [])
    head = ["rank", "method", "family", "budget", "seeds", "days", "feasible", "runs",
            "cost $ IQM", "95% CI", "gap"] + [label for _, label in columns]  # fmt: skip
    lines = ["<table>", "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head)]
    lines.append("</tr></thead>")
    lines.append("<tbody>")
    for e in entries:
        gap = finite_number(e.get("gap"))
        feasible = "yes" if e["feasible"] else f"no ({100.0 * e['feasible_frac']:.0f} % ok)"
        cells = [
            "—" if e["rank"] is None else str(e["rank"]),
            e["method"],
            e["family"],
            e["budget"],
            str(e["n_seeds"]),
            str(e["n_days"]),
            feasible,
            run_state(e),
            _fmt(e.get("cost"), 6),
            f"[{_fmt(e.get('cost_lo'), 6)}, {_fmt(e.get('cost_hi'), 6)}]",
            "–" if gap is None else f"{100.0 * gap:+.2f} %",
        ]
        cells += [_fmt(e.get(key)) for key, _ in columns]
        lines.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    lines.append("</tbody>")
    lines.append("</table>")
    for chunk in extra:  # the case's own columns: tables narrow enough for a page
        head = ["method"] + [label for _, label in chunk]
        lines.append("<table>")
        lines.append("<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head))
        lines.append("</tr></thead><tbody>")
        for e in entries:
            cells = [e["method"]] + [_fmt(e.get(key)) for key, _ in chunk]
            lines.append(
                "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"
            )
        lines.append("</tbody></table>")
    return "\n".join(lines)


_CSS: Final[str] = (
    "body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;font-size:0.85em;margin:1em 0}"
    "th,td{border:1px solid #ccc;padding:0.25em 0.5em;text-align:right}"
    "th{background:#f3f3f3}td:nth-child(2),td:nth-child(3){text-align:left}"
    "figure{margin:1.5em 0}img{max-width:100%}figcaption{font-size:0.85em;color:#444}"
)


@dataclass(frozen=True, slots=True)
class _CaseSection:
    case_id: str
    split: str | None
    entries: list[dict[str, Any]]
    figures: list[Figure]


def best_rl_summary(entries: Sequence[Mapping[str, Any]]) -> str | None:
    """One sentence on the best-ranked RL method of a leaderboard (ranked as the table:
    feasible first, then by cost): its gap to the oracle with the 95 % interval over seeds.
    None when no RL method has a gap (no oracle rows, or no RL rows)."""
    for e in entries:
        if e.get("family") != "rl" or e.get("gap") is None:
            continue
        lo, hi = e.get("gap_lo"), e.get("gap_hi")
        interval = (
            f" [95 % CI {100.0 * lo:+.2f}, {100.0 * hi:+.2f}]"
            if lo is not None and hi is not None
            else ""
        )
        ok = e.get("feasible_frac")
        feasible = "" if ok is None else f"; within limits on {100.0 * ok:.0f} % of its days"
        return (
            f"Best RL agent: {e['method']} (budget {e.get('budget')}), gap to the oracle "
            f"{100.0 * e['gap']:+.2f} %{interval} (IQM over {e['n_seeds']} seed(s) of the "
            f"per-seed mean over {e['n_days']} day(s){feasible})."
        )
    return None


def _markdown(
    header: Mapping[str, str],
    sections: Sequence[_CaseSection],
    missing: Mapping[str, list[str]],
    answer: str = "",
) -> str:
    from gridbench.benchmarks.leaderboard import render

    lines = ["# gridbench report", ""]
    lines += [*answer.splitlines(), ""] if answer else []
    lines += [f"- {k}: {v}" for k, v in header.items()]
    lines.append("")
    for s in sections:
        lines += [f"## {s.case_id}", "", f"### Leaderboard ({s.split or 'all splits'})", ""]
        table = render(s.entries, "md").splitlines()
        if table and table[0].startswith("## "):
            table = table[1:]
        while table and not table[0].strip():
            table = table[1:]
        lines += table
        lines.append("")
        if (best := best_rl_summary(s.entries)) is not None:
            lines += [f"**{best}**", ""]
        if s.figures:
            lines += ["### Figures", ""]
            for f in s.figures:
                lines += [f"#### {f.title}", ""]
                if f.table is not None:
                    head, rows = f.table
                    lines.append("| " + " | ".join(head) + " |")
                    lines.append("|" + "|".join("---" for _ in head) + "|")
                    lines += ["| " + " | ".join(r) + " |" for r in rows]
                else:
                    lines.append(f"![{f.title}]({f.file})")
                lines += ["", f"*{f.caption}*", ""]
    lines += ["## Missing", ""]
    if any(missing.values()):
        for case_id, notes in missing.items():
            for text in notes:
                lines.append(f"- {case_id}: {text}")
    else:
        lines.append("Nothing: every figure and method is present.")
    return "\n".join(lines) + "\n"


def _html(
    header: Mapping[str, str],
    sections: Sequence[_CaseSection],
    missing: Mapping[str, list[str]],
    answer: str = "",
) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><title>gridbench report</title>',
        f"<style>{_CSS}</style></head>",
        "<body>",
        "<h1>gridbench report</h1>",
        answer,
        "<ul>" + "".join(f"<li>{e(k)}: {e(v)}</li>" for k, v in header.items()) + "</ul>",
    ]
    for s in sections:
        parts.append(f'<h2 id="{e(_slug(s.case_id))}">{e(s.case_id)}</h2>')
        parts.append(f"<h3>Leaderboard ({e(s.split or 'all splits')})</h3>")
        parts.append(_html_table(s.entries) if s.entries else "<p>no results to rank</p>")
        parts.append(
            "<p>IQM over seeds of each seed's mean over the days, 95 % stratified-bootstrap "
            "interval; gap against the oracle on the same day; infeasible methods rank after "
            "feasible ones; the oracle is a bound, not ranked.</p>"
        )
        if (best := best_rl_summary(s.entries)) is not None:
            parts.append(f"<p><b>{e(best)}</b></p>")
        if s.figures:
            parts.append("<h3>Figures</h3>")
        for f in s.figures:
            if f.table is not None:
                head, rows = f.table
                body = "".join(
                    "<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows
                )
                content = (
                    "<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in head)
                    + f"</tr></thead><tbody>{body}</tbody></table>"
                )
            else:
                content = f'<img src="{e(f.file)}" alt="{e(f.title)}">'
            parts.append(
                f"<figure>{content}"
                f"<figcaption><b>{e(f.title)}.</b> {e(f.caption)}</figcaption></figure>"
            )
    parts.append("<h2>Missing</h2>")
    items = [f"<li>{e(c)}: {e(t)}</li>" for c, notes in missing.items() for t in notes]
    parts.append(f"<ul>{''.join(items)}</ul>" if items else "<p>Nothing.</p>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- building


def _registered_methods(case_id: str) -> list[str]:
    from gridbench.cases.registry import make_case, method_specs

    try:
        case = make_case(case_id)
    except ValueError:
        return []
    names = []
    for spec in method_specs():
        try:
            if spec.make().supports(case):
                names.append(spec.name)
        except Exception:
            continue
    return names


def _store_notes(ctx: ReportContext, store: Any, case_ids: Iterable[str]) -> None:
    from gridbench.cases.contracts import MethodFamily

    for case_id in case_ids:
        rows = ctx.frame[ctx.frame["case"] == case_id]
        present = set(rows["method"])
        families = set(rows["family"].dropna()) if "family" in rows else set()
        if MethodFamily.RL.value not in families:
            ctx.note(
                case_id,
                "no RL rows yet, so no learned policy in the table or the figures (run e.g. "
                "`gridbench run --method ddpg-per-or`)",
            )
        if "oracle" not in present:
            ctx.note(case_id, "no oracle rows: the gap column is empty")
        never = [m for m in _registered_methods(case_id) if m not in present]
        if never:
            ctx.note(case_id, f"registered methods without rows: {', '.join(never)}")
        if "status" in rows:
            bad = rows[rows["status"].fillna("") != "ok"]
            for (method, status), n in bad.groupby(["method", "status"]).size().items():
                ctx.note(case_id, f"{method}: {n} day(s) with status {status} (no metrics)")
    with contextlib.suppress(Exception):
        for failure in store.failures():
            u = failure.unit
            first = failure.error.splitlines()[0] if failure.error else "unknown error"
            ctx.note(u.case, f"unit {u.method} / seed {u.seed} / {u.budget} failed: {first}")


def _training_dirs(results: Path) -> tuple[Path, ...]:
    """Where the report looks for training runs: the results' own ``training/`` (what ``run``
    writes there) and the shipped agents (they carry their training logs), never the
    checkout's other runs; figures draw only methods that have rows in the results."""
    dirs = [results / "training"]
    with contextlib.suppress(Exception):
        from gridbench.rl_agents.sb3_methods import agents_dir

        dirs.append(agents_dir())
    out: list[Path] = []
    for d in dirs:
        if d.resolve() not in [o.resolve() for o in out]:
            out.append(d)
    return tuple(out)


def _report_files(out: Path) -> frozenset[str] | None:
    """The names a previous report in ``out`` wrote (its manifest; the marker included), or
    ``None`` when ``out`` holds no gridbench report manifest."""
    import json

    marker = out / REPORT_MARKER
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("files"), list):
        files = {str(f) for f in data["files"] if isinstance(f, str)}
    else:  # the first marker format, a line of text: report.md, report.html and PNG figures
        files = set(_LEGACY_REPORT_FILES) | {
            p.name for p in out.iterdir() if p.is_file() and p.suffix == ".png"
        }
    return frozenset(files | {REPORT_MARKER})


def check_report_dir(out: Path) -> None:
    """Refuse an ``--out`` that is a file, or a directory holding anything a gridbench report
    did not write (it would be replaced as a whole)."""
    if str(out) in ("", "."):
        raise ReportError(
            f"--out {str(out)!r} is the current directory; valid: a new directory or one a "
            "previous `gridbench report` wrote"
        )
    if out.exists() and not out.is_dir():
        raise ReportError(f"--out {str(out)!r} is a file; valid: a directory")
    if not out.is_dir():
        return
    names = sorted(p.name for p in out.iterdir())
    if not names:
        return
    owned = _report_files(out)
    if owned is None:
        raise ReportError(
            f"--out {str(out)!r} exists and is not a gridbench report directory (no "
            f"{REPORT_MARKER} manifest); choose a new or empty directory"
        )
    foreign = [n for n in names if n not in owned or (out / n).is_dir()]
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        shown = ", ".join(foreign[:3]) + more
        raise ReportError(
            f"--out {str(out)!r} holds files gridbench report did not write ({shown}); a "
            "report replaces its directory, so choose a new or empty directory or move them"
        )


def _write_manifest(directory: Path) -> None:
    """Write the manifest listing every file in ``directory`` (what this report wrote)."""
    import json

    files = sorted(p.name for p in directory.iterdir() if p.name != REPORT_MARKER)
    text = json.dumps({"written_by": "gridbench report", "files": files}, indent=1) + "\n"
    (directory / REPORT_MARKER).write_text(text, encoding="utf-8")


def _swap_in(tmp: Path, out: Path) -> None:
    """Replace ``out`` by ``tmp`` (two renames; the old report is removed afterwards)."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        old.rmdir()
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build_report(
    results: Path | str,
    out: Path | str = DEFAULT_REPORT_DIR,
    *,
    split: str = "test",
    training_dirs: Sequence[Path | str] | None = None,
) -> ReportResult:
    """Write the report of the store under ``results`` into the directory ``out`` (replaced
    as a whole; see the module docstring). Registries must be loaded. Raises
    :class:`ReportError` / the store's ``ResultsNotFound`` (one line) when there is nothing
    to report or ``out`` is not a report directory."""
    import gridbench.benchmarks.figures  # noqa: F401  (registers the other cases' figures)
    from gridbench.benchmarks.answer import build_answer, render_html, render_markdown
    from gridbench.benchmarks.leaderboard import build
    from gridbench.benchmarks.provenance import git_commit
    from gridbench.benchmarks.store import ResultsStore

    results, out = Path(results), Path(out)
    if results.exists() and not results.is_dir():
        raise ReportError(f"--results {str(results)!r} is a file; valid: a directory")
    store = ResultsStore(results)
    frame = store.frame()  # ResultsNotFound: missing directory or no rows
    if frame.empty:
        raise ReportError(f"results directory {str(results)!r} holds no result rows")
    check_report_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp's 0700 would follow the directory through the rename
        ctx = ReportContext(
            results=results,
            frame=frame,
            entries=[],
            figure_dir=tmp,
            training_dirs=tuple(Path(d) for d in training_dirs)
            if training_dirs is not None
            else _training_dirs(results),
        )
        sections: list[_CaseSection] = []
        case_ids = sorted(str(c) for c in frame["case"].dropna().unique())
        failures = store.failures()
        for case_id in case_ids:
            entries = build(frame, case=case_id, split=split, failures=failures)
            case_split: str | None = split
            if not entries:
                entries = build(frame, case=case_id, split=None, failures=failures)
                case_split = None
                ctx.note(case_id, f"no {split} rows: the leaderboard mixes every split")
            ctx.split[case_id] = case_split
            ctx.entries += entries
        _store_notes(ctx, store, case_ids)
        for case_id in case_ids:
            figures: list[Figure] = []
            for fn in (cost_vs_decision_time, budget_curves, CASE_FIGURES.get(case_id)):
                if fn is None:
                    continue
                try:
                    figures += fn(ctx, case_id)
                except Exception as exc:  # a broken figure never loses the report
                    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    ctx.note(case_id, f"figure {fn.__name__} failed: {type(exc).__name__}: {first}")
            if case_id not in CASE_FIGURES:
                ctx.note(case_id, "no case-specific figures registered (report.case_figures)")
            sections.append(
                _CaseSection(case_id, ctx.split[case_id], ctx.case_entries(case_id), figures)
            )
        header = {
            "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "results": str(results),
            "rows": str(len(frame)),
            "cases": ", ".join(case_ids),
            "git commit": git_commit(),
        }
        missing = {c: ctx.notes.get(c, []) for c in case_ids}
        answer = build_answer(frame, ctx.entries)
        md, page = render_markdown(answer), render_html(answer)
        (tmp / "report.md").write_text(_markdown(header, sections, missing, md), encoding="utf-8")
        (tmp / "report.html").write_text(_html(header, sections, missing, page), encoding="utf-8")
        _write_manifest(tmp)
        _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    figures_all = tuple(f for s in sections for f in s.figures)
    notes = tuple(f"{c}: {t}" for c, ts in missing.items() for t in ts)
    return ReportResult(out, out / "report.md", out / "report.html", figures_all, notes)
