"""SimBench profiles: calendar, per-unit load/PV/wind profiles and bus loads of a grid."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
import pytest

from gridbench.cases.data import (
    DAYS_2016,
    HV_AREA_PROFILES,
    bus_loads,
    day_index,
    load_per_unit,
    load_profile_types,
    pv_per_unit,
    steps_per_day,
    wind_per_unit,
)

JAN_1 = datetime.date(2016, 1, 1)
SUMMER = datetime.date(2016, 7, 14)


@dataclass(frozen=True)
class StandInGrid:
    """The four attributes bus_loads reads, on a 5-bus slice of IEEE 33's data."""

    name: str
    n_bus: int
    load_p_mw: np.ndarray
    load_q_mvar: np.ndarray


STAND_IN = StandInGrid(
    name="ieee33",
    n_bus=5,
    load_p_mw=np.array([0.0, 0.10, 0.09, 0.12, 0.06]),
    load_q_mvar=np.array([0.0, 0.06, 0.04, 0.08, 0.03]),
)


def test_day_index_covers_2016_and_rejects_other_years():
    assert len(DAYS_2016) == 366
    assert day_index(JAN_1) == 0
    assert day_index(datetime.date(2016, 2, 29)) == 59
    assert day_index(datetime.date(2016, 12, 31)) == 365
    assert day_index(datetime.datetime(2016, 3, 1, 13, 30)) == 60
    assert all(day_index(d) == k for k, d in enumerate(DAYS_2016))
    with pytest.raises(ValueError, match=r"2017-01-01.*2016-01-01 to 2016-12-31"):
        day_index(datetime.date(2017, 1, 1))
    with pytest.raises(ValueError, match=r"datetime.date"):
        day_index("2016-01-01")  # type: ignore[arg-type]


def test_resolutions():
    assert steps_per_day("15min") == 96
    assert steps_per_day("1h") == 24
    with pytest.raises(ValueError, match=r"'30min'.*'15min', '1h'"):
        steps_per_day("30min")
    with pytest.raises(ValueError, match=r"resolution"):
        load_per_unit("lv_rural1", JAN_1, "30min")  # type: ignore[arg-type]


@pytest.mark.parametrize("profile_type", ["lv_rural1", "G0-M", "G3-H", *HV_AREA_PROFILES])
def test_load_per_unit_peaks_at_one_over_the_year(profile_type):
    year = np.concatenate([load_per_unit(profile_type, d) for d in DAYS_2016])
    assert year.shape == (366 * 96,)
    assert year.max() == 1.0
    assert year.min() > 0.0


def test_hourly_is_mean_of_quarter_hours():
    for series in (
        lambda res: load_per_unit("lv_semiurb5", SUMMER, res),
        lambda res: pv_per_unit(SUMMER, res),
        lambda res: wind_per_unit(SUMMER, res),
    ):
        quarter = series("15min")
        hourly = series("1h")
        assert quarter.shape == (96,) and hourly.shape == (24,)
        np.testing.assert_allclose(hourly, quarter.reshape(24, 4).mean(axis=1), rtol=0, atol=0)


def test_profile_values_come_from_the_simbench_csv():
    # First data row of RESProfile.csv (01.01.2016 00:00): PV1 = 0, WP2 = 0.98343938.
    assert wind_per_unit(JAN_1, "15min", "WP2")[0] == 0.98343938
    assert pv_per_unit(JAN_1, "15min", "PV1")[0] == 0.0


def test_pv_and_wind_are_per_unit():
    pv = np.concatenate([pv_per_unit(d) for d in DAYS_2016])
    wind = np.concatenate([wind_per_unit(d) for d in DAYS_2016])
    assert 0.0 <= pv.min() and pv.max() <= 1.0
    assert 0.0 == wind.min() and wind.max() <= 1.0
    assert pv.max() == pytest.approx(0.616379)  # PV3 is already per unit of capacity
    assert np.all(pv.reshape(366, 96)[:, :16] == 0.0)  # dark from 0 to 4 h all year
    peak = np.concatenate([pv_per_unit(d, peak_normalized=True) for d in DAYS_2016])
    assert peak.max() == 1.0
    np.testing.assert_allclose(peak, pv / pv.max())


def test_unknown_generation_profiles_are_rejected():
    with pytest.raises(ValueError, match=r"'PV9'.*PV1, PV2"):
        pv_per_unit(JAN_1, profile="PV9")
    with pytest.raises(ValueError, match=r"'PV1'.*WP1"):
        wind_per_unit(JAN_1, profile="PV1")


def test_ieee33_rule_follows_the_branches():
    types = load_profile_types("ieee33", 33)
    by_bus = dict(enumerate(types, start=1))
    assert {by_bus[b] for b in range(19, 23)} == {"lv_rural1"}
    assert {by_bus[b] for b in range(23, 26)} == {"G3-H"}
    assert {by_bus[b] for b in range(26, 34)} == {"G0-M"}
    assert [by_bus[b] for b in (2, 3, 18, 17)] == ["lv_rural1", "lv_semiurb5"] * 2
    assert load_profile_types("feeder38", 38)[:33] == types


def test_ieee30_cycles_hv_area_profiles():
    types = load_profile_types("ieee30", 30)
    assert types[7] == HV_AREA_PROFILES[8 % 5]  # bus 8, 30 MW
    assert set(types) == set(HV_AREA_PROFILES)


def test_unknown_grid_is_rejected():
    with pytest.raises(ValueError, match=r"'ieee34'.*ieee33, feeder38, ieee30"):
        load_profile_types("ieee34", 34)


@pytest.mark.parametrize("resolution", ["15min", "1h"])
def test_bus_loads_scale_nominal_values(resolution):
    p, q = bus_loads(STAND_IN, SUMMER, resolution)
    steps = steps_per_day(resolution)
    assert p.shape == q.shape == (steps, 5)
    assert np.all(p[:, 0] == 0.0) and np.all(q[:, 0] == 0.0)
    for index, profile_type in enumerate(load_profile_types("ieee33", 5)):
        expected = STAND_IN.load_p_mw[index] * load_per_unit(profile_type, SUMMER, resolution)
        np.testing.assert_array_equal(p[:, index], expected)
    # Reactive power keeps the nominal power factor of every bus.
    p_nom, q_nom = STAND_IN.load_p_mw[1:], STAND_IN.load_q_mvar[1:]
    np.testing.assert_allclose(q[:, 1:] * p_nom, p[:, 1:] * q_nom)


def test_bus_peak_over_the_year_is_the_nominal_load():
    peak = np.max([bus_loads(STAND_IN, d)[0].max(axis=0) for d in DAYS_2016], axis=0)
    np.testing.assert_allclose(peak, STAND_IN.load_p_mw, rtol=1e-15)


def test_bus_loads_checks_array_lengths():
    broken = StandInGrid("ieee33", 5, np.zeros(4), np.zeros(5))
    with pytest.raises(ValueError, match=r"length n_bus=5"):
        bus_loads(broken, SUMMER)


def test_real_grids():
    grid_module = pytest.importorskip("gridbench.cases.grid")
    for name, n_bus in (("ieee33", 33), ("feeder38", 38), ("ieee30", 30)):
        grid = grid_module.load_grid(name)
        p, q = bus_loads(grid, SUMMER, "1h")
        assert p.shape == q.shape == (24, n_bus)
        assert np.all(p >= 0.0)
        assert np.all(p <= grid.load_p_mw + 1e-12)
        assert np.all(p[:, grid.load_p_mw == 0.0] == 0.0)
        assert 0.2 * grid.load_p_mw.sum() < p.sum(axis=1).mean() < grid.load_p_mw.sum()
