"""The errors the CLI reports as one line. A leaf module: it imports nothing of acdc-bench,
so every layer (config, data, models, sparsity, trainer, reports) can raise them without
an import cycle.

Every user error is a :class:`ReportedError`: the CLI prints it as one line and exits with
its status (2 for config errors) instead of showing a traceback, because a typo in an
override should cost a second, not a debugging session.
"""

from __future__ import annotations

from typing import Any


class ReportedError(Exception):
    """An error the CLI reports as one line, without a traceback, exiting with ``exit_code``."""

    exit_code = 2


class ConfigError(ReportedError, ValueError):
    """A user error in the config: printed as one line, exit status 2."""

    def __init__(self, field: str, value: Any, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field}={value!r} is not allowed; expected {allowed}")


class ConfigMismatch(ReportedError):
    """Resuming a run directory with settings other than the ones it was started with."""


class RunFailed(ReportedError):
    """Training stopped on its own account (non-finite loss, masks differ across ranks, a
    checkpoint could not be written); ``summary.json`` says ``failed``. Exit status 1."""

    exit_code = 1
