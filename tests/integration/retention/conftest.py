"""Each test module gets its own records bucket on the session's S3 server (lock mode GOVERNANCE, as in tests)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
import urllib3
from minio import Minio

from modpipe.settings import Settings, load_settings
from modpipe.stack.manager import StackInfo
from retention.store import Store
from tests.fixtures.review import make_records_bucket
from tests.support import stack_overrides


@pytest.fixture(scope="module")
def records_settings(stack: StackInfo, request: pytest.FixtureRequest) -> Settings:
    # the same suffix the shared `unique` fixture makes, at module scope: one bucket per test module
    suffix = f"{os.getpid()}-{time.monotonic_ns() % 10**9}"
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")
    bucket = f"rec-{name}-{suffix}"[:63].lower()
    settings = load_settings(environ={}, overrides=stack_overrides(stack, **{"s3.records_bucket": bucket}))
    make_records_bucket(settings)
    return settings


@pytest.fixture
def store(records_settings: Settings) -> Iterator[Store]:
    with Store(records_settings) as s:
        yield s


@pytest.fixture
def raw_s3(records_settings: Settings) -> Iterator[Minio]:
    """A plain client with the same credentials: what someone working around the pipeline would use."""
    http = urllib3.PoolManager()
    s3 = records_settings.s3
    try:
        yield Minio(s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key.get_secret_value(), secure=False,
                    http_client=http)  # fmt: skip
    finally:
        http.clear()
