"""The referee's errors: a mis-declared case or a bad argument (:class:`RefereeError` and its
kinds), or a core or environment used out of order (:class:`RefereeStateError`)."""

from __future__ import annotations

__all__ = ["DayError", "RefereeError", "RefereeStateError", "RoleError", "TimelineError"]


class RefereeError(ValueError):
    """A mis-declared timeline, role mapping, day or core (a case bug or a bad argument)."""


class TimelineError(RefereeError):
    """An invalid :class:`~gridbench.cases.referee.LayerSpec` or
    :class:`~gridbench.cases.referee.Timeline`."""


class RoleError(RefereeError):
    """Agent roles that do not partition the setpoint vector, or bad per-agent actions."""


class DayError(RefereeError):
    """A day that is not a date, or no day when the environment has no sampler."""


class RefereeStateError(RuntimeError):
    """A core or environment used out of order (step before reset, step after the day ended)."""
