"""``gridbench run`` and ``gridbench leaderboard`` in-process on the TEST-ONLY toy case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import toy_case
from toy_case import CASE_2L_ID, CASE_ID, DAYS, load_mw
from typer.testing import CliRunner

from gridbench.benchmarks.cli import app
from gridbench.benchmarks.store import ResultsStore
from gridbench.cases.contracts import Split

runner = CliRunner()


@pytest.fixture
def toys():
    with toy_case.registered():
        yield


def gridbench(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def run_args(results: Path, *methods: str, days: int = 2, seeds: int = 2, workers: int = 1):
    args: list[str | Path] = ["run", "--case", CASE_ID, "--seeds", str(seeds), "--days", str(days)]
    for m in methods:
        args += ["--method", m]
    return [*args, "--budget", "smoke", "--workers", str(workers), "--results", results,
            "--no-progress"]  # fmt: skip


def test_run_resume_and_leaderboard_json(toys, tmp_path):
    results = tmp_path / "runs"
    out = gridbench(*run_args(results, "idle", "oracle"))
    assert out.exit_code == 0, out.output
    assert "4 unit(s): wrote 8 row(s), 0 already stored; day statuses: ok 8" in out.stdout

    again = gridbench(*run_args(results, "idle", "oracle"))
    assert again.exit_code == 0, again.output
    assert "wrote 0 row(s), 8 already stored" in again.stdout
    assert len(ResultsStore(results).frame()) == 8

    board = gridbench("leaderboard", "--format", "json", "--results", results)
    assert board.exit_code == 0, board.output
    entries = {e["method"]: e for e in json.loads(board.stdout)}
    idle, oracle = entries["idle"], entries["oracle"]
    assert list(idle)[:6] == ["case", "method", "family", "n_seeds", "n_days", "feasible"]
    assert (idle["family"], idle["rank"], idle["n_seeds"], idle["n_days"]) == ("baseline", 1, 2, 2)
    assert (oracle["family"], oracle["rank"]) == ("bound", None)
    # the oracle saves 240 $ a day: gap = 240 / (1800 L - 240), averaged over the two days
    gaps = [240 / (1800 * load_mw(d) - 240) for d in DAYS[Split.TEST][:2]]
    assert idle["gap"] == pytest.approx(sum(gaps) / 2, rel=1e-6)
    assert idle["cost"] == pytest.approx(900 * sum(load_mw(d) for d in DAYS[Split.TEST][:2]))

    target = tmp_path / "board" / "lb.md"
    written = gridbench("leaderboard", "--results", results, "--out", target)
    assert written.exit_code == 0 and written.stdout == ""
    md = target.read_text()
    assert f"## {CASE_ID}" in md and "| 1 | idle | baseline | smoke |" in md
    assert [p.name for p in target.parent.iterdir()] == ["lb.md"]  # no temp file left


def test_pool_run_records_a_killed_unit_and_finishes_the_others(toys, tmp_path):
    results = tmp_path / "runs"
    out = gridbench(*run_args(results, "killer", "idle", days=1, seeds=1, workers=2))
    assert out.exit_code == 1, out.output
    assert (
        f"unit {CASE_ID} / killer / seed 0 failed: worker process died with exit code 7"
        in out.stderr
    )
    store = ResultsStore(results)
    assert list(store.frame()["method"]) == ["idle"]
    assert [f.unit.method for f in store.failures()] == ["killer"]


def test_unsupported_methods_are_skipped_with_a_note(toys, tmp_path):
    out = gridbench(
        "run", "--case", CASE_ID, "--case", CASE_2L_ID, "--method", "picky", "--seeds", "1",
        "--days", "1", "--workers", "1", "--results", tmp_path / "r", "--no-progress",
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert f"note: skipped picky on {CASE_2L_ID}: not supported by the method" in out.stderr
    assert "wrote 1 row(s)" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--case", "toy-storage-v1"), "unknown case 'toy-storage-v1'; did you mean"),
        (("--case", CASE_ID, "--method", "idel"), "unknown method 'idel'; did you mean 'idle'?"),
        (("--address", "auto"), "--address 'auto' is for --executor ray"),
        (("--executor", "dask"), "unknown executor 'dask'"),
        (("--budget", "huge"), "unknown budget 'huge'; valid: smoke, quick, reference, paper"),
        (("--split", "train"), "valid: test, val"),
        (("--seeds", "0"), "--seeds 0 must be >= 1"),
        (("--case", CASE_ID, "--method", "marl"), "multi-agent"),
    ],
)
def test_run_user_errors_exit_2_before_any_work(toys, tmp_path, args, message):
    results = tmp_path / "untouched"
    out = gridbench("run", *args, "--results", results, "--no-progress")
    assert out.exit_code == 2, out.output
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and out.stdout == ""
    assert not results.exists()


def test_full_is_an_alias_of_reference(toys, tmp_path):
    args = run_args(tmp_path / "r", "idle", days=1, seeds=1)
    args[args.index("smoke")] = "full"
    assert gridbench(*args).exit_code == 0
    assert set(ResultsStore(tmp_path / "r").frame()["budget"]) == {"reference"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--results", "{missing}"), "does not exist; run `gridbench run --results"),
        (("--format", "xml"), "unknown format 'xml'"),
        (("--case", "toy-storag-v0"), "did you mean 'toy-storage-v0'?"),
    ],
)
def test_leaderboard_user_errors(toys, tmp_path, args, message):
    results = tmp_path / "runs"
    assert gridbench(*run_args(results, "idle", days=1, seeds=1)).exit_code == 0
    args = tuple(str(tmp_path / "missing") if a == "{missing}" else a for a in args)
    out = gridbench("leaderboard", "--results", results, *args)
    assert out.exit_code == 2, out.output
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1


_TERMINATED_DRIVER = """
import sys
sys.path.insert(0, {tests!r})
import toy_case
from gridbench.benchmarks.cli import app
with toy_case.registered():
    app({args!r})
"""


def test_terminated_pool_run_stops_its_workers(tmp_path):
    """SIGTERM to the driver of a pool run ends the workers too (they used to finish their
    units, orphaned): the driver exits with 143 and no worker outlives it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    args = [str(a) for a in run_args(tmp_path / "runs", "sleeper", days=1, seeds=2, workers=2)]
    code = _TERMINATED_DRIVER.format(tests=str(Path(__file__).parent), args=args)
    env = {**os.environ, "GRIDBENCH_TEST_PID_DIR": str(pid_dir)}
    driver = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        deadline = time.monotonic() + 60
        while len(list(pid_dir.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = [int(p.stem) for p in pid_dir.iterdir()]
        assert len(workers) == 2, "the two sleeper units never started"
        driver.send_signal(signal.SIGTERM)
        assert driver.wait(timeout=30) == 143
    finally:
        driver.kill()

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    deadline = time.monotonic() + 10
    while any(alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in workers)


def test_dry_run_prints_the_plan_and_runs_nothing(toys, tmp_path):
    results = tmp_path / "runs"
    out = gridbench("run", "--case", CASE_ID, "--method", "idle", "--method", "trainer",
                    "--seeds", "2", "--days", "3", "--results", results, "--dry-run")  # fmt: skip
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["case", "method", "family", "seeds", "days", "fit", "estimate"]
    idle = next(line for line in lines if " idle " in f" {line} ")
    assert idle.split()[:5] == [CASE_ID, "idle", "baseline", "2", "3"] and "no training" in idle
    trainer = next(line for line in lines if " trainer " in f" {line} ")
    assert "trains" in trainer
    assert "4 unit(s), 12 day rollouts; 2 train, 0 evaluate a shipped agent" in out.stdout
    assert f"training runs go to {results / 'training'}" in out.stdout
    assert "dry run: nothing was run or written" in out.stdout
    assert not results.exists()


def test_training_output_goes_under_results_or_training_dir(toys, tmp_path, monkeypatch):
    """RL runs are written under --results (DIR/training) or --training-dir, never into the
    checkout; the variable is restored after an in-process run."""
    import os

    monkeypatch.delenv("GRIDBENCH_TRAINING_DIR", raising=False)
    results = tmp_path / "runs"
    out = gridbench(*run_args(results, "trainer", days=1, seeds=1))
    assert out.exit_code == 0, out.output
    assert (results / "training" / CASE_ID / "trainer" / "seed0" / "monitor.csv").is_file()
    elsewhere = tmp_path / "elsewhere"
    out = gridbench(*run_args(tmp_path / "r2", "trainer", days=1, seeds=1),
                    "--training-dir", elsewhere)  # fmt: skip
    assert out.exit_code == 0, out.output
    assert (elsewhere / CASE_ID / "trainer" / "seed0" / "monitor.csv").is_file()
    assert not (tmp_path / "r2" / "training").exists()
    assert "GRIDBENCH_TRAINING_DIR" not in os.environ


def test_run_ends_with_a_summary_table(toys, tmp_path):
    out = gridbench(*run_args(tmp_path / "runs", "idle", "oracle", days=2, seeds=1))
    assert out.exit_code == 0, out.output
    head = out.stdout.splitlines()[0].split()
    assert head[:2] == ["case", "method"] and "statuses" in head
    idle = next(line for line in out.stdout.splitlines() if line.split()[1:2] == ["idle"])
    assert idle.split()[2:6] == ["1", "2", "0", "ok"]
