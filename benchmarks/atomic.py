"""Atomic text files: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gridbench.cases.files import atomic_write_text

__all__ = ["NotWritableError", "atomic_write_text", "check_writable_dir"]


class NotWritableError(ValueError):
    """A destination that cannot be written (a user error: one line, exit status 2)."""


def check_writable_dir(directory: Path | str, what: str, *, create: bool = False) -> Path:
    """Make sure files can be created in ``directory`` before any work starts: probe it with a
    temporary file (removed at once). ``create``: make the directory (and its parents) when
    missing; otherwise the nearest existing ancestor is probed. Raises
    :class:`NotWritableError` naming ``what`` (e.g. ``--results 'x'``) and the reason."""
    directory = Path(directory)
    target = directory
    try:
        if create:
            directory.mkdir(parents=True, exist_ok=True)
        else:
            while not target.exists() and target != target.parent:
                target = target.parent
        if not target.is_dir():
            raise NotWritableError(f"{what} cannot be written: {str(target)!r} is not a directory")
        fd, probe = tempfile.mkstemp(prefix=".gridbench-probe-", suffix=".tmp", dir=target)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise NotWritableError(f"{what} cannot be written: {reason} ({str(target)!r})") from None
    return directory
