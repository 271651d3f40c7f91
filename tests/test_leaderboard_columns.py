"""Per-case leaderboard columns (e.g. the SGLS paper's cost breakdown)."""

from __future__ import annotations

import pytest

from gridbench.benchmarks import leaderboard
from gridbench.benchmarks.leaderboard import DISPLAY_COLUMNS, display_columns, render


def _entry(case: str) -> dict:
    return {"case": case, "method": "idle", "family": "baseline", "budget": "quick",
            "n_seeds": 1, "n_days": 2, "feasible": True, "feasible_frac": 1.0, "rank": 1,
            "cost": 10.0, "cost_lo": 9.0, "cost_hi": 11.0, "gap": 0.5,
            "cost_storage": 1.25}  # fmt: skip


def test_sgls_cases_show_the_papers_cost_breakdown():
    cols = display_columns("sgls-ieee33-v0")
    assert cols[: len(DISPLAY_COLUMNS)] == DISPLAY_COLUMNS
    assert ("cost_storage", "storage $") in cols and ("soc_dev_max", "SOC dev max") in cols
    assert ("reward_sum", "cum. reward") in cols  # its Table 6: cumulative reward
    assert display_columns("ses-carbon-ieee33-v0") == DISPLAY_COLUMNS


def test_cumulative_reward_is_aggregated_from_the_referee_rewards():
    """Two seeds, one day each: the entry's reward_sum is the IQM (here the mean) of the rows'
    referee reward sums."""
    import pandas as pd

    rows = pd.DataFrame(
        [
            {"case": "demo-v0", "method": "idle", "family": "baseline", "budget": "quick",
             "split": "test", "seed": s, "day": "2016-01-11", "status": "ok", "feasible": True,
             "cost": 10.0 + s, "reward_sum": -1.0 - s}
            for s in (0, 1)
        ]
    )  # fmt: skip
    (entry,) = leaderboard.build(rows, reps=50)
    assert entry["reward_sum"] == pytest.approx(-1.5)


def test_registered_columns_are_rendered_and_duplicates_rejected(monkeypatch):
    monkeypatch.setattr(leaderboard, "_CASE_COLUMNS", {})
    leaderboard.register_case_columns("demo-", [("cost_storage", "storage $")])
    leaderboard.register_case_columns("demo-", [("cost_storage", "storage $")])  # same: no-op
    with pytest.raises(ValueError, match="registered twice"):
        leaderboard.register_case_columns("demo-", [("cost_thermal", "thermal $")])
    md = render([_entry("demo-feeder-v0")], "md").splitlines()
    # a case's own columns come in a table of their own, after the main one
    extra = md.index("| method | storage $ |")
    assert md[extra + 2].endswith("| 1.25 |")
    assert not md[2].endswith("| storage $ |")
    assert "storage $" not in render([_entry("other-v0")], "md")
