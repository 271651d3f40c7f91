"""The quality-vs-budget curve tool trains on train days and scores val days only."""

from __future__ import annotations

import json

import pytest

from gridbench.benchmarks.budget_curve import budget_curve, curve_from_runs, main


def test_curve_rows_come_from_checkpoints_of_one_run(tmp_path):
    rows = budget_curve(
        "ses-carbon-ieee33-v0", "ddpg", [120, 60], n_days=1, workdir=tmp_path,
        overrides={"learning_starts": 48, "batch_size": 16, "train_freq": 4},
    )
    kinds = [r["kind"] for r in rows]
    assert kinds == ["rl", "rl", "idle", "oracle"]
    assert [r["steps"] for r in rows[:2]] == [60, 120] and rows[0]["val_days"] == 1
    assert 0 < rows[0]["fit_s"] <= rows[1]["fit_s"]
    assert '"train_freq": 4' in rows[0]["settings"]
    assert all(r["val_penalty_mean"] >= 0.0 for r in rows)  # reported beside the cost
    run = tmp_path / "ses-carbon-ieee33-v0" / "ddpg" / "seed0"
    assert sorted(p.name for p in (run / "checkpoints").glob("*.zip")) == ["model_60.zip"]
    plan = (run / "plan.json").read_text()
    assert '"timesteps": 120' in plan and '"train_freq": 4' in plan

    # the same run scored afterwards from its files (what a reference run leaves behind)
    again = curve_from_runs("ses-carbon-ieee33-v0", "ddpg", tmp_path, [0], n_days=1)
    assert [(r["kind"], r["steps"]) for r in again] == [
        ("rl", 60), ("rl", 120), ("idle", 0), ("oracle", 0)
    ]
    assert [r["val_cost_mean"] for r in again] == [r["val_cost_mean"] for r in rows]
    with pytest.raises(ValueError, match="seed 1"):
        curve_from_runs("ses-carbon-ieee33-v0", "ddpg", tmp_path, [1], n_days=1)
    # the oracle is a lower bound of the referee cost on the same day
    assert rows[2]["val_cost_mean"] <= rows[1]["val_cost_mean"]
    assert rows[2]["val_cost_mean"] <= rows[0]["val_cost_mean"] + 1e-6


def test_curve_steps_and_settings_win_over_the_cases_own(tmp_path):
    """SGLS has its own reference step count (``case_budgets``) and GAE λ (``case_setup``); a
    curve's steps and ``--set`` values still rule, ``env.<key>`` reaching the plan's env."""
    rows = budget_curve(
        "sgls-ieee33-v0", "ppo", [96, 192], n_days=1, workdir=tmp_path,
        overrides={"n_steps": 96, "batch_size": 48, "gae_lambda": 0.9,
                   "env.ramp_action": "target", "policy_kwargs.log_std_init": -2.3},
    )
    assert [(r["kind"], r["steps"]) for r in rows] == [
        ("rl", 96), ("rl", 192), ("idle", 0), ("oracle", 0)
    ]
    plan = json.loads((tmp_path / "sgls-ieee33-v0" / "ppo" / "seed0" / "plan.json").read_text())
    assert plan["plan"]["timesteps"] == 192
    assert plan["plan"]["kwargs"]["gae_lambda"] == 0.9
    assert plan["plan"]["ramp_action"] == "target"
    assert plan["plan"]["policy_kwargs"] == {"net_arch": [64, 64], "log_std_init": -2.3}


def test_maddpg_curve_from_one_run_and_its_files(tmp_path):
    """MADDPG's checkpoints (``model_<n>.pt``, the actors only) and final ``model.pt`` give
    the curve; the curve's steps win over the case's own budget; ``--set`` reaches the
    config (a value that is no choice is one line)."""
    case = "stackelberg-gsess-feeder38-v0"
    rows = budget_curve(case, "maddpg", [50, 100], n_days=1, workdir=tmp_path,
                        overrides={"learning_starts": 25, "batch_size": 16,
                                   "reward_shaping": "none"})
    assert [(r["kind"], r["steps"]) for r in rows] == [
        ("rl", 50), ("rl", 100), ("idle", 0), ("oracle", 0)
    ]
    run = tmp_path / case / "maddpg" / "seed0"
    assert sorted(p.name for p in (run / "checkpoints").glob("*.pt")) == ["model_50.pt"]
    plan = json.loads((run / "plan.json").read_text())
    assert plan["env_steps"] == 100 and plan["config"]["reward_shaping"] == "none"
    again = curve_from_runs(case, "maddpg", tmp_path, [0], n_days=1)
    assert [r["val_cost_mean"] for r in again] == [r["val_cost_mean"] for r in rows]
    assert '"reward_shaping": "none"' in again[0]["settings"]
    with pytest.raises(ValueError, match="reward_shaping 'owed' is not one of"):
        budget_curve(case, "maddpg", [10], n_days=1, workdir=tmp_path / "bad",
                     overrides={"reward_shaping": "owed"})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "oracle", "--steps", "10"], "not rl"),
        (["--method", "ppo", "--steps", "0"], "must be positive"),
        (["--method", "ppo", "--steps", "10", "--set", "train_freq"], "not KEY=VALUE"),
        # PPO's case_env of this case sets env.action_centre: --set reaches it, and is checked
        (["--case", "sgls-ieee30-v0", "--method", "ppo", "--steps", "10", "--set",
          'env.action_centre="middle"'],
         "env.action_centre 'middle' is not one of idle, default, default_balanced"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, args, message):
    assert main([*args, "--workdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
