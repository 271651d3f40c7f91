"""The fixed train / val / test split of the 366 days of 2016.

The stored table ``splits_2016.csv`` (columns ``date`` in ISO format and ``split``) is the
source of truth: cases read it through :func:`days` and :func:`split_of`, and no seed of a
run ever reshuffles it. It was generated once by :func:`make_split_table` with
``SPLIT_SEED``, and a test checks that the generator still reproduces the stored file.
Regenerate it (only together with new case versions) with
``python -m gridbench.cases.data.splits``.

Procedure (stratified by calendar month, so every month — and so every season — appears in
every split):

1. Target counts for the year: ``round(0.7·366) = 256`` train, ``round(0.1·366) = 37`` val,
   and the remaining 73 test.
2. Per month ``m`` with ``n_m`` days, the val and test quotas are the proportional shares
   ``N_split·n_m/366`` rounded down; the days still missing to reach 37 and 73 go to the
   months with the largest fractional remainders (ties: earlier month first). Train gets the
   rest of each month. Every month gets 3–4 val and 6–7 test days.
3. Within each month the days are put in a random order by
   ``numpy.random.default_rng(seed)`` (one generator, months in calendar order); the first
   ``test quota`` days go to test, the next ``val quota`` to val, the rest to train.
"""

from __future__ import annotations

import csv
import datetime
import importlib.resources
import io
from functools import cache
from pathlib import Path

import numpy as np

from .timeline import DAYS_2016, day_index

__all__ = [
    "SPLITS",
    "SPLIT_COUNTS",
    "SPLIT_SEED",
    "SPLIT_TABLE_FILE",
    "days",
    "make_split_table",
    "split_of",
    "split_table_csv",
]

SPLITS: tuple[str, ...] = ("train", "val", "test")
#: Days per split over the 366 days of 2016 (70 / 10 / 20 %).
SPLIT_COUNTS: dict[str, int] = {"train": 256, "val": 37, "test": 73}
#: The seed the stored table was generated with.
SPLIT_SEED = 2016
SPLIT_TABLE_FILE = "splits_2016.csv"


def _month_quotas(total: int) -> list[int]:
    """Largest-remainder apportionment of ``total`` days over the 12 months of 2016."""
    sizes = np.array([sum(1 for d in DAYS_2016 if d.month == m) for m in range(1, 13)])
    exact = total * sizes / sizes.sum()
    quotas = np.floor(exact).astype(int)
    missing = total - int(quotas.sum())
    order = sorted(range(12), key=lambda m: (-(exact[m] - quotas[m]), m))
    for m in order[:missing]:
        quotas[m] += 1
    return [int(q) for q in quotas]


def make_split_table(seed: int = SPLIT_SEED) -> tuple[tuple[datetime.date, str], ...]:
    """Generate the split of every 2016 day by the stratified procedure of the module docs.

    Returns ``(date, split)`` pairs in calendar order. The stored ``splits_2016.csv`` equals
    ``make_split_table(SPLIT_SEED)``.
    """
    rng = np.random.default_rng(seed)
    test_quota = _month_quotas(SPLIT_COUNTS["test"])
    val_quota = _month_quotas(SPLIT_COUNTS["val"])
    assigned: dict[datetime.date, str] = {}
    for m in range(1, 13):
        month_days = [d for d in DAYS_2016 if d.month == m]
        order = rng.permutation(len(month_days))
        for rank, position in enumerate(order):
            if rank < test_quota[m - 1]:
                split = "test"
            elif rank < test_quota[m - 1] + val_quota[m - 1]:
                split = "val"
            else:
                split = "train"
            assigned[month_days[int(position)]] = split
    return tuple((d, assigned[d]) for d in DAYS_2016)


def split_table_csv(table: tuple[tuple[datetime.date, str], ...]) -> str:
    """The CSV text of a split table (``date,split`` header, one ISO date per row)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "split"])
    for day, split in table:
        writer.writerow([day.isoformat(), split])
    return out.getvalue()


@cache
def _stored_table() -> tuple[tuple[datetime.date, str], ...]:
    text = importlib.resources.files(__package__).joinpath(SPLIT_TABLE_FILE).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    table = tuple((datetime.date.fromisoformat(r["date"]), r["split"]) for r in rows)
    if tuple(d for d, _ in table) != DAYS_2016 or any(s not in SPLITS for _, s in table):
        raise ValueError(f"{SPLIT_TABLE_FILE} must list every 2016 day once with a split in "
                         f"{', '.join(SPLITS)}")
    return table


def days(split: str) -> tuple[datetime.date, ...]:
    """The days of ``split`` (``"train"``, ``"val"`` or ``"test"``) in calendar order."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    return tuple(d for d, s in _stored_table() if s == split)


def split_of(day: datetime.date) -> str:
    """The split (``"train"``, ``"val"`` or ``"test"``) that 2016 ``day`` belongs to."""
    return _stored_table()[day_index(day)][1]


def _write_stored_table(seed: int = SPLIT_SEED) -> Path:
    path = Path(__file__).with_name(SPLIT_TABLE_FILE)
    path.write_text(split_table_csv(make_split_table(seed)))
    return path


if __name__ == "__main__":
    print(f"wrote {_write_stored_table()}")
