"""The quality-vs-budget curve tool trains on train days and scores val days only."""

from __future__ import annotations

import pytest

from gridbench.benchmarks.budget_curve import budget_curve, main


def test_curve_rows_for_a_tiny_ppo_budget(tmp_path):
    rows = budget_curve("ses-carbon-ieee33-v0", "ppo", [64], n_days=1, workdir=tmp_path)
    kinds = [r["kind"] for r in rows]
    assert kinds == ["rl", "idle", "oracle"]
    assert rows[0]["steps"] == 64 and rows[0]["val_days"] == 1
    # the oracle is a lower bound of the referee cost on the same day
    assert rows[2]["val_cost_mean"] <= rows[1]["val_cost_mean"]
    assert rows[2]["val_cost_mean"] <= rows[0]["val_cost_mean"] + 1e-6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "oracle", "--steps", "10"], "not rl"),
        (["--method", "ppo", "--steps", "0"], "must be positive"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
