from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

from modpipe.clock import FixedClock
from modpipe.contracts import Invalid, MessageValidator, Valid
from modpipe.settings import load_settings
from pipeline.simulate import MALFORMED, MessageFactory

CORPUS = {
    "benign": ["今天的新闻说警方破获了一起诈骗案", "医生提醒大家注意休息"],
    "C7": ["测试用的赌博广告文本"],
    "C9": ["测试用的办证广告文本"],
}


AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def factory(seed: int, malformed: float = 0.1) -> MessageFactory:
    return MessageFactory(seed, FixedClock(AT), max_text_chars=500, malformed_share=malformed, corpus=CORPUS)


def test_the_same_seed_gives_the_same_stream() -> None:
    first = [(m.key, m.label) for m in factory(7).messages(300)]
    again = [(m.key, m.label) for m in factory(7).messages(300)]
    other = [(m.key, m.label) for m in factory(8).messages(300)]
    assert first == again
    assert first != other


def test_every_malformed_message_fails_validation_with_its_own_reason() -> None:
    settings = load_settings(environ={})
    validator = MessageValidator(frozenset(settings.services), 500, settings.message.max_message_bytes,
                                 clock=FixedClock(AT))  # fmt: skip
    seen: Counter[str] = Counter()
    for msg in factory(3, malformed=0.5).messages(2000):
        parsed = validator.parse(msg.value)
        if msg.label.startswith("malformed:"):
            fault = msg.label.split(":", 1)[1]
            assert isinstance(parsed, Invalid), msg.value[:200]
            assert parsed.reason.value == fault
            assert parsed.raw == msg.value
            seen[fault] += 1
        else:
            assert isinstance(parsed, Valid), parsed
    assert set(seen) == set(MALFORMED)


def test_the_mix_covers_every_service_kind_category_and_replies() -> None:
    messages = list(factory(11).messages(3000))
    labels = Counter(m.label for m in messages)
    assert {"benign", "C7", "C9"} <= set(labels)
    assert {(m.service_type, m.kind) for m in messages} == {
        ("bbs", "post"), ("bbs", "comment"), ("comment", "comment"), ("group", "group_message"),
        ("public_account", "post"), ("public_account", "comment"),
    }  # fmt: skip
    bodies = [json.loads(m.value) for m in messages if not m.label.startswith("malformed")]
    assert any("parent_id" in b for b in bodies)
    assert all("group_id" in b for b in bodies if b["service_type"] == "group")
    assert all("account_id" in b for b in bodies if b["service_type"] == "public_account")
    assert len({m.key for m in messages}) == len(messages)
