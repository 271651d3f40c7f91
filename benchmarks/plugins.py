"""Discovery of every case and method: built-ins by walking packages, plugins by entry points.

:func:`load_all` fills the registries of :mod:`gridbench.cases.registry` from

* the built-in method modules — every public submodule of ``gridbench.solvers`` and
  ``gridbench.rl_agents`` (``pkgutil``; no hand-kept list), whose ``@register_method`` runs on
  import. RL modules import SB3/torch inside their methods, so listing stays fast;
* the built-in case subpackages (:func:`~gridbench.cases.registry.discover_builtin_cases`);
* the entry-point groups ``gridbench.methods`` (``name = "package.module:MethodClass"``) and
  ``gridbench.cases`` (``case-id-v0 = "package.module:CaseClass"``) of installed distributions.
  A ``gridbench.methods`` entry point may also name a bare module (``name = "package.module"``):
  it is imported for what its decorators register — ``@register_method`` classes, and
  ``@register_planner`` controllers that implement a built-in planning method (``oracle``,
  ``mpc`` …) on a plugin case. Methods registered by a plugin's import are attributed to the
  plugin's distribution (``source``), whichever form its entry point has.

Plugins are validated at load, like pluggy validates hook implementations: a method entry point
must import and resolve, the object must satisfy the
:class:`~gridbench.cases.contracts.Method` contract (class attributes, callables whose
signatures accept the harness's arguments) and its name must be new. A case entry point must
have a well-formed, new id and an importable module; its attribute is resolved lazily by
``make_case`` (cases may import heavy packages). A broken plugin yields one
:class:`PluginProblem` — one warning line naming the group, the entry point, the distribution
and the problem — and never hides the built-ins or the other plugins. A built-in module that
fails to import is reported the same way (group ``builtin``).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import pkgutil
import warnings
from dataclasses import dataclass
from importlib import metadata
from typing import Final

from gridbench.cases.contracts import MethodContractError, method_problems
from gridbench.cases.registry import (
    BUILTIN,
    METHODS,
    CaseSpec,
    MethodSpec,
    RegistryError,
    case_ids,
    case_spec,
    discover_builtin_cases,
    method_specs,
    register_case,
    register_method,
    reregister_methods,
)

__all__ = [
    "BUILTIN_METHOD_PACKAGES",
    "CASE_GROUP",
    "METHOD_GROUP",
    "PLUGIN_ERRORS",
    "PluginProblem",
    "PluginWarning",
    "import_builtin_methods",
    "load_all",
    "load_case_plugins",
    "load_method_plugins",
    "one_line",
]

#: Entry-point group of third-party methods.
METHOD_GROUP: Final[str] = "gridbench.methods"
#: Entry-point group of third-party cases.
CASE_GROUP: Final[str] = "gridbench.cases"
#: Packages whose public submodules hold the built-in methods.
BUILTIN_METHOD_PACKAGES: Final[tuple[str, ...]] = ("gridbench.solvers", "gridbench.rl_agents")


#: What a plugin's code may raise without taking the command down: any exception, and
#: ``SystemExit`` (a plugin calling ``sys.exit`` at import). ``KeyboardInterrupt`` still stops.
PLUGIN_ERRORS: Final[tuple[type[BaseException], ...]] = (Exception, SystemExit)


class PluginWarning(UserWarning):
    """A plugin (or built-in module) that could not be loaded; the others still are."""


@dataclass(frozen=True, slots=True)
class PluginProblem:
    """Why one plugin or built-in module was not loaded.

    Attributes:
        group: entry-point group, or ``builtin`` for a module of this repository.
        name: entry-point name (or module name for built-ins).
        value: entry-point value ``module:attr`` (empty for built-ins).
        dist: distribution providing the entry point (``?`` when unknown).
        problem: one-line description.
    """

    group: str
    name: str
    value: str
    dist: str
    problem: str

    def __str__(self) -> str:
        if self.group == "builtin":
            return f"builtin module {self.name}: {self.problem}"
        return (
            f"{self.group} plugin {self.name!r} = {self.value!r} from {self.dist}: {self.problem}"
        )


def one_line(exc: BaseException) -> str:
    """``Type: message`` of ``exc`` on one line (whitespace collapsed, at most 300 characters
    of message): how a plugin's failure is reported."""
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def import_builtin_methods() -> tuple[PluginProblem, ...]:
    """Import every public module under :data:`BUILTIN_METHOD_PACKAGES` (recursively; names
    starting with ``_`` are skipped). Returns a problem per module that failed to import."""
    problems: list[PluginProblem] = []

    def report(module: str, exc: BaseException) -> None:
        problems.append(PluginProblem("builtin", module, "", "gridbench", one_line(exc)))

    for package_name in BUILTIN_METHOD_PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except PLUGIN_ERRORS as exc:  # a broken package must not hide the other one
            report(package_name, exc)
            continue
        for info in pkgutil.walk_packages(
            package.__path__,
            prefix=f"{package_name}.",
            onerror=lambda name: report(name, ImportError("cannot walk package")),
        ):
            if any(part.startswith("_") for part in info.name.split(".")):
                continue
            try:
                # imported once per process: what a sandbox dropped since is registered again
                reregister_methods(importlib.import_module(info.name))
            except PLUGIN_ERRORS as exc:
                report(info.name, exc)
    return tuple(problems)


def _dist_name(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "?"
    version = getattr(dist, "version", None)
    return f"{dist.name} {version}" if version else str(dist.name)


def _dist_source(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return str(dist.name) if dist is not None else f"entry point {ep.name}"


def _claim_new_methods(before: dict[str, MethodSpec], source: str) -> None:
    """Attribute to ``source`` the methods that importing a plugin registered with the default
    source (a ``@register_method`` in the plugin's own modules)."""
    after = METHODS.snapshot()
    changed = False
    for name, spec in after.items():
        if name in before or spec.source != BUILTIN or spec.entry_point.startswith("gridbench."):
            continue
        after[name] = dataclasses.replace(spec, source=source)
        changed = True
    if changed:
        METHODS.restore(after)


def load_method_plugins() -> tuple[PluginProblem, ...]:
    """Load and validate every ``gridbench.methods`` entry point; register the good ones."""
    problems: list[PluginProblem] = []
    for ep in metadata.entry_points(group=METHOD_GROUP):

        def problem(text: str, ep: metadata.EntryPoint = ep) -> None:
            problems.append(PluginProblem(METHOD_GROUP, ep.name, ep.value, _dist_name(ep), text))

        source = _dist_source(ep)
        before = METHODS.snapshot()
        if not ep.attr:  # a bare module: imported for what its decorators register
            try:
                importlib.import_module(ep.module)
            except PLUGIN_ERRORS as exc:
                problem(f"module does not import ({one_line(exc)})")
                continue
            finally:
                _claim_new_methods(before, source)
            continue
        try:
            obj = ep.load()
        except PLUGIN_ERRORS as exc:
            problem(f"entry point does not resolve ({one_line(exc)})")
            continue
        finally:
            _claim_new_methods(before, source)
        issues = method_problems(obj)
        if issues:
            problem(f"does not satisfy the Method contract: {'; '.join(issues)}")
            continue
        existing = METHODS.snapshot().get(obj.name)
        if existing is not None and existing.cls is not obj:
            where = (
                "builtin" if existing.source == "builtin" else f"plugin from {existing.source!r}"
            )
            problem(
                f"duplicate method name {obj.name!r}, already registered by {where} "
                f"({existing.entry_point}); plugin ignored"
            )
            continue
        if existing is not None:  # the same class already registered (by its decorator)
            continue
        try:
            register_method(obj, source=source)
        except (RegistryError, MethodContractError) as exc:
            problem(one_line(exc))
    return tuple(problems)


def load_case_plugins() -> tuple[PluginProblem, ...]:
    """Validate and register every ``gridbench.cases`` entry point (lazily: the module must be
    importable, its attribute is resolved by ``make_case``)."""
    problems: list[PluginProblem] = []
    for ep in metadata.entry_points(group=CASE_GROUP):

        def problem(text: str, ep: metadata.EntryPoint = ep) -> None:
            problems.append(PluginProblem(CASE_GROUP, ep.name, ep.value, _dist_name(ep), text))

        try:
            found = importlib.util.find_spec(ep.module)
        except PLUGIN_ERRORS as exc:
            found = None
            detail = f" ({one_line(exc)})"
        else:
            detail = ""
        if found is None:
            problem(f"entry point does not resolve: no module {ep.module!r}{detail}")
            continue
        source = _dist_source(ep)
        try:
            register_case(ep.name, ep.value, source=source)
        except RegistryError as exc:
            problem(one_line(exc))
    return tuple(problems)


def load_all(
    *, warn: bool = True
) -> tuple[tuple[CaseSpec, ...], tuple[MethodSpec, ...], tuple[PluginProblem, ...]]:
    """Discover built-ins and plugins; return ``(cases, methods, problems)``.

    Built-ins are registered first, so a plugin can never take a built-in's name. Idempotent:
    calling it again registers nothing new and reports the same problems. With ``warn=True``
    each problem is also emitted as one :class:`PluginWarning`.
    """
    problems: list[PluginProblem] = []
    problems += import_builtin_methods()
    problems += [
        PluginProblem("builtin", module, "", "gridbench", text)
        for module, text in discover_builtin_cases()
    ]
    problems += load_method_plugins()
    problems += load_case_plugins()
    if warn:
        for p in problems:
            warnings.warn(str(p), PluginWarning, stacklevel=2)
    cases = tuple(case_spec(case_id) for case_id in case_ids())
    return cases, method_specs(), tuple(problems)
