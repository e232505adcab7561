"""The dense list's pieces (pure): the evidence around the first hit, who holds an item, the shortcuts overlay."""

from __future__ import annotations

from datetime import timedelta

import pytest

from modpipe.settings import SettingsError, load_settings
from review.desk.worklist import WINDOW, evidence, help_overlay, rows
from review.queue import Item
from review.queue.claims import live_hold
from tests.unit.review.factory import T0


def test_the_evidence_is_the_text_around_the_first_hit_with_the_hits_marked() -> None:
    text = "甲" * 100 + "出售枪支" + "乙" * 100
    hits = [{"start": 102, "end": 104, "term": "枪支", "category": "C9", "matched": "枪支"}]
    html = evidence(text, hits)
    assert html.startswith("…")
    assert html.endswith("…")
    assert '<mark class="hit cat-C9" title="C9 枪支">枪支</mark>' in html
    assert html.count("甲") + html.count("乙") + 4 == WINDOW
    assert evidence("短文本<b>", []) == "短文本&lt;b&gt;"
    # A hit outside the window, or one whose span does not fit, is not marked; nothing breaks.
    assert "<mark" not in evidence(text, [{"start": 150, "end": 500, "category": "C9"}])


def _item(claim: dict[str, str] | None, status: str = "pending") -> Item:
    moderation: dict[str, object] = {"status": status, "score": 0.5, "due_at": T0.isoformat()}
    if claim is not None:
        moderation["claim"] = claim
    return Item("m1", {"message": "x", "moderation": moderation, "event": {"action": "review"}})


def test_a_live_claim_is_shown_and_an_expired_or_decided_one_is_not() -> None:
    until = (T0 + timedelta(minutes=5)).isoformat()
    held = _item({"holder": "bob", "until": until})
    assert live_hold(held, T0) is not None
    assert live_hold(held, T0 + timedelta(minutes=5)) is None
    assert live_hold(_item({"holder": "bob", "until": until}, status="confirmed"), T0) is None
    assert live_hold(_item({"holder": "bob", "until": "not a time"}), T0) is None
    html = rows([(held, "pending", False)], T0, "alice", True)
    assert '<span class="holder" title="claimed until' in html
    assert 'name="ids" value="m1"' in html
    assert 'name="ids"' not in rows([(held, "pending", False)], T0, "audrey", False)
    assert 'class="holder mine"' in rows([(held, "pending", True)], T0, "bob", True)
    # The due time to the minute, in the zone outside a request (UTC): no seconds in the dense list.
    assert f'<time datetime="{T0.isoformat()}">2026-11-23 08:00 +00:00</time>' in html


def test_the_overlay_lists_every_shortcut() -> None:
    html = help_overlay()
    for key in ("j", "k", "Enter", "c", "x", "s", "g", "?", "w"):
        assert f"<kbd>{key}" in html


def test_the_claim_lifetime_is_a_checked_setting() -> None:
    assert load_settings(environ={}).review.claim_ttl_s == 300
    with pytest.raises(SettingsError, match=r"review\.claim_ttl_s"):
        load_settings(environ={}, overrides={"review.claim_ttl_s": 5})
