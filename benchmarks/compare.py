"""Compare the speed ratios of a pytest-benchmark run with the committed baseline.

Usage::

    python -m gridbench.benchmarks.compare RUN.json [--baseline benchmarks/baseline.json]
        [--tolerance 0.5] [--markdown OUT.md]
    python -m gridbench.benchmarks.compare RUN.json --update   # RUN.json becomes the baseline

Each benchmark group pairs a reference (e.g. ``pandapower.runpp``) with our subject, side by
side in one run on one machine; its *ratio* is reference time over subject time per scenario
(:mod:`gridbench.benchmarks.ratios`; > 1: ours is faster). Ratios, not absolute times, are
compared, because these machines are noisy and differ: a slow or busy machine slows both sides.

A group **regresses** when its ratio falls below ``(1 - tolerance)`` times its baseline ratio:
with the default tolerance 0.5, when ours became more than twice as slow *relative to the
reference* as in the baseline. A baseline group missing from the run also fails (a renamed or
deleted benchmark must update the baseline: ``--update``); a group new in the run is listed and
passes. Exit status: 0 all within tolerance, 1 a regression or a missing group, 2 a user error
(file missing or not a pytest-benchmark JSON).

The baseline (``benchmarks/baseline.json``, committed) stores per group the reference and
subject labels, their per-scenario medians and the ratio, the tolerance, and where the numbers
come from (date, commit, CPU, cores of the run it was made from).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from gridbench.benchmarks.ratios import GroupRatio, read_ratios

__all__ = [
    "BASELINE",
    "DEFAULT_TOLERANCE",
    "Comparison",
    "Verdict",
    "compare",
    "comparison_table",
    "load_baseline",
    "main",
    "make_baseline",
]

#: The committed baseline, beside this module.
BASELINE: Final[Path] = Path(__file__).resolve().parent / "baseline.json"
#: Largest tolerated relative drop of a group's ratio (0.5: ours may get up to 2x slower
#: relative to the reference before the comparison fails).
DEFAULT_TOLERANCE: Final[float] = 0.5
_FORMAT: Final[int] = 1


class Verdict(StrEnum):
    """Outcome of one group."""

    OK = "ok"
    REGRESSION = "regression"
    MISSING = "missing"
    NEW = "new"

    @property
    def fails(self) -> bool:
        return self in (Verdict.REGRESSION, Verdict.MISSING)


@dataclass(frozen=True, slots=True)
class Comparison:
    """One group: its baseline and current ratio (NaN where absent) and the verdict."""

    group: str
    reference: str
    subject: str
    baseline_ratio: float
    ratio: float
    verdict: Verdict

    @property
    def change(self) -> float:
        """Current ratio over baseline ratio (1: unchanged, < 1: ours got relatively slower)."""
        if math.isnan(self.ratio) or math.isnan(self.baseline_ratio):
            return math.nan
        return self.ratio / self.baseline_ratio


def _check_tolerance(tolerance: float) -> float:
    if not (isinstance(tolerance, int | float) and 0.0 <= tolerance < 1.0):
        raise ValueError(f"tolerance {tolerance!r} must be a number in [0, 1)")
    return float(tolerance)


def _run_ratios(path: Path) -> list[GroupRatio]:
    try:
        return read_ratios(path)
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{str(path)!r} is not a pytest-benchmark JSON ({exc})") from None


def make_baseline(run: Path, tolerance: float = DEFAULT_TOLERANCE) -> dict[str, Any]:
    """The baseline document of the pytest-benchmark JSON ``run``."""
    data = json.loads(Path(run).read_text())
    machine = data.get("machine_info", {})
    commit = data.get("commit_info", {})
    groups = {
        r.group: {
            "reference": r.reference,
            "subject": r.subject,
            "reference_s": r.reference_s,
            "subject_s": r.subject_s,
            "ratio": r.ratio,
        }
        for r in _run_ratios(run)
    }
    if not groups:
        raise ValueError(f"{str(run)!r} holds no group with both a reference and a subject")
    return {
        "format": _FORMAT,
        "about": (
            "Speed ratios (reference / subject time per scenario, median) of the "
            "pytest-benchmark suites; compared by python -m gridbench.benchmarks.compare. "
            "Regenerate with --update from a `tox -e bench` run."
        ),
        "tolerance": _check_tolerance(tolerance),
        "source": {
            "datetime": data.get("datetime"),
            "commit": commit.get("id"),
            "cpu": (machine.get("cpu") or {}).get("brand_raw"),
            "cores": (machine.get("cpu") or {}).get("count"),
            "python": machine.get("python_version"),
        },
        "groups": groups,
    }


def load_baseline(path: Path) -> dict[str, Any]:
    """Read and check a baseline document."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(
            f"baseline {str(path)!r} does not exist; create it with --update RUN.json"
        ) from None
    if data.get("format") != _FORMAT or not isinstance(data.get("groups"), dict):
        raise ValueError(f"baseline {str(path)!r} is not a gridbench baseline (format {_FORMAT})")
    return data


def compare(
    run: list[GroupRatio], baseline: dict[str, Any], tolerance: float = DEFAULT_TOLERANCE
) -> list[Comparison]:
    """Compare the ratios of a run with a baseline document (see the module docstring)."""
    tolerance = _check_tolerance(tolerance)
    current = {r.group: r for r in run}
    out: list[Comparison] = []
    for group, base in sorted(baseline["groups"].items()):
        now = current.get(group)
        if now is None:
            out.append(
                Comparison(
                    group, base["reference"], base["subject"], base["ratio"], math.nan,
                    Verdict.MISSING,
                )
            )
            continue
        ok = now.ratio >= (1.0 - tolerance) * base["ratio"]
        out.append(
            Comparison(
                group, now.reference, now.subject, base["ratio"], now.ratio,
                Verdict.OK if ok else Verdict.REGRESSION,
            )
        )
    for group, now in sorted(current.items()):
        if group not in baseline["groups"]:
            out.append(
                Comparison(group, now.reference, now.subject, math.nan, now.ratio, Verdict.NEW)
            )
    return out


def _x(value: float) -> str:
    from gridbench.benchmarks.ratios import format_ratio

    return "—" if math.isnan(value) else format_ratio(value)


def comparison_table(rows: list[Comparison], tolerance: float) -> str:
    """Markdown: group, reference vs subject, baseline and current ratio, change, verdict."""
    lines = [
        f"| group | reference | subject | baseline ratio | this run | change | verdict "
        f"(tolerance {tolerance:.0%}) |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        change = "—" if math.isnan(r.change) else f"{r.change:.2f}"
        lines.append(
            f"| {r.group} | {r.reference} | {r.subject} | {_x(r.baseline_ratio)} | "
            f"{_x(r.ratio)} | {change} | {r.verdict} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="pytest-benchmark JSON of the run to check")
    parser.add_argument("--baseline", type=Path, default=BASELINE)
    parser.add_argument(
        "--tolerance",
        type=float,
        default=None,
        help=f"largest relative drop of a ratio (default: the baseline's, else "
        f"{DEFAULT_TOLERANCE})",
    )
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    parser.add_argument(
        "--update", action="store_true", help="write RUN's ratios as the new baseline"
    )
    args = parser.parse_args(argv)
    from gridbench.benchmarks.atomic import atomic_write_text

    try:
        if not args.run.is_file():
            raise ValueError(f"benchmark file {str(args.run)!r} does not exist")
        if args.update:
            tolerance = DEFAULT_TOLERANCE if args.tolerance is None else args.tolerance
            doc = make_baseline(args.run, tolerance)
            atomic_write_text(args.baseline, json.dumps(doc, indent=2) + "\n")
            print(f"wrote {args.baseline} ({len(doc['groups'])} groups)")
            return 0
        baseline = load_baseline(args.baseline)
        tolerance = baseline.get("tolerance", DEFAULT_TOLERANCE)
        tolerance = _check_tolerance(tolerance if args.tolerance is None else args.tolerance)
        rows = compare(_run_ratios(args.run), baseline, tolerance)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = comparison_table(rows, tolerance)
    print(table)
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.markdown, table + "\n")
    failed = [r for r in rows if r.verdict.fails]
    for r in failed:
        what = (
            "missing from the run (renamed or deleted? update the baseline with --update)"
            if r.verdict is Verdict.MISSING
            else f"ratio {_x(r.ratio)} < {1 - tolerance:.2f} x baseline {_x(r.baseline_ratio)}"
        )
        print(f"FAIL {r.group}: {what}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
