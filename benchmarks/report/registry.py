"""The per-case figure registry: :func:`case_figures` fills :data:`CASE_FIGURES`.

A case's figure function is ``fn(ctx: ReportContext, case_id: str) -> list[Figure]``; it saves
its PNGs with :meth:`~gridbench.benchmarks.report.context.ReportContext.save` and records what
it had to leave out with :meth:`~gridbench.benchmarks.report.context.ReportContext.note`. The
modules of :mod:`gridbench.benchmarks.report.figures` register themselves when imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gridbench.benchmarks.report.context import ReportContext

__all__ = ["CASE_FIGURES", "Figure", "FigureFunction", "case_figures"]

FigureFunction = Callable[["ReportContext", str], "list[Figure]"]
#: Figure functions per case id (filled by :func:`case_figures`).
CASE_FIGURES: dict[str, FigureFunction] = {}


@dataclass(frozen=True, slots=True)
class Figure:
    """A saved figure (its PNG file name, relative to the report) or a table (``file`` empty,
    ``table`` = header and rows of text cells), with its title and caption."""

    file: str
    title: str
    caption: str
    table: tuple[tuple[str, ...], tuple[tuple[str, ...], ...]] | None = None


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
