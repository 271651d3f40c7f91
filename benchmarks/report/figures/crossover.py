"""The crossover study in a case's section: for every axis swept for the case (``gridbench
sweep``; ``sweeps/`` beside or inside the results directory), the gap to the oracle against
the condition (:func:`gridbench.benchmarks.crossover.figure`) and its table with the crossing
points."""

from __future__ import annotations

from pathlib import Path

from gridbench.benchmarks.report.context import ReportContext
from gridbench.benchmarks.report.plotting import case_slug
from gridbench.benchmarks.report.registry import Figure

__all__ = ["crossover_figures", "sweep_dirs"]


def sweep_dirs(results: Path) -> list[Path]:
    """Where sweeps of a report's results may be: ``<results>/sweeps``, ``<results>/../sweeps``."""
    dirs = [results / "sweeps", results.parent / "sweeps"]
    return [d for i, d in enumerate(dirs)
            if d.is_dir() and d.resolve() not in [e.resolve() for e in dirs[:i] if e.is_dir()]]


def crossover_figures(ctx: ReportContext, case_id: str) -> list[Figure]:
    """The crossover figure and table of every axis swept for ``case_id``."""
    from gridbench.benchmarks.crossover import (
        build_crossover,
        figure,
        render_markdown,
        retrained_beside,
        table_rows,
    )
    from gridbench.benchmarks.sweep import Axis, condition_dirs

    out: list[Figure] = []
    for sweep in sweep_dirs(ctx.results):
        for axis in Axis:
            if not condition_dirs(sweep, axis):
                continue
            again = retrained_beside(sweep)
            try:
                study = build_crossover(sweep, case_id, axis, retrained=again)
            except ValueError:
                continue  # this case was not swept along the axis
            name = f"{case_slug(case_id)}_crossover_{axis.value}.png"
            sentences = [line[2:] for line in render_markdown(study).splitlines()
                         if line.startswith("- ")]
            source = (f"python -m gridbench.benchmarks.crossover --results {sweep} "
                      f"--case {case_id} --axis {axis.value}"
                      + (f" --retrained {again}" if again else ""))
            out.append(ctx.save(
                figure(study), name, f"Crossover: gap to the oracle against {axis.value}",
                "Each method on the same test days at every level (IQM over seeds of the mean "
                "gap, band = 95 % interval from resampling days and seeds); RL agents trained "
                "once at the nominal level, a '(retrained)' agent at each level. "
                f"{' '.join(sentences)} Source: {source}",
            ))
            header, rows = table_rows(study)
            out.append(ctx.table(header, rows, f"Crossover table ({axis.value})",
                                 f"Gap to the oracle [95 % interval] per level. {source}"))
    return out
