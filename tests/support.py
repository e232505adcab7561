"""Helpers shared by test modules (importable as tests.support; fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modpipe.stack.manager import StackInfo

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
COLD_DIR = DATASETS / "cold"


def stack_overrides(info: StackInfo, **extra: Any) -> dict[str, Any]:
    return {
        "stack.home": str(info.home),
        "kafka.bootstrap": info.kafka_bootstrap,
        "s3.endpoint": info.s3_endpoint,
        "s3.access_key": info.credentials.access_key,
        "s3.secret_key": info.credentials.secret_key,
        "s3.lock_mode": "GOVERNANCE",
        "elasticsearch.url": info.elasticsearch_url,
        "classifier.datasets_dir": str(DATASETS),
        **extra,
    }
