"""Aggregation (IQM, stratified bootstrap, mean ± std) and the leaderboard built from rows."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import trim_mean

from gridbench.benchmarks.aggregate import iqm, stratified_bootstrap, summarize
from gridbench.benchmarks.leaderboard import (
    LEADERBOARD_METRICS,
    STAT_SUFFIXES,
    add_gap,
    build,
    render,
)

# --------------------------------------------------------------------------- IQM


class TestIQM:
    def test_known_values(self):
        assert iqm(np.arange(1, 9)) == 4.5  # drop 1, 2 and 7, 8: mean of 3..6
        assert iqm([1, 2, 3, 4, 5]) == 3.0  # n = 5: ⌊5/4⌋ = 1 dropped each end
        assert iqm([1.0, 2.0, 3.0, 100.0]) == 2.5
        assert iqm([1.0, 2.0, 30.0]) == 11.0  # n < 4: nothing trimmed, the mean
        assert iqm([7.0]) == 7.0

    @pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 9, 10, 13, 20, 101])
    def test_equals_scipy_trim_mean_as_rliable_computes_it(self, n):
        x = np.random.default_rng(n).normal(size=n)
        assert iqm(x) == pytest.approx(trim_mean(x, 0.25), rel=1e-12, abs=1e-12)

    def test_rejects_empty_and_nan(self):
        with pytest.raises(ValueError, match="no values"):
            iqm([])
        with pytest.raises(ValueError, match="NaN"):
            iqm([1.0, math.nan])


class TestBootstrap:
    def test_deterministic_and_contains_the_estimate(self):
        x = np.random.default_rng(0).normal(10.0, 2.0, size=10)
        lo, hi = stratified_bootstrap(x, seed=3)
        assert (lo, hi) == stratified_bootstrap(x, seed=3)
        assert (lo, hi) != stratified_bootstrap(x, seed=4)
        assert lo <= iqm(x) <= hi

    def test_interval_shrinks_with_more_seeds(self):
        rng = np.random.default_rng(1)
        few = stratified_bootstrap(rng.normal(size=5))
        many = stratified_bootstrap(rng.normal(size=200))
        assert many[1] - many[0] < 0.5 * (few[1] - few[0])

    def test_one_seed_is_degenerate(self):
        assert stratified_bootstrap([3.25]) == (3.25, 3.25)
        s = summarize([3.25])
        assert (s.iqm, s.lo, s.hi, s.mean, s.n) == (3.25, 3.25, 3.25, 3.25, 1)
        assert math.isnan(s.std)

    def test_resamples_within_each_task(self):
        # every replicate draws 3 runs of task A (all 0) and 3 of task B (all 10): the mean is
        # always 5, whereas pooling the runs would let it vary
        scores = np.array([[0.0, 10.0]] * 3)  # (runs, tasks)
        assert stratified_bootstrap(scores, "mean") == (5.0, 5.0)
        assert stratified_bootstrap([[0.0, 0.0], [10.0, 10.0, 10.0, 10.0]], "mean")[0] == 20 / 3

    def test_summarize_mean_std_and_nan(self):
        s = summarize([1.0, 2.0, 3.0, 4.0, math.nan])
        assert (s.mean, s.n, s.iqm) == (2.5, 4, 2.5)
        assert s.std == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
        assert s.lo <= s.iqm <= s.hi
        assert summarize([math.nan]).n == 0 and math.isnan(summarize([math.nan]).iqm)


# --------------------------------------------------------------------------- leaderboard

CASE = "toy-storage-v0"
DAYS = ("2016-07-01", "2016-07-02")


def _rows(method, costs, *, family="solver", seeds=(0,), feasible=True, budget="quick",
          status="ok", split="test", days=DAYS):  # fmt: skip
    """One row per seed and day; ``costs[day index]`` (+ seed) as the cost."""
    out = []
    for seed in seeds:
        for d, cost in zip(days, costs, strict=True):
            out.append(
                {
                    "case": CASE,
                    "method": method,
                    "seed": seed,
                    "day": d,
                    "budget": budget,
                    "family": family,
                    "split": split,
                    "status": status,
                    "cost": float(cost + seed),
                    "cost_energy": float(cost + seed),
                    "emissions_t": 1.0,
                    "feasible": feasible,
                    "viol_voltage_puh": 0.0 if feasible else 0.5,
                    "decision_ms_p50": 0.1,
                    "fit_s": 2.0,
                }
            )
    return out


def _frame(*groups):
    return pd.DataFrame([row for group in groups for row in group])


class TestLeaderboard:
    def test_gap_is_against_the_oracle_on_the_same_day(self):
        frame = _frame(
            _rows("oracle", [100.0, 200.0], family="bound", seeds=(0, 1)),  # seed 1: +1
            _rows("mpc", [110.55, 220.55]),
            _rows("late", [50.0], days=("2016-07-03",)),  # no oracle on that day
        )
        with_gap = add_gap(frame)
        gaps = with_gap[with_gap["method"] != "oracle"].set_index(["method", "day"])["gap"]
        assert gaps[("mpc", DAYS[0])] == pytest.approx(0.1)  # oracle: mean of 100, 101
        assert gaps[("mpc", DAYS[1])] == pytest.approx(0.1)  # mean of 200, 201
        assert math.isnan(gaps[("late", "2016-07-03")])
        entries = {e["method"]: e for e in build(frame)}
        assert entries["mpc"]["gap"] == pytest.approx(0.1)
        assert entries["oracle"]["gap"] == pytest.approx(0.0, abs=0.01)
        assert math.isnan(entries["late"]["gap"])

    def test_no_oracle_means_nan_gap(self):
        (entry,) = build(_frame(_rows("mpc", [1.0, 2.0])))
        assert math.isnan(entry["gap"]) and entry["cost"] == 1.5

    def test_feasible_first_then_cost_and_the_oracle_is_not_ranked(self):
        frame = _frame(
            _rows("oracle", [10.0, 10.0], family="solver"),  # reported as bound whatever it says
            _rows("cheap-but-infeasible", [20.0, 20.0], feasible=False),
            _rows("mid", [40.0, 40.0]),
            _rows("best", [30.0, 30.0]),
            _rows("crashes", [1.0, 1.0], status="error"),
        )
        entries = build(frame)
        assert [(e["method"], e["rank"]) for e in entries] == [
            ("best", 1),
            ("mid", 2),
            ("cheap-but-infeasible", 3),
            ("crashes", 4),
            ("oracle", None),
        ]
        by = {e["method"]: e for e in entries}
        assert by["oracle"]["family"] == "bound"
        assert by["crashes"]["feasible"] is False and by["crashes"]["n_failed"] == 2
        assert math.isnan(by["crashes"]["cost"])  # a failed day has no metrics

    def test_mean_over_days_then_iqm_over_seeds(self):
        frame = _frame(_rows("mpc", [100.0, 300.0], seeds=(0, 1, 2, 3, 4, 5, 6, 7)))
        (e,) = build(frame)
        # per-seed day means 200 + seed, seeds 0..7: IQM = mean of 202..205
        assert (e["n_seeds"], e["n_days"]) == (8, 2)
        assert e["cost"] == 203.5 and e["cost_mean"] == 203.5
        assert e["cost_std"] == pytest.approx(np.std(np.arange(8), ddof=1))
        assert e["cost_lo"] <= e["cost"] <= e["cost_hi"]

    def test_highest_budget_and_requested_split_only(self):
        frame = _frame(
            _rows("mpc", [1.0, 1.0], budget="smoke"),
            _rows("mpc", [5.0, 5.0], budget="reference"),
            _rows("mpc", [9.0, 9.0], budget="reference", split="val"),
        )
        (e,) = build(frame)
        assert (e["cost"], e["budget"], e["split"]) == (5.0, "reference", "test")
        (v,) = build(frame, split="val")
        assert v["cost"] == 9.0

    def test_json_keys_and_values(self):
        frame = _frame(
            _rows("oracle", [100.0, 200.0], family="bound"), _rows("mpc", [110.0, 220.0])
        )
        data = json.loads(render(build(frame), "json"))
        head = ["case", "method", "family", "n_seeds", "n_days", "feasible"]
        for obj in data:
            keys = list(obj)
            assert keys[:6] == head
            for metric in ("cost", "gap", "emissions_t", "decision_ms_p50", "fit_s"):
                assert all(f"{metric}{s}" in obj for s in ("", *STAT_SUFFIXES))
            metric_keys = [m for m in LEADERBOARD_METRICS if m in obj]
            assert keys[6 : 6 + 5 * len(metric_keys)][::5] == metric_keys
            assert "cost_energy" in obj and obj["rank"] in (1, None)
        mpc = next(o for o in data if o["method"] == "mpc")
        assert mpc["gap"] == pytest.approx(0.1) and mpc["feasible"] is True
        assert mpc["cost_std"] is None  # one seed: undefined, null in JSON
        assert mpc["soc_dev_max"] is None  # no such column in these rows: null

    def test_csv_and_markdown(self):
        frame = _frame(
            _rows("oracle", [100.0, 200.0], family="bound"), _rows("mpc", [110.0, 220.0])
        )
        entries = build(frame)
        back = pd.read_csv(io.StringIO(render(entries, "csv")))
        assert list(back["method"]) == ["mpc", "oracle"]
        assert list(back.columns[:6]) == [
            "case",
            "method",
            "family",
            "n_seeds",
            "n_days",
            "feasible",
        ]
        md = render(entries, "md")
        assert (
            f"## {CASE}" in md and "| 1 | mpc | solver |" in md and "| — | oracle | bound |" in md
        )
        assert "+10.00 %" in md
        with pytest.raises(ValueError, match="unknown format 'xml'"):
            render(entries, "xml")
        assert render([], "json") == "[]\n"
