"""The audit trail of people: sign-ins, failed sign-ins, sign-outs, decisions and refused decisions as one JSON
object a line ({"at", "event", "who", "from", "role", ...what}) appended to a local file.

A local append-only file rather than the records store or a topic: the trail must keep working when the broker or
the search server is down (that is when people's actions matter most), it is written before the answer leaves, and a
log shipper can forward it. It holds source addresses, so it is created readable by its owner only.
"""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from pathlib import Path
from typing import Any

from modpipe.clock import Clock


class AuditLog:
    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()

    def record(self, event: str, who: str, client: str, **what: Any) -> dict[str, Any]:
        entry = {"at": self._clock.now().isoformat(), "event": event, "who": who, "from": client, **what}
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        return entry

    def tail(self, limit: int) -> list[dict[str, Any]]:
        """The last `limit` events, oldest first."""
        try:
            with self.path.open(encoding="utf-8") as lines:
                return [json.loads(line) for line in deque(lines, maxlen=limit) if line.strip()]
        except FileNotFoundError:
            return []
