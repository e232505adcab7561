"""Review-page failures."""

from __future__ import annotations

from modpipe.errors import ModpipeError, TerminalError, TransientError


class ReviewError(ModpipeError):
    """Base of the review page's errors."""


class UsersFileError(ReviewError, TerminalError):
    """The users file is missing, unreadable or malformed: the page cannot sign anyone in."""


class PublishFailed(ReviewError, TransientError):
    """The decision could not be written to the decisions topic; the claim was released, the moderator may retry."""


class PortBusy(ReviewError, TerminalError):
    """The review page's address is already taken by another process."""
