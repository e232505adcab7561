"""Legal holds the way counsel uses them: many per subject, each with its own id, reason and who/when.

Each hold is an object holds/<id>.json with a fresh id, so a second hold on the same author is a second hold, with
its own reason and who placed it; releasing one writes a new version with `released_at`/`released_by` and leaves
every other hold alone. Holds are read from the version history, so a hold record hidden behind a delete marker is
still found and still holds.

A hold on a message, an author or a group copies the records it selects into locked, legally held objects of its
own (retention.hold_copies), so the originals, and every other user's records in them, still expire on their date.
A hold on a key prefix selects objects, not records: it sets the S3 legal hold on every version of each matching
object. The sweeper also keeps whatever an active hold matches that was stored after it was placed (no copy of it
exists yet). Holds placed before copies existed (no `copies` in their record) keep whole objects too.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from modpipe.clock import Clock
from modpipe.settings import Settings
from retention import hold_copies
from retention.codec import canonical
from retention.dates import iso, longest
from retention.exceptions import HoldError
from retention.layout import HOLDS, RECORDS
from retention.manifests import Entry
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
    placed_at: str
    placed_by: str
    released_at: str | None = None
    released_by: str | None = None
    objects: list[str] = field(default_factory=list)  # the original objects it selected when placed
    copies: list[str] = field(default_factory=list)  # its copies of their selected records (under holds/copies/)
    # the manifest of its copies: retention.manifests.Entry of each, as a dict, by key (holds placed before entries
    # existed have none: their copies cannot be proved against a checkpoint)
    entries: list[dict[str, Any]] = field(default_factory=list)
    hidden: bool = False  # its record's current version is a delete marker (found in the history)

    @property
    def active(self) -> bool:
        return self.released_at is None

    @property
    def keeps_whole_objects(self) -> bool:
        """A prefix hold, or one placed before copies existed: its objects carry the S3 legal hold themselves."""
        return self.selector == "prefix" or (bool(self.objects) and not self.copies)

    def covers(self, key: str) -> bool:
        """Whether this hold's copies already keep what it selects in the records object `key`."""
        return not self.keeps_whole_objects and key in self.objects

    @property
    def selects_nothing(self) -> bool:
        return not self.objects


def new_hold_id() -> str:
    # random, not derived from the selector: two holds on one subject are two holds
    return uuid.uuid4().hex[:20]


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


def selected_records(store: Store, selector: Selector, value: str, prefix: str) -> list[hold_copies.Selected]:
    def is_message(record: dict[str, Any], _ids: set[str]) -> bool:
        return bool(record.get("kind") == "verdict" and record.get("message_id"))

    return hold_copies.select(
        store, prefix, lambda r, ids: record_matches(selector, value, r, ids),
        lambda r, ids: is_message(r, ids) and record_matches(selector, value, r, ids),
    )  # fmt: skip


def _parse(data: bytes, hidden: bool) -> Hold:
    doc = json.loads(data)
    # records written before holds had their own ids called the placing fields created_at/created_by
    doc.setdefault("placed_at", doc.pop("created_at", ""))
    doc.setdefault("placed_by", doc.pop("created_by", ""))
    doc.pop("created_at", None)
    doc.pop("created_by", None)
    doc["hidden"] = hidden
    return Hold(**doc)


def _from_history(store: Store, key: str, found: list[Any]) -> Hold | None:
    """The newest data version of a hold record, delete markers skipped. A release is final: once any version
    says released, the hold stays released (and an unreleased later version cannot revive it)."""
    data_versions = [v for v in found if not v.is_delete_marker]
    if not data_versions:
        return None
    hidden = not any(v.is_latest for v in data_versions)
    holds = [_parse(store.get(key, v.version_id)[0], hidden) for v in data_versions]
    released = [h for h in holds if not h.active]
    newest = holds[0]  # S3 lists a key's versions newest first
    if newest.active and released:
        return replace(newest, released_at=released[0].released_at, released_by=released[0].released_by)
    return newest


def load(store: Store, hid: str) -> Hold | None:
    key = hold_key(hid)
    return _from_history(store, key, [v for v in versions(store, key) if v.key == key])


def all_holds(store: Store) -> list[Hold]:
    by_key: dict[str, list[Any]] = {}
    for v in versions(store, HOLDS):
        if "/" not in v.key.removeprefix(HOLDS):  # hold records, not the copies below them
            by_key.setdefault(v.key, []).append(v)
    found = [h for key, vs in sorted(by_key.items()) if (h := _from_history(store, key, vs)) is not None]
    return sorted(found, key=lambda h: (h.placed_at, h.id))


def _entries(earlier: list[dict[str, Any]], written: list[Entry]) -> list[dict[str, Any]]:
    """The copies' entries, by key: each version of a hold record only adds to the one before."""
    by_key = {str(e["key"]): e for e in earlier}
    by_key.update((e.key, asdict(e)) for e in written)
    return [by_key[k] for k in sorted(by_key)]


def _save(store: Store, settings: Settings, clock: Clock, hold: Hold) -> None:
    # the hold record itself is locked as long as the longest retention period, counted from now
    until = longest([s.retention for s in settings.services.values()], clock.now())
    doc = asdict(hold)
    doc.pop("hidden")
    store.put(hold_key(hold.id), canonical(doc), until, clock, "application/json")


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
    """Place a new hold: the records it selects now (reading the records objects, of one service type if given)
    are copied into locked, legally held objects of its own (a prefix hold: every matching object gets the S3
    legal hold instead), and the hold is recorded, so the sweeper also keeps whatever matches later. Other holds
    on the same subject stay as they are. A hold that selects nothing yet is still recorded (it keeps what is
    stored later); `selects_nothing` tells the caller to say so."""
    if selector not in SELECTORS or not value:
        raise HoldError(f"a hold needs one of {SELECTORS} with a non-empty value")
    if not reason.strip():
        raise HoldError("a hold needs a reason (--reason: the case number or request)")
    hid = new_hold_id()
    if selector == "prefix":
        keys, copies, entries = latest_keys(store, value), [], []
        for key in keys:
            hold_copies.set_legal_hold(store, key, on=True)
    else:
        selected = selected_records(store, selector, value, RECORDS + (f"service={service}/" if service else ""))
        # the copies first: a hold record never names a copy that was not written
        written = hold_copies.write(store, clock, hid, selected)
        keys, copies = [item.key for item in selected], [e.key for e in written]
        entries = _entries([], written)
    hold = Hold(hid, selector, value, reason, iso(clock.now()), by, objects=sorted(keys), copies=sorted(copies),
                entries=entries)  # fmt: skip
    _save(store, settings, clock, hold)
    expire_released_copies(store, clock)
    return hold


def refresh(store: Store, settings: Settings, clock: Clock, hid: str) -> Hold:
    """Copy what an active hold selects in records stored after it was placed (until then the sweeper keeps
    their whole objects past their date), and record the new copies in a new version of the hold."""
    hold = load(store, hid)
    if hold is None:
        raise HoldError(f"no hold with id {hid!r}; `modpipe retention holds` lists them")
    if not hold.active:
        raise HoldError(f"hold {hid} was released at {hold.released_at} by {hold.released_by}")
    if hold.keeps_whole_objects:
        raise HoldError(
            f"hold {hid} keeps whole objects (a prefix hold, or placed before hold copies): nothing to copy"
        )
    new = [item for item in selected_records(store, hold.selector, hold.value, RECORDS) if item.key not in hold.objects]
    written = hold_copies.write(store, clock, hid, new)
    updated = replace(
        hold, objects=sorted({*hold.objects, *(item.key for item in new)}),
        copies=sorted({*hold.copies, *(e.key for e in written)}), entries=_entries(hold.entries, written),
        hidden=False,
    )  # fmt: skip
    _save(store, settings, clock, updated)
    return updated


def find_active(store: Store, selector: Selector, value: str) -> list[Hold]:
    return [h for h in all_holds(store) if h.active and h.selector == selector and h.value == value]


def release(store: Store, settings: Settings, clock: Clock, hid: str, by: str) -> Hold:
    """Release one hold by its id. Objects another active hold lists keep their S3 legal hold."""
    hold = load(store, hid)
    if hold is None:
        raise HoldError(f"no hold with id {hid!r}; `modpipe retention holds` lists them")
    if not hold.active:
        raise HoldError(f"hold {hid} was already released at {hold.released_at} by {hold.released_by}")
    released = replace(hold, released_at=iso(clock.now()), released_by=by, hidden=False)
    _save(store, settings, clock, released)
    for key in hold.copies:  # a copy belongs to one hold
        hold_copies.set_legal_hold(store, key, on=False)
    if hold.keeps_whole_objects:
        still_held = {
            key for other in all_holds(store) if other.active and other.id != hid and other.keeps_whole_objects
            for key in other.objects
        }  # fmt: skip
        for key in hold.objects:
            if key not in still_held:
                hold_copies.set_legal_hold(store, key, on=False)
    expire_released_copies(store, clock)
    return released


def expire_released_copies(store: Store, clock: Clock) -> list[str]:
    """Delete the copies of released holds whose records' date has passed; every hold and release does it, as the
    records worker's sweep has no right to holds/."""
    keys = [key for h in all_holds(store) if not h.active for key in h.copies]
    return hold_copies.expire(store, keys, clock.now())


def release_on(store: Store, settings: Settings, clock: Clock, selector: Selector, value: str, by: str) -> Hold:
    """Release the one active hold on a subject; with several, counsel must say which (by id)."""
    active = find_active(store, selector, value)
    if not active:
        raise HoldError(f"no active hold on {selector}={value!r}")
    if len(active) > 1:
        ids = ", ".join(f"{h.id} ({h.reason})" for h in active)
        raise HoldError(f"{len(active)} active holds on {selector}={value!r}: {ids}; release one with --id")
    return release(store, settings, clock, active[0].id, by)
