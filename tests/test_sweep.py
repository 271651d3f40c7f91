"""The crossover study: the forecast-error scale of every case, ``gridbench sweep`` and the
crossover read-out (tiny hand-checkable sweeps with exact numbers)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from gridbench.benchmarks.cli import app
from gridbench.benchmarks.crossover import (
    Verdict,
    build_crossover,
    crossing_level,
    gap_with_interval,
    main,
    paired_difference,
    render_markdown,
)
from gridbench.benchmarks.harness import plan_run, run_task
from gridbench.benchmarks.provenance import Provenance
from gridbench.benchmarks.store import ResultsStore
from gridbench.benchmarks.sweep import Axis, Condition, condition_dirs, parse_axis
from gridbench.cases.data.forecast import (
    FORECAST_ERROR_MODELS,
    ForecastErrorModel,
    check_error_scale,
    forecast,
    sample_scenarios,
)
from gridbench.cases.registry import case_ids, make_case

runner = CliRunner()
DAY = datetime.date(2016, 7, 1)
CASES_WITH_FORECASTS = [c for c in case_ids() if "forecast_error_scale"
                        in type(make_case(c).config).model_fields]


# ------------------------------------------------------------------ the error scale
def test_scaled_model_multiplies_every_spread_and_keeps_the_correlation():
    m = ForecastErrorModel(0.01, 0.006, 0.05, 0.9, 0.01).scaled(2.5)
    assert (m.sigma_0, m.sigma_1, m.sigma_max, m.hourly_correlation, m.sigma_quarter_hour) \
        == pytest.approx((0.025, 0.015, 0.125, 0.9, 0.025), abs=0, rel=1e-15)
    nominal = FORECAST_ERROR_MODELS["pv"]
    assert nominal.scaled(1.0) is nominal


def test_error_scale_scales_the_same_draws():
    actual = np.linspace(0.2, 0.8, 96)  # PV per unit: clipping at 0 and 1 never binds here
    base = forecast(actual, "pv", DAY, seed=3, lead_offset_h=12)
    assert np.array_equal(forecast(actual, "pv", DAY, seed=3, lead_offset_h=12,
                                   error_scale=0.0), actual)
    half = forecast(actual, "pv", DAY, seed=3, lead_offset_h=12, error_scale=0.5)
    np.testing.assert_allclose(half - actual, 0.5 * (base - actual), rtol=1e-12, atol=1e-15)
    scen = sample_scenarios(actual, "pv", DAY, seed=3, n_scenarios=4, error_scale=0.0)
    assert np.array_equal(scen, np.repeat(actual[None], 4, axis=0))


@pytest.mark.parametrize("bad", [-0.5, 10.5, float("nan"), float("inf"), "2", True])
def test_bad_error_scales_are_one_line_errors(bad: Any):
    with pytest.raises(ValueError, match="forecast error scale") as err:
        check_error_scale(bad)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("case_id", CASES_WITH_FORECASTS)
def test_every_case_with_forecasts_takes_the_scale(case_id: str):
    """Scale 0: the forecasts a planner gets are the realized day; a bad scale is a one-line
    config error naming the field."""
    assert CASES_WITH_FORECASTS, "no case declares forecast_error_scale"
    perfect = make_case(case_id, config={"forecast_error_scale": 0.0})
    nominal = make_case(case_id)
    realized = nominal.day_data(DAY, "actual")
    for case, same in ((perfect, True), (nominal, False)):
        fc = case.day_data(DAY, "forecast", lead_h=12)
        equal = np.array_equal(np.asarray(fc.load_p_mw), np.asarray(realized.load_p_mw))
        assert equal is same
    with pytest.raises(ValueError, match="forecast_error_scale") as err:
        make_case(case_id, config={"forecast_error_scale": -1})
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------ axes and conditions
def test_parse_axis_sorts_levels_and_names_directories(tmp_path: Path):
    conditions = parse_axis("forecast_error=2,0,0.5")
    assert [c.name for c in conditions] == ["forecast_error=0", "forecast_error=0.5",
                                            "forecast_error=2"]
    assert conditions[2].case_config == {"forecast_error_scale": 2.0}
    assert Condition(Axis.FORECAST_ERROR, 1.0).nominal
    for c in conditions:
        c.directory(tmp_path).mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "other=x").mkdir()
    assert condition_dirs(tmp_path) == conditions


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("forecast_err=1", "unknown axis 'forecast_err'; valid: forecast_error"),
        ("forecast_error", "is not AXIS=LEVEL[,LEVEL...]"),
        ("forecast_error=", "is not AXIS=LEVEL[,LEVEL...]"),
        ("forecast_error=1,a", "level 'a' is not a number >= 0"),
        ("forecast_error=-1", "level '-1' is not a number >= 0"),
        ("forecast_error=12", "level 12 is out of range; valid: 0 to 10"),
        ("forecast_error=1,1.0", "repeats a level"),
    ],
)
def test_bad_axes(text: str, message: str):
    with pytest.raises(ValueError) as err:
        parse_axis(text)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("axis", "message"),
    [("forecast_error=1,x", "forecast_error level 'x' is not a number"),
     ("noise=1", "unknown axis 'noise'")],
)
def test_sweep_cli_bad_axis_is_one_line_exit_2_and_writes_nothing(tmp_path, axis, message):
    out = runner.invoke(app, ["sweep", "--axis", axis, "--results", str(tmp_path / "sw"),
                              "--no-progress"])
    assert out.exit_code == 2, out.output
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "sw").exists()


def test_a_condition_reaches_the_case_and_every_row(tmp_path: Path):
    """plan_run builds the case with the condition's config; each row says the condition."""
    import gridbench.solvers  # noqa: F401  (registers the baselines)

    condition = parse_axis("forecast_error=0")[0]
    plan = plan_run(["ses-carbon-ieee33-v0"], ["idle"], range(1), "smoke", "test", 1,
                    case_config=condition.case_config, condition=condition.name)
    (task,) = plan.tasks
    assert task.case_kwargs["config"] == {"forecast_error_scale": 0.0}
    store = ResultsStore(tmp_path / condition.name)
    assert run_task(task, store).n_written == 1
    row = store.frame().iloc[0]
    assert row["condition"] == "forecast_error=0" and row["status"] == "ok"
    nominal = plan_run(["ses-carbon-ieee33-v0"], ["idle"], range(1), "smoke", "test", 1).tasks[0]
    assert nominal.case_kwargs == {} and "condition" not in nominal.row_columns


# ------------------------------------------------------------------ the read-out
def test_gap_interval_of_a_constant_matrix_is_a_point():
    assert gap_with_interval(np.full((3, 2), 0.04), reps=50) == pytest.approx((0.04,) * 3)


def test_gap_point_is_the_iqm_of_seed_means():
    # 4 seeds with day means 0.01, 0.02, 0.03, 0.10: IQM drops one each side -> 0.025
    m = np.array([[0.01, 0.02, 0.03, 0.10], [0.01, 0.02, 0.03, 0.10]])
    assert gap_with_interval(m, reps=10)[0] == pytest.approx(0.025)


def test_paired_difference_by_hand():
    rl = np.array([[0.01, 0.03], [0.05, 0.05]])  # day means 0.02, 0.05
    mpc = np.array([[0.03], [0.02]])
    diff, lo, hi = paired_difference(rl, mpc, reps=400)
    assert diff == pytest.approx(((0.02 - 0.03) + (0.05 - 0.02)) / 2)
    assert lo <= diff <= hi


@pytest.mark.parametrize(
    ("diffs", "expected"),
    [([0.02, 0.01, -0.01, -0.03], 1.5), ([0.01, 0.02, 0.03, 0.04], None),
     ([-0.01, 0.0, 0.01, 0.02], 1.0),  # the exact 0 at 1× is passed over: 0× → 2×
     ([0.0, 0.0, 0.0, 0.0], None)],
)
def test_crossing_level_interpolates_the_sign_change(diffs, expected):
    got = crossing_level([0.0, 1.0, 2.0, 4.0], diffs)
    assert got == (None if expected is None else pytest.approx(expected))


def _sweep(tmp_path: Path, costs: dict[float, dict[str, list[float]]]) -> Path:
    """A sweep of case ``t-v0`` on two days; ``costs[level][method]`` = the cost per seed on
    day 1 and day 2 alike, the oracle costs 100 $ both days."""
    families = {"oracle": "bound", "mpc": "solver", "ppo": "rl", "sac": "rl", "idle": "baseline"}
    for level, by_method in costs.items():
        store = ResultsStore(Condition(Axis.FORECAST_ERROR, level).directory(tmp_path))
        rows = []
        for method, per_seed in {"oracle": [100.0], **by_method}.items():
            for seed, cost in enumerate(per_seed):
                for day in ("2016-01-01", "2016-01-02"):
                    rows.append({"case": "t-v0", "method": method, "seed": seed, "day": day,
                                 "budget": "quick", "family": families[method],
                                 "split": "test", "status": "ok", "feasible": True,
                                 "cost": cost, "condition": f"forecast_error={level:g}"})
        store.append(rows, provenance=Provenance.create("t-v0", "all", 0))
    return tmp_path


def test_crossover_by_hand(tmp_path: Path):
    """MPC's gap grows 0 → 2 → 8 % with the error scale, PPO stays at 3 %: PPO (the RL agent
    with the lower nominal gap; SAC is 5 %) overtakes MPC between 1× and 2×, where the
    difference +1 → −1 pp changes sign: at 1.5×."""
    sweep = _sweep(tmp_path, {
        0.0: {"mpc": [100.0], "ppo": [103.0, 103.0], "sac": [105.0], "idle": [110.0]},
        1.0: {"mpc": [102.0], "ppo": [103.0, 103.0], "sac": [105.0], "idle": [110.0]},
        2.0: {"mpc": [104.0], "ppo": [103.0, 103.0], "sac": [105.0], "idle": [110.0]},
        4.0: {"mpc": [108.0], "ppo": [103.0, 103.0], "sac": [105.0], "idle": [110.0]},
    })
    study = build_crossover(sweep, "t-v0", "forecast_error", reps=200)
    assert study.levels == (0.0, 1.0, 2.0, 4.0) and study.rl_method == "ppo"
    mpc = {p.condition.level: p for p in study.points_of("mpc")}
    assert [mpc[lv].gap for lv in study.levels] == pytest.approx([0.0, 0.02, 0.04, 0.08])
    assert mpc[4.0].lo == pytest.approx(0.08) and mpc[4.0].n_days == 2
    (vs_idle, vs_mpc) = study.comparisons
    assert vs_mpc.other == "mpc" and vs_mpc.crossing == pytest.approx(1.5)
    assert vs_mpc.diff == pytest.approx((0.03, 0.01, -0.01, -0.05))
    assert vs_mpc.verdicts == (Verdict.PROGRAMMING, Verdict.PROGRAMMING, Verdict.RL, Verdict.RL)
    assert vs_idle.crossing is None and vs_idle.diff == pytest.approx((-0.07,) * 4)
    md = render_markdown(study)
    assert "| mpc | solver | +0.00 % [+0.00 %, +0.00 %] | +2.00 % [+2.00 %, +2.00 %] |" in md
    assert "ppo overtakes mpc at 1.5× nominal forecast_error" in md
    assert "ppo cheaper than idle at every level, no crossing up to 4×" in md


def test_crossover_cli_errors_and_output(tmp_path: Path, capsys):
    assert main(["--results", str(tmp_path / "none"), "--case", "t-v0",
                 "--axis", "forecast_error"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["--results", str(tmp_path), "--case", "t-v0", "--axis", "noise"]) == 2
    assert "unknown axis 'noise'" in capsys.readouterr().err
    sweep = _sweep(tmp_path / "sw", {1.0: {"mpc": [101.0], "ppo": [102.0]},
                                     2.0: {"mpc": [103.0], "ppo": [102.0]}})
    out = tmp_path / "out"
    assert main(["--results", str(sweep), "--case", "t-v0", "--axis", "forecast_error",
                 "--out", str(out)]) == 0
    assert "ppo overtakes mpc at 1.5×" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "t-v0_forecast_error.csv", "t-v0_forecast_error.md", "t-v0_forecast_error.png"]
