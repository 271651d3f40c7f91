"""Shared set-up of the pytest-benchmark suites (untimed)."""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message="numba cannot be imported")
