"""Imports run one way: ``api → benchmarks → solvers, rl_agents → cases`` (architecture §1).

Every ``import`` / ``from … import`` of a ``gridbench`` module anywhere in a package's source
(module level or inside a function) is read with :mod:`ast` and checked against the layers the
package may use."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Source folder → (its package, the gridbench packages it must not import).
FORBIDDEN: dict[str, tuple[str, frozenset[str]]] = {
    "cases": ("gridbench.cases", frozenset({"benchmarks", "solvers", "rl_agents", "api"})),
    "solvers": ("gridbench.solvers", frozenset({"benchmarks", "rl_agents", "api"})),
    "rl_agents": ("gridbench.rl_agents", frozenset({"benchmarks", "solvers", "api"})),
    "benchmarks": ("gridbench.benchmarks", frozenset({"api"})),
}


def gridbench_imports(source: str, package: str) -> list[tuple[int, str]]:
    """``(line, module)`` of every gridbench module ``source`` imports (relative imports
    resolved against ``package``)."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("gridbench")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if module == "gridbench":  # from gridbench import x: x is the package
                out += [(node.lineno, f"gridbench.{a.name}") for a in node.names]
            elif module.startswith("gridbench."):
                out.append((node.lineno, module))
    return out


def test_the_reader_sees_every_form_of_import():
    src = ("import gridbench.benchmarks.cli\nfrom gridbench.solvers import x\n"
           "def f():\n    from gridbench import rl_agents\n    from . import y\n")
    assert gridbench_imports(src, "gridbench.cases") == [
        (1, "gridbench.benchmarks.cli"), (2, "gridbench.solvers"), (4, "gridbench.rl_agents"),
        (5, "gridbench.cases")]


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_no_import_runs_the_wrong_way(folder):
    package, forbidden = FORBIDDEN[folder]
    wrong = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        rel = path.relative_to(ROOT / folder).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        module_pkg = ".".join([package, *parts[:-1]]) if path.name != "__init__.py" else \
            ".".join([package, *parts])
        for line, module in gridbench_imports(path.read_text(encoding="utf-8"), module_pkg):
            layer = module.split(".")[1] if module.count(".") else ""
            if layer in forbidden:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert wrong == []
