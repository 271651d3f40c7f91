"""gridbench: energy-storage dispatch in distribution grids, reinforcement learning against
mathematical programming, scored by one referee per case.

The Python API (README, "Python API"; every example there runs in the tests):

* :func:`case_ids`, :func:`make_case` — the registered cases (built-ins and plugins);
* ``gymnasium.make("gridbench/<case-id>", day=..., split=..., seed=...)`` or
  :func:`make_env` — a case's single-agent referee (Gymnasium ``Env``; actions in physical
  units, see the case's ``action_space``); :func:`make_parallel_env` — the PettingZoo
  parallel referee of a multi-player case;
* :func:`day_metrics` — the leaderboard's KPIs of one episode from its step ``info`` s;
* :func:`evaluate` — roll a controller (``reset(obs, info)`` / ``act(obs, info)``), a trained
  Stable-Baselines3 model or a registered method through the referee on a split's days, one
  row per day with the leaderboard's KPIs (:mod:`gridbench.benchmarks.metrics`), exactly as
  ``gridbench run`` scores; :func:`leaderboard` ranks such rows as ``gridbench leaderboard``;
* :func:`training_env` — the environment gridbench's own SB3 agents train on (``train``
  days, the hyperparameter file's observation map and reward scale, actions in [-1, 1]);
  :func:`evaluate` plays a model trained on it with the same maps.

Importing this module registers the Gymnasium ids of the built-in cases and the installed
case plugins; the heavy parts (the harness, SB3) are imported when first used.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any

from gridbench.cases.gym_envs import GYM_NAMESPACE, gym_id, make_case_env
from gridbench.cases.registry import case_ids, discover_builtin_cases, make_case

if TYPE_CHECKING:
    import gymnasium
    import pandas as pd
    from pettingzoo import ParallelEnv

    from gridbench.cases.contracts import Case

__all__ = [
    "GYM_NAMESPACE",
    "__version__",
    "case_ids",
    "day_metrics",
    "evaluate",
    "gym_id",
    "leaderboard",
    "make_case",
    "make_env",
    "make_parallel_env",
    "training_env",
]

try:
    __version__ = metadata.version("gridbench")
except metadata.PackageNotFoundError:  # pragma: no cover - run from an uninstalled tree
    __version__ = "0+unknown"


def _register_cases() -> None:
    """Built-in cases, then installed case plugins (each registers its Gymnasium id). Quiet:
    a broken plugin is reported by whoever loads the plugins on purpose (``gridbench cases``
    prints one warning line each; ``gridbench.benchmarks.plugins.load_all`` returns them)."""
    discover_builtin_cases()
    from gridbench.benchmarks.plugins import load_case_plugins

    load_case_plugins()


_register_cases()


def _case(case: str | Case) -> Case:
    return make_case(case) if isinstance(case, str) else case


#: The single-agent referee of a case: the Gymnasium env of ``gridbench/<case>`` without the
#: checker wrappers ``gymnasium.make`` adds (``make_env(case, day=..., split=..., seed=...)``;
#: ``day``: an ISO date or ``SPLIT:K``; ``split``: draw each episode's day from it; neither:
#: ``train`` days).
make_env = make_case_env


def make_parallel_env(
    case: str, day: datetime.date | str | None = None, seed: int = 0
) -> ParallelEnv:
    """The PettingZoo parallel referee of a multi-player ``case`` (one agent per role)."""
    from gridbench.cases.contracts import parse_day

    the_case = make_case(case)
    return the_case.make_parallel_env(
        day=None if day is None else parse_day(day, the_case), seed=seed
    )


class _PolicyMethod:
    """A user's controller or SB3 model as a method the harness can roll out."""

    def __init__(self, name: str, family: str, make_controller: Any) -> None:
        self.name = name
        self.family = family
        self._make = make_controller

    def supports(self, case: Case) -> bool:
        return True

    def fit(self, case: Case, seed: int, budget: Any) -> None:
        return None

    def controller(self, case: Case, day: datetime.date) -> Any:
        return self._make(case, day)


def _as_method(policy: Any, name: str | None, rl_method: str, budget: str) -> tuple[Any, bool]:
    """``(method, needs_fit)`` for a registered method name, a controller or an SB3 model."""
    from gridbench.cases.contracts import MethodFamily

    if isinstance(policy, str):
        from gridbench.benchmarks.plugins import load_all
        from gridbench.cases.registry import get_method

        load_all(warn=False)  # built-in and plugin methods (idempotent)
        return get_method(policy).make(), True
    if callable(getattr(policy, "act", None)):
        if not callable(getattr(policy, "reset", None)):
            raise ValueError("a controller needs reset(obs, info) and act(obs, info)")
        method = _PolicyMethod(name or "my-controller", MethodFamily.SOLVER, lambda c, d: policy)
        return method, False
    if callable(getattr(policy, "predict", None)):
        from gridbench.rl_agents.sb3_methods import sb3_controller

        def make(case: Case, day: datetime.date) -> Any:
            return sb3_controller(policy, case, rl_method, budget)

        return _PolicyMethod(name or "my-agent", MethodFamily.RL, make), False
    raise ValueError(
        f"policy {type(policy).__name__} is not valid; valid: a controller (reset/act), a "
        "Stable-Baselines3 model (predict) or a registered method name"
    )


def evaluate(
    policy: Any,
    case: str | Case,
    days: Sequence[datetime.date | str] | int | None = None,
    *,
    split: str = "test",
    seed: int = 0,
    name: str | None = None,
    method: str = "ppo",
    budget: str = "quick",
) -> pd.DataFrame:
    """Roll ``policy`` through the referee of ``case`` and return one row per day (a pandas
    DataFrame) with the KPIs the leaderboard ranks (``cost``, ``emissions_t``, ``feasible``,
    the violations, ``cost_<term>``, decision times, ``status`` …).

    ``policy``: a controller (``reset(obs, info)``, ``act(obs, info) -> action`` in physical
    units), a Stable-Baselines3 model trained on :func:`training_env` of ``method`` (its
    observation map and action rescaling are applied), or the name of a registered method
    (fitted at ``budget`` first: ``quick`` loads the shipped RL agents). ``days``: dates or
    ``SPLIT:K`` specs, or an int K for the first K days of ``split`` (default: all of it).
    ``name`` labels the rows' ``method`` column.
    """
    import pandas as pd

    from gridbench.benchmarks.harness import evaluate_day
    from gridbench.cases.contracts import Budget, Split, parse_day

    the_case = _case(case)
    split_days = the_case.days(Split.parse(split))
    if days is None:
        chosen: Iterable[datetime.date | str] = split_days
    elif isinstance(days, int) and not isinstance(days, bool):
        if days < 1:
            raise ValueError(f"days {days} must be >= 1 (or a list of days)")
        chosen = split_days[:days]
    else:
        chosen = days
    the_method, needs_fit = _as_method(policy, name, method, budget)
    if needs_fit:
        the_method.fit(the_case, seed, Budget.parse(budget))
    rows = [
        evaluate_day(the_case, the_method, parse_day(d, the_case), seed, budget=budget)
        for d in chosen
    ]
    frame = pd.DataFrame(rows)
    if name is not None:
        frame["method"] = name
    return frame


def day_metrics(infos: Sequence[Any], initial_soc: Any = None) -> dict[str, Any]:
    """The day's KPIs from the step ``info`` s of one episode, exactly as the leaderboard
    computes them (:func:`gridbench.benchmarks.metrics.day_metrics`): ``cost`` and its
    ``cost_<term>`` s, ``emissions_t``, ``feasible``, the violations, SOC deviations …
    ``initial_soc``: ``info["soc"]`` of the reset."""
    from gridbench.benchmarks.metrics import day_metrics as metrics

    return metrics(infos, initial_soc=initial_soc)


def leaderboard(rows: pd.DataFrame, *, split: str | None = None) -> pd.DataFrame:
    """Rank ``rows`` (from :func:`evaluate`, or a results store's ``frame()``) as ``gridbench
    leaderboard`` does: one entry per case and method, IQM over seeds with its 95 % interval,
    the gap against the ``oracle`` rows of the same days, feasible and complete methods first.
    """
    import pandas as pd

    from gridbench.benchmarks.leaderboard import build

    return pd.DataFrame(build(rows, split=split))


def training_env(
    case: str, method: str = "ppo", seed: int = 0, budget: str = "quick"
) -> gymnasium.Env:
    """The environment gridbench's SB3 agent ``method`` trains on for ``case`` (``train`` days
    drawn at each reset; the hyperparameter file's observation map and reward scale; actions
    in [-1, 1]). Train any SB3 algorithm on it and score the model with :func:`evaluate`
    (same ``method`` and ``budget``)."""
    from gridbench.rl_agents.sb3_methods import training_env_for

    return training_env_for(make_case(case), method, seed, budget)
