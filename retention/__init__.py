"""Immutable records in S3: the records sink, retention enforcement, legal holds and the auditor's export."""

from __future__ import annotations

from retention.exceptions import (
    BucketNotLocked,
    HoldError,
    IntegrityError,
    OutputNotEmpty,
    RetentionError,
    StorageError,
    TamperDetected,
    TransientStorageError,
)
from retention.sink import RecordSink, StoredBatch
from retention.sweeper import SweepReport, sweep

__all__ = [
    "BucketNotLocked",
    "HoldError",
    "IntegrityError",
    "OutputNotEmpty",
    "RecordSink",
    "RetentionError",
    "StorageError",
    "StoredBatch",
    "SweepReport",
    "TamperDetected",
    "TransientStorageError",
    "sweep",
]
