"""Equal, declared hyperparameter tuning of the learned methods on val days (the fair-RL
protocol, ``rl_agents/README.md``).

The search is declared in ``rl_agents/hyperparams.json`` under ``tuning``: the same number of
trials for every method family (a full grid over ``space[method]``, or over
``case_space[case][method]`` where an axis of the file's space has no effect on that case,
e.g. γ in the Stackelberg leader's one-step episode; the sizes are checked equal), one seed
(``seed``, never one of the reference seeds 0–4), a fraction of the method's ``reference``
budget (``budget_fraction``; the reference budgets are equal
single-core CPU time), and the score: the mean cost through the referee on the first
``val_days`` val days plus the mean of the referee's soft-limit penalties there
(``val_penalty_mean``: what the cost leaves out and the reward charges, e.g. SGLS line
overloads; a table written before the column existed scores its cost alone). Never a test
day.

``python -m gridbench.benchmarks.tuning --case C --method M`` trains and scores the trials
of (C, M) not yet in ``results/tuning/<case>/<method>.csv`` (it resumes: one row per trial,
written as each finishes), and ``--freeze`` writes each (case, method)'s best trial into the
file's ``algorithms[method].case_kwargs[case]``, which :func:`training_plan` applies last.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "REFERENCE_METHODS",
    "TUNING_DIR",
    "freeze",
    "main",
    "references",
    "trial_grid",
    "trial_score",
    "tune",
]

#: Methods scored once per case on the tuning's val days, for scale (``references.csv``).
REFERENCE_METHODS = ("idle", "oracle")

#: Where the trial tables live.
TUNING_DIR = Path("results/tuning")


def _settings(hp: Mapping[str, Any]) -> dict[str, Any]:
    tuning = hp.get("tuning")
    if not isinstance(tuning, Mapping):
        raise ValueError("the hyperparameter file declares no 'tuning' section")
    return {k: v for k, v in tuning.items() if not str(k).startswith("_")}


def trial_grid(
    hp: Mapping[str, Any], method: str, case_id: str | None = None
) -> list[dict[str, Any]]:
    """The trials of ``method`` (on ``case_id``): the full grid over ``tuning.space[method]``,
    or over ``tuning.case_space[case_id][method]`` where the file declares one for that case
    (keys in the file's order, values in the listed order). A ``ValueError`` when the method
    has no space or the families' grids differ in size (the budget must be equal)."""
    settings = _settings(hp)
    space = dict(settings.get("space", {}))
    if case_id is not None:
        space.update(
            {m: s for m, s in settings.get("case_space", {}).get(case_id, {}).items()
             if not str(m).startswith("_")}
        )
    parent = settings.get("inherit_case", {}).get(case_id) if case_id is not None else None
    if parent is not None:
        raise ValueError(
            f"{case_id!r} has no search of its own: it inherits the frozen values of "
            f"{parent!r} (tuning.inherit_case); tune that one"
        )
    family = settings.get("inherit", {}).get(method)
    if family is not None:
        raise ValueError(
            f"{method!r} has no search of its own: it inherits the frozen values of {family!r} "
            "(tuning.inherit); tune that one"
        )
    if method not in space:
        raise ValueError(
            f"no tuning space for {method!r}; declared: {', '.join(sorted(space)) or 'none'}"
        )
    sizes = {m: _grid_size(s) for m, s in space.items() if not str(m).startswith("_")}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"tuning spaces differ in size (the budget must be equal): {sizes}")
    keys = [k for k in space[method] if not str(k).startswith("_")]
    values = [space[method][k] for k in keys]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]


def _grid_size(space: Mapping[str, Sequence[Any]]) -> int:
    n = 1
    for key, values in space.items():
        if not str(key).startswith("_"):
            n *= len(values)
    return n


def _table_path(root: Path, case_id: str, method: str) -> Path:
    return root / case_id / f"{method}.csv"


def _done_trials(path: Path) -> set[int]:
    if not path.is_file():
        return set()
    import pandas as pd

    return {int(t) for t in pd.read_csv(path)["trial"]}


def _trial_file(
    hp: Mapping[str, Any], method: str, case_id: str, params: Mapping[str, Any], fraction: float,
    steps_per_day: int, workdir: Path, method_cls: Any = None,
) -> tuple[Path, int]:
    """A copy of the hyperparameter file with ``params`` as the case's tuned values and the
    reference budget scaled by ``fraction`` (no checkpoints); its path and the step count.
    The reference step count is the SB3 plan's, or what the method's class says
    (``reference_steps(case_id, hyperparams)``, e.g. MADDPG's)."""
    from gridbench.rl_agents.sb3_methods import training_plan

    data = copy.deepcopy(dict(hp))
    algo = data["algorithms"][method]
    algo.setdefault("case_kwargs", {})[case_id] = dict(params)
    path = workdir / f"hyperparams_{method}_{case_id}.json"
    path.write_text(json.dumps(data))
    own_steps = getattr(method_cls, "reference_steps", None)
    full = (int(own_steps(case_id, path)) if own_steps is not None else
            training_plan(method, "reference", steps_per_day, path, case_id=case_id).timesteps)
    steps = max(1, round(full * fraction))
    budgets = algo.setdefault("case_budgets", {})
    budgets[case_id] = {"reference": {"timesteps": steps, "checkpoints": []}}
    path.write_text(json.dumps(data))
    return path, steps


def tune(
    case_id: str,
    method: str,
    *,
    root: Path = TUNING_DIR,
    hyperparams: Path | None = None,
    workdir: Path | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Train and score the trials of (``case_id``, ``method``) that the table lacks (at most
    ``limit``); append one row per trial as it finishes. Returns the new rows."""
    import numpy as np
    import pandas as pd

    from gridbench.benchmarks.harness import evaluate_day
    from gridbench.benchmarks.plugins import load_all
    from gridbench.benchmarks.provenance import git_commit
    from gridbench.cases.registry import get_method, make_case
    from gridbench.rl_agents.sb3_methods import load_hyperparams, steps_per_day

    load_all(warn=False)
    hp = load_hyperparams(hyperparams)
    settings = _settings(hp)
    trials = trial_grid(hp, method, case_id)
    case = make_case(case_id)
    spec = get_method(method)
    probe = case.make_env(day=None, seed=0)
    try:
        per_day = steps_per_day(probe)
    finally:
        probe.close()
    seed = int(settings["seed"])
    days = case.days("val")[: int(settings["val_days"])]
    table = _table_path(root, case_id, method)
    done = _done_trials(table)
    workdir = Path(workdir or tempfile.mkdtemp(prefix="gridbench-tuning-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for trial, params in enumerate(trials):
        if trial in done or (limit is not None and len(rows) >= limit):
            continue
        hp_file, steps = _trial_file(
            hp, method, case_id, params, float(settings["budget_fraction"]), per_day, workdir,
            spec.cls,
        )
        agent = spec.cls(hyperparams=hp_file, training_dir=workdir / f"trial{trial}")
        t0 = time.process_time()
        agent.fit(case, seed, "reference")
        fit_cpu_s = time.process_time() - t0
        scored = [
            evaluate_day(case, agent, d, seed, budget="reference", fit_s=fit_cpu_s, split="val")
            for d in days
        ]
        row = {
            "case": case_id,
            "method": method,
            "trial": trial,
            "params": json.dumps(params, sort_keys=True),
            "seed": seed,
            "env_steps": steps,
            "fit_cpu_s": round(fit_cpu_s, 1),
            "val_days": len(days),
            "val_cost_mean": float(np.mean([r["cost"] for r in scored])),
            "val_penalty_mean": float(np.mean([r.get("penalty_usd") or 0.0 for r in scored])),
            "hyperparams_version": int(hp["version"]),
            "commit": git_commit(),
        }
        rows.append(row)
        table.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame([row]).to_csv(table, mode="a", header=not table.is_file(), index=False)
    return rows


def references(
    case_id: str, *, root: Path = TUNING_DIR, hyperparams: Path | None = None
) -> dict[str, float]:
    """Mean cost of :data:`REFERENCE_METHODS` on the tuning's val days of ``case_id``, from
    ``<root>/<case>/references.csv`` or computed (and written) once."""
    import numpy as np
    import pandas as pd

    from gridbench.benchmarks.harness import evaluate_day
    from gridbench.benchmarks.plugins import load_all
    from gridbench.cases.registry import make_case, make_method
    from gridbench.rl_agents.sb3_methods import load_hyperparams

    path = root / case_id / "references.csv"
    if path.is_file():
        frame = pd.read_csv(path)
        return dict(zip(frame["method"], frame["val_cost_mean"], strict=True))
    load_all(warn=False)
    settings = _settings(load_hyperparams(hyperparams))
    case = make_case(case_id)
    days = case.days("val")[: int(settings["val_days"])]
    out: dict[str, float] = {}
    for name in REFERENCE_METHODS:
        method = make_method(name)
        method.fit(case, 0, "quick")
        costs = [
            evaluate_day(case, method, d, 0, budget="quick", split="val")["cost"] for d in days
        ]
        out[name] = float(np.mean(costs))
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {"case": case_id, "method": list(out), "val_days": len(days),
         "val_cost_mean": list(out.values())}
    ).to_csv(path, index=False)
    return out


def trial_score(frame: Any) -> Any:
    """Each trial's score: ``val_cost_mean + val_penalty_mean`` (the penalty 0 where a table
    predates that column)."""
    penalty = frame["val_penalty_mean"].fillna(0.0) if "val_penalty_mean" in frame else 0.0
    return frame["val_cost_mean"] + penalty


def freeze(
    root: Path = TUNING_DIR,
    hyperparams: Path | None = None,
    cases: Sequence[str] = (),
) -> dict[str, dict[str, dict[str, Any]]]:
    """Write the best trial (lowest mean val cost + penalty, :func:`trial_score`) of every
    table under ``root`` (of
    ``cases`` only, when given) into the file's ``algorithms[method].case_kwargs[case]``;
    returns ``{method: {case: params}}``. A variant named in ``tuning.inherit`` (``{variant:
    family}``) gets its family's frozen values for the same cases, and a case named in
    ``tuning.inherit_case`` (``{case: parent case}``: the same problem in another
    parametrization) its parent's. A table with fewer trials than the grid is an error: a
    partial search is not the declared one."""
    import pandas as pd

    from gridbench.benchmarks.atomic import atomic_write_text
    from gridbench.rl_agents.sb3_methods import HYPERPARAMS_FILE

    path = Path(hyperparams or HYPERPARAMS_FILE)
    data = json.loads(path.read_text(encoding="utf-8"))
    best: dict[str, dict[str, dict[str, Any]]] = {}
    for table in sorted(root.glob("*/*.csv")):
        if table.name == "references.csv" or (cases and table.parent.name not in cases):
            continue
        frame = pd.read_csv(table)
        if frame.empty:
            continue
        method_name = str(frame["method"].iloc[0])
        expected = len(trial_grid(data, method_name, str(frame["case"].iloc[0])))
        if frame["trial"].nunique() != expected:
            raise ValueError(
                f"{table} holds {frame['trial'].nunique()} of the {expected} declared trials; "
                "finish the search before freezing it"
            )
        top = frame.loc[trial_score(frame).idxmin()]
        method, case_id = str(top["method"]), str(top["case"])
        params = json.loads(str(top["params"]))
        best.setdefault(method, {})[case_id] = params
        algo = data["algorithms"][method]
        algo.setdefault("case_kwargs", {})[case_id] = params
    for variant, family in _settings(data).get("inherit", {}).items():
        if variant not in data["algorithms"]:
            raise ValueError(f"tuning.inherit names {variant!r}, which the file does not define")
        for case_id, params in best.get(family, {}).items():
            best.setdefault(variant, {})[case_id] = dict(params)
            data["algorithms"][variant].setdefault("case_kwargs", {})[case_id] = dict(params)
    for child, parent in _settings(data).get("inherit_case", {}).items():
        if str(child).startswith("_"):
            continue
        for method, by_case in list(best.items()):
            if parent in by_case:
                by_case[child] = dict(by_case[parent])
                data["algorithms"][method].setdefault("case_kwargs", {})[child] = dict(
                    by_case[parent])
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")  # runs may be reading it
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", default=[])
    parser.add_argument("--method", action="append", default=[])
    parser.add_argument("--root", type=Path, default=TUNING_DIR)
    parser.add_argument("--limit", type=int, default=None, help="at most N new trials")
    parser.add_argument("--hyperparams", type=Path, default=None,
                        help="another hyperparameter file (default: the shipped one)")
    parser.add_argument("--freeze", action="store_true",
                        help="write the best trials' values (of the --case ones, if given)")
    args = parser.parse_args(argv)
    try:
        if args.freeze:
            print(json.dumps(freeze(args.root, args.hyperparams, args.case), indent=2))
            return 0
        if not args.case or not args.method:
            raise ValueError("--case and --method are required (or --freeze)")
        for case_id in args.case:
            references(case_id, root=args.root, hyperparams=args.hyperparams)
            for method in args.method:
                rows = tune(
                    case_id, method, root=args.root, hyperparams=args.hyperparams,
                    limit=args.limit,
                )
                for row in rows:
                    print(json.dumps(row), flush=True)
    except (ValueError, KeyError) as exc:
        print(f"tuning: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
