"""Executors: run units (case, method, seed) and write their rows to the results store.

:class:`LocalExecutor` ``(workers, isolate=…, limits=…)``

* ``isolate=False`` (the library default for ``workers == 1``; never used by the CLI): every
  unit runs inline, in this process, one after the other
  (:func:`~gridbench.benchmarks.harness.run_missing_days`).
* otherwise the units run in at most ``workers`` **spawned** worker processes, each running
  units one after another (the start-up, importing numpy, torch and the case, is paid once per
  worker, not per unit); a unit that crashes its interpreter takes nothing else down: the
  unit is recorded as failed and a new worker takes the next unit. A worker starts with
  ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` … set to 1 in its
  environment (the driver sets them around the spawn, so they hold before anything imports
  numpy or torch; one torch thread per process, seeds in parallel processes). Workers send
  each finished row to
  the driver over a pipe of their own and **only the driver writes the store**, as each row
  arrives, so an interrupted run keeps every finished day. A unit whose ``fit`` raises, or
  whose process dies (``os._exit``, a signal, the OOM killer) costs only that unit: it is
  recorded with ``store.append_failure`` and the other units go on.

:class:`RayExecutor` ``(workers, address=…)`` (``gridbench run --executor ray``)

* The same units as Ray tasks, one CPU each, on an existing cluster (``address``: ``auto``,
  ``HOST:PORT`` of a head node, or ``ray://HOST:10001``) or, without ``address``, on a local
  Ray instance of ``workers`` CPUs started (and stopped) by the run. Ray is an optional extra
  (``pip install 'gridbench[ray]'``), imported only here and only when used.
* Each unit is a Ray *generator* task: it streams each finished day's row back to the driver,
  which **alone writes the store**, as rows arrive (an interrupted run keeps every finished
  day, as locally). A task runs in a worker process of its own (``max_calls=1``) with the
  thread variables above set to 1 (``runtime_env``), so rows equal the local pool's.
* A worker that dies (killed, OOM, node lost) costs only its unit: Ray reports the crash to
  the driver, the unit is recorded with ``store.append_failure`` (Ray's error as the message)
  and the others go on. Units are never retried by Ray (``max_retries=0``): a re-run resumes
  (the days already stored are skipped; only the missing ones run).
* A local instance sees the driver's import path (its ``sys.path`` entries outside the Python
  installation are passed as ``PYTHONPATH``), so units of modules importable by the driver run
  as they do in the local pool. On a cluster, gridbench (and any plugin) must be installed on
  every node, in the same versions (the provenance columns record the driver's).

Time limits (:class:`TimeLimits`, ``gridbench run --day-timeout/--unit-timeout``): each day's
rollout is limited inside the worker (``SIGALRM``: the day's row gets status ``timeout``, the
unit goes on); the driver watches every unit and stops one that passes its unit limit, or that
stays in one day past the day limit plus a grace (native code that never returns to Python),
storing that day's ``timeout`` row and recording the unit as failed.

Every executor skips the days already stored (resume) and produces identical rows for
identical seeds (the same :func:`~gridbench.benchmarks.harness.execute_task` runs everywhere;
only the timing columns and ``run_id`` differ). Progress is shown on stderr with ``rich`` as
days and units finish, with the elapsed time and an estimate of the time left (from the
rate at which days finish).

This module imports only the standard library at import time: a spawned worker unpickles its
target from here, and must set its thread variables before numpy or torch are imported.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from gridbench.benchmarks.harness import UnitResult, UnitTask
    from gridbench.benchmarks.store import ResultsStore

__all__ = [
    "EXECUTORS",
    "THREAD_ENV",
    "Executor",
    "ExecutorError",
    "LocalExecutor",
    "RayExecutor",
    "RunSummary",
    "TimeLimits",
    "check_ray_address",
    "make_executor",
    "scoped_environ",
]

#: Executors the CLI knows.
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
#: Install hint printed when Ray is asked for but missing.
RAY_INSTALL_HINT: Final[str] = "pip install 'gridbench[ray]'"
_POLL_S: Final[float] = 0.05
#: Object store of a local Ray instance: rows are small, so keep it far below Ray's default
#: (30% of the RAM, which a small /dev/shm cannot hold).
_RAY_OBJECT_STORE_BYTES: Final[int] = 256 * 1024**2


class ExecutorError(ValueError):
    """An executor that cannot start (Ray missing, cluster unreachable): a user error."""


#: Beyond a day's limit, how long the driver waits for the worker's own ``timeout`` row
#: (raised inside the worker by ``SIGALRM``) before it stops the process: ``max(floor,
#: share × limit)``.
_HARD_GRACE_FLOOR_S: Final[float] = 10.0
_HARD_GRACE_SHARE: Final[float] = 0.1
#: Seconds to reach a Ray cluster's address before giving up (``--address HOST:PORT``).
RAY_CONNECT_TIMEOUT_S: Final[float] = 5.0


@dataclass(frozen=True, slots=True)
class TimeLimits:
    """Wall-clock limits of a run, in seconds (``None``: no limit).

    ``day_s``: one day's rollout (env, the controller's ``reset`` and every step). Inside the
    worker the day ends with a row of status ``timeout`` and the unit goes on with its next
    day; a worker stuck in native code past the limit (plus a grace) is stopped by the driver,
    which stores the ``timeout`` row of that day itself and records the unit as failed (its
    remaining days run on the next, resumed run). ``unit_s``: the whole unit, ``fit``
    included: the driver stops it and records the failure; finished days are kept.
    """

    day_s: float | None = None
    unit_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("day_s", "unit_s"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int | float) and value > 0):
                raise ValueError(f"{name} {value!r} must be a number > 0 (or None: no limit)")

    def day_hard_s(self) -> float | None:
        """When the driver stops a worker stuck in one day (limit plus grace)."""
        if self.day_s is None:
            return None
        return self.day_s + max(_HARD_GRACE_FLOOR_S, _HARD_GRACE_SHARE * self.day_s)


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


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _load_plugins_if_any() -> None:
    """In a fresh worker: import the entry points of installed plugins, so that what they
    register on import (a planner for a built-in method on a plugin case, say) exists here as
    it does in the driver. Nothing is imported when no plugin is installed."""
    from importlib import metadata

    from gridbench.benchmarks.plugins import CASE_GROUP, METHOD_GROUP, load_all

    if any(metadata.entry_points(group=g) for g in (METHOD_GROUP, CASE_GROUP)):
        load_all(warn=False)


def _run_in_worker(index: int, task_fields: dict[str, Any], channel: Any) -> None:
    """One unit in a worker: rows sent to the driver one by one, then ``done`` or ``failed``
    (every exception, ``SystemExit`` from a method included, is reported, not raised)."""
    try:
        from gridbench.benchmarks.harness import UnitTask, execute_task

        _load_plugins_if_any()
        task = UnitTask(**task_fields)

        def emit(row: dict[str, Any]) -> None:
            channel.send(("row", index, row))

        def fitted() -> None:
            channel.send(("fitted", index, {}))

        result = execute_task(task, emit, fitted=fitted)
        channel.send(("done", index, {"fit_s": result.fit_s, "statuses": dict(result.statuses)}))
    except BaseException as exc:  # report everything, including SystemExit from a method
        with contextlib.suppress(Exception):
            channel.send(
                ("failed", index, {"error": _one_line(exc), "traceback": traceback.format_exc()})
            )


def _worker_main(inbox: Any, channel: Any) -> None:
    """Entry point of a spawned worker: runs the units the driver sends on ``inbox``, one after
    the other, until it sends ``None`` (or closes the pipe); messages go out on ``channel``."""
    for name in THREAD_ENV:
        os.environ[name] = "1"
    try:
        while True:
            try:
                job = inbox.recv()
            except (EOFError, OSError):
                return
            if job is None:
                return
            index, task_fields = job
            _run_in_worker(index, task_fields, channel)
    finally:
        with contextlib.suppress(Exception):
            channel.close()


class _Worker:
    """A spawned worker process and its two pipes (one each way: a process killed in the
    middle of a message corrupts only its own channel). It runs units one after another, so
    the start-up (importing numpy, torch, the case) is paid once per worker, not per unit; a
    unit that kills the process costs that unit only, and the driver starts a new worker."""

    def __init__(self, ctx: Any, number: int) -> None:
        self.reader, writer = ctx.Pipe(duplex=False)  # worker -> driver
        inbox, self.outbox = ctx.Pipe(duplex=False)  # driver -> worker
        self.process = ctx.Process(
            target=_worker_main, args=(inbox, writer), name=f"gridbench-worker-{number}",
            daemon=True,
        )  # fmt: skip
        # in the child's environment before it starts, before anything imports numpy/torch
        with scoped_environ(dict.fromkeys(THREAD_ENV, "1")):
            self.process.start()
        writer.close()  # the worker holds the only write end: EOF when it exits
        inbox.close()
        self.index: int | None = None  # the unit it runs, None while idle

    def assign(self, index: int, task_fields: dict[str, Any]) -> None:
        self.outbox.send((index, task_fields))
        self.index = index

    def stop(self, kill: bool = False) -> None:
        """Ask an idle worker to exit (or kill it), then reap it and close the pipes."""
        if kill:
            self.process.kill()
        else:
            with contextlib.suppress(Exception):
                self.outbox.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        for conn in (self.reader, self.outbox):
            with contextlib.suppress(Exception):
                conn.close()


def _ray_unit(task_fields: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Body of the Ray generator task of one unit: yields ``("row", row)`` per finished day,
    then ``("done", {...})`` or ``("failed", {...})`` (``fit`` raised; rows already yielded
    stay valid). The unit runs in a helper thread so that each row can be yielded the moment
    it is finished (:func:`~gridbench.benchmarks.harness.execute_task` reports rows through a
    callback); a process death ends the generator and Ray reports it to the driver."""
    import queue

    for name in THREAD_ENV:  # also set by the task's runtime_env, before the interpreter starts
        os.environ[name] = "1"
    messages: queue.Queue[tuple[str, Any]] = queue.Queue()

    def work() -> None:
        try:
            from gridbench.benchmarks.harness import UnitTask, execute_task

            _load_plugins_if_any()
            task = UnitTask(**task_fields)
            result = execute_task(
                task,
                lambda row: messages.put(("row", row)),
                fitted=lambda: messages.put(("fitted", {})),
            )
            messages.put(("done", {"fit_s": result.fit_s, "statuses": dict(result.statuses)}))
        except BaseException as exc:
            messages.put(
                ("failed", {"error": _one_line(exc), "traceback": traceback.format_exc()})
            )

    thread = threading.Thread(target=work, name="gridbench-unit", daemon=True)
    thread.start()
    while True:
        kind, payload = messages.get()
        yield kind, payload
        if kind in ("done", "failed"):
            break
    thread.join()


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


class _Progress:
    """Progress of a run on stderr (``rich``): one bar over the days still to run, the units
    finished out of the units started, the elapsed time and an estimate of the time left
    (rich's estimate from the recent rate of finished days). Disabled: every call is a no-op."""

    def __init__(
        self, n_units: int, n_days: int, progress: Any = None, plain: bool = False
    ) -> None:
        self.n_units = n_units
        self.n_days = n_days
        self.units_done = 0
        self.days_done = 0
        self._plain = plain
        self._t0 = time.monotonic()
        self._progress = progress
        self._bar = progress.add_task("", total=n_days, units="") if progress else None
        self._update("")

    def _update(self, text: str | None, advance: int = 0) -> None:
        if self._progress is None:
            return
        self._progress.update(
            self._bar,
            advance=advance,
            units=f"{self.units_done}/{self.n_units} units",
            description=text,  # None keeps the last unit's line
        )

    def row(self) -> None:
        """One day finished (its row stored)."""
        self.days_done += 1
        self._update(None, 1)

    def unit(self, text: str, days_not_run: int = 0) -> None:
        """A unit finished; ``days_not_run`` of its days will never come (it failed)."""
        self.units_done += 1
        self.days_done += days_not_run
        self._update(text, days_not_run)
        if self._plain:  # no terminal (a log file, CI): one whole line per finished unit
            elapsed = time.monotonic() - self._t0
            left = ""
            if 0 < self.days_done < self.n_days:
                rest = elapsed * (self.n_days - self.days_done) / self.days_done
                left = f", ~{_clock(rest)} left"
            print(
                f"[{self.units_done}/{self.n_units} units, {self.days_done}/{self.n_days} days, "
                f"{_clock(elapsed)}{left}] {text}",
                file=sys.stderr,
                flush=True,
            )


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


@contextlib.contextmanager
def _progress(n_units: int, n_days: int, enabled: bool) -> Iterator[_Progress]:
    if not enabled or n_units == 0:
        yield _Progress(n_units, n_days)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    if not console.is_terminal:  # a rich bar in a log file is cut to 80 columns: plain lines
        yield _Progress(n_units, n_days, plain=True)
        return
    with Progress(
        TextColumn("[bold]days"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[units]}"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=False,
    ) as progress:
        yield _Progress(n_units, n_days, progress)


class _CountingStore:
    """The store, with each appended row reported to the progress bar (inline runs)."""

    def __init__(self, store: ResultsStore, progress: _Progress) -> None:
        self._store = store
        self._progress = progress

    def append(self, rows: Any, *args: Any, **kwargs: Any) -> Any:
        result = self._store.append(rows, *args, **kwargs)
        for _ in range(len(rows)):
            self._progress.row()
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


Pending = list[tuple[int, "UnitTask", int]]


def _split_pending(
    tasks: Sequence[UnitTask], store: ResultsStore
) -> tuple[Pending, dict[int, UnitResult]]:
    """``(pending, results)``: the tasks cut to their days not stored yet (with the count of
    skipped days), and a result for each task with nothing left to run."""
    from gridbench.benchmarks.harness import UnitResult

    pending: Pending = []
    results: dict[int, UnitResult] = {}
    for index, task in enumerate(tasks):
        missing = store.missing_days(task.unit, task.days)
        skipped = len(task.days) - len(missing)
        if missing:
            pending.append((index, task.with_days(missing), skipped))
        else:
            results[index] = UnitResult(task.unit, n_skipped=skipped)
    return pending, results


class _UnitState:
    """What the driver knows of a unit in flight."""

    def __init__(self, task: UnitTask, skipped: int, provenance: Any) -> None:
        self.task = task
        self.skipped = skipped
        self.provenance = provenance
        self.written = 0
        self.received = 0
        self.statuses: dict[str, int] = {}
        self.finished = False
        self.fit_s = float("nan")
        self.error: str | None = None
        self.traceback: str | None = None
        self.started = time.monotonic()
        self.day_started: float | None = None  # set once fit returned, then at every row

    def overdue(self, limits: TimeLimits, now: float) -> str | None:
        """Why the unit must be stopped now (a limit passed), or ``None``."""
        if limits.unit_s is not None and now - self.started > limits.unit_s:
            return f"unit ran past --unit-timeout {limits.unit_s:g} s (fit included); stopped"
        hard = limits.day_hard_s()
        if (
            hard is not None
            and self.day_started is not None
            and self.received < len(self.task.days)
            and now - self.day_started > hard
        ):
            day = self.task.days[self.received]
            return (
                f"day {day} ran past --day-timeout {limits.day_s:g} s without returning "
                "(native code?); the process was stopped"
            )
        return None

    def stop(self, reason: str, store: ResultsStore, progress: _Progress) -> None:
        """Record that the driver stopped the unit for ``reason``; a day stuck past its
        limit gets its ``timeout`` row, so that a resumed run goes on after it."""
        from gridbench.benchmarks.harness import hung_day_row
        from gridbench.cases.registry import METHODS

        if reason.startswith("day ") and self.received < len(self.task.days):
            spec = METHODS.snapshot().get(self.task.method_name)
            family = str(spec.family) if spec is not None else ""
            day = self.task.days[self.received]
            self.handle("row", hung_day_row(self.task, day, family, reason), store, progress)
        self.error = reason
        self.traceback = None

    def handle(self, kind: str, payload: Any, store: ResultsStore, progress: _Progress) -> None:
        if kind == "row":
            self.written += store.append([payload]).n_written
            self.received += 1
            self.day_started = time.monotonic()
            status = payload["status"]
            self.statuses[status] = self.statuses.get(status, 0) + 1
            progress.row()
        elif kind == "fitted":
            self.day_started = time.monotonic()
        elif kind == "done":
            self.finished = True
            self.fit_s = payload["fit_s"]
        elif kind == "failed":
            self.finished = True
            self.error = payload["error"]
            self.traceback = payload["traceback"]

    def close(
        self, store: ResultsStore, progress: _Progress, lost: str | None = None
    ) -> UnitResult:
        """The unit's result; a failure (``lost``: why the worker vanished) is recorded."""
        from gridbench.benchmarks.harness import UnitResult

        if not self.finished and self.error is None:
            self.error = lost or "worker vanished before finishing the unit"
        if self.error is not None:
            detail = self.traceback or self.error
            store.append_failure(
                self.task.unit, f"{self.error}\n{detail}".strip(), self.provenance
            )
        result = UnitResult(
            self.task.unit,
            n_written=self.written,
            n_skipped=self.skipped,
            statuses=dict(self.statuses),
            fit_s=self.fit_s,
            error=self.error,
        )
        progress.unit(_describe(self.task, result), len(self.task.days) - self.received)
        return result


def _start_unit(task: UnitTask, skipped: int, limits: TimeLimits) -> _UnitState:
    """Stamp the unit's provenance and day limit (driver side) and return its state."""
    from gridbench.benchmarks.harness import make_provenance

    provenance = make_provenance(task)
    task = task.with_provenance(provenance.columns()).with_day_time_limit(limits.day_s)
    return _UnitState(task, skipped, provenance)


def _n_days(pending: Pending) -> int:
    return sum(len(task.days) for _, task, _ in pending)


class _WorkerPool:
    """The driver's side of the local pool: at most ``size`` spawned workers, the state of
    each unit in flight, and the results of the units finished (into ``results``)."""

    def __init__(
        self,
        size: int,
        limits: TimeLimits,
        store: ResultsStore,
        results: dict[int, UnitResult],
        progress: _Progress,
    ) -> None:
        import multiprocessing

        self.ctx = multiprocessing.get_context("spawn")
        self.size = size
        self.limits = limits
        self.store = store
        self.results = results
        self.progress = progress
        self.workers: list[_Worker] = []
        self.state: dict[int, _UnitState] = {}
        self.started = 0

    def busy(self) -> bool:
        """Whether a worker still runs a unit."""
        return any(w.index is not None for w in self.workers)

    def assign(self, todo: Pending) -> None:
        """Give the next units of ``todo`` (last first) to idle workers, then to new ones
        while there are fewer than ``size``."""
        for worker in [w for w in self.workers if w.index is None] + [None] * self.size:
            if not todo:
                break
            if worker is None:
                if len(self.workers) >= self.size:
                    break
                self.started += 1
                worker = _Worker(self.ctx, self.started)
                self.workers.append(worker)
            index, task, skipped = todo.pop()
            self.state[index] = _start_unit(task, skipped, self.limits)
            worker.assign(index, _fields(self.state[index].task))

    def receive(self) -> None:
        """Handle one message of each worker that sent one within :data:`_POLL_S`."""
        from multiprocessing.connection import wait

        by_reader = {w.reader: w for w in self.workers}
        for reader in wait(list(by_reader), timeout=_POLL_S):
            worker = by_reader[reader]
            try:
                kind, index, payload = reader.recv()
            except Exception:  # EOF (the worker exited) or a message cut by its death
                self.lost(worker)
                continue
            self.handle(worker, kind, index, payload)

    def stop_overdue(self) -> None:
        """Stop the workers whose unit ran past a limit (recording why) and drop the dead."""
        now = time.monotonic()
        for worker in list(self.workers):
            if worker.index is not None:
                reason = self.state[worker.index].overdue(self.limits, now)
                if reason is not None:  # past a limit: stop it, record why, go on
                    self.lost(worker, reason)
                    continue
            if not worker.process.is_alive():
                self.lost(worker)

    def drain(self, worker: _Worker) -> None:
        """Handle whatever ``worker`` sent that is still in its pipe."""
        while True:
            try:
                if not worker.reader.poll():
                    break
                kind, index, payload = worker.reader.recv()
            except Exception:  # EOF, or a message cut by the worker's death
                break
            self.handle(worker, kind, index, payload)

    def handle(self, worker: _Worker, kind: str, index: int, payload: Any) -> None:
        self.state[index].handle(kind, payload, self.store, self.progress)
        if kind in ("done", "failed"):
            self.results[index] = self.state[index].close(self.store, self.progress)
            worker.index = None

    def lost(self, worker: _Worker, reason: str | None = None) -> None:
        """``worker`` died or was stopped: its unit (if any) ends with ``reason`` or the
        process's exit; the worker is dropped (a new one starts when needed)."""
        self.drain(worker)
        worker.stop(kill=True)
        if worker.index is not None:
            unit = self.state[worker.index]
            if reason is not None and not unit.finished:
                unit.stop(reason, self.store, self.progress)
            self.results[worker.index] = unit.close(
                self.store, self.progress, _exit_reason(worker.process.exitcode)
            )
        self.workers.remove(worker)

    def stop_all(self) -> None:
        """Done: idle workers exit; interrupted: stop what runs."""
        for worker in self.workers:
            worker.stop(kill=worker.index is not None)


class LocalExecutor:
    """Run units on this machine: one spawned process per unit, at most ``workers`` at once
    (see the module docstring); ``isolate=False`` with one worker runs the units inline, in
    this process (for embedding and tests: a method that kills its process then ends the run,
    and only the in-process day limit applies). Default: inline for ``workers == 1``; the CLI
    always isolates. ``limits``: the run's :class:`TimeLimits`."""

    name: Final[str] = "local"

    def __init__(
        self,
        workers: int = 1,
        *,
        progress: bool = True,
        isolate: bool | None = None,
        limits: TimeLimits | None = None,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers {workers!r} must be an int >= 1")
        self.workers = workers
        self.progress = progress
        self.isolate = workers > 1 if isolate is None else bool(isolate)
        if not self.isolate and workers > 1:
            raise ValueError("isolate=False runs units inline: it needs workers=1")
        self.limits = limits or TimeLimits()

    def run(self, tasks: Sequence[UnitTask], store: ResultsStore) -> RunSummary:
        """Run ``tasks`` (their days not yet stored) and write their rows to ``store``."""
        pending, results = _split_pending(tasks, store)
        with _progress(len(pending), _n_days(pending), self.progress) as progress:
            if not self.isolate:
                self._run_inline(pending, store, results, progress)
            else:
                self._run_pool(pending, store, results, progress)
        return RunSummary(tuple(results[i] for i in sorted(results)))

    # ----------------------------------------------------------------- inline

    def _run_inline(
        self,
        pending: Pending,
        store: ResultsStore,
        results: dict[int, UnitResult],
        progress: _Progress,
    ) -> None:
        from gridbench.benchmarks.harness import run_missing_days

        counting: Any = _CountingStore(store, progress)
        for index, task, skipped in pending:  # cut to their missing days by _split_pending
            result = run_missing_days(
                task.with_day_time_limit(self.limits.day_s), counting, skipped
            )
            results[index] = result
            progress.unit(_describe(task, result), len(task.days) - result.n_written)

    # ----------------------------------------------------------------- pool

    def _run_pool(
        self,
        pending: Pending,
        store: ResultsStore,
        results: dict[int, UnitResult],
        progress: _Progress,
    ) -> None:
        pool = _WorkerPool(self.workers, self.limits, store, results, progress)
        todo = list(reversed(pending))
        previous = _sigterm_as_exit()
        try:
            while todo or pool.busy():
                pool.assign(todo)
                pool.receive()
                pool.stop_overdue()
        finally:
            pool.stop_all()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def scoped_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` for the block, then restore what was there (spawned
    children inherit them: the thread variables of a worker, ``run``'s training directory)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _sigterm_as_exit() -> Any:
    """Turn SIGTERM into ``SystemExit(143)`` in the driver (main thread only), so that a
    terminated run still stops its workers in the pool's ``finally`` instead of leaving them
    to finish their units (rows already written stay; the store resumes). Returns the
    handler to restore afterwards, or None where nothing was installed."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        return None  # the embedding program handles SIGTERM itself

    def _exit(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)
    return previous


# --------------------------------------------------------------------------- Ray


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ExecutorError(
            f"--executor ray needs Ray, which is not installed; install it with "
            f"{RAY_INSTALL_HINT} (or use --executor local)"
        ) from None
    return ray


def _driver_pythonpath() -> str:
    """The driver's ``sys.path`` entries outside the Python installation (e.g. the directory
    of a script or of test modules), as a ``PYTHONPATH`` for workers on this host."""
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    keep: list[str] = []
    for entry in sys.path:
        path = os.path.realpath(entry or os.getcwd())
        if not os.path.isdir(path) or any(
            path == r or path.startswith(r + os.sep) for r in roots
        ):
            continue
        if path not in keep:
            keep.append(path)
    return os.pathsep.join(keep)


def _ray_failure(exc: BaseException) -> str:
    """One line for a unit lost by Ray (worker crash, node lost, cancelled)."""
    kind = type(exc).__name__
    if kind == "WorkerCrashedError":
        return "worker process died (Ray WorkerCrashedError) before finishing the unit"
    first = " ".join(str(exc).split())[:300]
    return f"Ray {kind}: {first}" if first else f"Ray {kind}"


class RayExecutor:
    """Run units as Ray tasks (see the module docstring).

    Args:
        workers: CPUs of the local Ray instance started when ``address`` is ``None`` (default:
            this machine's cores); with ``address``, the most units in flight at once
            (default: no cap, the cluster's free CPUs decide).
        address: an existing cluster (``auto``, ``HOST:PORT``, ``ray://HOST:10001``).
        progress: show the progress bar on stderr.
        runtime_env: extra Ray ``runtime_env`` of the unit tasks (e.g. ``{"env_vars": {...}}``,
            ``{"pip": [...]}`` on a cluster); the thread variables are always set to 1.
    """

    name: Final[str] = "ray"

    def __init__(
        self,
        workers: int | None = None,
        *,
        address: str | None = None,
        progress: bool = True,
        runtime_env: Mapping[str, Any] | None = None,
        limits: TimeLimits | None = None,
    ) -> None:
        if workers is not None and (
            isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
        ):
            raise ValueError(f"workers {workers!r} must be an int >= 1 (or None)")
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise ValueError(f"address {address!r} must be a non-empty string")
        self.workers = workers
        self.address = address
        self.progress = progress
        self.runtime_env = dict(runtime_env or {})
        self.limits = limits or TimeLimits()

    def _task_runtime_env(self) -> dict[str, Any]:
        env = dict(self.runtime_env)
        env_vars = {name: "1" for name in THREAD_ENV}
        # gridbench's own settings (e.g. GRIDBENCH_TRAINING_DIR set by `run`) reach the tasks
        env_vars.update({k: v for k, v in os.environ.items() if k.startswith("GRIDBENCH_")})
        if self.address is None:
            path = _driver_pythonpath()
            if path:
                env_vars["PYTHONPATH"] = path
        env_vars.update(env.get("env_vars", {}))
        env["env_vars"] = env_vars
        return env

    @contextlib.contextmanager
    def _connected(self) -> Iterator[Any]:
        """Ray, initialized: reuse a running session (left running), else start a local
        instance or connect to ``address`` (shut down / disconnected at the end)."""
        import logging

        ray = _import_ray()
        if ray.is_initialized():
            yield ray
            return
        common: dict[str, Any] = {
            "log_to_driver": False,  # worker logs stay in Ray's session logs
            "logging_level": logging.WARNING,
        }
        try:
            if self.address is None:
                ray.init(
                    address="local",  # a new instance, even beside a `ray start` cluster
                    num_cpus=self.workers or os.cpu_count() or 1,
                    include_dashboard=False,
                    object_store_memory=_RAY_OBJECT_STORE_BYTES,
                    **common,
                )
            else:
                ray.init(address=self.address, **common)
        except Exception as exc:
            what = (
                f"cannot connect to the Ray cluster at {self.address!r}"
                if self.address
                else "cannot start a local Ray instance"
            )
            raise ExecutorError(f"{what}: {_one_line(exc)}") from None
        try:
            yield ray
        finally:
            ray.shutdown()

    def run(self, tasks: Sequence[UnitTask], store: ResultsStore) -> RunSummary:
        """Run ``tasks`` (their days not yet stored) on Ray and write their rows to ``store``."""
        pending, results = _split_pending(tasks, store)
        if not pending:
            _import_ray()  # a missing Ray is reported even when nothing is left to run
            return RunSummary(tuple(results[i] for i in sorted(results)))
        with (
            self._connected() as ray,
            _progress(len(pending), _n_days(pending), self.progress) as progress,
        ):
            self._run(ray, pending, store, results, progress)
        return RunSummary(tuple(results[i] for i in sorted(results)))

    def _run(
        self,
        ray: Any,
        pending: Pending,
        store: ResultsStore,
        results: dict[int, UnitResult],
        progress: _Progress,
    ) -> None:
        remote = ray.remote(
            num_cpus=1,
            max_retries=0,  # a lost unit is recorded; the re-run resumes it
            max_calls=1,  # a fresh worker process per unit, as in the local pool
            runtime_env=self._task_runtime_env(),
        )(_ray_unit)
        cap = len(pending) if (self.address is None or self.workers is None) else self.workers
        todo = list(reversed(pending))
        running: dict[Any, int] = {}  # generator -> index
        state: dict[int, _UnitState] = {}

        def finish(gen: Any, lost: str | None = None) -> None:
            index = running.pop(gen)
            results[index] = state[index].close(store, progress, lost)

        try:
            while todo or running:
                while todo and len(running) < cap:
                    index, task, skipped = todo.pop()
                    state[index] = _start_unit(task, skipped, self.limits)
                    running[remote.remote(_fields(state[index].task))] = index
                ready, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
                for gen in ready:
                    try:
                        ref = next(gen)
                    except StopIteration:
                        finish(gen)
                        continue
                    try:
                        kind, payload = ray.get(ref)
                    except Exception as exc:  # the worker died, the node was lost, ...
                        finish(gen, _ray_failure(exc))
                        continue
                    state[running[gen]].handle(kind, payload, store, progress)
                    if kind in ("done", "failed"):
                        finish(gen)
                now = time.monotonic()
                for gen, index in list(running.items()):
                    reason = state[index].overdue(self.limits, now)
                    if reason is not None:  # past a limit: stop it, record why, go on
                        with contextlib.suppress(Exception):
                            ray.cancel(gen, force=True)
                        state[index].stop(reason, store, progress)
                        finish(gen)
        finally:
            for gen in running:  # interrupted: stop what still runs
                with contextlib.suppress(Exception):
                    ray.cancel(gen, force=True)


#: Anything with ``run(tasks, store) -> RunSummary``.
Executor = LocalExecutor | RayExecutor


def make_executor(
    name: str,
    workers: int | None = None,
    *,
    address: str | None = None,
    progress: bool = True,
    isolate: bool | None = None,
    limits: TimeLimits | None = None,
) -> Executor:
    """The executor called ``name`` (``local`` or ``ray``); see the classes. ``local`` with
    ``workers=None`` uses this machine's cores; ``isolate`` is for ``local`` (a process per
    unit), ``address`` for ``ray`` only: a ``HOST:PORT`` or ``ray://HOST:PORT`` address that
    does not answer within :data:`RAY_CONNECT_TIMEOUT_S` is an :class:`ExecutorError` here,
    before any work (Ray itself would retry for ever)."""
    from gridbench.cases.naming import unknown_name_message

    if name not in EXECUTORS:
        raise ExecutorError(unknown_name_message("executor", name, EXECUTORS))
    if name == "local":
        if address is not None:
            raise ExecutorError(
                f"--address {address!r} is for --executor ray; the local executor runs here"
            )
        n = workers or max(1, os.cpu_count() or 1)
        return LocalExecutor(n, progress=progress, isolate=isolate, limits=limits)
    _import_ray()  # fail before any work when Ray is missing
    if address is not None:
        check_ray_address(address)
    return RayExecutor(workers, address=address, progress=progress, limits=limits)


def check_ray_address(address: str, timeout_s: float = RAY_CONNECT_TIMEOUT_S) -> None:
    """Fail in one line unless ``address`` (``HOST:PORT``, ``ray://HOST[:PORT]``; ``auto`` and
    ``local`` are left to Ray) accepts a TCP connection within ``timeout_s``."""
    import socket

    text = address.strip()
    if text in ("auto", "local"):
        return
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    host, colon, port_text = rest.rstrip("/").rpartition(":")
    if not colon:
        host, port_text = rest.rstrip("/"), "10001" if scheme == "ray" else "6379"
    host = host.strip("[]")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ExecutorError(
            f"--address {address!r} is not a Ray address; valid: auto, HOST:PORT or "
            "ray://HOST:10001"
        )
    try:
        with socket.create_connection((host, int(port_text)), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__ or "no answer"
        if isinstance(exc, TimeoutError | socket.timeout):
            reason = f"no answer within {timeout_s:g} s"
        raise ExecutorError(
            f"cannot reach the Ray cluster at {address!r} ({reason}); start it with `ray "
            "start --head` or check --address"
        ) from None


def _fields(task: UnitTask) -> dict[str, Any]:
    return {f.name: getattr(task, f.name) for f in dataclasses.fields(task)}


def _describe(task: UnitTask, result: UnitResult) -> str:
    if result.failed:
        return f"{task.describe()}: FAILED ({result.error})"
    return f"{task.describe()}: {result.n_written} row(s)"
