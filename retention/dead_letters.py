"""Dead letters as records: a message no agent could take (not JSON, a broken contract, a bad timestamp) is still
something a user sent, so the law's record of it (L3-L5) must not be missing.

The records agent also reads the dead-letter topic. Each dead letter is stored as a record of kind `dead_letter`:
its `data` is the dead letter exactly as published (the original bytes in `value_b64`, the reason, the time it
was refused and the original topic, partition and offset), its `event_at` is that time, and it is kept for the
longest retention period any service has under `service=unclassified` (nobody has judged which service it
belongs to). Where the original bytes are a JSON message, its message, author and group ids are copied into the
record's envelope, so a hold on an author or an export filtered by author finds their refused messages too.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

DEAD_LETTER = "dead_letter"


def subject(value: dict[str, Any]) -> tuple[str | None, Any, Any]:
    """The message id, author and group of the message a dead letter carries, where its bytes say so."""
    raw = value.get("value_b64")
    if not isinstance(raw, str):
        return None, None, None
    try:
        original = json.loads(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError, RecursionError):
        return None, None, None
    if not isinstance(original, dict):
        return None, None, None
    # a refused verdict carries its message inside; a refused input is the message itself
    inner = original.get("message")
    message: dict[str, Any] = inner if isinstance(inner, dict) else original
    message_id = original.get("message_id", message.get("message_id"))
    return (message_id if isinstance(message_id, str) else None), message.get("author_id"), message.get("group_id")
