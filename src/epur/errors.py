"""The exception hierarchy of epur: every user mistake is an ``EpurError``.

The CLI turns an ``EpurError`` into one line on stderr and exit code 2; any other
exception is a bug in epur and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["BackendError", "ConfigError", "EpurError", "ScheduleError"]


class EpurError(Exception):
    """Base class of the errors a user can cause (bad file, bad value, bad flag)."""


class ConfigError(EpurError):
    """A network or architecture description is malformed or out of range."""


class ScheduleError(EpurError):
    """A network cannot be scheduled on an architecture (a buffer is too small)."""


class BackendError(EpurError):
    """An external tool (CACTI) is missing, failed, or rejected its input."""
