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
