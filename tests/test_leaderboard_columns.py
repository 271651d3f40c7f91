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


def _timed_row(method: str, seed: int, **timing: float) -> dict:
    return {"case": "demo-v0", "method": method, "family": "solver", "budget": "quick",
            "split": "test", "seed": seed, "day": "2016-01-11", "status": "ok",
            "feasible": True, "cost": 10.0, **timing}  # fmt: skip


def test_old_rows_get_the_compute_columns_derived_new_rows_keep_theirs():
    """Old rows (solve_s, decide_s, n_steps only): plan_ms = 1000 solve_s and
    compute_ms_per_decision = 1000 (solve_s + decide_s) / n_steps; a new row keeps its own;
    no decisions (n_steps 0) or no times: NaN."""
    import math

    import pandas as pd

    from gridbench.benchmarks.compute_cost import with_compute_columns

    rows = pd.DataFrame(
        [
            _timed_row("old", 0, solve_s=0.25, decide_s=0.5, n_steps=24),
            _timed_row("new", 0, solve_s=0.25, decide_s=0.5, n_steps=24, plan_ms=7.0,
                       compute_ms_per_decision=3.0),
            _timed_row("none", 0, solve_s=0.25, decide_s=math.nan, n_steps=0),
            _timed_row("bare", 0),
        ]
    )  # fmt: skip
    rows.loc[0, ["plan_ms", "compute_ms_per_decision"]] = math.nan  # old row in a mixed store
    out = with_compute_columns(rows)
    assert out["plan_ms"].tolist()[:3] == [250.0, 7.0, 250.0]
    assert out["compute_ms_per_decision"].tolist()[:2] == [31.25, 3.0]  # 750 ms / 24
    assert math.isnan(out["compute_ms_per_decision"][2]) and math.isnan(out["plan_ms"][3])
    bare = rows.drop(columns=["plan_ms", "compute_ms_per_decision"])  # no row has them
    assert with_compute_columns(bare)["compute_ms_per_decision"].tolist()[:2] == [31.25, 31.25]
    assert "plan_ms" not in bare  # a copy: the input is unchanged

    # the leaderboard derives them for rows that lack the columns entirely (results/reference)
    old = pd.DataFrame([_timed_row("day-ahead", s, solve_s=0.25 * (s + 1), decide_s=0.5,
                                   n_steps=24) for s in (0, 1)])  # fmt: skip
    (entry,) = leaderboard.build(old, reps=50)
    assert entry["plan_ms"] == pytest.approx(375.0)  # IQM (mean) of 250 and 500
    assert entry["compute_ms_per_decision"] == pytest.approx((750 / 24 + 1000 / 24) / 2)


def test_plan_and_amortized_compute_are_shown_beside_the_decision_time():
    keys = [key for key, _ in DISPLAY_COLUMNS]
    at = keys.index("decision_ms_p50")
    assert DISPLAY_COLUMNS[at : at + 3] == (
        ("decision_ms_p50", "decide ms p50"),
        ("plan_ms", "plan ms"),
        ("compute_ms_per_decision", "ms/decision incl. plan"),
    )
    entry = {**_entry("demo-v0"), "decision_ms_p50": 0.5, "plan_ms": 300.0,
             "compute_ms_per_decision": 12.5}  # fmt: skip
    md = render([entry], "md").splitlines()
    assert md[2].endswith("| decide ms p50 | plan ms | ms/decision incl. plan |")
    assert md[4].endswith("| 0.5 | 300 | 12.5 |")
    for fmt in ("csv", "json"):
        text = render([entry], fmt)
        assert "plan_ms" in text and "compute_ms_per_decision" in text
    import json

    (got,) = json.loads(render([entry], "json"))
    assert (got["plan_ms"], got["compute_ms_per_decision"]) == (300.0, 12.5)
    assert leaderboard.LEADERBOARD_METRICS[10:14] == (
        "decision_ms_p50", "decision_ms_p95", "plan_ms", "compute_ms_per_decision")  # fmt: skip
