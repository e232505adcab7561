"""Network probes the workers and the local stack share: does a Kafka broker answer its protocol, is a port free."""

from __future__ import annotations

import socket
import struct

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
    return free_ports(1)[0]


def free_ports(n: int, avoid: frozenset[int] = frozenset()) -> list[int]:
    """`n` distinct free ports, none of them in `avoid`. Bound all at once and released together: ports taken one
    call at a time can repeat, since the kernel may hand out a port again as soon as its socket is closed. Another
    program can still take one before its server binds it; the local stack retries its start for that
    (modpipe.stack.manager.start_on_free_ports)."""
    held: list[socket.socket] = []
    try:
        ports: list[int] = []
        while len(ports) < n:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(sock)
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
            if port not in avoid:
                ports.append(port)
        return ports
    finally:
        for sock in held:
            sock.close()
