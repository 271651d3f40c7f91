"""Writer process for the results-store kill test (``tests/test_store_kill.py``).

Writes ``n`` rows into a :class:`ResultsStore`, one ``append`` per row, in a fixed order and
with values that depend only on the row index, so a test knows every key and value in
advance. Run again on the same directory it resumes: stored rows are skipped.

Usage::

    python tests/store_writer.py ROOT --n N [--sleep S] [--hang-at K --hang-in replace|write]

Prints ``wrote I`` after each published row, ``hang I`` when it stops for good inside the
K-th write (``replace``: the temp file is complete and fsync'ed but not yet published;
``write``: the temp file holds only its first bytes), and finally
``done written=W skipped=S``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gridbench.benchmarks.provenance import Provenance
from gridbench.benchmarks.store import ResultsStore, RowKey

__all__ = ["BUDGET", "CASE", "METHOD", "SEED", "expected_key", "expected_row", "main", "write"]

CASE = "kill-case-v0"
METHOD = "writer"
SEED = 7
BUDGET = "smoke"
_FIRST_DAY = dt.date(2019, 1, 1)


def expected_key(index: int) -> RowKey:
    """Return the key of row ``index``."""
    return RowKey(CASE, METHOD, SEED, (_FIRST_DAY + dt.timedelta(days=index)).isoformat(), BUDGET)


def expected_row(index: int) -> dict[str, Any]:
    """Return the key and metric columns of row ``index`` (provenance is added on write)."""
    return {
        **expected_key(index).as_dict(),
        "cost": 1000.0 / 3.0 + 1.25 * index,
        "emissions_t": index / 7.0,
        "feasible": index % 3 != 0,
        "steps": 96 + index,
        "note": f"row-{index}",
    }


def _hang(index: int) -> None:
    print(f"hang {index}", flush=True)
    time.sleep(600)


def _install_hang(mode: str, at: int) -> None:
    """Make the ``at``-th (0-based) file write of this process stop forever, in ``mode``."""
    calls = {"n": 0}
    if mode == "replace":
        real_replace = os.replace

        def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            if calls["n"] == at:
                _hang(at)
            calls["n"] += 1
            real_replace(src, dst, *args, **kwargs)

        os.replace = replace
    else:
        import pyarrow.parquet as pq

        real_write: Callable[..., None] = pq.write_table

        def write_table(table: Any, where: Any, *args: Any, **kwargs: Any) -> None:
            if calls["n"] == at:
                where.write(b"PAR1\x15\x00")  # the start of a Parquet file, then nothing
                where.flush()
                _hang(at)
            calls["n"] += 1
            real_write(table, where, *args, **kwargs)

        pq.write_table = write_table


def write(root: Path, n: int, sleep: float = 0.0) -> tuple[int, int]:
    """Append rows ``0..n-1`` to the store at ``root``; return (written, skipped)."""
    store = ResultsStore(root)
    provenance = Provenance.create(CASE, METHOD, SEED, {"n": n, "writer": "store_writer"})
    written = skipped = 0
    for index in range(n):
        result = store.append([expected_row(index)], provenance=provenance)
        written += result.n_written
        skipped += result.n_skipped
        print(f"wrote {index}", flush=True)
        if sleep:
            time.sleep(sleep)
    return written, skipped


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--hang-at", type=int, default=None)
    parser.add_argument("--hang-in", choices=("replace", "write"), default="replace")
    args = parser.parse_args(argv)
    if args.hang_at is not None:
        _install_hang(args.hang_in, args.hang_at)
    written, skipped = write(args.root, args.n, args.sleep)
    print(f"done written={written} skipped={skipped}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
