"""Kill test of the results store: SIGKILL a writer, check what survived, then resume.

A writer process (``tests/store_writer.py``) appends rows one by one. It is killed with
SIGKILL (no clean-up of any kind runs) either at a random moment while it writes, or at a
chosen point inside a write: after its temp file is complete and fsync'ed but before it is
published, or while the temp file holds a few bytes. Every published file must then be
readable, the rows read back must be exactly the first k expected rows with their exact
values, and a second run of the writer must resume to exactly the n rows of a clean run.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pandas as pd
import pyarrow.parquet as pq
import pytest

from gridbench.benchmarks.provenance import PROVENANCE_COLUMNS
from gridbench.benchmarks.store import KEY_COLUMNS, ResultsStore

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")

WRITER = Path(__file__).with_name("store_writer.py")
N_ROWS = 20
TIMEOUT_S = 20.0


def _load_writer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("store_writer", WRITER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


writer = _load_writer()


def _start(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), str(root), "--n", str(N_ROWS), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill(process: subprocess.Popen[str]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=TIMEOUT_S)
    assert process.returncode == -signal.SIGKILL


def _wait_for_rows(process: subprocess.Popen[str], root: Path, at_least: int) -> None:
    """Poll the store (as a reader would) until it holds ``at_least`` rows."""
    store = ResultsStore(root)
    deadline = time.monotonic() + TIMEOUT_S
    while len(store.completed_keys()) < at_least:
        if process.poll() is not None:
            pytest.fail(f"writer ended early: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("writer wrote too slowly")
        time.sleep(0.01)


def _wait_for_line(process: subprocess.Popen[str], prefix: str) -> str:
    assert process.stdout is not None
    for line in process.stdout:  # the writer flushes each line; it hangs after this one
        if line.startswith(prefix):
            return line.strip()
    pytest.fail(f"writer ended without printing {prefix!r}: {process.communicate()}")


def _metrics(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=list(PROVENANCE_COLUMNS)).reset_index(drop=True)


@pytest.fixture(scope="module")
def clean_frame(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The rows of an uninterrupted run, written through the same code in this process."""
    root = tmp_path_factory.mktemp("clean") / "results"
    assert writer.write(root, N_ROWS) == (N_ROWS, 0)
    return ResultsStore(root).frame()


def _check_survivors(root: Path) -> int:
    """Every published file is readable; the rows are exactly the first k, exact values."""
    for path in (root / "rows").rglob("*.parquet"):
        if not path.name.startswith("."):
            pq.read_table(path)  # raises on a torn file
    store = ResultsStore(root)
    keys = store.completed_keys()
    k = len(keys)
    assert keys == {writer.expected_key(i) for i in range(k)}, "not a prefix of the rows"
    frame = store.frame()
    assert len(frame) == k, "duplicated rows"
    expected = pd.DataFrame([writer.expected_row(i) for i in range(k)])
    pd.testing.assert_frame_equal(_metrics(frame)[list(expected.columns)], expected)
    assert store.query("SELECT count(*) AS n FROM results")["n"].item() == k
    return k


def _resume_and_compare(root: Path, survivors: int, clean_frame: pd.DataFrame) -> None:
    done = subprocess.run(
        [sys.executable, str(WRITER), str(root), "--n", str(N_ROWS)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=True,
    )
    last = done.stdout.strip().splitlines()[-1]
    assert last == f"done written={N_ROWS - survivors} skipped={survivors}"
    assert not list((root / "rows").rglob(".*.tmp")), "orphan temp file not cleaned"
    store = ResultsStore(root)
    frame = store.frame()
    assert len(frame) == N_ROWS
    assert not frame.duplicated(list(KEY_COLUMNS)).any()
    assert store.completed_keys() == {writer.expected_key(i) for i in range(N_ROWS)}
    pd.testing.assert_frame_equal(_metrics(frame), _metrics(clean_frame))
    assert frame["config_hash"].nunique() == 1
    assert frame["run_id"].str.startswith(f"{writer.CASE}__{writer.METHOD}__{writer.SEED}__").all()


def test_sigkill_at_a_random_moment_then_resume(tmp_path: Path, clean_frame: pd.DataFrame) -> None:
    """Kill while rows stream in; survivors are a clean prefix; resume completes the set."""
    root = tmp_path / "results"
    process = _start(root, "--sleep", "0.03")
    _wait_for_rows(process, root, at_least=4)
    _kill(process)
    survivors = _check_survivors(root)
    assert 4 <= survivors < N_ROWS
    _resume_and_compare(root, survivors, clean_frame)


@pytest.mark.parametrize("stage", ["replace", "write"])
def test_sigkill_inside_a_write_then_resume(
    tmp_path: Path, stage: str, clean_frame: pd.DataFrame
) -> None:
    """Kill with a temp file on disk (complete or torn): readers ignore it, resume cleans it."""
    root = tmp_path / "results"
    hang_at = 6
    process = _start(root, "--hang-at", str(hang_at), "--hang-in", stage)
    assert _wait_for_line(process, "hang ") == f"hang {hang_at}"
    _kill(process)
    temps = list((root / "rows").rglob(".*.tmp"))
    assert len(temps) == 1, temps
    assert _check_survivors(root) == hang_at
    _resume_and_compare(root, hang_at, clean_frame)
