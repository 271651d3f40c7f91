"""gridbench.rl_agents: learned methods (Stable-Baselines3 algorithms and the papers' variants).

Importing the package imports every public submodule (names not starting with ``_``), so that
each method module's ``@register_method`` runs: no hand-kept list of methods. The public
modules import neither torch nor Stable-Baselines3 (listing methods stays fast); the SB3
subclasses live in ``_per_or_sb3`` and are imported when a method trains or loads an agent.
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
