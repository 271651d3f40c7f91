"""Read yearly profile columns straight from the CSV files shipped inside simbench.

Source: the ``simbench`` package (1.6.3, pinned in pyproject), folder
``simbench/networks/1-complete_data-mixed-all-0-sw/`` (scenario 0 = today's grid):
``LoadProfile.csv`` (load profiles, columns ``<type>_pload`` / ``<type>_qload``) and
``RESProfile.csv`` (renewable generation profiles, one column per type). Both are ``;``
separated, 35,136 rows of 15-min values for 2016 (``time`` = ``dd.mm.yyyy HH:MM``, the
start of each quarter-hour, 96 rows every day). This is the data
``simbench.get_all_simbench_profiles(0)`` returns, read column-wise with pandas ``usecols``
(about 0.3 s instead of about 2 s) and cached for the life of the process.
"""

from __future__ import annotations

import importlib.resources
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["LOAD_PROFILE_FILE", "RES_PROFILE_FILE", "load_column", "res_column"]

_FOLDER = ("networks", "1-complete_data-mixed-all-0-sw")
LOAD_PROFILE_FILE = "LoadProfile.csv"
RES_PROFILE_FILE = "RESProfile.csv"
_ROWS = 366 * 96


def _path(file_name: str) -> Path:
    path = Path(str(importlib.resources.files("simbench").joinpath(*_FOLDER, file_name)))
    if not path.is_file():
        raise FileNotFoundError(
            f"simbench profile file {path} is missing: install simbench==1.6.3 with its data"
        )
    return path


@cache
def _columns(file_name: str) -> tuple[str, ...]:
    return tuple(pd.read_csv(_path(file_name), sep=";", nrows=0).columns)


@cache
def _read(file_name: str, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    known = _columns(file_name)
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise ValueError(
            f"simbench {file_name} has no column {unknown[0]!r}; "
            f"valid: {', '.join(c for c in known if c != 'time')}"
        )
    frame = pd.read_csv(_path(file_name), sep=";", usecols=["time", *columns])
    times = frame["time"].to_numpy()
    if len(frame) != _ROWS or times[0] != "01.01.2016 00:00" or times[-1] != "31.12.2016 23:45":
        raise ValueError(
            f"simbench {file_name} does not hold the expected 2016 15-min year "
            f"({len(frame)} rows from {times[0]} to {times[-1]})"
        )
    out = {}
    for c in columns:
        values = frame[c].to_numpy(dtype=np.float64, copy=True)
        values.setflags(write=False)
        out[c] = values
    return out


# Every column the data layer uses, read in one pass per file (see profiles.py, carbon.py).
_LOAD_COLUMNS: tuple[str, ...] = (
    "lv_rural1_pload", "lv_semiurb5_pload", "G0-M_pload", "G3-H_pload",
    "hv_mixed1_pload", "hv_urban_pload", "mv_comm_pload", "mv_semiurb_pload",
    "mv_rural_pload",
)


def load_column(name: str) -> np.ndarray:
    """The 35,136 quarter-hour values of ``LoadProfile.csv`` column ``name`` (read-only).

    Columns the data layer uses are read together on first use; any other valid column is
    read on its own.
    """
    group = _LOAD_COLUMNS if name in _LOAD_COLUMNS else (name,)
    return _read(LOAD_PROFILE_FILE, group)[name]


def res_column(name: str) -> np.ndarray:
    """The 35,136 quarter-hour values of ``RESProfile.csv`` column ``name`` (read-only)."""
    group = tuple(c for c in _columns(RES_PROFILE_FILE) if c != "time")
    if name not in group:
        raise ValueError(f"simbench {RES_PROFILE_FILE} has no column {name!r}; valid: "
                         f"{', '.join(group)}")
    return _read(RES_PROFILE_FILE, group)[name]
