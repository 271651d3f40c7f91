"""``gridbench schedule``: what the referee executed on one day, as a long-format CSV + sidecar.

Public API
----------
* :func:`roll_out` — run a (fitted) method's controller through one day with the harness's own
  roll-out (:func:`~gridbench.benchmarks.harness.evaluate_day`: same seeding, same timing, same
  KPIs) and keep the referee's core, so that its executed steps can be read back. Returns a
  :class:`DayRollout` (the harness row, the core, the executed :class:`CoreStep` s and their
  step ``info`` s). Also used by ``gridbench report`` to re-simulate days for its figures.
* :func:`schedule_rows` — the long-format rows of a roll-out, from the core's
  :meth:`~gridbench.cases.referee.DispatchCore.schedule_rows` hook, validated.
* :func:`schedule_sidecar` — the sidecar document: the case's
  :meth:`~gridbench.cases.referee.DispatchCore.schedule_parameters` (prices, carbon intensity,
  every cost parameter, network data), the harness's KPIs and the referee's per-step KPI
  records.
* :func:`write_schedule` — both files, each written atomically (temp file + rename).
* :func:`prepare_schedule` / :func:`export_schedule` — what the CLI runs: every check first
  (case, method, support, day, seed, budget, output path; a :class:`ScheduleInputError`, i.e.
  one line and exit status 2, with nothing written), then fit, roll out, write.

CSV format (DESIGN §6)
----------------------
Columns :data:`SCHEDULE_COLUMNS` = ``step,time,element,kind,bus,p_mw,q_mvar,soc``: one row per
element and executed step; ``step`` is the index within the executed layer, ``time`` the
start of the step (ISO ``YYYY-MM-DDTHH:MM:SS``, local day time), ``kind`` one of
:data:`ELEMENT_KINDS`, ``bus`` numbered from 1 at the substation, ``p_mw``/``q_mvar`` what
the referee executed with ``> 0`` injecting into the grid (loads are negative; the ``grid``
row is the substation's import from upstream), ``soc`` the storage's state of charge after
the step (empty for other kinds). Re-simulation: per step, the net demand of bus ``b`` is
``−Σ p_mw`` (and ``−Σ q_mvar``) over the non-``grid`` rows at ``b``; the sidecar gives the
substation voltage and the network.

Sidecar (``FILE.json``)
-----------------------
``format``/``version``; who (``case``, ``method``, ``family``, ``seed``, ``budget``, ``day``,
``split``); ``step_hours``, ``n_steps``; ``columns`` (units and conventions); ``parameters``
(the case's :meth:`schedule_parameters`); ``case_config`` (the full validated config);
``kpis`` (the row the harness computed: ``cost``, ``cost_<term>``, ``emissions_t``, violations,
``feasible``, timings, ``status``); ``steps`` (per executed step the referee's KPI record:
cost terms, emissions, tie line, voltage extremes, SOC, violations); ``provenance``.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from gridbench.benchmarks.atomic import atomic_write_text
from gridbench.benchmarks.harness import core_of
from gridbench.cases.contracts import Budget, MethodFamily, parse_day

if TYPE_CHECKING:
    from gridbench.cases.contracts import Case, Method
    from gridbench.cases.referee import CoreStep, DispatchCore

__all__ = [
    "ELEMENT_KINDS",
    "SCHEDULE_COLUMNS",
    "SCHEDULE_FORMAT_VERSION",
    "DayRollout",
    "ScheduleError",
    "ScheduleInputError",
    "ScheduleRequest",
    "export_schedule",
    "prepare_schedule",
    "roll_out",
    "schedule_rows",
    "schedule_sidecar",
    "write_schedule",
]

#: Columns of the schedule CSV, in order.
SCHEDULE_COLUMNS: Final[tuple[str, ...]] = (
    "step",
    "time",
    "element",
    "kind",
    "bus",
    "p_mw",
    "q_mvar",
    "soc",
)
#: Valid ``kind`` values of a schedule row.
ELEMENT_KINDS: Final[tuple[str, ...]] = (
    "load",
    "pv",
    "wind",
    "storage",
    "gas_turbine",
    "thermal",
    "flexible_load",
    "ev",
    "grid",
)
#: Version of the CSV + sidecar format (bump on any incompatible change).
SCHEDULE_FORMAT_VERSION: Final[int] = 1

#: Row columns that identify the row rather than measure the day (left out of ``kpis``).
_IDENTITY_COLUMNS: Final[frozenset[str]] = frozenset(
    {"case", "method", "seed", "day", "budget", "family", "split"}
)


class ScheduleInputError(ValueError):
    """Bad input of ``gridbench schedule`` (one line, exit status 2, nothing written)."""


class ScheduleError(RuntimeError):
    """The day could not be executed to its end (the controller or the case raised), or the
    case exports no schedule rows: nothing is written."""


# --------------------------------------------------------------------------- roll-out


@dataclass(frozen=True, eq=False)
class DayRollout:
    """One day of one method through the referee, as the harness ran it.

    Attributes:
        case, method: what ran; ``seed``, ``budget``, ``day``: the row's keys.
        row: the harness's row (:func:`~gridbench.benchmarks.harness.evaluate_day`).
        core: the referee's core after the day (its day's data are still loaded).
        records: the executed layer's steps (:meth:`DispatchCore.history`).
        infos: the step ``info`` of each record (:meth:`DispatchCore.step_info`: the KPI
            schema plus the case's extras).
    """

    case: Case
    method: Method
    seed: int
    budget: str
    day: datetime.date
    row: dict[str, Any]
    core: DispatchCore | None
    records: tuple[CoreStep, ...]
    infos: tuple[dict[str, Any], ...]

    @property
    def complete(self) -> bool:
        """Whether every executed step of the day ran."""
        if self.core is None:
            return False
        return len(self.records) == self.core.timeline.executed.n_steps

    @property
    def status(self) -> str:
        return str(self.row.get("status", ""))


def roll_out(
    case: Case,
    method: Method,
    day: datetime.date | str,
    seed: int,
    *,
    budget: Budget | str = Budget.QUICK,
    fit: bool = True,
) -> DayRollout:
    """Fit ``method`` (unless ``fit=False``: it is fitted or loaded already), then run its
    controller through ``day`` exactly as ``gridbench run`` does (same global seeding, same
    timing: :func:`~gridbench.benchmarks.harness.fit_timed`,
    :func:`~gridbench.benchmarks.harness.run_day`) and return the row with the referee's core
    and executed steps."""
    from gridbench.benchmarks.harness import fit_timed, run_day

    day = parse_day(day, case)
    budget = Budget.parse(budget)
    fit_s = fit_timed(method, case, int(seed), budget) if fit else math.nan
    run = run_day(case, method, day, int(seed), budget=budget, fit_s=fit_s)
    row, core = run.row, run.core
    records: tuple[CoreStep, ...] = ()
    infos: tuple[dict[str, Any], ...] = ()
    if core is not None:
        records = core.history(core.timeline.executed.layer)
        infos = tuple(core.step_info(r) for r in records)
    return DayRollout(case, method, int(seed), budget.value, day, row, core, records, infos)


# --------------------------------------------------------------------------- rows


def _step_time(day: datetime.date, time_h: float) -> str:
    start = datetime.datetime.combine(day, datetime.time())
    return (start + datetime.timedelta(hours=float(time_h))).isoformat(timespec="seconds")


def _finite(value: Any, what: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ScheduleError(f"{what} is not a number: {value!r}") from None
    if not math.isfinite(out):
        raise ScheduleError(f"{what} is not finite: {out!r}")
    return out


def schedule_rows(rollout: DayRollout) -> list[dict[str, Any]]:
    """The CSV rows of ``rollout`` (dicts keyed by :data:`SCHEDULE_COLUMNS`; ``soc`` is
    ``None`` where the element has none). Raises :class:`ScheduleError` when the core exports
    no rows or a row breaks the format (unknown kind, bus < 1, repeated element)."""
    core = rollout.core
    if core is None:
        raise ScheduleError(f"case {rollout.case.id}: its environment exposes no referee core")
    out: list[dict[str, Any]] = []
    for record in rollout.records:
        seen: set[str] = set()
        rows = core.schedule_rows(record)
        if not rows:
            raise ScheduleError(
                f"case {rollout.case.id} exports no schedule rows (its core does not implement "
                "DispatchCore.schedule_rows)"
            )
        for r in rows:
            element = str(r["element"])
            kind = str(r["kind"])
            where = f"step {record.step}, element {element!r}"
            if kind not in ELEMENT_KINDS:
                raise ScheduleError(
                    f"{where}: unknown kind {kind!r}; valid: {', '.join(ELEMENT_KINDS)}"
                )
            if element in seen:
                raise ScheduleError(f"{where}: element repeated within the step")
            seen.add(element)
            bus = int(r["bus"])
            if bus < 1:
                raise ScheduleError(f"{where}: bus {bus} (buses are numbered from 1)")
            soc = r.get("soc")
            out.append(
                {
                    "step": int(record.step),
                    "time": _step_time(rollout.day, record.time_h),
                    "element": element,
                    "kind": kind,
                    "bus": bus,
                    "p_mw": _finite(r["p_mw"], f"{where}: p_mw"),
                    "q_mvar": _finite(r.get("q_mvar", 0.0), f"{where}: q_mvar"),
                    "soc": None if soc is None else _finite(soc, f"{where}: soc"),
                }
            )
    return out


def _csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SCHEDULE_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r["step"],
                r["time"],
                r["element"],
                r["kind"],
                r["bus"],
                repr(float(r["p_mw"])),
                repr(float(r["q_mvar"])),
                "" if r["soc"] is None else repr(float(r["soc"])),
            ]
        )
    return buffer.getvalue()


# --------------------------------------------------------------------------- sidecar


def _json_ready(value: Any) -> Any:
    """Plain JSON values: numpy → Python, NaN/inf → ``None``, tuples → lists."""
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [_json_ready(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def _step_record(rollout: DayRollout, record: CoreStep) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "step": int(record.step),
        "time": _step_time(rollout.day, record.time_h),
        "layer": record.layer.value,
    }
    entry.update(record.kpi.to_info())
    entry["reward"] = float(record.reward)
    return entry


def _provenance() -> dict[str, Any]:
    from gridbench.benchmarks.provenance import git_commit, package_versions

    return {
        "created_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "package_versions": package_versions(),
    }


_COLUMN_DOCS: Final[dict[str, str]] = {
    "step": "index of the step within the executed layer (0-based)",
    "time": "start of the step, ISO local time",
    "element": "element name, unique within a step",
    "kind": "one of " + ", ".join(ELEMENT_KINDS),
    "bus": "bus number, 1 = substation",
    "p_mw": "active power executed, MW, > 0 injects into the grid (loads < 0; grid = import)",
    "q_mvar": "reactive power, Mvar, same sign convention",
    "soc": "storage state of charge after the step, 0-1 (empty for other kinds)",
}


def schedule_sidecar(rollout: DayRollout, csv_name: str) -> dict[str, Any]:
    """The sidecar document of ``rollout`` (see the module docstring), JSON-ready."""
    core = rollout.core
    if core is None:
        raise ScheduleError(f"case {rollout.case.id}: its environment exposes no referee core")
    spec = core.timeline.executed
    config = getattr(rollout.case, "config", None)
    row = rollout.row
    kpis = {k: v for k, v in row.items() if k not in _IDENTITY_COLUMNS}
    doc = {
        "format": "gridbench-schedule",
        "version": SCHEDULE_FORMAT_VERSION,
        "csv": csv_name,
        "case": rollout.case.id,
        "grid": getattr(rollout.case, "grid", None),
        "paper": getattr(rollout.case, "paper", None),
        "method": row.get("method"),
        "family": MethodFamily(rollout.method.family).value,
        "seed": rollout.seed,
        "budget": rollout.budget,
        "day": rollout.day.isoformat(),
        "split": row.get("split"),
        "layer": spec.layer.value,
        "step_hours": spec.step_hours,
        "n_steps": spec.n_steps,
        "columns": _COLUMN_DOCS,
        "parameters": core.schedule_parameters(),
        "case_config": config.model_dump(mode="json") if hasattr(config, "model_dump") else None,
        "kpis": kpis,
        "steps": [_step_record(rollout, r) for r in rollout.records],
        "provenance": _provenance(),
    }
    return _json_ready(doc)


# --------------------------------------------------------------------------- writing


def sidecar_path(out: Path) -> Path:
    """``FILE.json`` beside ``FILE.csv``."""
    return out.with_suffix(".json")


def write_schedule(rollout: DayRollout, out: Path) -> tuple[Path, Path]:
    """Write ``out`` (the CSV) and its sidecar; both are built in memory first, so an error
    writes nothing; each file is replaced atomically. Returns both paths."""
    out = Path(out)
    if not rollout.complete:
        raise ScheduleError(
            f"{rollout.case.id} / {rollout.method.name} / {rollout.day}: the day did not run to "
            f"its end (status {rollout.status}: {rollout.row.get('message') or 'no message'})"
        )
    csv_text = _csv_text(schedule_rows(rollout))
    side = sidecar_path(out)
    json_text = json.dumps(schedule_sidecar(rollout, out.name), indent=1, allow_nan=False) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)  # as `report --out` does
    atomic_write_text(side, json_text)
    atomic_write_text(out, csv_text)
    return out, side


# --------------------------------------------------------------------------- CLI entry


@dataclass(frozen=True, eq=False)
class ScheduleRequest:
    """A validated ``gridbench schedule`` request (case and method built, day resolved)."""

    case: Case
    method: Method
    day: datetime.date
    seed: int
    budget: Budget
    out: Path


def prepare_schedule(
    case_id: str,
    method_name: str,
    day: str,
    seed: int,
    budget: str,
    out: Path | str,
) -> ScheduleRequest:
    """Check every input before anything runs (registries must be loaded): the case and the
    method exist, the method supports the case, the day parses and the case has data for it,
    the seed is ``>= 0``, the budget is valid, ``out`` ends in ``.csv`` (its directory is made
    when missing). Raises :class:`ScheduleInputError` (or the registries' one-line errors)."""
    from gridbench.cases.contracts import wants_parallel_env
    from gridbench.cases.registry import get_method, make_case

    out = Path(out)
    budget_value = Budget.parse(budget)
    if isinstance(seed, bool) or int(seed) < 0:
        raise ScheduleInputError(f"--seed {seed} must be an int >= 0")
    if out.suffix.lower() != ".csv":
        raise ScheduleInputError(f"--out {str(out)!r} must name a .csv file (FILE.csv)")
    if out.is_dir():
        raise ScheduleInputError(f"--out {str(out)!r} is a directory; valid: a FILE.csv path")
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise ScheduleInputError(f"--out {str(out)!r}: {str(parent)!r} is not a directory")
    case = make_case(case_id)
    method = get_method(method_name).make()
    if wants_parallel_env(method):
        raise ScheduleInputError(
            f"method {method_name!r} is multi-agent; schedules of multi-agent methods are not "
            "exported yet"
        )
    if not method.supports(case):
        raise ScheduleInputError(f"method {method_name!r} does not support case {case.id}")
    day_value = parse_day(day, case)
    probe = None
    try:
        probe = case.make_env(day=day_value, seed=int(seed))
        probe.reset(seed=int(seed))
        if core_of(probe) is None:
            raise ScheduleInputError(
                f"case {case.id}: its environment exposes no referee core; no schedule export"
            )
    except ScheduleInputError:
        raise
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ScheduleInputError(
            f"day {day!r}: case {case.id} cannot simulate it ({first})"
        ) from None
    finally:
        if probe is not None:
            with contextlib.suppress(Exception):
                probe.close()
    return ScheduleRequest(case, method, day_value, int(seed), budget_value, out)


def export_schedule(request: ScheduleRequest) -> DayRollout:
    """Fit, roll out and write the schedule of a :func:`prepare_schedule` request."""
    rollout = roll_out(
        request.case, request.method, request.day, request.seed, budget=request.budget
    )
    write_schedule(rollout, request.out)
    return rollout
