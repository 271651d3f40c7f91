"""Quality against training budget for an RL method: the curve the ``reference`` budget is
chosen from (issue 3). Trains on ``train`` days and scores on ``val`` days only.

``python -m gridbench.benchmarks.budget_curve --case ID --method NAME --steps 10000,30000
[--seed S] [--days K] [--set KEY=VALUE]... [--out FILE.csv]`` trains the method ONCE, with
its ``reference`` hyperparameters and the largest step count as the budget, saving a
checkpoint at every step count on the way (``SB3Method(checkpoint_steps=...)``); each
checkpoint is then evaluated through the referee on the first ``K`` validation days. One
row per step count: steps, training seconds up to that checkpoint and the mean val-day
cost, plus the ``idle`` and ``oracle`` val-day costs of the same days for scale. A point of
the curve is therefore the agent *after* ``n`` steps of the longest run (same learning-rate
schedule and replay buffer), which is what choosing a budget asks. ``--set`` overrides an
algorithm keyword for this curve only (e.g. ``--set train_freq=4`` to compare
update-to-data ratios); values are JSON.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["budget_curve", "main"]


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
    import numpy as np

    from gridbench.benchmarks.harness import evaluate_day
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
    days = case.days("val")[:n_days]
    workdir = Path(workdir or tempfile.mkdtemp(prefix="gridbench-curve-"))
    workdir.mkdir(parents=True, exist_ok=True)
    params = copy.deepcopy(load_hyperparams(None))
    algo = params["algorithms"].get(method)
    if algo is None:
        raise ValueError(f"method {method!r} has no entry in the hyperparameter file")
    steps = sorted(set(steps))
    algo["budget_timesteps"] = {**algo.get("budget_timesteps", {}), "reference": steps[-1]}
    if overrides:
        ref = algo.setdefault("budget_kwargs", {}).setdefault("reference", {})
        ref.update(overrides)
    hp_file = workdir / f"hyperparams_{method}.json"
    hp_file.write_text(json.dumps(params))
    agent = spec.cls(hyperparams=hp_file, training_dir=workdir, checkpoint_steps=steps)
    agent.fit(case, seed, "reference")
    ckpt_dir = agent.run_dir(case, seed) / "checkpoints"
    seconds = {
        int(line.split(",")[0]): float(line.split(",")[2])
        for line in (ckpt_dir / "checkpoints.csv").read_text().splitlines()[1:]
    }
    rows: list[dict[str, Any]] = []
    for n in steps:
        agent.load(case, seed, ckpt_dir / f"model_{n}.zip")
        costs = [
            evaluate_day(case, agent, d, seed, budget="reference", fit_s=seconds[n], split="val")[
                "cost"
            ]
            for d in days
        ]
        rows.append(
            {"kind": "rl", "case": case_id, "method": method, "steps": int(n), "seed": seed,
             "fit_s": round(seconds[n], 2), "val_days": len(days),
             "val_cost_mean": float(np.mean(costs)),
             "settings": json.dumps(overrides or {}, sort_keys=True)}
        )
    for name in ("idle", "oracle"):
        bound = get_method(name).make()
        costs = [
            evaluate_day(case, bound, d, seed, budget="quick", fit_s=0.0, split="val")["cost"]
            for d in days
        ]
        rows.append(
            {"kind": name, "case": case_id, "method": name, "steps": 0, "seed": seed, "fit_s": 0.0,
             "val_days": len(days), "val_cost_mean": float(np.mean(costs)), "settings": "{}"}
        )
    return rows


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
    parser.add_argument("--steps", required=True, help="comma-separated env-step counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="algorithm keyword override for this curve (JSON value)")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
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
