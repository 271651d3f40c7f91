"""The report's output directory: only a directory a gridbench report wrote is replaced.

A report is written into a temporary directory beside ``--out``, listed in its manifest
(:data:`REPORT_MARKER`, :func:`write_manifest`) and swapped in as a whole (:func:`swap_in`);
:func:`check_report_dir` refuses an ``--out`` holding anything a report did not write.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Final

__all__ = ["REPORT_MARKER", "ReportError", "check_report_dir", "swap_in", "write_manifest"]

#: Manifest marking a directory as a gridbench report: JSON ``{"written_by": ..., "files":
#: [...]}`` listing every file the report wrote. A directory is replaced only when it holds
#: nothing but the files of its manifest (a report never deletes what it did not write).
REPORT_MARKER: Final[str] = ".gridbench-report"
#: Files a report of the first format (marker text without a file list) may have written.
_LEGACY_REPORT_FILES: Final[frozenset[str]] = frozenset({"report.md", "report.html"})


class ReportError(ValueError):
    """A report that cannot be written (user error: one line, exit status 2)."""


def _report_files(out: Path) -> frozenset[str] | None:
    """The names a previous report in ``out`` wrote (its manifest; the marker included), or
    ``None`` when ``out`` holds no gridbench report manifest."""
    import json

    marker = out / REPORT_MARKER
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("files"), list):
        files = {str(f) for f in data["files"] if isinstance(f, str)}
    else:  # the first marker format, a line of text: report.md, report.html and PNG figures
        files = set(_LEGACY_REPORT_FILES) | {
            p.name for p in out.iterdir() if p.is_file() and p.suffix == ".png"
        }
    return frozenset(files | {REPORT_MARKER})


def check_report_dir(out: Path) -> None:
    """Refuse an ``--out`` that is a file, or a directory holding anything a gridbench report
    did not write (it would be replaced as a whole)."""
    if str(out) in ("", "."):
        raise ReportError(
            f"--out {str(out)!r} is the current directory; valid: a new directory or one a "
            "previous `gridbench report` wrote"
        )
    if out.exists() and not out.is_dir():
        raise ReportError(f"--out {str(out)!r} is a file; valid: a directory")
    if not out.is_dir():
        return
    names = sorted(p.name for p in out.iterdir())
    if not names:
        return
    owned = _report_files(out)
    if owned is None:
        raise ReportError(
            f"--out {str(out)!r} exists and is not a gridbench report directory (no "
            f"{REPORT_MARKER} manifest); choose a new or empty directory"
        )
    foreign = [n for n in names if n not in owned or (out / n).is_dir()]
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        shown = ", ".join(foreign[:3]) + more
        raise ReportError(
            f"--out {str(out)!r} holds files gridbench report did not write ({shown}); a "
            "report replaces its directory, so choose a new or empty directory or move them"
        )


def write_manifest(directory: Path) -> None:
    """Write the manifest listing every file in ``directory`` (what this report wrote)."""
    import json

    files = sorted(p.name for p in directory.iterdir() if p.name != REPORT_MARKER)
    text = json.dumps({"written_by": "gridbench report", "files": files}, indent=1) + "\n"
    (directory / REPORT_MARKER).write_text(text, encoding="utf-8")


def swap_in(tmp: Path, out: Path) -> None:
    """Replace ``out`` by ``tmp`` (two renames; the old report is removed afterwards)."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        old.rmdir()
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
