"""Errors of the records store, split the way callers must react to them.

Transient: the S3 server is unreachable, slow or failing; back off and retry the same call (a retried flush writes
the same keys and bytes). Terminal: retrying cannot help (a bucket without object lock, refused credentials, a
record that fails its integrity check); a person has to act.
"""

from __future__ import annotations

from typing import Any

from modpipe.errors import ModpipeError, TerminalError, TransientError


class RetentionError(ModpipeError):
    """Base of every error raised by the retention package."""


class TransientStorageError(RetentionError, TransientError):
    """The S3 server did not answer or answered with a retryable failure; the same call may succeed later."""


class StorageError(RetentionError, TerminalError):
    """The S3 server refused the request for a reason retrying will not fix; `code` is the S3 error code."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class BucketNotLocked(StorageError):
    """The records bucket exists but has no object lock (or versioning), so it cannot hold records."""


class IntegrityError(RetentionError, TerminalError):
    """A stored object or an export does not match its checksum, hash chain or manifest.

    `object_key` names what failed, so an auditor knows exactly which object to look at.
    """

    def __init__(self, object_key: str, problem: str) -> None:
        super().__init__(f"{object_key}: {problem}")
        self.object_key = object_key
        self.problem = problem


class TamperDetected(IntegrityError):
    """An export or a report found a tampered object or manifest and wrote its bundle anyway: every stored version
    of what was tampered with, and a tamper report. `manifest` is the bundle's manifest.json."""

    def __init__(self, object_key: str, problem: str, manifest: dict[str, Any]) -> None:
        super().__init__(object_key, problem)
        self.manifest = manifest


class HoldError(RetentionError, TerminalError):
    """A legal hold request that cannot be carried out (unknown hold, no selector...)."""


class OutputNotEmpty(RetentionError, TerminalError):
    """An export or a report was pointed at a folder that already holds files (an older bundle, or anything else);
    writing into it would mix two bundles."""

    def __init__(self, folder: str, problem: str) -> None:
        super().__init__(f"{folder}: {problem}")
        self.folder = folder
        self.problem = problem


class CheckpointKeyError(RetentionError, TerminalError):
    """The checkpoint signing key or an auditor's public key is missing or not an Ed25519 key; `setting` names the
    setting or option that points at it. The message never holds the key itself."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem
