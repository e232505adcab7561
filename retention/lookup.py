"""Finding one message's verdict in the record store: for a user report about a message the machine passed,
whose verdict left the verdicts topic before the report came (the queue holds only flagged items)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from retention.codec import decode
from retention.layout import RECORDS, hour_path, hours, parse_object_name, service_folder
from retention.scan import latest_keys
from retention.store import Store


def find_verdict(
    store: Store, service: str, message_id: str, before: datetime, lookback: timedelta
) -> dict[str, Any] | None:
    """The latest verdict value stored for `message_id` under `service`, searching the hours from `before`
    back to `before - lookback`, newest first; None if none is stored (yet)."""
    folder = service_folder(service)
    for hour in reversed(hours(before - lookback, before + timedelta(hours=1))):
        found = None
        for key in latest_keys(store, f"{RECORDS}{hour_path(folder, hour)}"):
            name = parse_object_name(key)
            if name is None or name.tag != "v":
                continue
            data, _ = store.get(key)
            for record in decode(key, data):
                if record.get("message_id") == message_id and isinstance(record.get("data"), dict):
                    found = dict(record["data"])
        if found is not None:
            return found
    return None
