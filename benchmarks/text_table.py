"""Plain-text tables for the terminal: left-aligned columns under a header, no trailing
spaces (``gridbench cases``/``methods``, the dry run, the run summary)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["aligned"]


def aligned(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """``header`` and ``rows`` as left-aligned columns two spaces apart, one line each (no
    final newline)."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )
