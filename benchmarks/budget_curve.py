"""Quality against training budget for an RL method: the curve the ``reference`` budget is
chosen from (issue 3). Trains on ``train`` days and scores on ``val`` days only.

``python -m gridbench.benchmarks.budget_curve --case ID --method NAME --steps 10000,30000
[--seed S] [--days K] [--out FILE.csv]`` trains the method once per step count (its
hyperparameter file with the ``reference`` budget set to that many env steps), evaluates
each trained agent through the referee on the first ``K`` validation days, and writes one
row per step count: steps, training seconds and the mean val-day cost, plus the ``idle``
and ``oracle`` val-day costs of the same days for scale.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
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
    base = load_hyperparams(None)
    rows: list[dict[str, Any]] = []
    for n in steps:
        params = copy.deepcopy(base)
        params["budgets"]["reference"] = {"timesteps": int(n)}
        hp_file = workdir / f"hyperparams_{method}_{n}.json"
        hp_file.write_text(json.dumps(params))
        agent = spec.cls(hyperparams=hp_file, training_dir=workdir / f"{method}_{n}")
        t0 = time.perf_counter()
        agent.fit(case, seed, "reference")
        fit_s = time.perf_counter() - t0
        costs = [
            evaluate_day(case, agent, d, seed, budget="reference", fit_s=fit_s, split="val")["cost"]
            for d in days
        ]
        rows.append(
            {"kind": "rl", "method": method, "steps": int(n), "seed": seed,
             "fit_s": round(fit_s, 2), "val_days": len(days),
             "val_cost_mean": float(np.mean(costs))}
        )
    for name in ("idle", "oracle"):
        bound = get_method(name).make()
        costs = [
            evaluate_day(case, bound, d, seed, budget="quick", fit_s=0.0, split="val")["cost"]
            for d in days
        ]
        rows.append(
            {"kind": name, "method": name, "steps": 0, "seed": seed, "fit_s": 0.0,
             "val_days": len(days), "val_cost_mean": float(np.mean(costs))}
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="ses-carbon-ieee33-v0")
    parser.add_argument("--method", required=True)
    parser.add_argument("--steps", required=True, help="comma-separated env-step counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        steps = [int(s) for s in args.steps.split(",") if s.strip()]
        rows = budget_curve(args.case, args.method, steps, seed=args.seed, n_days=args.days)
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
