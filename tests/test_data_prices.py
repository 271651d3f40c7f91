"""Time-of-use tariffs: validation, price vectors of the presets, window lookup."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from gridbench.cases.data import (
    CN_THREE_LEVEL_TOU,
    PEAK_VALLEY_6_20_TOU,
    TOU_PRESETS,
    TimeOfUseTariff,
    TouWindow,
    tou_tariff,
)


def _tariff(*windows: tuple[str, float, tuple[tuple[float, float], ...]]) -> TimeOfUseTariff:
    return TimeOfUseTariff(
        name="test",
        windows=tuple(TouWindow(name=n, price_usd_per_mwh=p, hours=h) for n, p, h in windows),
    )


def test_three_level_preset_hourly_prices():
    peak, flat, valley = 153.0, 90.0, 34.2
    expected = [valley] * 8 + [flat] * 2 + [peak] * 2 + [flat] * 2 + [peak] * 5 + [flat] * 5
    np.testing.assert_array_equal(CN_THREE_LEVEL_TOU.price(1.0), expected)
    assert CN_THREE_LEVEL_TOU.window_names == ("peak", "flat", "valley")


def test_two_level_preset_hourly_prices():
    expected = [40.0] * 6 + [120.0] * 14 + [40.0] * 4
    np.testing.assert_array_equal(PEAK_VALLEY_6_20_TOU.price(), expected)


@pytest.mark.parametrize("tariff", list(TOU_PRESETS.values()), ids=list(TOU_PRESETS))
def test_quarter_hour_prices_repeat_hourly_prices(tariff):
    quarter = tariff.price(0.25)
    assert quarter.shape == (96,)
    np.testing.assert_array_equal(quarter, np.repeat(tariff.price(1.0), 4))


def test_window_of():
    assert CN_THREE_LEVEL_TOU.window_of(0.0) == "valley"
    assert CN_THREE_LEVEL_TOU.window_of(7.99) == "valley"
    assert CN_THREE_LEVEL_TOU.window_of(8.0) == "flat"
    assert CN_THREE_LEVEL_TOU.window_of(11.5) == "peak"
    assert CN_THREE_LEVEL_TOU.window_of(23.75) == "flat"
    assert PEAK_VALLEY_6_20_TOU.window_of(20.0) == "valley"
    with pytest.raises(ValueError, match=r"hour 24.*0 <= hour < 24"):
        CN_THREE_LEVEL_TOU.window_of(24)


def test_lookup_by_name():
    assert tou_tariff("cn-3level") is CN_THREE_LEVEL_TOU
    with pytest.raises(ValueError, match=r"'cn-2level'.*cn-3level, peak-valley-6-20"):
        tou_tariff("cn-2level")


def test_overlap_is_rejected():
    with pytest.raises(ValueError, match=r"'b'.*overlaps"):
        _tariff(("a", 10.0, ((0, 12),)), ("b", 20.0, ((11, 24),)))


def test_gaps_are_rejected():
    with pytest.raises(ValueError, match=r"hours 12.0–13.0 are in no window"):
        _tariff(("a", 10.0, ((0, 12),)), ("b", 20.0, ((13, 24),)))
    with pytest.raises(ValueError, match=r"hours 20.0–24 are in no window"):
        _tariff(("a", 10.0, ((0, 20),)))


def test_bad_windows_are_rejected():
    with pytest.raises(ValueError, match=r"must be unique"):
        _tariff(("a", 10.0, ((0, 12),)), ("a", 20.0, ((12, 24),)))
    with pytest.raises(ValueError, match=r"\(18.0, 25.0\).*0 <= start < end <= 24"):
        _tariff(("a", 10.0, ((0, 18),)), ("b", 20.0, ((18, 25),)))
    with pytest.raises(ValueError, match=r"quarter-hour"):
        _tariff(("a", 10.0, ((0, 12.1),)), ("b", 20.0, ((12.1, 24),)))
    with pytest.raises(ValueError, match=r"not finite"):
        _tariff(("a", float("nan"), ((0, 24),)))
    with pytest.raises(ValidationError, match=r"extra"):
        TimeOfUseTariff(name="x", windows=(), currency="EUR")  # type: ignore[call-arg]


def test_step_must_align_with_window_boundaries():
    tariff = _tariff(("a", 10.0, ((0, 7.5),)), ("b", 20.0, ((7.5, 24),)))
    assert tariff.price(0.5).shape == (48,)
    with pytest.raises(ValueError, match=r"boundary 7.5 h is not on a 1.0 h step"):
        tariff.price(1.0)
    with pytest.raises(ValueError, match=r"divide 24"):
        tariff.price(0.7)


def test_tariffs_are_frozen():
    with pytest.raises(ValidationError):
        CN_THREE_LEVEL_TOU.name = "other"  # type: ignore[misc]
