"""Report figures: the ones drawn for every case and one module per case family.

:mod:`.cost_vs_time`, :mod:`.budget_curves`, :mod:`.tuning` and :mod:`.crossover` are drawn
for every case by ``build_report``;
:mod:`.ppo_training` is a figure the SGLS module draws. Each case family's module
(:mod:`.ses_carbon`, :mod:`.loss_arbitrage`, :mod:`.sgls`) registers its figure function with
:func:`gridbench.benchmarks.report.registry.case_figures` when imported; ``build_report``
imports this package, which imports every public submodule (no hand-kept list). A figure
module imports only public names of the report's modules.
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
