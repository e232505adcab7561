"""Hold records as the manifests of their hold copies (retention.hold_copies), and their version histories.

A hold record `holds/<hold id>.json` lists an entry per copy it wrote (`entries`, the fields of an hourly
manifest's entry: retention.manifests.Entry). Placing, refreshing and releasing a hold each write a new version,
and each version may only add to the one before: every copy entry an earlier version lists is listed again with
identical fields (a new `version_id` alone is allowed, as in a manifest), the hold's id, subject, reason and who
placed it when never change, and a release once written stays. A version that breaks this, or a hold record hidden
behind a delete marker, is a tamper. Signed checkpoints take every hold record version in as a leaf
(retention.checkpoint), so a copy is proved against a checkpoint through its hold record, as a records object is
through its hourly manifest.
"""

from __future__ import annotations

import json
from typing import Any

from retention.exceptions import IntegrityError
from retention.history import History, ManifestHistory, Tamper, extension
from retention.hold_copies import COPIES
from retention.layout import HOLDS
from retention.manifests import Entry, entry_from
from retention.store import Store

FIXED = ("id", "selector", "value", "reason", "placed_at", "placed_by")
RELEASE = ("released_at", "released_by")


def is_hold_record(key: str) -> bool:
    return key.startswith(HOLDS) and key.endswith(".json") and "/" not in key.removeprefix(HOLDS)


def hold_of_copy(copy: str) -> str | None:
    """The hold record that lists a copy: holds/copies/service=/date=/hour=/<hold id>/<name> -> holds/<id>.json."""
    parts = copy.removeprefix(COPIES).split("/")
    if not copy.startswith(COPIES) or len(parts) != 5 or not parts[3]:
        return None
    return f"{HOLDS}{parts[3]}.json"


def parse(key: str, data: bytes) -> tuple[dict[str, Any], dict[str, Entry]]:
    """A hold record version and its copy entries by key."""
    try:
        doc = json.loads(data)
        entries = {str(e["key"]): entry_from(e) for e in doc.get("entries") or []}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IntegrityError(key, f"unreadable hold record ({exc})") from None
    return doc, entries


def differences(earlier: dict[str, Any], later: dict[str, Any]) -> list[str]:
    """What a later hold record version changed of what an earlier one said, besides its copy entries."""
    found = [f"{name} changed" for name in FIXED if later.get(name) != earlier.get(name)]
    if earlier.get("released_at") is not None and any(later.get(f) != earlier.get(f) for f in RELEASE):
        found.append("its release was undone or changed")
    lost = sorted(set(earlier.get("copies") or []) - set(later.get("copies") or []))
    found.extend(f"copy {key} is no longer listed" for key in lost)
    return found


def hold_history(store: Store, history: History) -> ManifestHistory:
    """Every version of a hold record, read and checked to be append-only (the versions, with their copy entries,
    oldest first; the first tamper found)."""
    result = ManifestHistory(history.key)
    previous: tuple[str | None, dict[str, Any], dict[str, Entry]] | None = None
    for v in history.stored:
        data, _ = store.get(history.key, v.version_id)
        try:
            doc, entries = parse(history.key, data)
        except IntegrityError as exc:
            result.tamper = result.tamper or Tamper(
                history.key, [v.version_id], f"version {v.version_id}: {exc.problem}"
            )
            continue
        if previous is not None and result.tamper is None:
            lost = differences(previous[1], doc) + extension(previous[2], entries)
            if lost:
                problem = f"version {v.version_id} is not an append-only extension of version {previous[0]}"
                result.tamper = Tamper(history.key, [previous[0], v.version_id], problem, lost)
        result.versions.append((v.version_id, data, entries))
        previous = (v.version_id, doc, entries)
    if history.hidden:
        result.tamper = result.tamper or Tamper(
            history.key, [v.version_id for v in history.stored], "hidden behind a delete marker"
        )
    return result
