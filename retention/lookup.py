"""Finding one message's verdict in the record store: for a user report about a message the machine passed,
whose verdict left the verdicts topic before the report came (the queue holds only flagged items)."""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

from retention.codec import decode
from retention.layout import RECORDS, parse_object_name, service_folder
from retention.scan import latest_keys
from retention.store import Store

_CACHE = 50_000  # objects whose message ids are remembered
_RETRY_S = 30.0  # a message not found is not searched for again this soon


class VerdictFinder:
    """Searches the verdict objects of one service over whole days (one listing per day), newest first; remembers
    which message ids each object read holds, so an object is read again only for a message it holds."""

    def __init__(self, store: Store, lookback: timedelta) -> None:
        self.store = store
        self.lookback = lookback
        self._ids: OrderedDict[str, frozenset[str]] = OrderedDict()
        self._missed: dict[str, float] = {}

    def find(self, service: str, message_id: str, before: datetime) -> dict[str, Any] | None:
        """The latest verdict value stored for `message_id` under `service` within the lookback before `before`
        (and the hour after it); None if none is stored yet."""
        missed = self._missed.get(message_id)
        if missed is not None and time.monotonic() - missed < _RETRY_S:
            return None
        folder = service_folder(service)
        day = (before + timedelta(hours=1)).astimezone(UTC).date()
        first = (before - self.lookback).astimezone(UTC).date()
        while day >= first:
            keys = latest_keys(self.store, f"{RECORDS}service={folder}/date={day.isoformat()}/")
            for key in reversed(keys):
                name = parse_object_name(key)
                if name is None or name.tag != "v":
                    continue
                known = self._ids.get(key)
                if known is not None and message_id not in known:
                    continue
                found = self._read(key, message_id)
                if found is not None:
                    self._missed.pop(message_id, None)
                    return found
            day -= timedelta(days=1)
        self._missed[message_id] = time.monotonic()
        if len(self._missed) > _CACHE:
            self._missed.clear()
        return None

    def _read(self, key: str, message_id: str) -> dict[str, Any] | None:
        data, _ = self.store.get(key)
        records = decode(key, data)
        self._ids[key] = frozenset(str(r.get("message_id")) for r in records)
        self._ids.move_to_end(key)
        while len(self._ids) > _CACHE:
            self._ids.popitem(last=False)
        found = None
        for record in records:
            if record.get("message_id") == message_id and isinstance(record.get("data"), dict):
                found = dict(record["data"])  # the latest in the object wins
        return found
