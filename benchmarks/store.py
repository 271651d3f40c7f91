"""Append-only results store: Parquet rows with provenance, queried through DuckDB.

Layout under the results directory ``root``::

    root/
      .lock                                   advisory lock taken by writers (flock)
      rows/<case>/<method>/s<seed>-<budget>-<hash>.parquet
      failures/<case>/<method>/s<seed>-<budget>.json

One row per :class:`RowKey` ``(case, method, seed, day, budget)``. Each call to
:meth:`ResultsStore.append` writes the new rows of each unit (case, method, seed, budget)
into one file of its own, whose name holds a hash of the keys it contains. Files are never
rewritten: results are append-only. :meth:`ResultsStore.compact` merges the files of each
(case, method) into one ``c-<hash>.parquet`` (a results directory small enough to commit):
the merged file is published first, then the files whose rows it holds are deleted; a crash
in between leaves duplicates that the next writer (or ``compact``) deletes, and readers see
each key once meanwhile (:meth:`frame` keeps the first of duplicated keys). Readers hold a
shared ``flock`` on ``root/.lock`` while they list and read, so a compaction (which holds it
exclusively) is never seen half done; where the lock file cannot be opened (a read-only copy)
they re-read a fresh listing when a file vanishes under them. Every file is checked before it
is read: a damaged or foreign Parquet file is a :class:`CorruptResultsFile` naming it.

Crash safety. A file is written to a temporary name in its final directory (a dot-name
ending in ``.tmp``, which no reader matches), flushed and fsync'ed, then published with
``os.replace`` (atomic on POSIX and Windows) and the directory fsync'ed. A reader therefore
sees a complete file or none; a writer killed at any point loses at most the rows it had not
yet published, and leaves at worst a temporary file, removed by the next writer.

Resume. Writers take an exclusive ``flock`` on ``root/.lock`` while they check which keys
exist and publish files, so rows whose key is already stored are skipped (and counted),
never duplicated, even with several processes writing to one directory on one host.
(Without ``fcntl``, i.e. on Windows, only one writer process per directory is safe.)

Reading. :meth:`ResultsStore.frame` returns a pandas DataFrame; :meth:`ResultsStore.query`
runs SQL through embedded DuckDB over a view ``results`` (``read_parquet`` of the row
files with ``union_by_name``, so rows may carry different metric columns). ``case`` is a
reserved word in SQL: quote it, ``SELECT "case", avg(cost) FROM results GROUP BY 1``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from gridbench.benchmarks.provenance import PROVENANCE_COLUMNS, Provenance

try:  # POSIX only; see the module docstring.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

__all__ = [
    "KEY_COLUMNS",
    "PROVENANCE_COLUMNS",
    "STORE_FORMAT",
    "AppendResult",
    "CorruptResultsFile",
    "FailureRecord",
    "InvalidRowError",
    "ResultsNotFound",
    "ResultsStore",
    "RowKey",
    "UnitKey",
    "UnitStatus",
]

_log = logging.getLogger(__name__)

STORE_FORMAT = "1"
"""Version of the on-disk layout, written into every Parquet file's metadata."""

KEY_COLUMNS: tuple[str, ...] = ("case", "method", "seed", "day", "budget")
"""Columns that identify a row; at most one stored row per distinct key."""

_KEY_TYPES: dict[str, pa.DataType] = {
    "case": pa.string(),
    "method": pa.string(),
    "seed": pa.int64(),
    "day": pa.string(),
    "budget": pa.string(),
}
_PROVENANCE_TYPES: dict[str, pa.DataType] = {
    "run_id": pa.string(),
    "git_commit": pa.string(),
    "package_versions": pa.string(),
    "config_hash": pa.string(),
    "host_cores": pa.int64(),
    "python": pa.string(),
}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_NAME_RULE = "letters, digits and ._+- , starting with a letter or digit"
_ROWS = "rows"
_FAILURES = "failures"
_LOCK = ".lock"
_TMP_SUFFIX = ".tmp"
_ORPHAN_AGE_S = 3600.0  # without flock, only temp files this old are taken as orphans
_READ_ATTEMPTS = 5  # listings a reader tries when files vanish under it (see frame())


class ResultsNotFound(ValueError):
    """A results directory (or the rows in it) does not exist where reading was asked for."""


class CorruptResultsFile(ValueError):
    """A published row file cannot be read (damaged outside the store); names the file."""


class InvalidRowError(ValueError):
    """A row or key handed to the store is malformed (missing column, bad value or type)."""


class UnitStatus(StrEnum):
    """State of a unit of work (case, method, seed, budget) for a requested set of days."""

    DONE = "done"
    """Every requested day has a stored row."""
    PARTIAL = "partial"
    """Some requested days are stored, none failed since the last write."""
    FAILED = "failed"
    """A failure is recorded and not every requested day is stored."""
    PENDING = "pending"
    """Nothing stored and no failure recorded."""


# --------------------------------------------------------------------------- keys


def _check_name(column: str, value: object) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidRowError(f"{column} {value!r} is not a valid name; valid: {_NAME_RULE}")
    return value


def _check_seed(value: object) -> int:
    if hasattr(value, "item") and not isinstance(value, bool | int):  # numpy integers
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRowError(f"seed {value!r} is not valid; valid: an int >= 0")
    return value


def _check_day(value: object) -> str:
    if isinstance(value, dt.datetime):
        raise InvalidRowError(f"day {value!r} is a datetime; valid: a date or 'YYYY-MM-DD'")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            if dt.date.fromisoformat(value).isoformat() == value:
                return value
    raise InvalidRowError(f"day {value!r} is not valid; valid: a date or 'YYYY-MM-DD'")


@dataclass(frozen=True, slots=True, order=True)
class UnitKey:
    """A unit of work: one method fitted with one seed and budget on one case."""

    case: str
    method: str
    seed: int
    budget: str

    def __post_init__(self) -> None:
        """Validate the fields (names safe as directory names, seed >= 0)."""
        _check_name("case", self.case)
        _check_name("method", self.method)
        object.__setattr__(self, "seed", _check_seed(self.seed))
        _check_name("budget", self.budget)

    def row(self, day: str | dt.date) -> RowKey:
        """Return the key of this unit's row for ``day``."""
        return RowKey(self.case, self.method, self.seed, _check_day(day), self.budget)


@dataclass(frozen=True, slots=True, order=True)
class RowKey:
    """The identity of a stored row; see :data:`KEY_COLUMNS`."""

    case: str
    method: str
    seed: int
    day: str
    budget: str

    def __post_init__(self) -> None:
        """Validate the fields and normalize ``day`` to an ISO date string."""
        _check_name("case", self.case)
        _check_name("method", self.method)
        object.__setattr__(self, "seed", _check_seed(self.seed))
        object.__setattr__(self, "day", _check_day(self.day))
        _check_name("budget", self.budget)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RowKey:
        """Return the key of ``row``; :class:`InvalidRowError` if a key column is missing."""
        missing = [column for column in KEY_COLUMNS if column not in row]
        if missing:
            raise InvalidRowError(
                f"row lacks key column(s) {', '.join(missing)}; every row needs "
                f"{', '.join(KEY_COLUMNS)}"
            )
        return cls(*(row[column] for column in KEY_COLUMNS))

    @property
    def unit(self) -> UnitKey:
        """The unit of work this row belongs to."""
        return UnitKey(self.case, self.method, self.seed, self.budget)

    def as_dict(self) -> dict[str, str | int]:
        """Return the key as ``{column: value}``."""
        return {column: getattr(self, column) for column in KEY_COLUMNS}


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What :meth:`ResultsStore.append` did: keys written, keys skipped, files published."""

    written: tuple[RowKey, ...]
    skipped: tuple[RowKey, ...]
    files: tuple[Path, ...]

    @property
    def n_written(self) -> int:
        """Number of rows written."""
        return len(self.written)

    @property
    def n_skipped(self) -> int:
        """Number of rows skipped because their key was already stored."""
        return len(self.skipped)


@dataclass(frozen=True, slots=True)
class FailureRecord:
    """The last recorded failure of a unit, with how often it failed since its last write."""

    unit: UnitKey
    error: str
    attempts: int
    first_utc: str
    last_utc: str
    run_id: str | None = None
    git_commit: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the record as plain JSON data."""
        return {
            "case": self.unit.case,
            "method": self.unit.method,
            "seed": self.unit.seed,
            "budget": self.unit.budget,
            "error": self.error,
            "attempts": self.attempts,
            "first_utc": self.first_utc,
            "last_utc": self.last_utc,
            "run_id": self.run_id,
            "git_commit": self.git_commit,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FailureRecord:
        """Inverse of :meth:`as_dict`."""
        unit = UnitKey(data["case"], data["method"], data["seed"], data["budget"])
        return cls(
            unit=unit,
            error=data["error"],
            attempts=int(data["attempts"]),
            first_utc=data["first_utc"],
            last_utc=data["last_utc"],
            run_id=data.get("run_id"),
            git_commit=data.get("git_commit"),
        )


# --------------------------------------------------------------------------- values & types


def _scalar(column: str, value: Any) -> Any:
    """Return ``value`` as a Python scalar fit for a Parquet column, or raise."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:  # numpy scalars
        return _scalar(column, value.item())
    if isinstance(value, Mapping | list | tuple | set | frozenset) or hasattr(value, "ndim"):
        raise InvalidRowError(
            f"column {column!r} holds a {type(value).__name__}; rows are nested-free: store "
            "scalars (float, int, bool, str, None) or a json.dumps() string"
        )
    raise InvalidRowError(
        f"column {column!r} holds a {type(value).__name__}; valid: float, int, bool, str, None"
    )


def _kind(type_: pa.DataType) -> str:
    """Coarse kind of an Arrow type, used to keep columns readable across files."""
    if pa.types.is_null(type_):
        return "null"
    if pa.types.is_boolean(type_):
        return "bool"
    if pa.types.is_integer(type_):
        return "int"
    if pa.types.is_floating(type_):
        return "float"
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return "string"
    return str(type_)


def _compatible(a: str, b: str) -> bool:
    return a == b or "null" in (a, b) or {a, b} == {"int", "float"}


def _merge_kinds(target: dict[str, str], kinds: Mapping[str, str]) -> None:
    for column, kind in kinds.items():
        old = target.get(column, "null")
        if old == "null" or (old == "int" and kind == "float"):
            target[column] = kind


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _keys_digest(keys: Iterable[RowKey]) -> str:
    text = "\n".join(json.dumps(key.as_dict(), sort_keys=True) for key in sorted(keys))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --------------------------------------------------------------------------- atomic files


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def _atomic_write(path: Path, write: Any) -> None:
    """Write ``path`` through ``write(file)`` to a temp file, fsync, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{_TMP_SUFFIX}")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


# --------------------------------------------------------------------------- the store


class ResultsStore:
    """Append-only, crash-safe store of result rows under a results directory.

    Rows are mappings with the :data:`KEY_COLUMNS`, the :data:`PROVENANCE_COLUMNS` and any
    number of scalar metric columns (float, int, bool, str, None). Nothing is created on
    disk before the first write. Instances are thread-safe; several processes may write
    to one directory (see the module docstring).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        """Open (lazily) the store under ``root``."""
        self.root = Path(root)
        self._mutex = threading.RLock()
        self._file_keys: dict[Path, frozenset[RowKey]] = {}
        self._file_kinds: dict[Path, dict[str, str]] = {}

    def __repr__(self) -> str:
        """Return ``ResultsStore('<root>')``."""
        return f"ResultsStore({str(self.root)!r})"

    # ----------------------------------------------------------------- paths & scanning

    @property
    def rows_dir(self) -> Path:
        """Directory holding the row files."""
        return self.root / _ROWS

    @property
    def failures_dir(self) -> Path:
        """Directory holding the failure records."""
        return self.root / _FAILURES

    def _row_files(self, case: str | None = None, method: str | None = None) -> list[Path]:
        base = self.rows_dir
        if not base.is_dir():
            return []
        pattern = f"{case or '*'}/{method or '*'}/*.parquet"
        return sorted(path for path in base.glob(pattern) if not path.name.startswith("."))

    def _refresh(self) -> None:
        """Bring the per-file key and column caches up to date with the directory."""
        with self._mutex:
            files = self._row_files()
            present = set(files)
            for gone in set(self._file_keys) - present:
                del self._file_keys[gone]
                del self._file_kinds[gone]
            for path in files:
                if path in self._file_keys:
                    continue  # published files are immutable
                try:
                    parquet = pq.ParquetFile(path)
                    lacking = [c for c in KEY_COLUMNS if c not in parquet.schema_arrow.names]
                    if lacking:
                        raise InvalidRowError(
                            f"not a gridbench row file: no key column(s) {', '.join(lacking)}"
                        )
                    table = parquet.read(columns=list(KEY_COLUMNS))
                    keys = frozenset(RowKey(**row) for row in table.to_pylist())
                    if len(keys) != table.num_rows:
                        raise InvalidRowError("a key appears twice in the file")
                except FileNotFoundError:
                    continue  # removed meanwhile (a compaction without the lock): not a row file
                except (OSError, pa.ArrowException, KeyError, TypeError, ValueError) as exc:
                    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise CorruptResultsFile(
                        f"results file {str(path)!r} is unreadable ({reason}); move it out of "
                        f"{str(self.rows_dir)!r} and re-run to recompute its rows"
                    ) from exc
                self._file_keys[path] = keys
                self._file_kinds[path] = {
                    name: _kind(parquet.schema_arrow.field(name).type)
                    for name in parquet.schema_arrow.names
                }

    def _require_root(self) -> None:
        if not self.root.is_dir():
            raise ResultsNotFound(
                f"results directory {str(self.root)!r} does not exist; run "
                "`gridbench run --results DIR` first or pass an existing --results DIR"
            )

    def _require_rows(self) -> list[Path]:
        self._require_root()
        files = self._row_files()
        if not files:
            raise ResultsNotFound(
                f"results directory {str(self.root)!r} holds no result rows; run "
                "`gridbench run --results DIR` first"
            )
        return files

    @contextlib.contextmanager
    def _read_lock(self) -> Iterator[None]:
        """Hold a shared flock on ``root/.lock`` (where it exists and can be opened) while
        reading, so that a compaction (which holds the exclusive lock while it publishes and
        deletes) is never seen half done. Without the lock file (a directory never written
        by a writer of this version, a read-only copy) readers retry instead (:meth:`frame`)."""
        with self._mutex:
            handle = None
            if fcntl is not None:
                with contextlib.suppress(OSError):
                    handle = open(self.root / _LOCK, "rb")
            try:
                if handle is not None:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
                yield
            finally:
                if handle is not None:
                    with contextlib.suppress(OSError):
                        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
                    handle.close()

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        """Hold the in-process mutex and an exclusive flock on ``root/.lock``."""
        with self._mutex:
            self.root.mkdir(parents=True, exist_ok=True)
            if fcntl is None:  # pragma: no cover - Windows
                yield
                return
            with open(self.root / _LOCK, "a+b") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _clean_orphans(self) -> int:
        """Remove temp files left by killed writers; call with the write lock held."""
        removed = 0
        now = dt.datetime.now().timestamp()
        for base in (self.rows_dir, self.failures_dir):
            if not base.is_dir():
                continue
            for tmp in base.glob(f"*/*/.*{_TMP_SUFFIX}"):
                with contextlib.suppress(OSError):
                    if fcntl is None and now - tmp.stat().st_mtime < _ORPHAN_AGE_S:
                        continue  # pragma: no cover - another writer may own it
                    tmp.unlink()
                    removed += 1
        if removed:
            _log.info("removed %d temp file(s) left by an interrupted writer", removed)
        return removed

    def _finish_compactions(self) -> int:
        """Delete row files whose keys another, compacted ``c-*`` file of their directory holds
        (what a crash between publishing and deleting left); call with the write lock held."""
        self._refresh()
        removed = 0
        by_dir: dict[Path, list[Path]] = {}
        for path in self._file_keys:
            by_dir.setdefault(path.parent, []).append(path)
        for paths in by_dir.values():
            merged = [p for p in paths if p.name.startswith("c-")]
            for path in paths:
                keys = self._file_keys[path]
                if any(q != path and q in self._file_keys and keys <= self._file_keys[q]
                       for q in merged):
                    path.unlink()
                    del self._file_keys[path], self._file_kinds[path]
                    removed += 1
        return removed

    def compact(self) -> dict[str, int]:
        """Merge the row files of each (case, method) into one file; return
        ``{"files_before": n, "files_after": m, "rows": k}``. Crash-safe (module docstring);
        rows, keys and values are unchanged."""
        self._require_rows()
        with self._write_lock():
            self._clean_orphans()
            self._finish_compactions()
            before = len(self._file_keys)
            by_dir: dict[Path, list[Path]] = {}
            for path in sorted(self._file_keys):
                by_dir.setdefault(path.parent, []).append(path)
            for directory, paths in sorted(by_dir.items()):
                if len(paths) < 2:
                    continue
                tables = [pq.read_table(p) for p in paths]
                table = pa.concat_tables(tables, promote_options="default")
                keys = frozenset().union(*(self._file_keys[p] for p in paths))
                if len(keys) != table.num_rows:
                    raise InvalidRowError(
                        f"{directory}: {table.num_rows} rows but {len(keys)} distinct keys; "
                        "refusing to compact a directory with duplicated keys"
                    )
                order = sorted(range(table.num_rows), key=lambda i: RowKey.from_row(
                    {c: table.column(c)[i].as_py() for c in KEY_COLUMNS}))
                table = table.take(pa.array(order, type=pa.int64()))
                table = table.replace_schema_metadata(tables[0].schema.metadata)
                path = directory / f"c-{_keys_digest(keys)}.parquet"
                _atomic_write(path, lambda handle, table=table: pq.write_table(table, handle))
                self._file_keys[path] = keys
                self._file_kinds[path] = {f.name: _kind(f.type) for f in table.schema}
                self._finish_compactions()
            rows = sum(len(k) for k in self._file_keys.values())
            return {"files_before": before, "files_after": len(self._file_keys), "rows": rows}

    # ----------------------------------------------------------------- keys

    def completed_keys(self) -> set[RowKey]:
        """Return the keys of all stored rows (empty for a directory not yet written)."""
        with self._mutex:
            self._refresh()
            return set().union(*self._file_keys.values())

    def has(self, key: RowKey) -> bool:
        """Return whether a row with ``key`` is stored."""
        return key in self.completed_keys()

    def has_rows(self) -> bool:
        """Return whether any row file is stored (no file is read; ``False`` for a missing
        directory)."""
        return bool(self._row_files())

    def missing_days(self, unit: UnitKey, days: Iterable[str | dt.date]) -> list[str]:
        """Return, in the given order, the ``days`` of ``unit`` that have no stored row."""
        done = self.completed_keys()
        return [key.day for key in (unit.row(day) for day in days) if key not in done]

    def unit_status(self, unit: UnitKey, days: Iterable[str | dt.date]) -> UnitStatus:
        """Return the :class:`UnitStatus` of ``unit`` for the requested ``days``."""
        days = list(days)
        missing = self.missing_days(unit, days)
        if not missing:
            return UnitStatus.DONE
        if self._failure_path(unit).is_file():
            return UnitStatus.FAILED
        return UnitStatus.PARTIAL if len(missing) < len(days) else UnitStatus.PENDING

    # ----------------------------------------------------------------- writing rows

    def _validate(
        self, rows: Iterable[Mapping[str, Any]], provenance: Provenance | None
    ) -> list[tuple[RowKey, dict[str, Any]]]:
        extra = provenance.columns() if provenance is not None else {}
        checked: list[tuple[RowKey, dict[str, Any]]] = []
        seen: set[RowKey] = set()
        for index, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise InvalidRowError(
                    f"row {index} is a {type(row).__name__}; valid: a mapping of column to value"
                )
            merged = {**extra, **row}
            key = RowKey.from_row(merged)
            missing = [column for column in PROVENANCE_COLUMNS if column not in merged]
            if missing:
                raise InvalidRowError(
                    f"row {key.as_dict()} lacks provenance column(s) {', '.join(missing)}; "
                    "merge Provenance.create(...).columns() into it or pass provenance="
                )
            if key in seen:
                raise InvalidRowError(f"key {key.as_dict()} appears twice in one append")
            seen.add(key)
            clean: dict[str, Any] = key.as_dict()
            for column, value in merged.items():
                if not isinstance(column, str):
                    raise InvalidRowError(
                        f"column name {column!r} is a {type(column).__name__}; valid: a str"
                    )
                if column not in clean:
                    clean[column] = _scalar(column, value)
            for column, type_ in _PROVENANCE_TYPES.items():
                value = clean[column]
                ok = (
                    isinstance(value, str)
                    if type_ == pa.string()
                    else (isinstance(value, int) and not isinstance(value, bool))
                )
                if not ok:
                    raise InvalidRowError(
                        f"provenance column {column!r} is {value!r}; valid: "
                        f"{'a str' if type_ == pa.string() else 'an int'}"
                    )
            checked.append((key, clean))
        return checked

    @staticmethod
    def _table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
        fixed = {**_KEY_TYPES, **_PROVENANCE_TYPES}
        columns = list(fixed)
        for row in rows:
            columns.extend(column for column in row if column not in fixed)
        columns = list(dict.fromkeys(columns))
        arrays: list[pa.Array] = []
        for column in columns:
            values = [row.get(column) for row in rows]
            try:
                arrays.append(pa.array(values, type=fixed.get(column)))
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
                kinds = sorted({type(v).__name__ for v in values if v is not None})
                what = f"mixes types {', '.join(kinds)}" if len(kinds) > 1 else str(exc)
                raise InvalidRowError(
                    f"column {column!r} cannot be stored: {what}; valid: one of float/int, "
                    "bool or str per column, ints within int64"
                ) from exc
        metadata = {b"gridbench.store_format": STORE_FORMAT.encode()}
        return pa.Table.from_arrays(arrays, names=columns).replace_schema_metadata(metadata)

    def _check_kinds(self, table: pa.Table) -> None:
        stored: dict[str, str] = {}
        for kinds in self._file_kinds.values():
            _merge_kinds(stored, kinds)
        for field in table.schema:
            new = _kind(field.type)
            old = stored.get(field.name, "null")
            if not _compatible(old, new):
                raise InvalidRowError(
                    f"column {field.name!r} would hold {new} values but stored rows hold "
                    f"{old}; use the stored type or a new column name"
                )

    def append(
        self, rows: Iterable[Mapping[str, Any]], provenance: Provenance | None = None
    ) -> AppendResult:
        """Store the rows whose key is not stored yet; skip (and report) the others.

        Each row needs the :data:`KEY_COLUMNS` and :data:`PROVENANCE_COLUMNS` (taken from
        ``provenance`` where the row lacks them) plus any scalar metric columns. All rows
        are validated before anything is written; then the new rows of each unit are
        published as one atomic file. A unit that gets rows written has its recorded
        failure, if any, cleared. Raises :class:`InvalidRowError` on a malformed row.
        """
        checked = self._validate(rows, provenance)
        if not checked:
            return AppendResult((), (), ())
        self._table([clean for _, clean in checked])  # type mix-ups fail before any I/O
        with self._write_lock():
            self._clean_orphans()
            self._finish_compactions()
            done: set[RowKey] = set().union(*self._file_keys.values())
            skipped = tuple(sorted(key for key, _ in checked if key in done))
            by_unit: dict[UnitKey, list[tuple[RowKey, dict[str, Any]]]] = {}
            for key, row in checked:
                if key not in done:
                    by_unit.setdefault(key.unit, []).append((key, row))
            tables: list[tuple[UnitKey, Path, pa.Table, frozenset[RowKey]]] = []
            for unit, items in sorted(by_unit.items()):
                items.sort(key=lambda item: item[0])
                keys = frozenset(key for key, _ in items)
                table = self._table([row for _, row in items])
                self._check_kinds(table)
                name = f"s{unit.seed}-{unit.budget}-{_keys_digest(keys)}.parquet"
                tables.append((unit, self.rows_dir / unit.case / unit.method / name, table, keys))
            files: list[Path] = []
            written: list[RowKey] = []
            for unit, path, table, keys in tables:
                _atomic_write(path, lambda handle, table=table: pq.write_table(table, handle))
                self._file_keys[path] = keys
                self._file_kinds[path] = {f.name: _kind(f.type) for f in table.schema}
                files.append(path)
                written.extend(sorted(keys))
                self._failure_path(unit).unlink(missing_ok=True)
        if skipped:
            _log.info("results store %s: skipped %d row(s) already stored", self.root, len(skipped))
        return AppendResult(tuple(written), skipped, tuple(files))

    # ----------------------------------------------------------------- failures

    def _failure_path(self, unit: UnitKey) -> Path:
        return self.failures_dir / unit.case / unit.method / f"s{unit.seed}-{unit.budget}.json"

    def append_failure(
        self, unit: UnitKey, error: str, provenance: Provenance | None = None
    ) -> FailureRecord:
        """Record that ``unit`` failed with ``error`` (e.g. a traceback); return the record.

        A unit that failed before keeps its first time and counts one more attempt. The
        record is cleared by the next :meth:`append` that writes rows of the unit, or by
        :meth:`clear_failure`.
        """
        if not isinstance(unit, UnitKey):
            raise InvalidRowError(f"unit {unit!r} is not valid; valid: a UnitKey")
        if not isinstance(error, str):
            raise InvalidRowError(f"error {error!r} is not valid; valid: a str")
        with self._write_lock():
            path = self._failure_path(unit)
            now = _utc_now()
            previous = self._read_failure(path) if path.is_file() else None
            record = FailureRecord(
                unit=unit,
                error=error,
                attempts=previous.attempts + 1 if previous else 1,
                first_utc=previous.first_utc if previous else now,
                last_utc=now,
                run_id=provenance.run_id if provenance else None,
                git_commit=provenance.git_commit if provenance else None,
            )
            text = json.dumps(record.as_dict(), indent=2, sort_keys=True) + "\n"
            _atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))
        return record

    def clear_failure(self, unit: UnitKey) -> bool:
        """Remove the failure record of ``unit``; return whether there was one."""
        with self._write_lock():
            path = self._failure_path(unit)
            existed = path.is_file()
            path.unlink(missing_ok=True)
        return existed

    @staticmethod
    def _read_failure(path: Path) -> FailureRecord:
        return FailureRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def failures(self) -> list[FailureRecord]:
        """Return the recorded failures, sorted by unit; raise if the directory is missing."""
        self._require_root()
        if not self.failures_dir.is_dir():
            return []
        paths = sorted(
            path for path in self.failures_dir.glob("*/*/*.json") if not path.name.startswith(".")
        )
        return sorted((self._read_failure(path) for path in paths), key=lambda r: r.unit)

    # ----------------------------------------------------------------- reading rows

    def _source(self, files: Sequence[Path], pattern: str | None = None) -> str:
        """SQL table expression reading ``files``, through the glob ``pattern`` if given.

        The glob (relative to the rows directory) lets DuckDB see files published after
        the view was made; it is used only when the root path has no glob characters.
        """
        options = "union_by_name = true, hive_partitioning = false"
        if pattern is not None and not any(c in str(self.rows_dir) for c in "*?[]{}"):
            glob = (self.rows_dir / pattern).as_posix()
            return f"read_parquet({_sql_string(glob)}, {options})"
        listed = ", ".join(_sql_string(path.as_posix()) for path in files)
        return f"read_parquet([{listed}], {options})"

    def connect(self) -> duckdb.DuckDBPyConnection:
        """Return an in-memory DuckDB connection with a ``results`` view over all rows."""
        import duckdb

        files = self._require_rows()
        with self._read_lock():
            self._refresh()  # CorruptResultsFile (one line) names a damaged file
        connection = duckdb.connect(":memory:")
        source = self._source(files, "*/*/*.parquet")
        connection.execute(f"CREATE VIEW results AS SELECT * FROM {source}")
        return connection

    def query(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        """Run ``sql`` against the view ``results`` and return a DataFrame.

        ``case`` is a reserved word in SQL; write it ``"case"``. ``params`` binds ``?`` or
        ``$name`` placeholders.
        """
        with contextlib.closing(self.connect()) as connection:
            return connection.execute(sql, params).df()

    def frame(self, case: str | None = None, method: str | None = None) -> pd.DataFrame:
        """Return the stored rows, optionally of one case and/or method, sorted by key.

        Columns: key columns, provenance columns, then metric columns (union over rows;
        missing values are NaN/None). Raises :class:`ResultsNotFound` when the directory
        or its rows are missing; a filter that matches nothing gives an empty frame.
        """
        import duckdb
        import pandas as pd

        self._require_rows()
        if case is not None:
            _check_name("case", case)
        if method is not None:
            _check_name("method", method)
        order = ", ".join(f'"{column}"' for column in KEY_COLUMNS)
        for attempt in range(_READ_ATTEMPTS):
            with self._read_lock():
                self._refresh()  # CorruptResultsFile (one line) names a damaged file
                files = self._row_files(case, method)
                if not files:
                    return pd.DataFrame(columns=[*KEY_COLUMNS, *PROVENANCE_COLUMNS])
                try:
                    with contextlib.closing(duckdb.connect(":memory:")) as connection:
                        sql = f"SELECT * FROM {self._source(files)} ORDER BY {order}"
                        frame = connection.execute(sql).df()
                    break
                except duckdb.IOException:
                    # a file vanished between listing and reading (a compaction by a writer
                    # that holds no lock file here): read a fresh listing
                    if attempt + 1 == _READ_ATTEMPTS or all(p.is_file() for p in files):
                        raise
        # a crash mid-compaction can leave a key in two files until the next writer cleans up
        return frame.drop_duplicates(list(KEY_COLUMNS), keep="first", ignore_index=True)
