"""Probes that tell whether each server answers its own protocol (not merely that a port is open)."""

from __future__ import annotations

import json
import socket
import struct
import urllib.error
import urllib.request

import urllib3
from minio import Minio

_TIMEOUT_S = 2.0


def kafka_answers(host: str, port: int) -> str | None:
    """Send an ApiVersions request; return None when the broker answers it, else why not."""
    client_id = b"modpipe-health"
    body = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=_TIMEOUT_S) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = _read_exact(sock, 10)
    except OSError as exc:
        return str(exc)
    _size, correlation, error_code = struct.unpack(">iih", header)
    if correlation != 1 or error_code != 0:
        return f"ApiVersions answered with correlation {correlation}, error {error_code}"
    return None


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        data += chunk
    return data


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


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the servers do: a port whose last connections linger in TIME_WAIT (right after `down`) is free to
        # listen on, while on Linux a port someone listens on still fails to bind.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
