"""gridbench.solvers: optimization-based methods and baselines.

Importing the package imports every public submodule (names not starting with ``_``), so that
each method module's ``@register_method`` runs: no hand-kept list of methods. Solver modules
import their heavy dependencies (Pyomo, cvxpy) inside functions, so importing is fast.
"""

from __future__ import annotations

import importlib
import pkgutil

__all__ = ["SUBMODULES"]

#: Public submodules imported (and thereby registered) with the package.
SUBMODULES: tuple[str, ...] = tuple(
    info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")
)

for _name in SUBMODULES:
    importlib.import_module(f"{__name__}.{_name}")
