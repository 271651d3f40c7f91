"""The fixed 2016 day split: counts, disjointness, coverage, reproducibility."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

import gridbench.cases.data.splits as splits_module
from gridbench.cases.data import DAYS_2016, SPLIT_COUNTS, SPLITS, days, make_split_table, split_of

SEASONS = {"winter": (12, 1, 2), "spring": (3, 4, 5), "summer": (6, 7, 8), "autumn": (9, 10, 11)}


def test_counts_are_70_10_20():
    assert {s: len(days(s)) for s in SPLITS} == {"train": 256, "val": 37, "test": 73}
    assert SPLIT_COUNTS == {"train": 256, "val": 37, "test": 73}


def test_splits_partition_the_year():
    together = [d for s in SPLITS for d in days(s)]
    assert len(together) == len(set(together)) == 366
    assert sorted(together) == list(DAYS_2016)
    for s in SPLITS:
        assert list(days(s)) == sorted(days(s))
        assert all(split_of(d) == s for d in days(s))


@pytest.mark.parametrize("split", SPLITS)
def test_every_month_and_season_is_represented(split):
    chosen = days(split)
    assert {d.month for d in chosen} == set(range(1, 13))
    for months in SEASONS.values():
        in_season = [d for d in chosen if d.month in months]
        assert any(d.weekday() >= 5 for d in in_season)
        assert any(d.weekday() < 5 for d in in_season)


def test_month_quotas_are_proportional():
    for month in range(1, 13):
        n_test = sum(1 for d in days("test") if d.month == month)
        n_val = sum(1 for d in days("val") if d.month == month)
        assert n_test in (6, 7) and n_val in (3, 4)


def test_stored_table_equals_the_generator():
    stored = Path(splits_module.__file__).with_name(splits_module.SPLIT_TABLE_FILE).read_text()
    generated = make_split_table(splits_module.SPLIT_SEED)
    assert splits_module.split_table_csv(generated) == stored
    assert tuple((d, split_of(d)) for d in DAYS_2016) == generated


def test_other_seeds_give_other_tables_with_the_same_counts():
    other = make_split_table(7)
    assert other != make_split_table(splits_module.SPLIT_SEED)
    assert {s: sum(1 for _, x in other if x == s) for s in SPLITS} == SPLIT_COUNTS


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"'validation'.*train, val, test"):
        days("validation")
    with pytest.raises(ValueError, match=r"outside the profile year"):
        split_of(datetime.date(2015, 12, 31))
