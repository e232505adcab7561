"""The one error taxonomy every package derives from, so a caller decides how to react by base class alone.

Transient: a dependency did not answer or was overloaded (broker, S3, Elasticsearch); the same call may succeed
later, so back off and retry it and never drop the input. Terminal: retrying cannot help (a malformed file, a
refused request, a wrong setting, a failed integrity check); the input goes to the dead-letter topic, or the
process stops and says what a person has to fix.
"""

from __future__ import annotations


class ModpipeError(Exception):
    """Base of every error modpipe raises on purpose."""


class TransientError(ModpipeError):
    """May succeed if retried later: back off and retry; never skip the input."""


class TerminalError(ModpipeError):
    """Cannot succeed by retrying: dead-letter the input, or stop and name what to fix."""
