"""Forecast-error model: determinism, issue step, spread growth with lead, unbiasedness."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from gridbench.cases.data import (
    FORECAST_ERROR_MODELS,
    FORECAST_KINDS,
    ForecastErrorModel,
    forecast,
    forecast_error_model,
    load_per_unit,
    pv_per_unit,
    sample_scenarios,
    wind_per_unit,
)

DAY = datetime.date(2016, 6, 5)
LOAD = np.outer(load_per_unit("lv_rural1", DAY), [0.1, 0.2, 0.0])  # (96, 3) MW


def test_same_inputs_give_identical_arrays():
    a = forecast(LOAD, "load", DAY, seed=3)
    b = forecast(LOAD, "load", DAY, seed=3)
    np.testing.assert_array_equal(a, b)
    s1 = sample_scenarios(LOAD, "load", DAY, seed=3, n_scenarios=5)
    s2 = sample_scenarios(LOAD, "load", DAY, seed=3, n_scenarios=5)
    np.testing.assert_array_equal(s1, s2)


def test_seed_day_kind_and_issue_step_change_the_draw():
    pv = pv_per_unit(DAY)
    base = forecast(pv, "pv", DAY, seed=3, issue_step=8)
    assert not np.array_equal(base, forecast(pv, "pv", DAY, seed=4, issue_step=8))
    assert not np.array_equal(base, forecast(pv, "pv", DAY + datetime.timedelta(1), 3, 8))
    assert not np.array_equal(base, forecast(pv, "wind", DAY, seed=3, issue_step=8))
    assert not np.array_equal(base[40:], forecast(pv, "pv", DAY, seed=3, issue_step=40)[40:])


def test_shape_and_known_past():
    f = forecast(LOAD, "load", DAY, seed=1, issue_step=40)
    assert f.shape == LOAD.shape
    np.testing.assert_array_equal(f[:40], LOAD[:40])
    assert np.all(f[40:, :2] != LOAD[40:, :2])
    assert np.all(f[:, 2] == 0.0)  # a bus without load stays without load
    np.testing.assert_array_equal(forecast(LOAD, "load", DAY, 1, issue_step=96), LOAD)
    one = forecast(LOAD[:, 0], "load", DAY, seed=1)
    assert one.shape == (96,)
    scenarios = sample_scenarios(LOAD, "load", DAY, seed=1, n_scenarios=7, issue_step=10)
    assert scenarios.shape == (7, 96, 3)
    np.testing.assert_array_equal(scenarios[:, :10], np.broadcast_to(LOAD[:10], (7, 10, 3)))


def test_spread_matches_the_model_and_grows_with_lead():
    model = FORECAST_ERROR_MODELS["load"]
    draws = sample_scenarios(np.ones(24), "load", DAY, seed=11, n_scenarios=20000, step_hours=1.0)
    spread = (draws - 1.0).std(axis=0)
    lead = np.arange(24.0)
    expected = np.sqrt(model.sigma_hourly(lead) ** 2 + model.sigma_white(1.0) ** 2)
    np.testing.assert_allclose(spread, expected, rtol=0.03)
    assert spread[23] > 2.0 * spread[0]
    assert np.all(np.diff(spread[::4]) > 0)


def test_spread_of_quarter_hour_steps_after_a_late_issue():
    draws = sample_scenarios(np.full(96, 0.5), "pv", DAY, seed=5, n_scenarios=4000, issue_step=48)
    spread = (draws / 0.5 - 1.0).std(axis=0)
    assert np.all(spread[:48] == 0.0)
    first_hour, last_hour = spread[48:52].mean(), spread[92:].mean()
    assert 0.04 < first_hour < 0.08 and last_hour > 1.8 * first_hour


def test_errors_are_unbiased():
    draws = sample_scenarios(LOAD, "load", DAY, seed=2, n_scenarios=4000)
    relative = draws[..., :2] / LOAD[..., :2] - 1.0
    assert abs(relative.mean()) < 2e-3
    pv = np.full(96, 0.4)
    pv_draws = sample_scenarios(pv, "pv", DAY, seed=2, n_scenarios=4000)
    assert abs(pv_draws.mean() / 0.4 - 1.0) < 0.01


def test_hour_level_component_is_persistent():
    draws = sample_scenarios(np.ones(96), "wind", DAY, seed=9, n_scenarios=4000)
    draws = draws * 0.5  # per unit, away from the clip bounds
    errors = draws - draws.mean(axis=0)
    within_hour = np.corrcoef(errors[:, 40], errors[:, 41])[0, 1]
    assert within_hour > 0.8


def test_clipping_keeps_physical_ranges():
    wind = wind_per_unit(DAY)
    for seed in range(20):
        f = forecast(wind, "wind", DAY, seed=seed)
        assert f.min() >= 0.0 and f.max() <= 1.0
    wild = ForecastErrorModel(1.0, 1.0, 3.0, 0.5, 1.0)
    scenarios = sample_scenarios(LOAD, "load", DAY, seed=0, n_scenarios=50, model=wild)
    assert scenarios.min() == 0.0
    pv = sample_scenarios(pv_per_unit(DAY), "pv", DAY, seed=0, n_scenarios=50, model=wild)
    assert pv.max() == 1.0 and pv.min() == 0.0


def test_carbon_forecast_is_constant_within_hours():
    series = np.repeat(np.linspace(0.5, 0.6, 24), 4)
    f = forecast(series, "carbon", DAY, seed=1)
    np.testing.assert_array_equal(f, np.repeat(f[::4], 4))
    late = forecast(series, "carbon", DAY, seed=1, issue_step=6)  # issued at 01:30
    np.testing.assert_array_equal(late[:6], series[:6])
    assert late[6] == late[7] != series[6]
    np.testing.assert_array_equal(late[8:], np.repeat(late[8::4], 4))


def test_lead_offset_widens_the_spread():
    day_ahead = sample_scenarios(np.ones(24), "load", DAY, 1, 4000, step_hours=1.0,
                                 lead_offset_h=12.0)
    intraday = sample_scenarios(np.ones(24), "load", DAY, 1, 4000, step_hours=1.0)
    assert day_ahead[:, 0].std() > 2.0 * intraday[:, 0].std()


def test_default_models_and_config_validation():
    assert set(FORECAST_ERROR_MODELS) == set(FORECAST_KINDS)
    load = forecast_error_model("load")
    assert load.sigma_hourly(24.0) == pytest.approx(0.01 + 0.006 * np.sqrt(24.0))
    assert forecast_error_model("wind").sigma_hourly(100.0) == 0.35  # capped
    assert load.sigma_white(1.0) == pytest.approx(0.005)
    with pytest.raises(ValueError, match=r"'price'.*load, pv, wind, carbon"):
        forecast_error_model("price")
    with pytest.raises(ValueError, match=r"hourly_correlation"):
        ForecastErrorModel(0.01, 0.01, 0.1, 1.0, 0.0)
    with pytest.raises(ValueError, match=r"sigma_max 0.01 must be >= sigma_0 0.02"):
        ForecastErrorModel(0.02, 0.01, 0.01, 0.5, 0.0)
    with pytest.raises(AttributeError):
        load.sigma_0 = 0.5  # type: ignore[misc]


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"pv actual must be per unit.*\[0, 1\]"):
        forecast(np.full(24, 2.0), "pv", DAY, seed=0, step_hours=1.0)
    with pytest.raises(ValueError, match=r"load actual must be >= 0"):
        forecast(-np.ones(24), "load", DAY, seed=0, step_hours=1.0)
    with pytest.raises(ValueError, match=r"step_hours 0.5 .*0.25, 1.0"):
        forecast(np.ones(48), "load", DAY, seed=0, step_hours=0.5)
    with pytest.raises(ValueError, match=r"issue_step 97"):
        forecast(np.ones(96), "load", DAY, seed=0, issue_step=97)
    with pytest.raises(ValueError, match=r"seed"):
        forecast(np.ones(96), "load", DAY, seed=-1)
    with pytest.raises(ValueError, match=r"n_scenarios"):
        sample_scenarios(np.ones(96), "load", DAY, seed=0, n_scenarios=0)
    with pytest.raises(ValueError, match=r"shape \(T,\) or \(T, n\)"):
        forecast(np.ones((2, 3, 4)), "load", DAY, seed=0)
    with pytest.raises(ValueError, match=r"outside the profile year"):
        forecast(np.ones(96), "load", datetime.date(2020, 1, 1), seed=0)
