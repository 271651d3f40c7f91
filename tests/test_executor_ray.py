"""The Ray executor (``gridbench run --executor ray``) against the local one.

One module-scoped local Ray of 2 CPUs serves every test that needs Ray (start-up takes
seconds); the executor reuses a running session. Without Ray installed those tests skip with
the reason, and the tests of the error message and of the progress display still run.

* identical rows: the real ``ses-carbon-ieee33-v0`` on the ``smoke`` budget, one test day —
  a solver (``oracle``, cvxpy/Clarabel) and an RL agent (``ppo``,
  trained in the unit) — through ``gridbench run`` with ``--executor local --workers 2`` and
  with ``--executor ray``: every column but the timings and ``run_id`` equal, to the last digit;
* a worker killed from outside (SIGKILL to the process running the unit) costs only its unit,
  which is recorded with its error; the re-run runs that unit only.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest
import toy_case
from toy_case import CASE_ID, DAYS, ScheduleController, _ToyMethod
from typer.testing import CliRunner

from gridbench.benchmarks import executors
from gridbench.benchmarks.cli import app
from gridbench.benchmarks.executors import ExecutorError, LocalExecutor, RayExecutor
from gridbench.benchmarks.harness import VOLATILE_COLUMNS, make_task
from gridbench.benchmarks.store import ResultsStore, UnitKey, UnitStatus
from gridbench.cases.contracts import Budget, Case, MethodFamily, Split
from gridbench.cases.registry import make_case, register_method

VICTIM_DIR_ENV = "GRIDBENCH_TEST_VICTIM_DIR"
SES = "ses-carbon-ieee33-v0"


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip(
        "ray", reason="Ray is not installed (optional extra: pip install 'gridbench[ray]')"
    )
    ray.init(
        address="local",  # a new instance, never a cluster running on this machine
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=128 * 1024**2,
        logging_level="WARNING",
    )
    yield ray
    ray.shutdown()


def _rows(results: Path) -> Any:
    frame = ResultsStore(results).frame().drop(columns=[*VOLATILE_COLUMNS])
    return frame.sort_values(["case", "method", "seed", "day"]).reset_index(drop=True)


def test_ray_rows_equal_local_rows_on_the_real_case(ray_session, tmp_path):
    runner = CliRunner()
    common = [
        "run", "--case", SES, "--method", "oracle", "--method", "ppo",
        "--seeds", "1", "--budget", "smoke", "--days", "1", "--no-progress",
    ]  # fmt: skip
    local = runner.invoke(
        app, [*common, "--executor", "local", "--workers", "2", "--results", tmp_path / "l"]
    )
    assert local.exit_code == 0, local.output
    ray = runner.invoke(app, [*common, "--executor", "ray", "--results", tmp_path / "r"])
    assert ray.exit_code == 0, ray.output
    assert "2 unit(s): wrote 2 row(s)" in ray.stdout

    a, b = _rows(tmp_path / "l"), _rows(tmp_path / "r")
    assert list(a["method"]) == ["oracle", "ppo"]
    assert (a["status"] == "ok").all()
    assert a.equals(b)  # every KPI (and the provenance but the run id) to the last digit
    assert b["cost"].notna().all() and (b["cost"] > 0).all()


class Victim(_ToyMethod):
    """TEST ONLY: the first ``fit`` of a seed writes its process id to
    ``$GRIDBENCH_TEST_VICTIM_DIR/s<seed>.pid`` and waits to be killed; later fits go on."""

    name: ClassVar[str] = "victim"
    family: ClassVar[MethodFamily] = MethodFamily.BASELINE

    def fit(self, case: Case, seed: int, budget: Budget) -> None:
        marker = Path(os.environ[VICTIM_DIR_ENV]) / f"s{seed}.pid"
        if marker.exists():
            return
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(str(os.getpid()))
        tmp.replace(marker)
        time.sleep(60.0)  # killed long before
        raise RuntimeError("the test did not kill the worker")

    def controller(self, case: Case, day: Any) -> ScheduleController:
        return ScheduleController(case, {})


def _kill_when_ready(marker: Path, killed: list[int]) -> None:
    deadline = time.monotonic() + 45.0
    while time.monotonic() < deadline:
        if marker.exists():
            pid = int(marker.read_text())
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.05)


def test_killed_ray_worker_costs_only_its_unit_and_rerun_completes_it(ray_session, tmp_path):
    victim_dir = tmp_path / "victim"
    victim_dir.mkdir()
    env = {"env_vars": {VICTIM_DIR_ENV: str(victim_dir)}}
    with toy_case.registered():
        register_method(Victim)
        case = make_case(CASE_ID)
        days = DAYS[Split.TEST][:2]
        tasks = [
            make_task(case, name, seed, "smoke", "test", days)
            for name, seed in (("victim", 0), ("noisy", 1), ("fitfail", 0), ("idle", 0))
        ]
        store = ResultsStore(tmp_path / "r")
        killed: list[int] = []
        killer = threading.Thread(
            target=_kill_when_ready, args=(victim_dir / "s0.pid", killed), daemon=True
        )
        killer.start()
        summary = RayExecutor(progress=False, runtime_env=env).run(tasks, store)
        killer.join(timeout=1.0)
        assert killed and killed[0] != os.getpid()  # a worker process, not this one

        errors = {r.unit.method: r.error for r in summary.results}
        assert errors == {
            "victim": "worker process died (Ray WorkerCrashedError) before finishing the unit",
            "noisy": None,
            "fitfail": "RuntimeError: no training data",
            "idle": None,
        }
        assert summary.n_written == 4  # noisy and idle, 2 days each
        assert {f.unit.method: f.error.splitlines()[0] for f in store.failures()} == {
            m: errors[m] for m in ("victim", "fitfail")
        }
        victim = UnitKey(CASE_ID, "victim", 0, "smoke")
        assert store.unit_status(victim, days) is UnitStatus.FAILED

        # the re-run runs only what is missing: the killed unit (and fitfail, which fails again)
        again = RayExecutor(progress=False, runtime_env=env).run(tasks, store)
        by_method = {r.unit.method: r for r in again.results}
        assert (by_method["victim"].n_written, by_method["victim"].error) == (2, None)
        assert (by_method["noisy"].n_written, by_method["noisy"].n_skipped) == (0, 2)
        assert (by_method["idle"].n_written, by_method["idle"].n_skipped) == (0, 2)
        assert store.unit_status(victim, days) is UnitStatus.DONE
        # the idle rows by hand: 1800·L $ a day (toy_case docstring)
        idle = store.frame(method="idle").sort_values("day")
        assert list(idle["cost"]) == [1800.0 * toy_case.load_mw(d) for d in days]


# --------------------------------------------------------------------------- without Ray


def test_missing_ray_is_one_line_with_the_install_hint(monkeypatch, tmp_path):
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ExecutorError, match=r"pip install 'gridbench\[ray\]'"):
        executors.make_executor("ray", 2)
    out = CliRunner().invoke(
        app, ["run", "--executor", "ray", "--results", tmp_path / "r", "--no-progress"]
    )
    assert out.exit_code == 2
    assert out.stderr.strip().splitlines() == [
        "gridbench: error: --executor ray needs Ray, which is not installed; install it with "
        "pip install 'gridbench[ray]' (or use --executor local)"
    ]
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "dask"}, "unknown executor 'dask'"),
        ({"name": "local", "address": "auto"}, "--address 'auto' is for --executor ray"),
    ],
)
def test_executor_choice_errors(kwargs, message):
    with pytest.raises(ExecutorError, match=message):
        executors.make_executor(**kwargs)


def test_progress_shows_units_and_time_left(capsys):
    with toy_case.registered():
        case = make_case(CASE_ID)
        tasks = [make_task(case, "idle", s, "smoke", "test", DAYS[Split.TEST][:2]) for s in (0, 1)]
        import tempfile

        with tempfile.TemporaryDirectory() as root:
            LocalExecutor(1, progress=True).run(tasks, ResultsStore(root))
    err = capsys.readouterr().err
    assert "4/4" in err and "2/2 units" in err and "left" in err
    assert "toy-storage-v0 / idle / seed 1: 2 row(s)" in err
