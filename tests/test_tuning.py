"""The declared tuning (:mod:`gridbench.benchmarks.tuning`): the grid is the file's, equal in
size for every family, scored on val days, resumable, and frozen into ``case_kwargs`` only
when complete."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from gridbench.benchmarks import tuning
from gridbench.rl_agents.sb3_methods import load_hyperparams, training_plan

CASE_ID = "ses-carbon-ieee33-v0"


def test_every_family_gets_the_same_declared_grid():
    hp = load_hyperparams()
    grids = {m: tuning.trial_grid(hp, m) for m in ("ppo", "sac", "td3", "ddpg")}
    assert {len(g) for g in grids.values()} == {4}
    assert grids["ppo"] == [
        {"learning_rate": 1e-4, "gamma": 0.99},
        {"learning_rate": 1e-4, "gamma": 1.0},
        {"learning_rate": 3e-4, "gamma": 0.99},
        {"learning_rate": 3e-4, "gamma": 1.0},
    ]
    settings = hp["tuning"]
    assert settings["seed"] not in range(5) and settings["budget_fraction"] == 0.5
    bad = json.loads(json.dumps(hp))
    bad["tuning"]["space"]["sac"]["gamma"] = [0.9, 0.99, 1.0]
    with pytest.raises(ValueError, match="tuning spaces differ in size"):
        tuning.trial_grid(bad, "ppo")
    with pytest.raises(ValueError, match="no tuning space for 'ppo-kl'"):
        tuning.trial_grid(hp, "ppo-kl")


def _file(tmp_path, **space):
    data = load_hyperparams()
    data["tuning"] = {"seed": 100, "val_days": 1, "budget_fraction": 0.01,
                      "space": {"ppo": space}}
    path = tmp_path / "hp.json"
    path.write_text(json.dumps(data))
    return path


def test_tune_scores_val_days_resumes_and_freezes(tmp_path):
    """Two trials of a tiny PPO search: one row each (val days only), a second call trains
    nothing, ``freeze`` writes the better trial into ``case_kwargs`` and the plan applies it
    last; a table short of the grid is refused."""
    hp = _file(tmp_path, learning_rate=[1e-4, 3e-4])
    root = tmp_path / "tuning"
    rows = tuning.tune(CASE_ID, "ppo", root=root, hyperparams=hp, workdir=tmp_path / "w")
    assert [r["trial"] for r in rows] == [0, 1]
    table = pd.read_csv(root / CASE_ID / "ppo.csv")
    assert list(table["val_days"]) == [1, 1] and set(table["seed"]) == {100}
    # 1 % of the 176,128-step reference (PPO still collects a whole 2,048-step rollout)
    assert set(table["env_steps"]) == {round(176_128 * 0.01)}
    assert tuning.tune(CASE_ID, "ppo", root=root, hyperparams=hp) == []  # resumed
    best = tuning.freeze(root, hp)
    winner = json.loads(table.loc[table["val_cost_mean"].idxmin(), "params"])
    assert best == {"ppo": {CASE_ID: winner}}
    plan = training_plan("ppo", "reference", 24, hp, case_id=CASE_ID)
    assert plan.kwargs["learning_rate"] == winner["learning_rate"]
    table.iloc[:1].to_csv(root / CASE_ID / "ppo.csv", index=False)
    with pytest.raises(ValueError, match="holds 1 of the 2 declared trials"):
        tuning.freeze(root, hp)
