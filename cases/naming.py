"""One wording for unknown names everywhere (grids, cases, methods, splits)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["unknown_name_message"]


def unknown_name_message(kind: str, name: object, known: Iterable[str]) -> str:
    """``unknown grid 'ieee3'; did you mean 'ieee33'? (known: feeder38, ieee30, ieee33)``."""
    known = tuple(sorted(known))
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {name!r}{hint} (known: {', '.join(known) or 'none'})"
