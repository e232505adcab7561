"""Queues a senior assigns to moderators (a category and/or a service type): work mode then draws from the assigned
queue whatever filter the moderator has on screen.

Kept as one small JSON file, assignments.json beside the users file (the desk's own folder, like the audit trail),
replaced atomically and read at each use, so two desk processes and a restart agree. Assignments are few (one per
moderator) and change a few times a shift.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Assignment:
    category: str
    service_type: str
    by: str
    at: str


class Assignments:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Assignment]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {name: Assignment(**value) for name, value in raw.items()}

    def _write(self, table: dict[str, Assignment]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({n: asdict(a) for n, a in sorted(table.items())}, out, ensure_ascii=False, indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, name: str) -> Assignment | None:
        return self._read().get(name)

    def listing(self) -> dict[str, Assignment]:
        return self._read()

    def assign(self, name: str, assignment: Assignment | None) -> None:
        """Set `name`'s queue, or clear it with None."""
        with self._lock:
            table = self._read()
            if assignment is None or not (assignment.category or assignment.service_type):
                table.pop(name, None)
            else:
                table[name] = assignment
            self._write(table)
