"""Probes that tell whether each server answers its own protocol (not merely that a port is open)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import urllib3
from minio import Minio

from modpipe.net import free_port, free_ports, kafka_answers, port_is_free

__all__ = ["elasticsearch_answers", "free_port", "free_ports", "kafka_answers", "port_is_free", "s3_answers"]

_TIMEOUT_S = 2.0


def s3_answers(endpoint: str, access_key: str, secret_key: str) -> str | None:
    """List buckets with the stack's credentials; None when that works."""
    http = urllib3.PoolManager(timeout=urllib3.Timeout(total=_TIMEOUT_S), retries=False)
    try:
        Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=False, http_client=http).list_buckets()
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy yet", and we say which
        return f"{type(exc).__name__}: {exc}"
    finally:
        http.clear()
    return None


def elasticsearch_answers(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as resp:  # noqa: S310 - our own loopback URL
            info = json.loads(resp.read())
    except (OSError, urllib.error.URLError, ValueError) as exc:
        return str(exc)
    if "version" not in info:
        return f"unexpected answer: {info!r:.200}"
    return None
