"""Executors: run units (case, method, seed) and write their rows to the results store.

:class:`LocalExecutor` ``(workers)``

* ``workers == 1``: every unit runs inline, in this process, one after the other
  (:func:`~gridbench.benchmarks.harness.run_task`).
* ``workers > 1``: each unit runs in a fresh **spawned** process (at most ``workers`` at a
  time; one process per unit, so a unit that crashes its interpreter, leaks memory or pins a
  thread pool takes nothing else down). Before anything heavy is imported the process sets
  ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` … to 1 (DESIGN §8: one
  torch thread per process, seeds in parallel processes). Workers send each finished row to
  the driver over a pipe of their own and **only the driver writes the store**, as each row
  arrives, so an interrupted run keeps every finished day. A unit whose ``fit`` raises, or
  whose process dies (``os._exit``, a signal, the OOM killer) costs only that unit: it is
  recorded with ``store.append_failure`` and the other units go on.

Both modes skip the days already stored (resume) and produce identical rows for identical
seeds (the same :func:`~gridbench.benchmarks.harness.execute_task` runs either way). Progress
is shown on stderr with ``rich`` as units finish.

Ray (``--executor ray``) is not implemented yet.

This module imports only the standard library at import time: a spawned worker unpickles its
target from here, and must set its thread variables before numpy or torch are imported.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from gridbench.benchmarks.harness import UnitResult, UnitTask
    from gridbench.benchmarks.store import ResultsStore

__all__ = ["EXECUTORS", "THREAD_ENV", "LocalExecutor", "RunSummary"]

#: Executors the CLI knows (``ray`` is announced but not available yet).
EXECUTORS: Final[tuple[str, ...]] = ("local", "ray")
#: Environment variables set to ``"1"`` in every worker process before any import.
THREAD_ENV: Final[tuple[str, ...]] = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMBA_NUM_THREADS",
)
_POLL_S: Final[float] = 0.05


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a run did, over all its units."""

    results: tuple[UnitResult, ...] = field(default_factory=tuple)

    @property
    def n_units(self) -> int:
        return len(self.results)

    @property
    def n_written(self) -> int:
        return sum(r.n_written for r in self.results)

    @property
    def n_skipped(self) -> int:
        return sum(r.n_skipped for r in self.results)

    @property
    def failed(self) -> tuple[UnitResult, ...]:
        return tuple(r for r in self.results if r.failed)

    @property
    def statuses(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            for status, n in r.statuses.items():
                out[status] = out.get(status, 0) + n
        return out


# --------------------------------------------------------------------------- worker side


def _worker_main(index: int, task_fields: dict[str, Any], channel: Any) -> None:
    """Entry point of a spawned worker: one unit, rows sent to the driver one by one."""
    for name in THREAD_ENV:
        os.environ[name] = "1"
    try:
        from gridbench.benchmarks.harness import UnitTask, execute_task

        task = UnitTask(**task_fields)

        def emit(row: dict[str, Any]) -> None:
            channel.send(("row", index, row))

        result = execute_task(task, emit)
        channel.send(("done", index, {"fit_s": result.fit_s, "statuses": dict(result.statuses)}))
    except BaseException as exc:  # report everything, including SystemExit from a method
        text = " ".join(str(exc).split())
        line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        with contextlib.suppress(Exception):
            channel.send(("failed", index, {"error": line, "traceback": traceback.format_exc()}))
    finally:
        with contextlib.suppress(Exception):
            channel.close()


# --------------------------------------------------------------------------- driver side


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "worker process vanished"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"worker process killed by {name}"
    return f"worker process died with exit code {code} before finishing the unit"


@contextlib.contextmanager
def _progress(total: int, enabled: bool) -> Iterator[Callable[[str], None]]:
    if not enabled or total == 0:
        yield lambda _text: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]units"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=False,
    ) as progress:
        bar = progress.add_task("", total=total)

        def advance(text: str) -> None:
            progress.update(bar, advance=1, description=text)

        yield advance


class LocalExecutor:
    """Run units on this machine: inline for ``workers == 1``, else one spawned process per
    unit, at most ``workers`` at once (see the module docstring)."""

    def __init__(self, workers: int = 1, *, progress: bool = True) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers {workers!r} must be an int >= 1")
        self.workers = workers
        self.progress = progress

    def run(self, tasks: Sequence[UnitTask], store: ResultsStore) -> RunSummary:
        """Run ``tasks`` (their days not yet stored) and write their rows to ``store``."""
        from gridbench.benchmarks.harness import UnitResult

        pending: list[tuple[int, UnitTask, int]] = []
        results: dict[int, UnitResult] = {}
        for index, task in enumerate(tasks):
            missing = store.missing_days(task.unit, task.days)
            skipped = len(task.days) - len(missing)
            if missing:
                pending.append((index, task.with_days(missing), skipped))
            else:
                results[index] = UnitResult(task.unit, n_skipped=skipped)
        with _progress(len(pending), self.progress) as advance:
            if self.workers == 1:
                self._run_inline(pending, store, results, advance)
            else:
                self._run_pool(pending, store, results, advance)
        return RunSummary(tuple(results[i] for i in sorted(results)))

    # ----------------------------------------------------------------- inline

    @staticmethod
    def _run_inline(
        pending: list[tuple[int, UnitTask, int]],
        store: ResultsStore,
        results: dict[int, UnitResult],
        advance: Callable[[str], None],
    ) -> None:
        from dataclasses import replace

        from gridbench.benchmarks.harness import run_task

        for index, task, skipped in pending:
            result = run_task(task, store)
            results[index] = replace(result, n_skipped=result.n_skipped + skipped)
            advance(_describe(task, result))

    # ----------------------------------------------------------------- pool

    def _run_pool(
        self,
        pending: list[tuple[int, UnitTask, int]],
        store: ResultsStore,
        results: dict[int, UnitResult],
        advance: Callable[[str], None],
    ) -> None:
        import multiprocessing
        from multiprocessing.connection import wait

        from gridbench.benchmarks.harness import UnitResult, make_provenance

        ctx = multiprocessing.get_context("spawn")
        todo = list(reversed(pending))
        # one pipe per worker: a process killed in the middle of a message corrupts only
        # its own channel (a shared queue's lock would stay held by the dead writer)
        running: dict[int, tuple[Any, Any]] = {}
        state: dict[int, dict[str, Any]] = {}

        def handle(index: int, message: tuple[str, int, Any]) -> None:
            kind, _, payload = message
            st = state[index]
            if kind == "row":
                st["written"] += store.append([payload]).n_written
                st["statuses"][payload["status"]] = st["statuses"].get(payload["status"], 0) + 1
            elif kind == "done":
                st["finished"] = True
                st["fit_s"] = payload["fit_s"]
            elif kind == "failed":
                st["finished"] = True
                st["error"] = payload["error"]
                st["traceback"] = payload["traceback"]

        def receive(index: int) -> bool:
            """Handle one message of worker ``index``; False once its channel is closed."""
            reader = running[index][1]
            try:
                message = reader.recv()
            except Exception:  # EOF (the worker exited) or a message cut by its death
                return False
            handle(index, message)
            return True

        def finish(index: int) -> None:
            process, reader = running.pop(index)
            while True:  # whatever it sent before exiting
                try:
                    if not reader.poll():
                        break
                    handle(index, reader.recv())
                except Exception:
                    break
            reader.close()
            process.join()
            st = state[index]
            task: UnitTask = st["task"]
            error = st.get("error")
            if not st["finished"] and error is None:
                error = _exit_reason(process.exitcode)
            if error is not None:
                detail = st.get("traceback") or error
                store.append_failure(task.unit, f"{error}\n{detail}".strip(), st["provenance"])
            results[index] = UnitResult(
                task.unit,
                n_written=st["written"],
                n_skipped=st["skipped"],
                statuses=dict(st["statuses"]),
                fit_s=st.get("fit_s", float("nan")),
                error=error,
            )
            advance(_describe(task, results[index]))

        try:
            while todo or running:
                while todo and len(running) < self.workers:
                    index, task, skipped = todo.pop()
                    provenance = make_provenance(task)
                    task = task.with_provenance(provenance.columns())
                    state[index] = {
                        "task": task,
                        "skipped": skipped,
                        "written": 0,
                        "statuses": {},
                        "finished": False,
                        "provenance": provenance,
                    }
                    reader, writer = ctx.Pipe(duplex=False)
                    process = ctx.Process(
                        target=_worker_main,
                        args=(index, _fields(task), writer),
                        name=f"gridbench-{task.method_name}-s{task.seed}",
                        daemon=True,
                    )
                    process.start()
                    writer.close()  # the worker holds the only write end: EOF when it exits
                    running[index] = (process, reader)
                by_reader = {reader: index for index, (_, reader) in running.items()}
                for reader in wait(list(by_reader), timeout=_POLL_S):
                    index = by_reader[reader]
                    if not receive(index):
                        finish(index)
                for index, (process, _) in list(running.items()):
                    if not process.is_alive():  # e.g. a grandchild still holds the pipe
                        finish(index)
        finally:
            for process, reader in running.values():  # interrupted: stop what still runs
                process.terminate()
                reader.close()
            for process, _ in running.values():
                process.join(timeout=5)


def _fields(task: UnitTask) -> dict[str, Any]:
    return {f.name: getattr(task, f.name) for f in dataclasses.fields(task)}


def _describe(task: UnitTask, result: UnitResult) -> str:
    if result.failed:
        return f"{task.describe()}: FAILED ({result.error})"
    return f"{task.describe()}: {result.n_written} row(s)"
