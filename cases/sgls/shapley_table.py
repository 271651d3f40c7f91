"""Precomputed Shapley shares of the SGLS cases: a table per case, shipped with the package.

Every SGLS day's reward needs the day's Shapley shares (:func:`~.shapley.shapley_day`: 16
coalition MILPs, seconds per day). Training an agent visits hundreds of days, each in many
processes, so the shares are computed once per (config, day) and stored in
``cases/sgls/shapley/<case id>.csv``; :func:`~.shapley.shapley_day` reads the table first and
solves only what is missing. A row is used only when its ``key`` matches the config's
:func:`table_key` — a hash of the whole validated config and :data:`~.shapley.GAME_VERSION`
(bumped whenever the characteristic function's model changes) — so a stale table is never read,
it is just not used.

Columns: ``key``, ``day`` (ISO), ``phi_<player>`` (Shapley share, $), ``default_<player>``
(the player's cost with every player at its default, $), ``v_all`` (the grand coalition's
saving, $), ``solve_s`` (seconds the 16 MILPs took when the row was written).

Command line (resumable: days already in the table are skipped; the file is rewritten
atomically after every day)::

    python -m gridbench.cases.sgls.shapley_table --case sgls-ieee33-v0 --split train --split val
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import Final

from gridbench.cases.sgls.config import SglsConfig

__all__ = ["TABLE_DIR", "lookup", "main", "precompute", "table_key", "table_path"]

#: Where the shipped tables live (package data).
TABLE_DIR: Final[Path] = Path(__file__).resolve().parent / "shapley"


#: Config fields that do not change the cooperative game (left out of :func:`table_key`): the
#: choice of reward, and the crossover study's conditions (the game is played on the
#: realized day, which no forecast error or planner's model changes).
NOT_IN_GAME: Final[tuple[str, ...]] = ("reward", "forecast_error_scale",
                                       "planner_efficiency_error", "planner_time_limit_s",
                                       "train_season_held_out")


def table_key(config: SglsConfig) -> str:
    """16 hex digits identifying the game: the config and the game version. The config's
    every field but :data:`NOT_IN_GAME` (the choice of reward, which the game's MILPs never
    read; the reward ``weights`` stay in the key, as in the shipped tables' keys)."""
    from gridbench.cases.sgls.shapley import GAME_VERSION

    game = config.model_dump(mode="json", exclude=set(NOT_IN_GAME))
    payload = json.dumps(
        {"config": game, "game_version": GAME_VERSION},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def table_path(case_id: str, directory: Path | None = None) -> Path:
    """``<directory>/<case_id>.csv`` (default directory :data:`TABLE_DIR`)."""
    return (directory or TABLE_DIR) / f"{case_id}.csv"


def _columns() -> list[str]:
    from gridbench.cases.sgls.shapley import PLAYERS

    return (
        ["key", "day"]
        + [f"phi_{p}" for p in PLAYERS]
        + [f"default_{p}" for p in PLAYERS]
        + ["v_all", "solve_s"]
    )


def _read(path: Path) -> list[dict[str, str]]:
    import csv

    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=8)
def _index(directory: str, stamp: tuple[tuple[str, float], ...]) -> dict[tuple[str, str], dict]:
    """``(key, day) -> row`` over every table in ``directory`` (``stamp``: the files' mtimes,
    so a rewritten table is read again)."""
    out: dict[tuple[str, str], dict] = {}
    for name, _ in stamp:
        for row in _read(Path(directory) / name):
            out[(row["key"], row["day"])] = row
    return out


def _stamp(directory: Path) -> tuple[tuple[str, float], ...]:
    if not directory.is_dir():
        return ()
    return tuple(sorted((p.name, p.stat().st_mtime) for p in directory.glob("*.csv")))


def lookup(
    config: SglsConfig, day: datetime.date, directory: Path | None = None
) -> tuple[dict[str, float], dict[str, float], float] | None:
    """``(φ, default costs, v(N))`` of ``day`` from the tables, or ``None`` when no row of
    this config's :func:`table_key` has it."""
    from gridbench.cases.sgls.shapley import PLAYERS

    d = directory or TABLE_DIR
    row = _index(str(d), _stamp(d)).get((table_key(config), day.isoformat()))
    if row is None:
        return None
    phi = {p: float(row[f"phi_{p}"]) for p in PLAYERS}
    default = {p: float(row[f"default_{p}"]) for p in PLAYERS}
    return phi, default, float(row["v_all"])


def _write_atomic(path: Path, rows: list[dict[str, object]]) -> None:
    import csv
    import io

    from gridbench.cases.files import atomic_write_text

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_columns(), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, buf.getvalue())


def precompute(
    case_id: str,
    days: list[datetime.date],
    *,
    directory: Path | None = None,
    progress: bool = False,
) -> int:
    """Solve and store the shares of ``days`` missing from ``case_id``'s table (rows of other
    keys are kept); returns how many were solved."""
    from gridbench.cases.registry import make_case
    from gridbench.cases.sgls.shapley import PLAYERS, compute_shapley_day

    case = make_case(case_id)
    config = case.config
    if not isinstance(config, SglsConfig):
        raise ValueError(f"case {case_id!r} is not an SGLS case (its config is {type(config)})")
    key = table_key(config)
    path = table_path(case_id, directory)
    rows: list[dict[str, object]] = list(_read(path))
    have = {(r["key"], r["day"]) for r in rows}
    solved = 0
    for i, day in enumerate(days):
        if (key, day.isoformat()) in have:
            continue
        t0 = time.perf_counter()
        phi, default, v_all = compute_shapley_day(config, day)
        row: dict[str, object] = {"key": key, "day": day.isoformat()}
        row.update({f"phi_{p}": repr(float(phi[p])) for p in PLAYERS})
        row.update({f"default_{p}": repr(float(default[p])) for p in PLAYERS})
        row.update({"v_all": repr(float(v_all)), "solve_s": f"{time.perf_counter() - t0:.2f}"})
        rows.append(row)
        rows.sort(key=lambda r: (str(r["key"]), str(r["day"])))
        _write_atomic(path, rows)
        solved += 1
        if progress:
            print(f"{case_id} {day} ({i + 1}/{len(days)}): {row['solve_s']} s", file=sys.stderr)
    return solved


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--case`` (an SGLS case id), ``--split`` (repeatable: train, val,
    test; default all three), ``--limit N`` (the first N days of each split)."""
    from gridbench.cases.registry import UnknownNameError, make_case

    parser = argparse.ArgumentParser(
        prog="python -m gridbench.cases.sgls.shapley_table",
        description="Precompute the SGLS cases' daily Shapley shares into the shipped table.",
    )
    parser.add_argument("--case", required=True)
    parser.add_argument("--split", action="append", choices=("train", "val", "test"))
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--dir", type=Path, default=None, help="table directory")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit {args.limit} must be a positive number of days")
    try:
        case = make_case(args.case)
    except UnknownNameError as exc:
        parser.error(str(exc))
    if not args.case.startswith("sgls-"):
        parser.error(f"--case {args.case!r} is not an SGLS case (sgls-ieee33-v0, sgls-ieee30-v0)")
    days: list[datetime.date] = []
    for split in args.split or ["train", "val", "test"]:
        days += list(case.days(split))[: args.limit]
    n = precompute(args.case, days, directory=args.dir, progress=True)
    print(f"{args.case}: {n} days solved, table {table_path(args.case, args.dir)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
