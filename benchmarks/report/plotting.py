"""What every report figure shares: one colour per method, one marker per family, a new
matplotlib figure (Agg canvas, no pyplot state) and the case's slug in file names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

__all__ = [
    "CURVE_COLORS",
    "FAMILY_MARKERS",
    "METHOD_COLORS",
    "RL_COLORS",
    "case_slug",
    "method_color",
    "new_figure",
]

#: One colour per built-in method, the same in every figure (red, ``#d62728``, is kept for
#: references such as the upstream grid); other methods take :data:`RL_COLORS` in turn.
METHOD_COLORS: Final[dict[str, str]] = {
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
    "ppo-kl-fair": "#6baed6",
    "ppo-clip-kl-fair": "#a55194",
}
#: Marker of each method family in the cost-vs-time scatter.
FAMILY_MARKERS: Final[dict[str, str]] = {
    "baseline": "s",
    "solver": "D",
    "rl": "o",
    "bound": "*",
}
#: Colours taken in turn by methods without one of their own, and by the curves of one figure.
RL_COLORS: Final[tuple[str, ...]] = (
    "#1f77b4", "#9467bd", "#17becf", "#8c564b", "#393b79", "#e377c2", "#637939", "#843c39",
)
#: matplotlib's tab10 without grey: one colour per curve of the budget figure.
CURVE_COLORS: Final[tuple[str, ...]] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
    "#17becf",
)


def method_color(method: str, k: int = 0) -> str:
    """The colour of ``method``: its own in :data:`METHOD_COLORS`, else the ``k``-th of
    :data:`RL_COLORS` (cyclic)."""
    if method in METHOD_COLORS:
        return METHOD_COLORS[method]
    return RL_COLORS[k % len(RL_COLORS)]


def new_figure(width: float, height: float) -> MplFigure:
    """A matplotlib figure of ``width`` × ``height`` inches, constrained layout, drawn on the
    Agg canvas when saved (no pyplot state)."""
    from matplotlib.figure import Figure as MplFigure

    return MplFigure(figsize=(width, height), layout="constrained")


def case_slug(case_id: str) -> str:
    """``case_id`` with every non-alphanumeric character as ``_``: the prefix of the case's
    figure files and its HTML anchor."""
    return "".join(ch if ch.isalnum() else "_" for ch in case_id).strip("_")
