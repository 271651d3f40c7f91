"""``python -m gridbench.benchmarks.compare``: speed ratios of a run against the baseline.

Hand-made pytest-benchmark JSONs with exact ratios; and the committed baseline must
be well formed and name groups of the existing suites.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gridbench.benchmarks.compare import BASELINE, Verdict, compare, load_baseline, main
from gridbench.benchmarks.ratios import read_ratios

ROOT = Path(__file__).resolve().parents[1]


def _bench(group: str, role: str, median: float, scenarios: int = 1) -> dict:
    return {
        "group": group,
        "name": f"test_{group}_{role}",
        "extra_info": {"role": role, "scenarios": scenarios, "solver": f"{role}-solver"},
        "stats": {"median": median},
    }


def _run(tmp_path: Path, name: str, pairs: dict[str, tuple[float, float]]) -> Path:
    """A run whose group ``g`` has reference median ``pairs[g][0]`` s for 1 scenario and
    subject median ``pairs[g][1]`` s for 10 scenarios."""
    benches = []
    for group, (ref, sub) in pairs.items():
        benches += [_bench(group, "reference", ref), _bench(group, "subject", sub, 10)]
    path = tmp_path / name
    path.write_text(json.dumps({"benchmarks": benches, "datetime": "2026-11-24T00:00:00"}))
    return path


def test_ratios_regressions_missing_and_new_groups(tmp_path, capsys):
    base_run = _run(tmp_path, "base.json", {"a": (1.0, 0.1), "b": (2.0, 0.1), "gone": (1, 1)})
    baseline = tmp_path / "baseline.json"
    assert main([str(base_run), "--baseline", str(baseline), "--update"]) == 0
    doc = load_baseline(baseline)
    assert doc["groups"]["a"]["ratio"] == pytest.approx(100.0)  # 1 s / (0.1 s / 10)
    assert doc["groups"]["b"]["ratio"] == pytest.approx(200.0)
    assert doc["tolerance"] == 0.5

    # a: 100 -> 60 (0.60 of baseline, within 50%); b: 200 -> 80 (0.40: regression)
    run = _run(tmp_path, "run.json", {"a": (0.6, 0.1), "b": (0.8, 0.1), "new": (1.0, 0.1)})
    rows = {r.group: r for r in compare(read_ratios(run), doc, 0.5)}
    assert {g: r.verdict for g, r in rows.items()} == {
        "a": Verdict.OK,
        "b": Verdict.REGRESSION,
        "gone": Verdict.MISSING,
        "new": Verdict.NEW,
    }
    assert rows["a"].change == pytest.approx(0.6)
    assert rows["b"].change == pytest.approx(0.4)

    capsys.readouterr()
    assert main([str(run), "--baseline", str(baseline)]) == 1
    out = capsys.readouterr()
    assert "| b | reference-solver | subject-solver | 200x | 80x | 0.40 | regression |" in out.out
    assert "FAIL b: ratio 80x < 0.50 x baseline 200x" in out.err
    assert "FAIL gone: missing from the run" in out.err
    # a looser tolerance lets b pass; gone still fails
    assert main([str(run), "--baseline", str(baseline), "--tolerance", "0.7"]) == 1
    assert "FAIL b" not in capsys.readouterr().err


def test_user_errors_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "nope.json"), "--baseline", str(BASELINE)]) == 2
    assert "does not exist" in capsys.readouterr().err
    run = _run(tmp_path, "run.json", {"a": (1.0, 0.1)})
    assert main([str(run), "--baseline", str(BASELINE), "--tolerance", "1.5"]) == 2
    assert "tolerance 1.5 must be a number in [0, 1)" in capsys.readouterr().err


def test_committed_baseline_is_well_formed_and_names_suite_groups():
    doc = load_baseline(BASELINE)
    text = "\n".join(p.read_text() for p in (ROOT / "benchmarks" / "suites").glob("test_*.py"))
    assert "role=role" in text or '"reference"' in text  # suites still declare their roles
    for group in doc["groups"]:
        stem = group.split("-")[0]
        assert re.search(rf"{stem}", text), f"baseline group {group} has no suite"
    assert doc["source"]["datetime"] and 0.0 <= doc["tolerance"] < 1.0
