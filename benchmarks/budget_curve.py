"""Quality against training budget for an RL method: the curve the ``reference`` budget is
chosen from (issue 3). Trains on ``train`` days and scores on ``val`` days only.

``python -m gridbench.benchmarks.budget_curve --case ID --method NAME --steps 10000,30000
[--seed S] [--days K] [--set KEY=VALUE]... [--out FILE.csv]`` trains the method ONCE, with
its ``reference`` hyperparameters and the largest step count as the budget, saving a
checkpoint at every step count on the way (``SB3Method(checkpoint_steps=...)``); each
checkpoint is then evaluated through the referee on the first ``K`` validation days. One
row per step count: steps, training seconds up to that checkpoint and the mean val-day
cost and penalties (``val_penalty_mean``: what the cost leaves out and the reward charges,
e.g. SGLS line overloads), plus the ``idle`` and ``oracle`` val-day costs of the same days
for scale. A point of the curve is therefore the agent *after* ``n`` steps of the longest
run (same learning-rate schedule and replay buffer), which is what choosing a budget asks.
``--set`` overrides an algorithm keyword for this curve only, over the case's own set-up and
tuned values (e.g. ``--set train_freq=4`` to compare update-to-data ratios);
``--set env.KEY=VALUE`` overrides an entry of the algorithm's ``env`` and of its ``case_env``
of the case (e.g.
``--set env.ramp_action='"target"'``) and ``--set policy_kwargs.KEY=VALUE`` one of its
``policy_kwargs`` (e.g. ``--set policy_kwargs.log_std_init=-3.5``), ``--set setup.KEY=VALUE``
an entry of its ``case_setup`` of the case (e.g. ``--set setup.actor_output_scale=0.01``,
``--set setup.action_noise='{"kind": "normal", "sigma": 0.03}'``); values are JSON.

``--from-runs TRAINING_DIR --seeds N`` trains nothing: it scores the checkpoints and final
models that finished runs left (a ``reference`` run saves the checkpoints its
``budget_checkpoints`` name), one row per seed and point — the curve over all seeds.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["budget_curve", "curve_from_runs", "main"]


def _val_scores(case: Any, agent: Any, days: Any, seed: int, fit_s: float) -> dict[str, float]:
    """``val_cost_mean`` (the scored cost) and ``val_penalty_mean`` (the referee's
    soft-limit penalties, e.g. SGLS line overloads, which the cost leaves out and the reward
    charges: a point is judged on both) over ``days``."""
    import numpy as np

    from gridbench.benchmarks.harness import evaluate_day

    rows = [evaluate_day(case, agent, d, seed, budget="reference", fit_s=fit_s, split="val")
            for d in days]
    return {"val_cost_mean": float(np.mean([r["cost"] for r in rows])),
            "val_penalty_mean": float(np.mean([r.get("penalty_usd") or 0.0 for r in rows]))}


#: A finished run's final model: SB3's (:class:`~gridbench.rl_agents.sb3_methods.SB3Method`)
#: or MADDPG's actors (:class:`~gridbench.rl_agents.maddpg.Maddpg`).
MODEL_FILES = ("model.zip", "model.pt")


def _final_point(run: Path) -> tuple[tuple[int, float, Path], str]:
    """``((env steps, training seconds, model path), label)`` of a finished run from its
    ``plan.json``: SB3's (``fit`` and ``plan.kwargs``; the label its update-to-data settings)
    or MADDPG's (the record itself; the label its config)."""
    record = json.loads((run / "plan.json").read_text())
    if (run / "model.zip").is_file():
        kwargs = record["plan"]["kwargs"]
        label = {k: kwargs[k] for k in ("train_freq", "gradient_steps") if k in kwargs}
        fit = record["fit"]
        return (int(fit["env_steps"]), float(fit["seconds"]), run / "model.zip"), json.dumps(
            label, sort_keys=True)
    return ((int(record["env_steps"]), float(record["seconds"]), run / "model.pt"),
            json.dumps(record.get("config", {}), sort_keys=True))


def curve_from_runs(
    case_id: str,
    method: str,
    training_dir: Path,
    seeds: list[int],
    *,
    n_days: int = 10,
    settings: str | None = None,
) -> list[dict[str, Any]]:
    """Curve points from finished runs (e.g. a ``reference`` run): every checkpoint of
    ``<training_dir>/<case>/<method>/seed<k>/checkpoints/`` and the final ``model.zip`` of
    each seed, scored on the first ``n_days`` val days. No training. ``settings`` labels the
    rows (default: the runs' update-to-data settings, ``train_freq``/``gradient_steps``)."""
    from gridbench.benchmarks.plugins import load_all
    from gridbench.cases.registry import get_method, make_case

    load_all(warn=False)
    case = make_case(case_id)
    agent = get_method(method).make()
    days = case.days("val")[:n_days]
    rows: list[dict[str, Any]] = []
    for seed in seeds:
        run = Path(training_dir) / case_id / method / f"seed{seed}"
        if not any((run / name).is_file() for name in MODEL_FILES):
            raise ValueError(f"no finished {method} run for seed {seed}: no "
                             f"{' or '.join(MODEL_FILES)} in {run}")
        points: list[tuple[int, float, Path]] = []
        index = run / "checkpoints" / "checkpoints.csv"
        if index.is_file():
            for line in index.read_text().splitlines()[1:]:
                n, _, sec, name = line.split(",")
                points.append((int(n), float(sec), run / "checkpoints" / name))
        final, label = _final_point(run)
        points.append(final)
        label = settings if settings is not None else label
        for n, sec, path in points:
            agent.load(case, seed, path)
            rows.append(
                {"kind": "rl", "case": case_id, "method": method, "steps": n, "seed": seed,
                 "fit_s": round(sec, 2), "val_days": len(days),
                 **_val_scores(case, agent, days, seed, sec), "settings": label}
            )
    for name in ("idle", "oracle"):
        bound = get_method(name).make()
        rows.append(
            {"kind": name, "case": case_id, "method": name, "steps": 0, "seed": 0, "fit_s": 0.0,
             "val_days": len(days), **_val_scores(case, bound, days, 0, 0.0),
             "settings": "{}"}
        )
    return rows


def budget_curve(
    case_id: str,
    method: str,
    steps: list[int],
    *,
    seed: int = 0,
    n_days: int = 10,
    workdir: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One row per step count (``kind="rl"``), then the idle and oracle rows (``kind``)."""

    from gridbench.benchmarks.plugins import load_all
    from gridbench.cases.registry import get_method, make_case
    from gridbench.rl_agents.sb3_methods import load_hyperparams

    if not steps or min(steps) < 1:
        raise ValueError(f"--steps {steps} must be positive env-step counts")
    load_all(warn=False)
    case = make_case(case_id)
    spec = get_method(method)
    if str(spec.family) != "rl":
        raise ValueError(f"method {method!r} is {spec.family}, not rl: it has no training budget")
    workdir = Path(workdir or tempfile.mkdtemp(prefix="gridbench-curve-"))
    workdir.mkdir(parents=True, exist_ok=True)
    params = copy.deepcopy(load_hyperparams(None))
    algo = params["algorithms"].get(method)
    if algo is None:
        raise ValueError(f"method {method!r} has no entry in the hyperparameter file")
    steps = sorted(set(steps))
    algo["budget_timesteps"] = {**algo.get("budget_timesteps", {}), "reference": steps[-1]}
    # the curve's own steps are the last word on this case (SB3's and MADDPG's last word)
    algo["case_budgets"] = {case_id: {"reference": {"timesteps": steps[-1]}}}
    for key, value in (overrides or {}).items():  # each to the case's last word on it
        if key.startswith("env."):  # over the algorithm's env and its case_env of this case
            case_env = algo.setdefault("case_env", {}).setdefault(case_id, {})
            case_env[key.removeprefix("env.")] = value
        elif key.startswith("policy_kwargs."):  # over the algorithm's and the case's own
            setup = algo.setdefault("case_setup", {}).setdefault(case_id, {})
            setup.setdefault("policy_kwargs", {})[key.removeprefix("policy_kwargs.")] = value
        elif key.startswith("setup."):  # the case's declared set-up (e.g. action_noise)
            setup = algo.setdefault("case_setup", {}).setdefault(case_id, {})
            setup[key.removeprefix("setup.")] = value
        else:  # the case's tuned kwargs are applied last: the override goes there
            algo.setdefault("case_kwargs", {}).setdefault(case_id, {})[key] = value
    hp_file = workdir / f"hyperparams_{method}.json"
    hp_file.write_text(json.dumps(params))
    agent = spec.cls(hyperparams=hp_file, training_dir=workdir, checkpoint_steps=steps[:-1])
    agent.fit(case, seed, "reference")
    return curve_from_runs(
        case_id, method, workdir, [seed], n_days=n_days,
        settings=json.dumps(overrides or {}, sort_keys=True),
    )


def _parse_setting(item: str) -> tuple[str, Any]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set {item!r} is not KEY=VALUE (e.g. train_freq=4)")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        raise ValueError(
            f"--set {item!r}: value {value!r} is not JSON (e.g. 4, 0.5, \"x\")"
        ) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="ses-carbon-ieee33-v0")
    parser.add_argument("--method", required=True)
    parser.add_argument("--steps", default=None, help="comma-separated env-step counts")
    parser.add_argument("--from-runs", type=Path, default=None, metavar="TRAINING_DIR",
                        help="score the checkpoints of finished runs instead of training")
    parser.add_argument("--seeds", type=int, default=5, help="with --from-runs: seeds 0..N-1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="algorithm keyword override for this curve (JSON value); "
                        "env.KEY=VALUE overrides the algorithm's env (e.g. env.ramp_action)")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        if args.from_runs is not None:
            rows = curve_from_runs(
                args.case, args.method, args.from_runs, list(range(args.seeds)), n_days=args.days
            )
        else:
            if not args.steps:
                raise ValueError("--steps is required (or --from-runs TRAINING_DIR)")
            steps = [int(s) for s in args.steps.split(",") if s.strip()]
            overrides = dict(_parse_setting(item) for item in args.set)
            rows = budget_curve(
                args.case, args.method, steps, seed=args.seed, n_days=args.days,
                workdir=args.workdir, overrides=overrides,
            )
    except ValueError as exc:
        print(f"budget_curve: error: {exc}", file=sys.stderr)
        return 2
    for row in rows:
        print(json.dumps(row))
    if args.out is not None:
        import pandas as pd

        from gridbench.benchmarks.atomic import atomic_write_text

        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.out, pd.DataFrame(rows).to_csv(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
