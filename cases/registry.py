"""The case and method registries (Gymnasium-style, self-filling, no hand-kept lists).

Cases
    ``register_case("ses-carbon-ieee33-v0", entry_point="gridbench.cases.ses_carbon:SesCarbonCase",
    **kwargs)`` records a frozen :class:`CaseSpec`; the entry point's module is imported only by
    :func:`make_case` (lazy, like ``gymnasium.make``). Ids are ``name-vN``: lower-case letters and
    digits in ``-``-separated words, then the version; changed data or physics ⇒ new version.
    A built-in case subpackage ``cases/<name>/__init__.py`` registers its ids and imports
    nothing heavy; :func:`discover_builtin_cases` imports those packages. Third-party cases
    come from the ``gridbench.cases`` entry-point group (``gridbench.benchmarks.plugins``).

Methods
    ``@register_method`` on a class with class attributes ``name`` and ``family`` records a
    frozen :class:`MethodSpec` when its module is imported (built-ins live in ``solvers/`` and
    ``rl_agents/``; third parties use the ``gridbench.methods`` entry-point group). The class is
    checked against the :class:`~gridbench.cases.contracts.Method` contract at registration.

Both registries reject a second registration of a name from a different source at once, naming
both sources (re-registering the identical spec, as on a module re-import, is a no-op), and an
unknown name raises :class:`UnknownNameError` with one line:
``unknown method 'ddgp'; did you mean 'ddpg'? (known: ddpg, idle, mpc)``.

This module never imports a method (import direction: methods → cases).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
import types
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar, overload

from gridbench.cases.contracts import (
    Case,
    Method,
    MethodContractError,
    MethodFamily,
    method_problems,
)
from gridbench.cases.naming import unknown_name_message

__all__ = [
    "BUILTIN",
    "CASES",
    "CASE_ID_RE",
    "ENTRY_POINT_RE",
    "METHODS",
    "CaseSpec",
    "DuplicateNameError",
    "EntryPointError",
    "MalformedIdError",
    "MethodSpec",
    "Registry",
    "RegistryError",
    "UnknownNameError",
    "case_ids",
    "case_spec",
    "discover_builtin_cases",
    "get_method",
    "load_entry_point",
    "make_case",
    "make_method",
    "method_names",
    "method_specs",
    "origin",
    "parse_case_id",
    "register_case",
    "register_method",
    "reregister_methods",
    "sandbox",
]

#: Source of everything registered from this repository.
BUILTIN: Final[str] = "builtin"
#: ``name-vN``: lower-case alphanumeric words joined by ``-``, then ``-v`` and the version.
CASE_ID_RE: Final[re.Pattern[str]] = re.compile(
    r"^(?P<name>[a-z0-9]+(?:-[a-z0-9]+)*)-v(?P<version>0|[1-9][0-9]*)$"
)
#: ``package.module:attribute`` (the attribute may be dotted, e.g. ``Outer.Inner``).
ENTRY_POINT_RE: Final[re.Pattern[str]] = re.compile(
    r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$"
)


class RegistryError(ValueError):
    """Base of registry errors."""


class MalformedIdError(RegistryError):
    """A case id, method name or entry point that does not follow the naming rules."""


class DuplicateNameError(RegistryError):
    """A name registered twice from different sources."""


class UnknownNameError(RegistryError):
    """A name that is not registered (the message suggests the closest known one)."""


class EntryPointError(RegistryError):
    """An entry point that cannot be imported or resolved."""


def parse_case_id(case_id: str) -> tuple[str, int]:
    """``(name, version)`` of a case id; :class:`MalformedIdError` if it is not ``name-vN``."""
    m = CASE_ID_RE.match(case_id) if isinstance(case_id, str) else None
    if m is None:
        raise MalformedIdError(
            f"malformed case id {case_id!r}; ids look like 'ses-carbon-ieee33-v0' "
            "(lower-case words joined by '-', then -v<version>)"
        )
    return m["name"], int(m["version"])


def _check_entry_point(entry_point: object) -> str:
    if not isinstance(entry_point, str) or not ENTRY_POINT_RE.match(entry_point):
        raise MalformedIdError(
            f"malformed entry point {entry_point!r}; expected 'package.module:attribute'"
        )
    return entry_point


def load_entry_point(entry_point: str) -> Any:
    """Import ``package.module`` and return ``attribute`` of ``"package.module:attribute"``."""
    module_name, _, attr = _check_entry_point(entry_point).partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise EntryPointError(
            f"entry point {entry_point!r}: cannot import {module_name!r} ({exc})"
        ) from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise EntryPointError(
                f"entry point {entry_point!r}: {module_name!r} has no attribute {attr!r}"
            ) from None
    return obj


@dataclass(frozen=True, slots=True)
class CaseSpec:
    """A registered case: id, lazy entry point, constructor kwargs and source."""

    id: str
    entry_point: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    source: str = BUILTIN

    def __post_init__(self) -> None:
        parse_case_id(self.id)
        _check_entry_point(self.entry_point)
        object.__setattr__(self, "kwargs", types.MappingProxyType(dict(self.kwargs)))

    @property
    def name(self) -> str:
        return parse_case_id(self.id)[0]

    @property
    def version(self) -> int:
        return parse_case_id(self.id)[1]

    def make(self, **overrides: Any) -> Case:
        """Import the entry point and call it with the registered kwargs (``overrides`` win).
        The object made must carry this spec's ``id``."""
        factory = load_entry_point(self.entry_point)
        if not callable(factory):
            raise EntryPointError(
                f"case {self.id!r}: entry point {self.entry_point!r} is not callable"
            )
        case = factory(**{**self.kwargs, **overrides})
        made_id = getattr(case, "id", None)
        if made_id != self.id:
            raise EntryPointError(
                f"case {self.id!r}: entry point {self.entry_point!r} made a case with id "
                f"{made_id!r}"
            )
        return case


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """A registered method: name, family, the class, where it is defined and its source
    (``builtin`` or the distribution name of a plugin)."""

    name: str
    family: MethodFamily
    cls: type = field(repr=False)
    entry_point: str = ""
    source: str = BUILTIN

    def make(self) -> Method:
        """A new instance of the method."""
        return self.cls()

    def same_registration(self, other: MethodSpec) -> bool:
        """True for a re-registration of the same class (same place, same source)."""
        return (
            self.name == other.name
            and self.source == other.source
            and self.entry_point == other.entry_point
        )


S = TypeVar("S", CaseSpec, MethodSpec)


class Registry(Generic[S]):
    """A name → frozen spec table with duplicate rejection and did-you-mean lookups."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._specs: dict[str, S] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __len__(self) -> int:
        return len(self._specs)

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._specs))

    def specs(self) -> tuple[S, ...]:
        return tuple(self._specs[n] for n in self.names())

    def add(self, name: str, spec: S, *, same: Callable[[S, S], bool]) -> S:
        """Record ``spec`` under ``name``; a different existing one raises
        :class:`DuplicateNameError`, the same one (``same(old, new)``) is replaced."""
        old = self._specs.get(name)
        if old is not None and not same(old, spec):
            raise DuplicateNameError(
                f"duplicate {self.kind} {name!r}: {origin(spec)} clashes with the "
                f"registered {origin(old)}"
            )
        self._specs[name] = spec
        return spec

    def get(self, name: str) -> S:
        try:
            return self._specs[name]
        except (KeyError, TypeError):
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: object) -> str:
        return unknown_name_message(self.kind, name, self.names())

    def snapshot(self) -> dict[str, S]:
        return dict(self._specs)

    def restore(self, snapshot: Mapping[str, S]) -> None:
        self._specs = dict(snapshot)


def origin(spec: CaseSpec | MethodSpec) -> str:
    where = spec.entry_point or "?"
    if spec.source == BUILTIN:
        return f"builtin ({where})"
    return f"plugin from {spec.source!r} ({where})"


#: The case registry (id → :class:`CaseSpec`).
CASES: Final[Registry[CaseSpec]] = Registry("case")
#: The method registry (name → :class:`MethodSpec`).
METHODS: Final[Registry[MethodSpec]] = Registry("method")


def register_case(
    id: str,
    entry_point: str,
    *,
    source: str = BUILTIN,
    **kwargs: Any,
) -> CaseSpec:
    """Register case ``id`` (``name-vN``) built lazily from ``entry_point``
    (``"module:attr"``, a class or factory called with ``kwargs``). ``source`` is ``builtin`` or
    the plugin's distribution name (a reserved keyword). Malformed ids/entry points and
    duplicates from another source raise at once; the module is *not* imported here."""
    spec = CaseSpec(id=id, entry_point=entry_point, kwargs=kwargs, source=source)
    added = CASES.add(id, spec, same=lambda a, b: a == b)
    from gridbench.cases.gym_envs import register_gym_env

    register_gym_env(id)  # gymnasium.make("gridbench/<id>") resolves through this registry
    return added


def case_spec(case_id: str) -> CaseSpec:
    """The registered spec of ``case_id`` (:class:`UnknownNameError` with a suggestion). The
    built-in cases are discovered on first need: nothing has to be imported beforehand."""
    if case_id not in CASES:
        discover_builtin_cases()
    return CASES.get(case_id)


def make_case(case_id: str, **overrides: Any) -> Case:
    """Import the case's entry point and build it (kwargs of the registration, ``overrides``)."""
    return case_spec(case_id).make(**overrides)


def case_ids() -> tuple[str, ...]:
    """Registered case ids, sorted (:func:`discover_builtin_cases` first for the built-ins)."""
    return CASES.names()


_C = TypeVar("_C", bound=type)


@overload
def register_method(cls: _C, *, source: str = ...) -> _C: ...
@overload
def register_method(cls: None = ..., *, source: str = ...) -> Callable[[_C], _C]: ...
def register_method(cls: _C | None = None, *, source: str = BUILTIN) -> _C | Callable[[_C], _C]:
    """Class decorator: register a :class:`~gridbench.cases.contracts.Method` class.

    ``@register_method`` or ``@register_method(source="dist-name")``. The class must carry
    ``name`` and ``family`` class attributes and satisfy the contract (checked with
    :func:`~gridbench.cases.contracts.method_problems`; :class:`MethodContractError` lists
    every problem). Returns the class unchanged.
    """

    def decorate(klass: _C) -> _C:
        problems = method_problems(klass)
        where = f"{getattr(klass, '__module__', '?')}:{getattr(klass, '__qualname__', '?')}"
        if problems:
            raise MethodContractError(
                f"{where} does not satisfy the Method contract: {'; '.join(problems)}"
            )
        spec = MethodSpec(
            name=klass.name,
            family=MethodFamily(klass.family),
            cls=klass,
            entry_point=where,
            source=source,
        )
        METHODS.add(spec.name, spec, same=MethodSpec.same_registration)
        klass.__gridbench_method_source__ = source  # type: ignore[attr-defined]
        return klass

    return decorate if cls is None else decorate(cls)


def reregister_methods(module: types.ModuleType) -> tuple[str, ...]:
    """Register again the method classes ``module`` defines and registered at its import but
    that the registry lost since (a :func:`sandbox` restored a snapshot taken before the
    import: the module stays imported, so its decorators do not run again). The same for
    methods as the cases' ``register()`` (:func:`discover_builtin_cases`). Returns their names."""
    names = []
    for obj in vars(module).values():
        if (isinstance(obj, type) and obj.__module__ == module.__name__
                and "__gridbench_method_source__" in obj.__dict__
                and str(getattr(obj, "name", "")) not in METHODS):
            register_method(obj, source=obj.__dict__["__gridbench_method_source__"])
            names.append(str(obj.name))
    return tuple(names)


def get_method(name: str) -> MethodSpec:
    """The registered spec of method ``name`` (:class:`UnknownNameError` with a suggestion)."""
    return METHODS.get(name)


def make_method(name: str) -> Method:
    """A new instance of method ``name``."""
    return get_method(name).make()


def method_names(family: MethodFamily | str | None = None) -> tuple[str, ...]:
    """Registered method names, sorted; only those of ``family`` when given."""
    if family is None:
        return METHODS.names()
    fam = MethodFamily.parse(family)
    return tuple(s.name for s in METHODS.specs() if s.family is fam)


def method_specs() -> tuple[MethodSpec, ...]:
    """Registered method specs, sorted by name."""
    return METHODS.specs()


@contextmanager
def sandbox() -> Iterator[None]:
    """Restore both registries on exit (tests, dry-run plugin validation)."""
    cases, methods = CASES.snapshot(), METHODS.snapshot()
    try:
        yield
    finally:
        CASES.restore(cases)
        METHODS.restore(methods)


def discover_builtin_cases() -> tuple[tuple[str, str], ...]:
    """Import every subpackage of ``gridbench.cases`` and call its ``register()`` (every time:
    a registry restored by :func:`sandbox` gets the built-ins back, although their modules are
    imported already). Returns ``(module, problem)`` for each package that failed."""
    import gridbench.cases as pkg

    problems: list[tuple[str, str]] = []
    for info in pkgutil.iter_modules(pkg.__path__, prefix=f"{pkg.__name__}."):
        if not info.ispkg or info.name.rpartition(".")[2].startswith("_"):
            continue
        try:
            register = getattr(importlib.import_module(info.name), "register", None)
            if callable(register):
                register()
        except (Exception, SystemExit) as exc:  # a broken case must not hide the others
            problems.append((info.name, f"{type(exc).__name__}: {exc}"))
    return tuple(problems)
