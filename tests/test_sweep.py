"""The crossover study: the forecast-error scale of every case, ``gridbench sweep`` and the
crossover read-out (tiny hand-checkable sweeps with exact numbers)."""

from __future__ import annotations

import datetime
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from gridbench.benchmarks.cli import app
from gridbench.benchmarks.crossover import (
    Verdict,
    build_crossover,
    crossing_levels,
    gap_with_interval,
    main,
    paired_difference,
    render_markdown,
    retrained_beside,
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
        ("forecast_err=1", "unknown axis 'forecast_err'; valid: forecast_error, efficiency_error"),
        ("forecast_error", "is not AXIS=LEVEL[,LEVEL...]"),
        ("forecast_error=", "is not AXIS=LEVEL[,LEVEL...]"),
        ("forecast_error=1,a", "level 'a' is not a number"),
        ("forecast_error=-1", "level -1 is out of range; valid: 0 to 10"),
            ("efficiency_error=0.6", "level 0.6 is out of range; valid: -0.5 to 0.5"),
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
    [([0.02, 0.01, -0.01, -0.03], (1.5,)),
     ([0.01, 0.02, 0.03, 0.04], ()),
     ([-0.01, 0.0, 0.01, 0.02], (1.0,)),  # the exact 0 at 1× is passed over: 0× → 2×
     ([0.0, 0.0, 0.0, 0.0], ()),
     ([0.02, -0.02, -0.01, 0.03], (0.5, 2 + 2 * (-0.01 / (-0.01 - 0.03))))],  # RL ahead between
)
def test_crossing_levels_interpolate_each_sign_change(diffs, expected):
    got = crossing_levels([0.0, 1.0, 2.0, 4.0], diffs)
    assert got == pytest.approx(expected)


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
    """MPC's gap grows 0 → 2 → 8 % with the error scale, PPO stays at 3 % and SAC at 5 %:
    PPO overtakes MPC between 1× and 2×, where the difference +1 → −1 pp changes sign (at
    1.5×), SAC between 2× and 4× (+1 → −3 pp: at 2.5×); every RL method swept is compared."""
    sweep = _sweep(tmp_path, {
        0.0: {"mpc": [100.0], "ppo": [103.0, 103.0], "sac": [105.0], "idle": [110.0]},
        1.0: {"mpc": [102.0], "ppo": [103.0, 103.0], "sac": [105.0], "idle": [110.0]},
        2.0: {"mpc": [104.0], "ppo": [103.0, 103.0], "sac": [105.0], "idle": [110.0]},
        4.0: {"mpc": [108.0], "ppo": [103.0, 103.0], "sac": [105.0], "idle": [110.0]},
    })
    study = build_crossover(sweep, "t-v0", "forecast_error", reps=200)
    assert study.levels == (0.0, 1.0, 2.0, 4.0) and study.rl_methods == ("ppo", "sac")
    mpc = {p.condition.level: p for p in study.points_of("mpc")}
    assert [mpc[lv].gap for lv in study.levels] == pytest.approx([0.0, 0.02, 0.04, 0.08])
    assert mpc[4.0].lo == pytest.approx(0.08) and mpc[4.0].n_days == 2
    (vs_idle, vs_mpc, _sac_idle, sac_mpc) = study.comparisons
    assert (sac_mpc.rl_method, sac_mpc.other) == ("sac", "mpc")
    assert sac_mpc.crossings == pytest.approx((2.5,))
    assert vs_mpc.other == "mpc" and vs_mpc.crossings == pytest.approx((1.5,))
    assert vs_mpc.diff == pytest.approx((0.03, 0.01, -0.01, -0.05))
    assert vs_mpc.verdicts == (Verdict.PROGRAMMING, Verdict.PROGRAMMING, Verdict.RL, Verdict.RL)
    assert vs_idle.crossings == () and vs_idle.diff == pytest.approx((-0.07,) * 4)
    md = render_markdown(study)
    assert "| mpc | solver | +0.00 % [+0.00 %, +0.00 %] | +2.00 % [+2.00 %, +2.00 %] |" in md
    assert ("mpc ahead at 0× the nominal forecast error; ppo overtakes at 1.5× the nominal "
            "forecast error (ppo − mpc: +3.00 pp at 0 (programming), -5.00 pp at 4 (rl))."
            in md)
    assert ("ppo ahead of idle at every level from 0× the nominal forecast error to 4× the "
            "nominal forecast error, no crossing" in md)


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
    assert "ppo overtakes at 1.5× the nominal forecast error" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "t-v0_forecast_error.csv", "t-v0_forecast_error.md", "t-v0_forecast_error.png"]


def test_crossover_readme_block(tmp_path: Path, capsys):
    sweep = _sweep(tmp_path / "sw", {1.0: {"mpc": [101.0], "ppo": [102.0]},
                                     2.0: {"mpc": [103.0], "ppo": [102.0]}})
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- crossover:start -->\nold\n<!-- crossover:end -->\ntail\n")
    args = ["--results", str(sweep), "--readme", str(readme)]
    assert main(args) == 0
    text = readme.read_text()
    assert ("- **t-v0**, forecast_error: mpc ahead at 1× the nominal forecast error; ppo "
            "overtakes at 1.5× the nominal forecast error" in text)
    assert "old" not in text and text.endswith("<!-- crossover:end -->\ntail\n")
    assert main(args) == 0 and readme.read_text() == text  # idempotent
    readme.write_text("# no markers\n")
    capsys.readouterr()
    assert main(args) == 2
    assert "needs one <!-- crossover:start --> line" in capsys.readouterr().err


def test_violations_are_paid_at_the_referees_penalty_prices(tmp_path: Path):
    """At efficiency error +0.2 MPC's scored cost is 1 % below the oracle's, bought with a
    SOC-window violation the referee prices at 5 $ on one of two days: its penalized cost,
    101.5 $ a day on average, is still 0.5 pp below PPO's 102 $; at +0.4 it pays 10 $ on both
    days (109 $) and PPO is ahead again: crossings at −0.067 and +0.213."""
    sweep = tmp_path / "sw"
    cases = ((-0.2, 104.0, 0.0), (0.0, 101.0, 0.0), (0.2, 99.0, 5.0), (0.4, 99.0, 10.0))
    for level, mpc_cost, penalty in cases:
        store = ResultsStore(Condition(Axis.EFFICIENCY_ERROR, level).directory(sweep))
        rows = []
        for method, family, cost in (("oracle", "bound", 100.0), ("ppo", "rl", 102.0),
                                     ("mpc", "solver", mpc_cost)):
            for day in ("2016-01-01", "2016-01-02"):
                paid = penalty if method == "mpc" and (day == "2016-01-02" or level > 0.3) \
                    else 0.0
                rows.append({"case": "t-v0", "method": method, "seed": 0, "day": day,
                             "budget": "quick", "family": family, "split": "test",
                             "status": "ok", "cost": cost, "penalty_usd": paid,
                             "feasible": paid == 0.0})
        store.append(rows, provenance=Provenance.create("t-v0", "all", 0))
    study = build_crossover(sweep, "t-v0", "efficiency_error", reps=100)
    (vs_mpc,) = study.comparisons
    assert vs_mpc.diff == pytest.approx((-0.02, 0.01, 0.005, -0.07))
    assert vs_mpc.other_feasible == (1.0, 1.0, 0.5, 0.0)
    assert vs_mpc.verdicts[0] is Verdict.RL and vs_mpc.verdicts[-1] is Verdict.RL
    assert vs_mpc.crossings == pytest.approx((-0.2 + 0.2 * (-0.02 / (-0.02 - 0.01)),
                                              0.2 + 0.2 * (0.005 / (0.005 + 0.07))))
    sentence = vs_mpc.sentence(Axis.EFFICIENCY_ERROR)
    assert "feasible days ppo 100% vs mpc 0%" in sentence
    assert "mpc overtakes at a -6.7% error on the planners' storage efficiencies" in sentence
    assert "ppo overtakes at a +21.3% error on the planners' storage efficiencies" in sentence


CASES_WITH_EFFICIENCIES = [c for c in case_ids() if type(make_case(c)).efficiency_fields]


def _leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        return {k: v for key, sub in node.items() for k, v in _leaves(sub, f"{prefix}{key}.")
                .items()}
    if isinstance(node, list):
        return {k: v for i, sub in enumerate(node) for k, v in _leaves(sub, f"{prefix}{i}.")
                .items()}
    return {prefix.rstrip("."): node}


@pytest.mark.parametrize("case_id", CASES_WITH_EFFICIENCIES)
def test_planner_view_changes_the_efficiencies_only(case_id: str):
    """Error −0.1: every declared efficiency × 0.9 in the planners' model, nothing else; +0.2
    caps at 1; the oracle (a bound) plans on the referee's own case, MPC on the view."""
    from gridbench.solvers.planners import PLANNER_METHODS

    assert CASES_WITH_EFFICIENCIES, "no case declares efficiency fields"
    case = make_case(case_id, config={"planner_efficiency_error": -0.1})
    view = case.planner_view()
    assert view is not case and view.planner_view() is view and case.planner_view() is view
    true = _leaves(case.config.model_dump(mode="json"))
    seen = _leaves(view.config.model_dump(mode="json"))
    changed = {k for k in true if true[k] != seen[k]}
    assert changed, "no efficiency changed"
    for k in changed - {"planner_efficiency_error"}:
        assert k.rsplit(".", 1)[-1].startswith("eta_"), k
        assert seen[k] == pytest.approx(0.9 * true[k], rel=1e-12)
    up = make_case(case_id, config={"planner_efficiency_error": 0.2}).planner_view()
    assert all(v <= 1.0 for k, v in _leaves(up.config.model_dump(mode="json")).items()
               if k.rsplit(".", 1)[-1].startswith("eta_"))
    assert make_case(case_id).planner_view() is not None
    assert PLANNER_METHODS["oracle"]().model_of(case) is case
    assert PLANNER_METHODS["mpc"]().model_of(case) is view


def test_a_case_without_efficiencies_refuses_the_error():
    with pytest.raises(ValueError, match="planner_efficiency_error") as err:
        make_case("stackelberg-gsess-feeder38-v0", config={"planner_efficiency_error": 0.1})
    assert "\n" not in str(err.value)


def test_report_draws_the_crossover_of_a_swept_case(tmp_path: Path):
    import pandas as pd

    from gridbench.benchmarks.report.context import ReportContext
    from gridbench.benchmarks.report.figures.crossover import crossover_figures

    _sweep(tmp_path / "sweeps", {1.0: {"mpc": [101.0], "ppo": [102.0]},
                                 2.0: {"mpc": [103.0], "ppo": [102.0]}})
    (tmp_path / "reference").mkdir()
    (tmp_path / "fig").mkdir()
    ctx = ReportContext(tmp_path / "reference", pd.DataFrame(), [], tmp_path / "fig", ())
    figure, table = crossover_figures(ctx, "t-v0")
    assert (tmp_path / "fig" / figure.file).is_file()
    assert "ppo overtakes at 1.5× the nominal forecast error" in figure.caption
    assert table.table is not None and [r[0] for r in table.table[1]] == ["ppo", "mpc"]
    assert crossover_figures(ctx, "other-v0") == []
    from gridbench.benchmarks.report.build import _crossover_answer

    md, page = _crossover_answer(ctx)  # follows the report's one-page answer
    assert "### When does the ranking change?" in md
    assert "t-v0</li>" not in page and "ppo overtakes at 1.5× the nominal forecast error" in page


def test_decision_time_limits_deployable_solvers_only():
    """planner_time_limit_s caps a solver's per-solve limit and tolerates its timeouts; the
    oracle (a bound) and the rule (a baseline) are untouched; SGLS's solvers take it too; a
    controller without a settable limit refuses the condition in one line."""
    from gridbench.solvers.planners import PLANNER_METHODS, limit_planner

    case = make_case("ses-carbon-ieee33-v0", config={"planner_time_limit_s": 0.05})
    mpc = PLANNER_METHODS["mpc"]().controller(case, DAY)
    assert mpc.time_limit_s == 0.05 and mpc.tolerate_timeouts
    oracle = PLANNER_METHODS["oracle"]().controller(case, DAY)
    nominal = PLANNER_METHODS["oracle"]().controller(make_case("ses-carbon-ieee33-v0"), DAY)
    assert oracle.time_limit_s == nominal.time_limit_s and not oracle.tolerate_timeouts
    assert not PLANNER_METHODS["rule"]().controller(case, DAY).tolerate_timeouts
    sgls = make_case("sgls-ieee33-v0", config={"planner_time_limit_s": 0.05})
    sgls_mpc = PLANNER_METHODS["mpc"]().controller(sgls, DAY)
    assert sgls_mpc.time_limit_s == 0.05 and sgls_mpc._limit(10.0) == 0.05
    with pytest.raises(ValueError, match="has no per-solve time limit") as err:
        limit_planner(object(), sgls, "mpc")
    assert "\n" not in str(err.value)


def test_a_tolerated_timeout_keeps_the_day_ok_and_plays_the_last_plan():
    """At 1 µs per solve every MPC solve times out: the deployed fallback idles (no plan yet),
    the row stays ok with the count in its message, and costs what idle costs."""
    import gridbench.solvers  # noqa: F401
    from gridbench.benchmarks.harness import run_day
    from gridbench.cases.registry import make_method

    case = make_case("ses-carbon-ieee33-v0", config={"planner_time_limit_s": 1e-6})
    row = run_day(case, make_method("mpc"), DAY, seed=0).row
    idle = run_day(case, make_method("idle"), DAY, seed=0).row
    assert row["status"] == "ok" and "24 solve(s) hit the 1e-06 s limit" in row["message"]
    assert row["cost"] == pytest.approx(idle["cost"], rel=1e-12)


def test_the_conditions_leave_the_sgls_shapley_game_alone():
    """The cooperative game is played on the realized day: the condition fields stay out of
    its table key, so the shipped Shapley tables serve every level (no MILPs per day)."""
    from gridbench.cases.sgls.shapley_table import lookup, table_key

    nominal = make_case("sgls-ieee33-v0")
    for overrides in ({"forecast_error_scale": 2.0}, {"planner_efficiency_error": -0.1},
                      {"planner_time_limit_s": 0.1}, {"train_season_held_out": "summer"}):
        case = make_case("sgls-ieee33-v0", config=overrides)
        assert table_key(case.config) == table_key(nominal.config)
    day = next(d for d in nominal.days("train") if lookup(nominal.config, d) is not None)
    assert lookup(make_case("sgls-ieee33-v0", config={"forecast_error_scale": 0.0}).config,
                  day) is not None


def test_perfect_forecasts_reduce_to_one_scenario():
    """At error scale 0 every draw is the forecast: the scenario planner gets one scenario of
    probability 1 (the k-medoids reduction used to fail on identical draws)."""
    from gridbench.solvers.sgls import reduce_scenarios

    case = make_case("sgls-ieee33-v0", config={"forecast_error_scale": 0.0})
    day = case.days("test")[0]
    scen, probs = reduce_scenarios(case.config, day, case.day_data(day, "forecast", lead_h=12),
                                   40, 5)
    assert len(scen) == 1 and probs == [1.0]
    assert np.array_equal(scen[0].load_p_mw, case.day_data(day, "actual").load_p_mw)


def test_time_limits_cross_in_log_space():
    """Between 0.1 s (+1 pp) and 1 s (−1 pp) the decision-time axis crosses at √(0.1·1)."""
    assert crossing_levels([0.1, 1.0], [0.01, -0.01], log_scale=True) == pytest.approx(
        (math.sqrt(0.1),))


# ------------------------------------------------------------------ the planners' model variants
def test_planner_model_is_a_categorical_axis_in_declared_order(tmp_path: Path):
    conditions = parse_axis("planner_model=dc,exact,lossless")
    assert [c.name for c in conditions] == ["planner_model=exact", "planner_model=lossless",
                                            "planner_model=dc"]
    assert conditions[0].nominal and conditions[2].case_config == {"planner_model": "dc"}
    for c in conditions:
        c.directory(tmp_path).mkdir()
    assert condition_dirs(tmp_path) == conditions
    with pytest.raises(ValueError, match="level 'ac' is not a variant; valid: exact, lossless"):
        parse_axis("planner_model=ac")


@pytest.mark.parametrize(
    ("case_id", "models"),
    [("ses-carbon-ieee33-v0", ("lossless", "dc", "impedance-10", "impedance+10")),
     ("loss-arbitrage-ieee33-v0", ("lossless", "dc", "impedance-10", "impedance+10",
                                   "linear-battery"))],
)
def test_planner_model_reaches_the_planners_formulation_only(case_id: str, models):
    """The view's formulation has the variant's physics and its config the exact model; the
    case the referee and the oracle run keeps the exact formulation."""
    from gridbench.cases.params import PlannerModel
    from gridbench.solvers.planners import PLANNER_METHODS

    for model in models:
        case = make_case(case_id, config={"planner_model": model})
        view = case.planner_view()
        assert view is not case and case.planner_view() is view
        assert view.formulation_model is PlannerModel(model)
        assert view.config.planner_model is PlannerModel.EXACT
        assert case.formulation_model is PlannerModel.EXACT
        assert view.formulation().model is PlannerModel(model)
        assert case.formulation().model is PlannerModel.EXACT
        assert PLANNER_METHODS["oracle"]().model_of(case) is case
        assert PLANNER_METHODS["mpc"]().model_of(case) is view


def test_the_linear_battery_has_no_heat_and_no_polarization():
    from gridbench.cases.loss_arbitrage.formulation import LossArbitrageFormulation
    from gridbench.cases.params import PlannerModel

    case = make_case("loss-arbitrage-ieee33-v0")
    exact = LossArbitrageFormulation(case.config, 4)
    linear = LossArbitrageFormulation(case.config, 4, model=PlannerModel.LINEAR_BATTERY)
    assert exact.dev.joule.any() and exact.dev.pol.any()
    assert not linear.dev.joule.any() and not linear.dev.pol.any()
    assert np.array_equal(linear.dev.eta_c, exact.dev.eta_c)
    day = case.days("test")[0]
    linear.update(case.day_data(day), t0=0)
    assert not linear.parameters["kappa"].value.any()


@pytest.mark.parametrize(
    ("case_id", "config", "message"),
    [("ses-carbon-ieee33-v0", {"planner_model": "linear-battery"},
      "planner_model 'linear-battery' has no formulation in this case; valid: dc, exact"),
     ("ses-carbon-ieee33-v0", {"planner_model": "ac"}, "planner_model: Input should be"),
     ("sgls-ieee33-v0", {"planner_model": "lossless"}, "planner_model: Extra inputs")],
)
def test_a_planner_model_a_case_lacks_is_one_line(case_id: str, config, message: str):
    with pytest.raises(ValueError) as err:
        make_case(case_id, config=config)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_crossover_of_a_categorical_axis_names_who_is_ahead_per_variant(tmp_path: Path):
    """PPO costs 102 $ under every variant; MPC 100.5 exact, 101 lossless, 104 with the linear
    battery: MPC ahead under exact and lossless (PPO − MPC +1.5, +1 pp), PPO under
    linear-battery (−2 pp); no crossing point is interpolated between named variants."""
    sweep = tmp_path / "sw"
    for name, mpc_cost in (("exact", 100.5), ("lossless", 101.0), ("linear-battery", 104.0)):
        (condition,) = parse_axis(f"planner_model={name}")
        rows = [{"case": "t-v0", "method": method, "seed": 0, "day": day, "budget": "quick",
                 "family": family, "split": "test", "status": "ok", "feasible": True,
                 "cost": cost, "condition": condition.name}
                for method, family, cost in (("oracle", "bound", 100.0), ("ppo", "rl", 102.0),
                                             ("mpc", "solver", mpc_cost))
                for day in ("2016-01-01", "2016-01-02")]
        ResultsStore(condition.directory(sweep)).append(
            rows, provenance=Provenance.create("t-v0", "all", 0))
    study = build_crossover(sweep, "t-v0", "planner_model", reps=100)
    (vs_mpc,) = study.comparisons
    assert vs_mpc.diff == pytest.approx((0.015, 0.01, -0.02)) and vs_mpc.crossings == ()
    assert vs_mpc.sentence(Axis.PLANNER_MODEL).startswith(
        "mpc ahead under exact, lossless; ppo ahead under linear-battery (ppo − mpc: "
        "+1.50 pp at exact (programming)")
    md = render_markdown(study)
    assert "| method | family | planner_model = exact | planner_model = lossless |" in md
    assert "| ppo | mpc | +1.50 pp [+1.50 pp, +1.50 pp] |" in md


def test_agents_retrained_per_level_join_as_their_own_series(tmp_path: Path):
    """The fixed PPO costs 103 $ at 1× and 2×; retrained at 2× it costs 101 $ (MPC 102 $):
    the retrained series overtakes MPC there, at 1× it is the shipped agent (103 $)."""
    sweep = _sweep(tmp_path / "sw", {1.0: {"mpc": [101.0], "ppo": [103.0]},
                                     2.0: {"mpc": [102.0], "ppo": [103.0]}})
    assert retrained_beside(sweep) is None
    again = _sweep(tmp_path / "sw-retrained", {2.0: {"ppo": [101.0, 101.0]}})
    assert retrained_beside(sweep) == again  # where the report looks for it
    study = build_crossover(sweep, "t-v0", "forecast_error", reps=50, retrained=again)
    assert study.rl_methods == ("ppo", "ppo (retrained)")
    fixed = {p.condition.level: p.gap for p in study.points_of("ppo")}
    moved = {p.condition.level: p.gap for p in study.points_of("ppo (retrained)")}
    assert fixed == pytest.approx({1.0: 0.03, 2.0: 0.03})
    assert moved == pytest.approx({1.0: 0.03, 2.0: 0.01})
    vs_mpc = next(c for c in study.comparisons if c.rl_method == "ppo (retrained)")
    assert vs_mpc.diff == pytest.approx((0.02, -0.01)) and len(vs_mpc.crossings) == 1
    assert any("trained at each level" in n for n in study.notes)
    assert main(["--results", str(sweep), "--retrained", str(tmp_path / "none")]) == 2


# ------------------------------------------------------------------ a season held out of training
CASES_WITH_SEASONS = [c for c in case_ids() if "train_season_held_out"
                      in type(make_case(c).config).model_fields]


@pytest.mark.parametrize("case_id", CASES_WITH_SEASONS)
def test_a_held_out_season_leaves_the_training_days_only(case_id: str):
    """Summer held out: the training days are the train split less June–August, and shipped
    agents (trained on every season) no longer stand in; nominal: every train day."""
    assert CASES_WITH_SEASONS, "no case takes a held-out season"
    nominal = make_case(case_id)
    held = make_case(case_id, config={"train_season_held_out": "summer"})
    train = nominal.days("train")
    assert nominal.training_days() == train and nominal.trains_like_shipped()
    assert held.training_days() == tuple(d for d in train if d.month not in (6, 7, 8))
    assert not held.trains_like_shipped()
    rng = np.random.default_rng(0)
    assert all(held.sample_train_day(rng).month not in (6, 7, 8) for _ in range(200))
    assert held.days("test") == nominal.days("test")


def test_sb3_methods_train_instead_of_loading_a_shipped_agent_with_a_season_held_out():
    from gridbench.rl_agents.sb3_methods import trains_like_shipped

    assert trains_like_shipped(make_case("ses-carbon-ieee33-v0"))
    assert not trains_like_shipped(make_case("ses-carbon-ieee33-v0",
                                             config={"train_season_held_out": "winter"}))


def test_the_held_out_season_read_out_keeps_that_seasons_days(tmp_path: Path):
    """PPO costs 101 $ in winter (January) and 109 $ in summer (July) when summer was held out,
    MPC 102 $ on both days: at held_out_season=summer only July counts (PPO − MPC = +7 pp);
    at none both days (PPO 103 $ both: +1 pp)."""
    sweep = tmp_path / "sw"
    for name, ppo in (("none", {"2016-01-05": 103.0, "2016-07-05": 103.0}),
                      ("summer", {"2016-01-05": 101.0, "2016-07-05": 109.0})):
        (condition,) = parse_axis(f"held_out_season={name}")
        rows = [{"case": "t-v0", "method": method, "seed": 0, "day": day, "budget": "quick",
                 "family": family, "split": "test", "status": "ok", "feasible": True,
                 "cost": cost if method != "ppo" else ppo[day], "condition": condition.name}
                for method, family, cost in (("oracle", "bound", 100.0), ("ppo", "rl", 0.0),
                                             ("mpc", "solver", 102.0))
                for day in ("2016-01-05", "2016-07-05")]
        ResultsStore(condition.directory(sweep)).append(
            rows, provenance=Provenance.create("t-v0", "all", 0))
    study = build_crossover(sweep, "t-v0", "held_out_season", reps=50)
    (vs_mpc,) = study.comparisons
    assert vs_mpc.diff == pytest.approx((0.01, 0.07))
    assert [p.n_days for p in study.points_of("ppo")] == [2, 1]
    assert "mpc ahead under none, summer" in vs_mpc.sentence(Axis.HELD_OUT_SEASON)
