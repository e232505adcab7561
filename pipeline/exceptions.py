"""Failures of the stream workers themselves."""

from __future__ import annotations

from modpipe.errors import TerminalError


class StartupError(TerminalError):
    """The worker cannot start: wrong or unreachable broker, missing topics. Names the setting to fix."""
