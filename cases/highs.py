"""HiGHS without its banner in our logs.

``highspy.Highs()`` prints a licence banner ("Running HiGHS … Copyright …") to the process's
standard output the first time one is constructed, before any option (``output_flag``) can be
set; Pyomo's ``appsi_highs`` and cvxpy construct one inside. :func:`quiet_highs_banner` makes
that first construction with file descriptor 1 pointed at ``/dev/null``, so that the banner
is spent where nobody reads it; every caller still sets ``output_flag=False`` itself.
"""

from __future__ import annotations

import functools
import os
import sys

__all__ = ["quiet_highs_banner"]


@functools.cache
def quiet_highs_banner() -> None:
    """Construct (and drop) one ``highspy.Highs`` with stdout silenced; idempotent per process."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
