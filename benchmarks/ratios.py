"""Read a pytest-benchmark JSON and print reference/subject speed ratios per group.

Usage: ``python -m gridbench.benchmarks.ratios BENCH.json [--markdown OUT.md]``.
Per-scenario time = median of a benchmark / its ``extra_info["scenarios"]``; the ratio is
reference per-scenario time over subject per-scenario time (> 1: ours is faster).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GroupRatio", "format_ratio", "main", "ratio_table", "read_ratios"]


@dataclass(frozen=True)
class GroupRatio:
    group: str
    reference: str
    subject: str
    reference_s: float
    subject_s: float

    @property
    def ratio(self) -> float:
        return self.reference_s / self.subject_s


def read_ratios(path: Path) -> list[GroupRatio]:
    """Pair each group's reference and subject; groups without both are skipped."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"benchmark file {str(path)!r} does not exist") from None
    by_group: dict[str, dict[str, tuple[str, float]]] = {}
    for bench in data.get("benchmarks", []):
        info = bench.get("extra_info", {})
        role = info.get("role")
        if role not in ("reference", "subject") or not bench.get("group"):
            continue
        per_scenario = bench["stats"]["median"] / float(info.get("scenarios", 1))
        label = info.get("solver", bench["name"])
        by_group.setdefault(bench["group"], {})[role] = (label, per_scenario)
    out = []
    for group, roles in sorted(by_group.items()):
        if "reference" in roles and "subject" in roles:
            (ref_label, ref_s), (sub_label, sub_s) = roles["reference"], roles["subject"]
            out.append(GroupRatio(group, ref_label, sub_label, ref_s, sub_s))
    return out


def ratio_table(ratios: list[GroupRatio]) -> str:
    """Markdown table: group, reference and subject per-scenario medians, ratio."""
    lines = [
        "| group | reference | ref. per scenario | subject | subj. per scenario | ratio |",
        "|---|---|---:|---|---:|---:|",
    ]
    for r in ratios:
        lines.append(
            f"| {r.group} | {r.reference} | {_fmt(r.reference_s)} | {r.subject} | "
            f"{_fmt(r.subject_s)} | {format_ratio(r.ratio)} |"
        )
    return "\n".join(lines)


def format_ratio(ratio: float) -> str:
    """``4,433x`` from 10 up, ``2.4x`` / ``0.35x`` below (two significant digits)."""
    if ratio >= 10:
        return f"{ratio:,.0f}x"
    return f"{ratio:.2g}x"


def _fmt(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.2f} µs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", type=Path)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        ratios = read_ratios(args.json)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = ratio_table(ratios)
    print(table)
    if args.markdown is not None:
        from gridbench.benchmarks.atomic import atomic_write_text

        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.markdown, table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
