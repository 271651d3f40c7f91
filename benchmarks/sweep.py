"""Conditions of the crossover study: one axis of a case's set-up varied over levels.

A *condition* is a level of an axis, e.g. ``forecast_error=2``: every case of the run is built
with the axis's config field set to the level (``forecast_error_scale = 2``), and its rows are
stored in their own results directory, ``<results>/<axis>=<level>/``, with the condition in
the ``condition`` column of every row. A sweep is therefore a set of ordinary harness runs:
resumable per condition, on the local or Ray executor, each with its own leaderboard
(``gridbench leaderboard --results <results>/forecast_error=2``).
:mod:`gridbench.benchmarks.crossover` reads the conditions back into the crossover table and
figure.

Axes (:data:`AXES`):

* ``forecast_error``: the factor on every spread of the forecast-error model
  (:meth:`gridbench.cases.data.forecast.ForecastErrorModel.scaled`; the same random draws, the
  errors times the factor): 0 = perfect forecasts (deployable planners should meet the
  oracle), 1 = nominal. It changes what the referee shows every controller (observations,
  forecasts handed to planners, the scenario spread of stochastic planners), never the realized
  day. The oracle's rows are the same at every level except where the referee settles against
  a forecast: on SGLS the day-ahead schedule is the day-ahead forecast's net load less the
  setpoints, so every method, the oracle included, pays the imbalance of the forecast error
  (gaps are to each level's own oracle).
* ``efficiency_error``: the relative error of every storage efficiency in the deployable
  planners' model (``planner_efficiency_error``; :meth:`gridbench.cases.contracts.BaseCase.
  planner_view`): −0.1 = the planners believe each efficiency 10 % lower than the referee's.
  The referee, the oracle (a bound) and RL (trained on the referee) are unaffected; each
  efficiency is capped at 1 in the planners' model.
* ``decision_time``: the wall-clock limit of every solve of a deployable solver
  (``planner_time_limit_s``, :func:`gridbench.solvers.planners.limit_planner`), with the
  deployed fallback: a solve that hits the limit keeps the last plan (idle where there is
  none) and the day stays ``ok``; bounds, baselines and RL (whose inference time each row
  records) are not limited. Unlike the other axes, its rows depend on the machine's speed
  and load: run it on a quiet machine and compare levels from one run.
* ``planner_model``: the physics of the deployable planners' formulation against the
  referee's (``planner_model``, :class:`gridbench.cases.params.PlannerModel`): ``exact``,
  ``lossless`` (LinDistFlow), ``dc``, ``impedance-10``/``impedance+10`` (line impedances off
  by 10 %), ``linear-battery`` (loss-arbitrage). A *categorical* axis: its levels are named
  variants (``--axis planner_model=exact,lossless,dc``), kept in the declared order, and the
  crossover read-out says who is ahead under each variant instead of interpolating crossing
  points. As for the efficiency error, the referee, the oracle and RL are unaffected.
* ``held_out_season``: the meteorological season left out of the learned methods' training
  days (``train_season_held_out``, :meth:`gridbench.cases.contracts.BaseCase.training_days`):
  ``none`` (nominal), ``winter``, ``spring``, ``summer``, ``autumn``. A categorical axis whose
  read-out keeps, at each held-out level, only that season's test days (days of a season the
  agent never saw); shipped agents do not stand in for these (they trained on every season:
  ``BaseCase.trains_like_shipped``), so sweep it with ``--budget reference``. Planners,
  baselines and the oracle do not learn: only RL's rows move.

CLI: ``gridbench sweep --case C --axis forecast_error=0,0.5,1,2,4 --method M ...``.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

__all__ = [
    "AXES",
    "Axis",
    "AxisSpec",
    "Condition",
    "condition_dirs",
    "parse_axis",
    "parse_condition",
]


class Axis(StrEnum):
    """An axis of the crossover study."""

    FORECAST_ERROR = "forecast_error"
    EFFICIENCY_ERROR = "efficiency_error"
    DECISION_TIME = "decision_time"
    PLANNER_MODEL = "planner_model"
    HELD_OUT_SEASON = "held_out_season"


@dataclass(frozen=True, slots=True)
class AxisSpec:
    """What an axis sets: the case config field its level goes into, the level's valid range
    and the nominal level (the suite's reference condition).

    A categorical axis lists its named :attr:`variants`; its level is the variant's index in
    that list (the declared order, the nominal variant first), read and written as the name
    (:meth:`label`)."""

    axis: Axis
    config_field: str
    lo: float
    hi: float
    nominal: float
    meaning: str
    #: How a level reads in a sentence: ``{}`` is replaced by the level (``2× nominal``).
    template: str = "{}"
    #: Levels spread over orders of magnitude (a time limit): crossing points are
    #: interpolated in log(level) and the figure's axis is logarithmic.
    log_scale: bool = False
    #: The named levels of a categorical axis (empty: a numeric axis).
    variants: tuple[str, ...] = ()
    #: The level names a season held out of training: its read-out keeps that season's days.
    season_days: bool = False

    @property
    def categorical(self) -> bool:
        return bool(self.variants)

    def label(self, level: float) -> str:
        """``level`` as written in a directory name and a table: the variant's name, or the
        number (``%g``)."""
        return self.variants[int(level)] if self.variants else f"{level:g}"

    def value(self, level: float) -> Any:
        """What the config field gets: the variant's name, or the number."""
        return self.variants[int(level)] if self.variants else level

    def describe(self, level: float) -> str:
        """``level`` as it reads in a sentence (``2× nominal spread``, ``−10 % efficiency``)."""
        return self.template.format(self.value(level))

    def keeps_day(self, level: float, day: datetime.date) -> bool:
        """Whether the read-out of ``level`` counts ``day`` (all days, except on a
        :attr:`season_days` axis: the held-out season's)."""
        if not self.season_days:
            return True
        from gridbench.cases.params import Season

        months = Season(self.value(level)).months
        return not months or day.month in months

    def check(self, level: float) -> float:
        """``level`` if it is in ``[lo, hi]``, else a one-line ``ValueError``."""
        if not (math.isfinite(level) and self.lo <= level <= self.hi):
            raise ValueError(
                f"{self.axis} level {level:g} is out of range; valid: {self.lo:g} to "
                f"{self.hi:g} ({self.meaning})"
            )
        return level


def _axes() -> Mapping[Axis, AxisSpec]:
    from gridbench.cases.data.forecast import MAX_ERROR_SCALE
    from gridbench.cases.params import MAX_MODEL_ERROR, PlannerModel, Season

    specs = (
        AxisSpec(Axis.FORECAST_ERROR, "forecast_error_scale", 0.0, MAX_ERROR_SCALE, 1.0,
                 "the factor on the forecast-error spreads; 1 = nominal, 0 = perfect forecasts",
                 "{:.2g}× the nominal forecast error"),
        AxisSpec(Axis.EFFICIENCY_ERROR, "planner_efficiency_error", -MAX_MODEL_ERROR,
                 MAX_MODEL_ERROR, 0.0,
                 "the relative error of the planners' storage efficiencies; 0 = exact model",
                 "a {:+.1%} error on the planners' storage efficiencies"),
        AxisSpec(Axis.DECISION_TIME, "planner_time_limit_s", 1e-3, 3600.0, 3600.0,
                 "the solvers' time limit per solve, s; not swept = each solver's own",
                 "a {:.3g} s limit per solve", log_scale=True),
        AxisSpec(Axis.PLANNER_MODEL, "planner_model", 0.0, len(PlannerModel) - 1.0, 0.0,
                 "the physics of the planners' formulation; exact = the referee's",
                 "the {} planner model", variants=tuple(m.value for m in PlannerModel)),
        AxisSpec(Axis.HELD_OUT_SEASON, "train_season_held_out", 0.0, len(Season) - 1.0, 0.0,
                 "the season left out of RL's training days, read on its test days",
                 "{} held out of training", variants=tuple(m.value for m in Season),
                 season_days=True),
    )
    return MappingProxyType({s.axis: s for s in specs})


#: Every axis, by name.
AXES: Final[Mapping[Axis, AxisSpec]] = _axes()

_LEVEL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


@dataclass(frozen=True, slots=True)
class Condition:
    """One level of one axis."""

    axis: Axis
    level: float

    @property
    def spec(self) -> AxisSpec:
        return AXES[self.axis]

    @property
    def name(self) -> str:
        """``<axis>=<level>``: the ``condition`` column and the directory name."""
        return f"{self.axis.value}={self.label}"

    @property
    def label(self) -> str:
        """The level as written (``2``, ``lossless``)."""
        return self.spec.label(self.level)

    @property
    def nominal(self) -> bool:
        return self.level == self.spec.nominal

    @property
    def case_config(self) -> dict[str, Any]:
        """The config fields this condition sets on every case."""
        return {self.spec.config_field: self.spec.value(self.level)}

    def directory(self, results: Path) -> Path:
        """Where this condition's rows are stored under a sweep's ``results``."""
        return results / self.name


def _axis(name: str) -> Axis:
    try:
        return Axis(name)
    except ValueError:
        valid = ", ".join(a.value for a in Axis)
        raise ValueError(f"unknown axis {name!r}; valid: {valid}") from None


def _level(axis: Axis, text: str) -> float:
    text = text.strip()
    variants = AXES[axis].variants
    if variants:
        if text not in variants:
            raise ValueError(f"{axis} level {text!r} is not a variant; valid: "
                             f"{', '.join(variants)}")
        return float(variants.index(text))
    if not _LEVEL.match(text):
        raise ValueError(
            f"{axis} level {text!r} is not a number; valid: e.g. 0, 0.5, -0.1"
        )
    return AXES[axis].check(float(text))


def parse_axis(text: str) -> tuple[Condition, ...]:
    """``forecast_error=0,0.5,1,2,4`` as its conditions, in ascending level (a categorical
    axis's variants in their declared order; one-line ``ValueError`` naming the bad part: an
    unknown axis, a level that is not a number or out of range or not a variant, a repeated
    level, no level)."""
    name, sep, levels = str(text).partition("=")
    if not sep or not levels.strip():
        raise ValueError(
            f"--axis {text!r} is not AXIS=LEVEL[,LEVEL...]; e.g. forecast_error=0,0.5,1,2,4"
        )
    axis = _axis(name.strip())
    values = [_level(axis, part) for part in levels.split(",")]
    if len(set(values)) != len(values):
        raise ValueError(f"--axis {text!r} repeats a level; give each level once")
    return tuple(Condition(axis, v) for v in sorted(values))


def parse_condition(name: str) -> Condition:
    """The condition of a directory or ``condition`` column value ``<axis>=<level>``."""
    conditions = parse_axis(name)
    if len(conditions) != 1:
        raise ValueError(f"{name!r} names {len(conditions)} conditions; expected one")
    return conditions[0]


def condition_dirs(results: Path, axis: Axis | str | None = None) -> tuple[Condition, ...]:
    """The conditions stored under a sweep's ``results`` (directories named
    ``<axis>=<level>``; only ``axis``'s when given), in ascending level per axis."""
    wanted = None if axis is None else _axis(str(axis))
    found: list[Condition] = []
    if results.is_dir():
        for child in results.iterdir():
            if not child.is_dir() or "=" not in child.name:
                continue
            try:
                condition = parse_condition(child.name)
            except ValueError:
                continue
            if wanted is None or condition.axis is wanted:
                found.append(condition)
    return tuple(sorted(found, key=lambda c: (c.axis.value, c.level)))
