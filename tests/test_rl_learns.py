"""The fair set-up learns: a short PPO run (the shipped ``hyperparams.json``, its defaults of
the fair-RL protocol, a fraction of the reference budget) beats the idle policy on the first
val days of every built-in case, scored by the referee. Val days only, never test days."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gridbench.benchmarks.harness import evaluate_day
from gridbench.benchmarks.plugins import load_all
from gridbench.cases.registry import make_case, make_method
from gridbench.rl_agents.sb3_methods import Ppo, load_hyperparams

#: Env steps of the short run per case (about 15–25 s of one core) and val days scored.
SHORT_RUN = {
    "ses-carbon-ieee33-v0": 16_384,
    "loss-arbitrage-ieee33-v0": 16_384,
    "sgls-ieee33-v0": 24_576,
    "sgls-ieee30-v0": 24_576,
}
VAL_DAYS = 3


@pytest.mark.slow
@pytest.mark.parametrize("case_id", sorted(SHORT_RUN))
def test_a_short_ppo_run_beats_idle_on_val_days(tmp_path, case_id):
    case = make_case(case_id)
    data = load_hyperparams()
    data["algorithms"]["ppo"]["case_budgets"][case_id] = {
        "reference": {"timesteps": SHORT_RUN[case_id], "checkpoints": []}
    }
    path = tmp_path / "hp.json"
    path.write_text(json.dumps(data))
    agent = Ppo(hyperparams=path, training_dir=tmp_path / "runs")
    agent.fit(case, 0, "reference")
    load_all(warn=False)  # the baselines register with the solvers
    idle = make_method("idle")
    idle.fit(case, 0, "quick")
    days = case.days("val")[:VAL_DAYS]

    def mean_cost(method):
        return float(np.mean([
            evaluate_day(case, method, d, 0, budget="reference", split="val")["cost"]
            for d in days
        ]))

    learned, baseline = mean_cost(agent), mean_cost(idle)
    assert learned < baseline, (learned, baseline)
