"""The S3 side: a minio client from settings, errors sorted into transient and terminal, locked PUTs.

The pipeline's credentials never send the governance-bypass header: nothing here can shorten or remove a lock,
even when the bucket runs in GOVERNANCE mode.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.error import MinioException, S3Error, ServerError
from minio.retention import Retention

from modpipe.clock import Clock
from modpipe.settings import Settings
from modpipe.settings.s3 import LockMode
from retention.codec import sha256_b64
from retention.dates import iso, parse_time
from retention.exceptions import BucketNotLocked, StorageError, TransientStorageError

T = TypeVar("T")
_RETRYABLE_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "RequestTimeTooSkewed"}
)
# A lock date closer than this to now may be in the past on the server's clock, which refuses it; such a record is
# due for deletion anyway, so it is stored without a lock and its date kept in metadata for the sweeper.
LOCK_MARGIN = timedelta(minutes=2)
RETAIN_META = "x-amz-meta-retain-until"


@dataclass(frozen=True)
class Stored:
    key: str
    version_id: str | None
    size: int
    sha256: str


class Store:
    """One bucket, one HTTP pool. Close it when done."""

    def __init__(self, settings: Settings, *, timeout_s: float = 30.0) -> None:
        s3 = settings.s3
        self.bucket = s3.records_bucket
        self.mode = GOVERNANCE if s3.lock_mode is LockMode.GOVERNANCE else COMPLIANCE
        # Few quick retries here; longer back-off is the caller's (the records agent retries a whole flush).
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5.0, read=timeout_s),
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)),
            maxsize=8,
        )
        self.client = Minio(
            s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key.get_secret_value(),
            secure=s3.secure, region=s3.region, http_client=self._http,
        )  # fmt: skip

    def close(self) -> None:
        self._http.clear()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with s3_errors():
            return fn(*args, **kwargs)

    def put(self, key: str, data: bytes, until: datetime | None, clock: Clock, content_type: str) -> Stored:
        metadata: dict[str, str | list[str] | tuple[str]] = {"x-amz-checksum-sha256": sha256_b64(data)}
        retention = None
        if until is not None:
            metadata[RETAIN_META] = iso(until)
            if until > clock.now() + LOCK_MARGIN:
                retention = Retention(self.mode, until)
        with s3_errors():
            result = self.client.put_object(
                self.bucket, key, io.BytesIO(data), len(data), content_type=content_type, metadata=metadata,
                retention=retention,
            )  # fmt: skip
        return Stored(key, result.version_id, len(data), sha256_b64(data))

    def get(self, key: str, version_id: str | None = None) -> tuple[bytes, str | None]:
        with s3_errors():
            response = self.client.get_object(self.bucket, key, version_id=version_id)
            try:
                return response.read(), response.headers.get("x-amz-version-id")
            finally:
                response.close()
                response.release_conn()

    def get_if_exists(self, key: str) -> tuple[bytes, str | None] | None:
        """get(), or None when the key has no current version (never written, deleted, or behind a delete
        marker); any other refusal still raises."""
        try:
            return self.get(key)
        except StorageError as exc:
            if exc.code == "NoSuchKey":
                return None
            raise

    def extend(self, key: str, version_id: str | None, until: datetime, clock: Clock) -> bool:
        """Make a version's lock last at least until `until` (locks only ever get longer). True when changed."""
        if until <= clock.now() + LOCK_MARGIN:
            return False
        with s3_errors():
            stat = self.client.stat_object(self.bucket, key, version_id=version_id)
            current = parse_time((stat.metadata or {}).get("x-amz-object-lock-retain-until-date"))
            if current is not None and current >= until:
                return False
            self.client.set_object_retention(self.bucket, key, Retention(self.mode, until), version_id=version_id)
        return True


@contextmanager
def s3_errors() -> Iterator[None]:
    try:
        yield
    except S3Error as exc:
        if exc.code in _RETRYABLE_CODES:
            raise TransientStorageError(f"S3 {exc.code}: {exc.message}") from exc
        raise StorageError(f"S3 {exc.code}: {exc.message} ({exc.resource})", exc.code) from exc
    except ServerError as exc:
        raise TransientStorageError(f"S3 server error {exc.status_code}: {exc}") from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise TransientStorageError(f"S3 unreachable: {exc}") from exc
    except MinioException as exc:
        raise StorageError(str(exc)) from exc


def check_bucket(store: Store) -> None:
    """The bucket exists with versioning and object lock; anything else cannot hold records."""
    bucket = store.bucket
    if not store.call(store.client.bucket_exists, bucket):
        raise StorageError(f"bucket {bucket!r} does not exist; run `modpipe storage init`")
    try:
        store.call(store.client.get_object_lock_config, bucket)
    except StorageError as exc:
        if exc.code in ("ObjectLockConfigurationNotFoundError", "InvalidRequest", "NotImplemented"):
            raise BucketNotLocked(
                f"bucket {bucket!r} exists without object lock; records need a bucket created with object lock "
                "(S3 cannot add it later): choose another bucket name (setting s3.records_bucket)"
            ) from exc
        raise
    status = store.call(store.client.get_bucket_versioning, bucket).status
    if status != "Enabled":
        raise BucketNotLocked(f"bucket {bucket!r} has object lock but versioning is {status!r}")


def init_bucket(store: Store) -> bool:
    """Create the records bucket with object lock and versioning; True when created, False when it was ready.

    No bucket-wide default retention: every record object carries its own lock date, and a default would also lock
    records replayed after their date has passed (which must be deletable).
    """
    with s3_errors():
        exists = store.client.bucket_exists(store.bucket)
        if not exists:
            store.client.make_bucket(store.bucket, object_lock=True)
    check_bucket(store)
    return not exists
