"""Local stack failures. All are terminal for the command that hit them: they name what to look at."""

from __future__ import annotations

from modpipe.errors import TerminalError, TransientError


class StackError(TerminalError):
    """A server of the local stack would not install, start, answer or stop; the message says which and why."""


class PortTaken(StackError):
    """A port of the stack was taken by another program, before the start or while a server was binding it."""


class HousekeepingFailed(TransientError):
    """A pass of the broker housekeeper could not list, read or delete in the S3 server; the next pass tries again."""
