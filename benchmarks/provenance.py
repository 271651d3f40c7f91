"""Provenance of a result row: who produced it, from which code, with which packages.

Every row of the results store (see :mod:`gridbench.benchmarks.store`) carries the columns
of :meth:`Provenance.columns`: ``run_id``, ``git_commit``, ``package_versions`` (a JSON
string, so rows stay nested-free), ``config_hash``, ``host_cores`` and ``python``.

Run ids follow CleanRL's convention of putting what a run is about first, so that they can
be grepped and grouped: ``<case>__<method>__<seed>__<UTC timestamp>``, e.g.
``ses-carbon-ieee33-v0__ppo__3__20261124T153012Z``.

The git commit and the package versions are looked up once per process and cached.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = [
    "GIT_COMMIT_ENV",
    "PROVENANCE_COLUMNS",
    "TRACKED_PACKAGES",
    "Provenance",
    "canonical_json",
    "config_hash",
    "git_commit",
    "make_run_id",
    "package_versions",
]

GIT_COMMIT_ENV = "GRIDBENCH_GIT_COMMIT"
"""Environment variable read for the commit when the code does not run from a git checkout."""

TRACKED_PACKAGES: tuple[str, ...] = (
    "gridbench",
    "numpy",
    "scipy",
    "pandas",
    "pandapower",
    "cvxpy",
    "clarabel",
    "pyomo",
    "highspy",
    "stable-baselines3",
    "torch",
    "gymnasium",
    "pettingzoo",
)
"""Distributions whose versions are recorded with every row (missing ones are skipped)."""

PROVENANCE_COLUMNS: tuple[str, ...] = (
    "run_id",
    "git_commit",
    "package_versions",
    "config_hash",
    "host_cores",
    "python",
)
"""Columns every stored row must carry, in this order (see :meth:`Provenance.columns`)."""

_CONFIG_HASH_CHARS = 16
_RUN_ID_PART = re.compile(r"[^A-Za-z0-9.+=-]+")
_REPO_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- config hash


def _normalize(value: Any, where: str) -> Any:
    """Turn ``value`` into plain JSON data with a single, stable spelling."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return _normalize(value.value, where)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        # repr() is the shortest string that round-trips, hence stable across runs;
        # non-finite values are spelled out because JSON has no literal for them.
        return float(value) if math.isfinite(value) else repr(float(value))
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(
                    f"config key {key!r} at {where} is a {type(key).__name__}; "
                    "config mappings must have str keys"
                )
            out[key] = _normalize(item, f"{where}.{key}")
        return out
    if isinstance(value, set | frozenset):
        items = [_normalize(item, f"{where}[]") for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [_normalize(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _normalize(dataclasses.asdict(value), where)
    if hasattr(value, "model_dump"):  # pydantic models
        return _normalize(value.model_dump(mode="python"), where)
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _normalize(value.tolist(), where)
    raise ValueError(
        f"config value at {where} has type {type(value).__name__}; valid: None, bool, int, "
        "float, str, mappings, sequences, sets, enums, dates, paths, dataclasses, "
        "pydantic models, numpy values"
    )


def canonical_json(mapping: Mapping[str, Any]) -> str:
    """Return the canonical JSON text of a config mapping.

    Keys are sorted, separators are compact, floats are written with ``repr`` (the shortest
    round-tripping form; ``nan``/``inf`` as strings), numpy values become Python values,
    tuples become lists and sets sorted lists. Two mappings that compare equal as plain
    data give the same text. ``1`` and ``1.0`` stay different, as the types differ.
    """
    if not isinstance(mapping, Mapping):
        raise ValueError(
            f"config must be a mapping, got {type(mapping).__name__}; pass a dict or a "
            "pydantic model's model_dump()"
        )
    data = _normalize(mapping, "config")
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def config_hash(mapping: Mapping[str, Any]) -> str:
    """Return the first 16 hex characters of the sha256 of :func:`canonical_json`."""
    digest = hashlib.sha256(canonical_json(mapping).encode("utf-8")).hexdigest()
    return digest[:_CONFIG_HASH_CHARS]


# --------------------------------------------------------------------------- git & packages


def _git(*args: str) -> str | None:
    """Run git in the source tree; return its stripped output, or None on any failure."""
    try:
        done = subprocess.run(
            ["git", "-C", str(_REPO_ROOT), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


@functools.cache
def git_commit() -> str:
    """Return the commit of the gridbench source tree, with ``-dirty`` if it has changes.

    The commit is read with ``git rev-parse HEAD`` when the package runs from its own git
    checkout (an editable install); otherwise from the ``GRIDBENCH_GIT_COMMIT`` environment
    variable (set it where the code is shipped without ``.git``, e.g. on Ray workers);
    otherwise it is ``"unknown"``. Untracked files do not make a tree dirty (as with
    ``git describe --dirty``), so result files written inside the repo do not either.
    Cached for the life of the process.
    """
    toplevel = _git("rev-parse", "--show-toplevel")
    if toplevel and Path(toplevel).resolve() == _REPO_ROOT:
        commit = _git("rev-parse", "HEAD")
        if commit:
            status = _git("status", "--porcelain", "--untracked-files=no")
            return f"{commit}-dirty" if status else commit
    from_env = os.environ.get(GIT_COMMIT_ENV, "").strip()
    return from_env or "unknown"


@functools.cache
def _package_versions() -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for name in TRACKED_PACKAGES:
        try:
            found.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            continue
    return tuple(found)


def package_versions() -> dict[str, str]:
    """Return ``{distribution: version}`` for the installed :data:`TRACKED_PACKAGES` (cached)."""
    return dict(_package_versions())


# --------------------------------------------------------------------------- run id & record


def _run_id_part(value: object) -> str:
    return _RUN_ID_PART.sub("_", str(value)).strip("_") or "_"


def make_run_id(case: str, method: str, seed: int, when: dt.datetime | None = None) -> str:
    """Return ``<case>__<method>__<seed>__<YYYYmmddTHHMMSSZ>`` (UTC; now by default).

    Characters other than letters, digits and ``.+=-`` are replaced by ``_`` so that the id
    is safe in file names and shell globs; ``__`` only ever separates the fields.
    """
    stamp = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    parts = [_run_id_part(case), _run_id_part(method), _run_id_part(seed), stamp]
    return "__".join(part.replace("__", "_") for part in parts)


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a result came from; stored as the :data:`PROVENANCE_COLUMNS` of each row.

    Build one per unit of work with :meth:`create`; merge :meth:`columns` into each row.
    """

    run_id: str
    git_commit: str
    package_versions: Mapping[str, str] = field(hash=False)
    config_hash: str
    host_cores: int
    python: str

    def __post_init__(self) -> None:
        """Freeze the package mapping so the record is immutable all the way down."""
        object.__setattr__(self, "package_versions", MappingProxyType(dict(self.package_versions)))

    @classmethod
    def create(
        cls,
        case: str,
        method: str,
        seed: int,
        config: Mapping[str, Any] | None = None,
        *,
        when: dt.datetime | None = None,
    ) -> Provenance:
        """Return the provenance of a (case, method, seed) unit run now with ``config``."""
        return cls(
            run_id=make_run_id(case, method, seed, when),
            git_commit=git_commit(),
            package_versions=package_versions(),
            config_hash=config_hash(config or {}),
            host_cores=os.cpu_count() or 1,
            python=platform.python_version(),
        )

    def columns(self) -> dict[str, str | int]:
        """Return the flat row columns; ``package_versions`` as sorted, compact JSON."""
        return {
            "run_id": self.run_id,
            "git_commit": self.git_commit,
            "package_versions": json.dumps(
                dict(self.package_versions), sort_keys=True, separators=(",", ":")
            ),
            "config_hash": self.config_hash,
            "host_cores": self.host_cores,
            "python": self.python,
        }
