"""The declared tuning (:mod:`gridbench.benchmarks.tuning`): the grid is the file's, equal in
size for every family, scored on val days, resumable, and frozen into ``case_kwargs`` only
when complete."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from gridbench.benchmarks import tuning
from gridbench.cases.contracts import Budget
from gridbench.cases.registry import make_case
from gridbench.rl_agents.sb3_methods import HyperparamError, load_hyperparams, training_plan

CASE_ID = "ses-carbon-ieee33-v0"


def test_every_family_gets_the_same_declared_grid():
    hp = load_hyperparams()
    grids = {m: tuning.trial_grid(hp, m) for m in ("ppo", "sac", "td3", "ddpg", "maddpg")}
    assert {len(g) for g in grids.values()} == {4}
    assert grids["maddpg"][3] == {"lr_actor": 3e-4, "gamma": 1.0}
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
    assert settings["inherit"] == {"ppo-kl-fair": "ppo", "ppo-clip-kl-fair": "ppo"}
    with pytest.raises(ValueError, match="'ppo-kl-fair' has no search of its own"):
        tuning.trial_grid(hp, "ppo-kl-fair")


@pytest.mark.parametrize("case_id",
                         ["stackelberg-gsess-feeder38-v0", "stackelberg-csess-feeder38-v0"])
def test_a_case_grid_replaces_an_axis_without_effect_there(case_id):
    """The Stackelberg leader's episode is one step, so γ changes nothing: those cases declare
    their own grid (the minibatch instead), the same size for every family, and holding the
    declared default of each family's set-up among its trials."""
    hp = load_hyperparams()
    grids = {m: tuning.trial_grid(hp, m, case_id) for m in ("ppo", "sac", "td3", "ddpg")}
    assert {len(g) for g in grids.values()} == {4}
    assert grids["ppo"][0] == {"learning_rate": 1e-4, "batch_size": 64}
    assert all("gamma" not in t for m in ("ppo", "sac", "td3") for t in grids[m])
    assert grids["ddpg"] == tuning.trial_grid(hp, "ddpg")  # no case grid: the file's
    for method in ("ppo", "sac", "td3"):
        default = training_plan(method, "reference", 1, case_id=case_id).kwargs
        assert any(
            all(default[k] == v for k, v in trial.items()) for trial in grids[method]
        ), method
    bad = json.loads(json.dumps(hp))
    bad["tuning"]["case_space"][case_id]["sac"]["batch_size"] = [64]
    with pytest.raises(ValueError, match="tuning spaces differ in size"):
        tuning.trial_grid(bad, "ppo", case_id)


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
    assert (table["val_penalty_mean"] >= 0).all()  # scored beside the cost
    best = tuning.freeze(root, hp)
    winner = json.loads(table.loc[tuning.trial_score(table).idxmin(), "params"])
    assert best == {"ppo": {CASE_ID: winner}}
    plan = training_plan("ppo", "reference", 24, hp, case_id=CASE_ID)
    assert plan.kwargs["learning_rate"] == winner["learning_rate"]
    table.iloc[:1].to_csv(root / CASE_ID / "ppo.csv", index=False)
    with pytest.raises(ValueError, match="holds 1 of the 2 declared trials"):
        tuning.freeze(root, hp)


def test_the_score_is_cost_plus_penalty():
    """Hand-checked: the cheaper trial that overloads lines loses; a table without the penalty
    column (written before it existed) ranks by cost alone."""
    frame = pd.DataFrame({"val_cost_mean": [100.0, 120.0], "val_penalty_mean": [50.0, 0.0]})
    assert tuning.trial_score(frame).tolist() == [150.0, 120.0]
    assert tuning.trial_score(frame).idxmin() == 1
    assert tuning.trial_score(frame[["val_cost_mean"]]).idxmin() == 0


def test_a_variant_inherits_its_familys_frozen_values(tmp_path):
    """``tuning.inherit``: freezing a complete ``ppo`` table writes the same values into the
    fair PPO variants' ``case_kwargs`` (and nowhere else); an inherited name the file does not
    define is refused."""
    data = load_hyperparams()
    data["tuning"]["space"]["ppo"] = {"learning_rate": [1e-4], "gamma": [0.99, 1.0]}
    for m in ("sac", "td3", "ddpg", "maddpg"):
        data["tuning"]["space"][m] = {"learning_rate": [1e-3], "gamma": [0.99, 1.0]}
    hp = tmp_path / "hp.json"
    hp.write_text(json.dumps(data))
    root = tmp_path / "tuning"
    (root / "sgls-ieee30-v0").mkdir(parents=True)
    pd.DataFrame({
        "method": ["ppo", "ppo"], "case": ["sgls-ieee30-v0"] * 2, "trial": [0, 1],
        "val_cost_mean": [7.0, 5.0],
        "params": [json.dumps({"gamma": 0.99, "learning_rate": 1e-4}),
                   json.dumps({"gamma": 1.0, "learning_rate": 1e-4})],
    }).to_csv(root / "sgls-ieee30-v0" / "ppo.csv", index=False)
    best = tuning.freeze(root, hp)
    winner = {"gamma": 1.0, "learning_rate": 1e-4}
    assert best == {m: {"sgls-ieee30-v0": winner}
                    for m in ("ppo", "ppo-kl-fair", "ppo-clip-kl-fair")}
    frozen = json.loads(hp.read_text())["algorithms"]
    for m in ("ppo", "ppo-kl-fair", "ppo-clip-kl-fair"):
        assert frozen[m]["case_kwargs"]["sgls-ieee30-v0"] == winner
    assert frozen["ppo-kl"].get("case_kwargs", {}).get("sgls-ieee30-v0") is None
    plan = training_plan("ppo-clip-kl-fair", "reference", 120, hp, case_id="sgls-ieee30-v0")
    assert plan.kwargs["gamma"] == 1.0 and plan.kwargs["learning_rate"] == 1e-4
    data["tuning"]["inherit"]["ppo-nope"] = "ppo"
    hp.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"tuning\.inherit names 'ppo-nope'"):
        tuning.freeze(root, hp)


def test_a_case_inherits_its_parents_frozen_values(tmp_path):
    """``tuning.inherit_case``: a complete table of the GSESS day-ahead game freezes the same
    values into its ``tou3`` parametrization's ``case_kwargs`` (for that method only)."""
    parent, child = "stackelberg-gsess-feeder38-v0", "stackelberg-gsess-tou3-feeder38-v0"
    data = load_hyperparams()
    assert data["tuning"]["inherit_case"][child] == parent
    hp = tmp_path / "hp.json"
    hp.write_text(json.dumps(data))
    root = tmp_path / "tuning"
    (root / parent).mkdir(parents=True)
    grid = tuning.trial_grid(data, "sac", parent)
    pd.DataFrame({
        "method": ["sac"] * 4, "case": [parent] * 4, "trial": range(4),
        "val_cost_mean": [-700.0, -720.0, -710.0, -690.0],
        "params": [json.dumps(t) for t in grid],
    }).to_csv(root / parent / "sac.csv", index=False)
    best = tuning.freeze(root, hp)
    assert best == {"sac": {parent: grid[1], child: grid[1]}}
    frozen = json.loads(hp.read_text())["algorithms"]
    assert frozen["sac"]["case_kwargs"][child] == grid[1]
    assert frozen["td3"]["case_kwargs"].get(child) == data["algorithms"]["td3"][
        "case_kwargs"].get(child)  # untouched: only the tables' methods are frozen
    plan = training_plan("sac", "reference", 1, hp, case_id=child)
    assert plan.kwargs["batch_size"] == grid[1]["batch_size"]
    assert plan.timesteps == training_plan("sac", "reference", 1, hp, case_id=parent).timesteps
    with pytest.raises(ValueError, match="'stackelberg-gsess-tou3-feeder38-v0' has no search of "
                       "its own"):
        tuning.trial_grid(data, "sac", child)


def test_maddpg_is_tuned_by_the_same_tool(tmp_path):
    """MADDPG (not SB3) takes its trial's values and budget from the trial's file
    (``maddpg_config``), is scored on val days like the others, and ``freeze`` writes its best
    trial into ``algorithms.maddpg.case_kwargs``, which a default fit then uses."""
    from gridbench.rl_agents.maddpg import Maddpg, maddpg_config

    case_id = "stackelberg-csess-feeder38-v0"
    data = load_hyperparams()
    data["algorithms"]["maddpg"]["case_kwargs"] = {}  # whatever the shipped file froze
    data["tuning"] = {"seed": 100, "val_days": 1, "budget_fraction": 0.006,
                      "space": {"maddpg": {"lr_actor": [3e-4], "gamma": [0.99]}}}
    hp = tmp_path / "hp.json"
    hp.write_text(json.dumps(data))
    root = tmp_path / "tuning"
    rows = tuning.tune(case_id, "maddpg", root=root, hyperparams=hp, workdir=tmp_path / "w")
    assert [(r["trial"], r["env_steps"], r["val_days"]) for r in rows] == [(0, 45, 1)]
    plan = json.loads(next((tmp_path / "w").rglob("plan.json")).read_text())
    assert (plan["env_steps"], plan["config"]["lr_actor"], plan["config"]["gamma"]) == (
        45, 3e-4, 0.99)
    assert tuning.freeze(root, hp) == {"maddpg": {case_id: {"gamma": 0.99, "lr_actor": 3e-4}}}
    cfg = Maddpg(hyperparams=hp).config_for(make_case(case_id))
    assert (cfg.lr_actor, cfg.gamma, cfg.steps(Budget.REFERENCE)) == (3e-4, 0.99, 7_500)
    assert maddpg_config("stackelberg-gsess-feeder38-v0", hp).gamma == 1.0  # not tuned there
    data["algorithms"]["maddpg"]["case_kwargs"] = {case_id: {"lr": 1e-3}}
    hp.write_text(json.dumps(data))
    with pytest.raises(HyperparamError, match=r"algorithms\.maddpg\.case_kwargs\["
                       r"'stackelberg-csess-feeder38-v0'\] has unknown keys \['lr'\]"):
        maddpg_config(case_id, hp)
