"""Legal holds: keep records past their retention date, by message id, author, group or key prefix.

Each hold is an object holds/<id>.json (id derived from the selector, so holding twice is idempotent); releasing
writes a new version with `released_at`, so the bucket keeps the history of every hold. Placing a hold also sets
the S3 legal hold on every version of each matching object, so no tool can delete them; the sweeper additionally
checks active holds against objects stored after the hold was placed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from modpipe.clock import Clock
from modpipe.settings import Settings
from retention.codec import canonical, decode
from retention.dates import iso, longest
from retention.exceptions import HoldError
from retention.layout import HOLDS, RECORDS
from retention.scan import latest_keys, versions
from retention.store import Store

Selector = Literal["message_id", "author", "group", "prefix"]
SELECTORS: tuple[Selector, ...] = ("message_id", "author", "group", "prefix")


@dataclass(frozen=True)
class Hold:
    id: str
    selector: Selector
    value: str
    reason: str
    created_at: str
    created_by: str
    released_at: str | None = None
    released_by: str | None = None
    objects: list[str] = field(default_factory=list)  # keys whose versions got the S3 legal hold

    @property
    def active(self) -> bool:
        return self.released_at is None


def hold_id(selector: Selector, value: str) -> str:
    return hashlib.sha256(f"{selector}\x00{value}".encode()).hexdigest()[:20]


def hold_key(hid: str) -> str:
    return f"{HOLDS}{hid}.json"


def record_matches(selector: Selector, value: str, record: dict[str, Any], message_ids: set[str]) -> bool:
    if selector == "message_id":
        return record.get("message_id") == value
    if selector in ("author", "group"):
        field_name = "author_id" if selector == "author" else "group_id"
        if record.get(field_name) == value:
            return True
        # a decision carries no author or group: it follows the messages it refers to
        return record.get("kind") == "decision" and record.get("message_id") in message_ids
    return False


def key_matches(hold: Hold, key: str) -> bool:
    return hold.selector == "prefix" and key.startswith(hold.value)


def matching_objects(store: Store, selector: Selector, value: str, prefix: str = RECORDS) -> list[str]:
    if selector == "prefix":
        return latest_keys(store, value)
    keys = latest_keys(store, prefix)
    contents = {}
    for key in keys:
        data, _ = store.get(key)
        contents[key] = decode(key, data)
    ids = {
        r["message_id"]
        for records in contents.values()
        for r in records
        if r.get("kind") == "verdict" and record_matches(selector, value, r, set()) and r.get("message_id")
    }
    return [key for key, records in contents.items() if any(record_matches(selector, value, r, ids) for r in records)]


def load(store: Store, hid: str) -> Hold | None:
    found = store.get_if_exists(hold_key(hid))
    if found is None:
        return None
    doc = json.loads(found[0])
    return Hold(**doc)


def all_holds(store: Store) -> list[Hold]:
    found = []
    for key in latest_keys(store, HOLDS):
        hold = load(store, key.removeprefix(HOLDS).removesuffix(".json"))
        if hold is not None:
            found.append(hold)
    return found


def _save(store: Store, settings: Settings, clock: Clock, hold: Hold) -> None:
    # the hold record itself is locked as long as the longest retention period, counted from now
    until = longest([s.retention for s in settings.services.values()], clock.now())
    store.put(hold_key(hold.id), canonical(asdict(hold)), until, clock, "application/json")


def _set_legal_hold(store: Store, key: str, on: bool) -> None:
    for v in versions(store, key):
        if v.key != key or v.is_delete_marker:
            continue
        if on:
            store.call(store.client.enable_object_legal_hold, store.bucket, key, version_id=v.version_id)
        else:
            store.call(store.client.disable_object_legal_hold, store.bucket, key, version_id=v.version_id)


def place(
    store: Store,
    settings: Settings,
    clock: Clock,
    selector: Selector,
    value: str,
    reason: str,
    by: str,
    *,
    service: str | None = None,
) -> Hold:
    """Hold every object that matches now (reading the records objects, of one service type if given) and
    record the hold, so the sweeper also keeps whatever matches later."""
    if selector not in SELECTORS or not value:
        raise HoldError(f"a hold needs one of {SELECTORS} with a non-empty value")
    hid = hold_id(selector, value)
    existing = load(store, hid)
    keys = matching_objects(store, selector, value, RECORDS + (f"service={service}/" if service else ""))
    for key in keys:
        _set_legal_hold(store, key, on=True)
    objects = sorted(set(keys) | set(existing.objects if existing and existing.active else []))
    hold = Hold(hid, selector, value, reason, iso(clock.now()), by, objects=objects)
    _save(store, settings, clock, hold)
    return hold


def release(store: Store, settings: Settings, clock: Clock, selector: Selector, value: str, by: str) -> Hold:
    hid = hold_id(selector, value)
    hold = load(store, hid)
    if hold is None or not hold.active:
        raise HoldError(f"no active hold on {selector}={value!r}")
    released = replace(hold, released_at=iso(clock.now()), released_by=by)
    _save(store, settings, clock, released)
    still_held = {key for other in all_holds(store) if other.active and other.id != hid for key in other.objects}
    for key in hold.objects:
        if key not in still_held:
            _set_legal_hold(store, key, on=False)
    return released
