"""``gridbench compact``, ``gridbench ship`` and ``gridbench run --retrain``."""

from __future__ import annotations

from pathlib import Path

import pytest
import toy_case
from toy_case import CASE_ID
from typer.testing import CliRunner

from gridbench.benchmarks.cli import app
from gridbench.benchmarks.plugins import load_all
from gridbench.benchmarks.store import ResultsStore

load_all(warn=False)
runner = CliRunner()
SES = "ses-carbon-ieee33-v0"


def gridbench(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def test_compact_keeps_every_row_in_one_file_per_method(tmp_path):
    results = tmp_path / "runs"
    with toy_case.registered():
        out = gridbench("run", "--case", CASE_ID, "--method", "idle", "--method", "oracle",
                        "--seeds", "2", "--days", "2", "--budget", "smoke", "--workers", "1",
                        "--results", results, "--no-progress")  # fmt: skip
        assert out.exit_code == 0, out.output
        before = ResultsStore(results).frame()
        board = gridbench("leaderboard", "--results", results, "--format", "csv")
        out = gridbench("compact", "--results", results)
        assert out.exit_code == 0, out.output
        assert out.output.strip() == "8 row(s): 8 file(s) -> 2"
        assert len(list((results / "rows").rglob("*.parquet"))) == 2
        assert ResultsStore(results).frame().equals(before)
        assert gridbench("leaderboard", "--results", results, "--format", "csv").output == (
            board.output
        )


def test_compact_of_a_missing_directory_is_one_line(tmp_path):
    out = gridbench("compact", "--results", tmp_path / "nope")
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1
    assert "does not exist" in out.output


def test_ship_copies_trained_agents_and_names_missing_ones(tmp_path, monkeypatch):
    from gridbench.cases.registry import make_case, make_method

    monkeypatch.setenv("GRIDBENCH_PROGRESS", "0")
    training, agents = tmp_path / "training", tmp_path / "agents"
    method = make_method("ppo")
    method.training_dir = training
    method.fit(make_case(SES), 0, "smoke")
    out = gridbench("ship", "--case", SES, "--method", "ppo", "--seeds", "1",
                    "--training-dir", training, "--agents-dir", agents)  # fmt: skip
    assert out.exit_code == 0, out.output
    shipped = agents / SES / "ppo" / "seed0.zip"
    assert shipped.is_file() and shipped.with_suffix(".json").is_file()
    out = gridbench("ship", "--case", SES, "--method", "ppo", "--seeds", "2",
                    "--training-dir", training, "--agents-dir", agents)  # fmt: skip
    assert out.exit_code == 2 and "seed 1" in out.output
    out = gridbench("ship", "--case", SES, "--method", "oracle", "--seeds", "1")
    assert out.exit_code == 2 and "family rl only" in out.output


@pytest.mark.parametrize("retrain", [False, True])
def test_run_retrain_reaches_every_task(retrain):
    from gridbench.benchmarks.harness import plan_run

    plan = plan_run([SES], ["ppo", "idle"], [0, 1], "quick", "test", 1, retrain=retrain)
    assert len(plan.tasks) == 4 and {t.retrain for t in plan.tasks} == {retrain}
