"""The command line as users script it: JSON keys, one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def gridbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridbench.benchmarks.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_grid_json_reproduces_ieee33_base_case():
    out = gridbench("grid", "ieee33", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"name", "buses", "branches", "losses_kw", "v_min_pu", "v_min_bus"} <= data.keys()
    assert (data["name"], data["buses"], data["branches"]) == ("ieee33", 33, 32)
    assert data["losses_kw"] == pytest.approx(202.67, rel=1e-3)
    assert data["v_min_pu"] == pytest.approx(0.9131, rel=1e-3)
    assert data["v_min_bus"] == 18


def test_grid_text_output_names_the_minimum_voltage_bus():
    out = gridbench("grid", "feeder38")
    assert out.returncode == 0, out.stderr
    assert "38 buses, 37 branches" in out.stdout and "at bus 18" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("grid", "ieee3"), "gridbench: error: unknown grid 'ieee3'; did you mean 'ieee33'?"),
        (("grid", "feeder83", "--json"), "did you mean 'feeder38'?"),
        (("methods", "--case", "ses-carbon-ieee33-v9"), "unknown case 'ses-carbon-ieee33-v9'"),
        (("run", "--family", "solvr"), "unknown method family 'solvr'; valid: solver, rl"),
        (("run", "--method", "ddgp"), "unknown method 'ddgp'; did you mean 'ddpg'?"),
    ],
)
def test_unknown_names_give_one_line_and_exit_2(args, message):
    out = gridbench(*args)
    assert out.returncode == 2
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_cases_json_is_a_list_of_case_objects():
    out = gridbench("cases", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert isinstance(rows, list)
    for row in rows:
        assert {"id", "grid", "steps", "step_hours", "paper"} <= row.keys()


def test_methods_json_lists_the_idle_baseline():
    out = gridbench("methods", "--json")
    assert out.returncode == 0, out.stderr
    rows = {row["name"]: row for row in json.loads(out.stdout)}
    assert rows["idle"]["family"] == "baseline"
    assert all({"name", "family", "cases"} <= row.keys() for row in rows.values())


def test_version_and_aligned_tables():
    version = gridbench("--version")
    assert version.returncode == 0 and version.stdout.startswith("gridbench 0."), version.stdout
    cases = gridbench("cases")
    assert cases.returncode == 0, cases.stderr
    lines = cases.stdout.splitlines()
    assert lines[0].split() == ["case", "grid", "steps", "paper"]
    first = [line.split()[0] for line in lines]
    starts = {len(line) - len(line[len(f):].lstrip()) for line, f in zip(lines, first, strict=True)}
    assert len(starts) == 1  # the grid column is aligned
    assert any(line.startswith("sgls-ieee30-v0 ") for line in lines)


NOTE = (
    "gridbench: note: results/runs has no rows; showing the committed reference "
    "results/reference\n"
)


def _old_store(root, method: str, solve_s: float) -> None:
    """A one-row store written like results/reference before plan_ms existed: solve_s,
    decide_s = 0.5 s and n_steps = 24, no compute columns."""
    from gridbench.benchmarks.provenance import Provenance
    from gridbench.benchmarks.store import ResultsStore

    row = {"case": "demo-v0", "method": method, "seed": 0, "day": "2016-01-11",
           "budget": "smoke", "family": "baseline", "split": "test", "status": "ok",
           "feasible": True, "cost": 10.0, "solve_s": solve_s, "decide_s": 0.5,
           "n_steps": 24}  # fmt: skip
    ResultsStore(root).append([row], Provenance.create("demo-v0", method, 0))


def gridbench_in(cwd, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridbench.benchmarks.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_leaderboard_without_results_falls_back_to_the_committed_reference(tmp_path):
    """A fresh clone: no results/runs. `gridbench leaderboard` shows results/reference with a
    one-line note; its old rows get plan_ms = 1000 solve_s and compute_ms_per_decision =
    1000 (solve_s + decide_s) / n_steps = 1000 (0.25 + 0.5) / 24 = 31.25 ms."""
    _old_store(tmp_path / "results" / "reference", "idle", solve_s=0.25)
    out = gridbench_in(tmp_path, "leaderboard", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert out.stderr == NOTE
    (entry,) = json.loads(out.stdout)
    assert (entry["method"], entry["plan_ms"], entry["compute_ms_per_decision"]) == (
        "idle", 250.0, 31.25)  # fmt: skip

    # an empty results/runs (a run that wrote nothing yet) falls back too
    (tmp_path / "results" / "runs").mkdir()
    again = gridbench_in(tmp_path, "leaderboard", "--format", "json")
    assert again.returncode == 0 and again.stderr == NOTE

    # results/runs with rows: shown, no note
    _old_store(tmp_path / "results" / "runs", "rule", solve_s=0.5)
    runs = gridbench_in(tmp_path, "leaderboard", "--format", "json")
    assert runs.returncode == 0 and runs.stderr == ""
    assert [e["method"] for e in json.loads(runs.stdout)] == ["rule"]


def test_missing_results_are_one_line_errors(tmp_path):
    """An explicit --results that does not exist stays an error (no fallback); with neither
    results/runs nor results/reference, leaderboard and report exit 2 with one line."""
    _old_store(tmp_path / "results" / "reference", "idle", solve_s=0.25)
    explicit = gridbench_in(tmp_path, "leaderboard", "--results", "results/runs")
    assert explicit.returncode == 2
    assert explicit.stderr == (
        "gridbench: error: results directory 'results/runs' does not exist; run "
        "`gridbench run --results results/runs` first\n"
    )
    empty = tmp_path / "fresh"
    empty.mkdir()
    for command in ("leaderboard", "report"):
        out = gridbench_in(empty, command)
        assert out.returncode == 2, out.stderr
        assert out.stderr == (
            "gridbench: error: neither 'results/runs' nor the committed reference "
            "'results/reference' holds result rows; run `gridbench run` first or pass "
            "--results DIR\n"
        )
    assert list(empty.iterdir()) == []  # nothing written


def test_report_without_results_falls_back_to_the_committed_reference(tmp_path):
    _old_store(tmp_path / "results" / "reference", "idle", solve_s=0.25)
    out = gridbench_in(tmp_path, "report")
    assert out.returncode == 0, out.stderr
    assert out.stderr.startswith(NOTE)
    md = (tmp_path / "results" / "report" / "report.md").read_text()
    assert "| idle | baseline |" in md and "| 250 | 31.25 |" in md
