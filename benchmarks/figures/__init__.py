"""Case-specific report figures, one module per case family.

Each public submodule registers its figure functions with
:func:`gridbench.benchmarks.report.case_figures` when imported; ``build_report`` imports this
package, which imports every public submodule (no hand-kept list). The SES-carbon figures
predate this package and live in :mod:`gridbench.benchmarks.report` itself.
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
