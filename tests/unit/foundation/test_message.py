"""MessageValidator: every dead-letter reason keeps the original bytes; Unicode passes through untouched."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modpipe.contracts.message import DeadLetterReason, Invalid, MessageValidator, Valid

SERVICES = frozenset({"bbs", "comment", "group", "public_account"})
VALIDATOR = MessageValidator(SERVICES, max_text_chars=50, max_message_bytes=2048)


def message(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "message_id": "m-1",
        "service_type": "bbs",
        "kind": "post",
        "text": "hello",
        "published_at": "2026-11-23T08:00:00+08:00",
        "author_id": "u-1",
        "source_ip": "203.0.113.7",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def encode(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def test_valid_message() -> None:
    raw = encode(message(group_id="g-1", attachments=["https://example.org/a.png"]))
    result = VALIDATOR.parse(raw)
    assert isinstance(result, Valid)
    assert result.raw is raw
    assert result.message.published_at.utcoffset() is not None
    assert result.message.attachments == ["https://example.org/a.png"]


@pytest.mark.parametrize(
    ("raw", "reason", "detail"),
    [
        (b"x" * 2049, DeadLetterReason.TOO_LARGE, "2049 bytes"),
        (b'{"text": "\xff\xfe"}', DeadLetterReason.NOT_UTF8, "byte"),
        (b"{not json", DeadLetterReason.NOT_JSON, ""),
        (b"", DeadLetterReason.NOT_JSON, ""),
        (b"[1, 2]", DeadLetterReason.NOT_OBJECT, "not an object"),
        (b'"just a string"', DeadLetterReason.NOT_OBJECT, "not an object"),
        (encode(message(text=..., author_id=...)), DeadLetterReason.MISSING_FIELD, "author_id, text"),
        (encode(message(text=42)), DeadLetterReason.WRONG_TYPE, "text"),
        (encode(message(message_id=7)), DeadLetterReason.WRONG_TYPE, "message_id"),
        (encode(message(attachments="not-a-list")), DeadLetterReason.WRONG_TYPE, "attachments"),
        (encode(message(published_at="2026-11-23T08:00:00")), DeadLetterReason.BAD_TIMESTAMP, "offset"),
        (encode(message(published_at="yesterday")), DeadLetterReason.BAD_TIMESTAMP, "published_at"),
        (encode(message(published_at=1763856000)), DeadLetterReason.BAD_TIMESTAMP, "published_at"),
        (encode(message(kind="tweet")), DeadLetterReason.BAD_VALUE, "kind"),
        (encode(message(source_ip="999.1.1.1")), DeadLetterReason.BAD_VALUE, "source_ip"),
        (encode(message(message_id="")), DeadLetterReason.BAD_VALUE, "message_id"),
        (encode(message(service_type="radio")), DeadLetterReason.UNKNOWN_SERVICE_TYPE, "radio"),
        (encode(message(text="字" * 51)), DeadLetterReason.TEXT_TOO_LONG, "51 characters"),
    ],
)
def test_dead_letter_reasons_keep_the_bytes(raw: bytes, reason: DeadLetterReason, detail: str) -> None:
    result = VALIDATOR.parse(raw)
    assert isinstance(result, Invalid)
    assert result.reason is reason, result.detail
    assert detail in result.detail
    assert result.raw == raw


def test_text_limit_counts_characters_not_bytes() -> None:
    # 50 four-byte emoji: 200 bytes of UTF-8 but exactly the 50-character limit.
    assert isinstance(VALIDATOR.parse(encode(message(text="😀" * 50))), Valid)


TEXTS = [
    "习近平 and 中文 mixed with English",
    "emoji 👍🏽👨‍👩‍👧‍👦🇨🇳 and a ZWJ sequence",
    "עברית ومعها العربية (RTL) with \u200f marks",
    "combining: e\u0301 a\u0308 \u1100\u1161 (not normalised)",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ and 繁體 簡體",
    'tab\t, \\ slash, "quotes", \u2028 sep',
    "",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_unicode_passes_through_untouched(text: str, ensure_ascii: bool) -> None:
    raw = json.dumps(message(text=text), ensure_ascii=ensure_ascii).encode("utf-8")
    result = VALIDATOR.parse(raw)
    assert isinstance(result, Valid), getattr(result, "detail", "")
    assert result.message.text == text
    assert result.as_received["text"] == text
    assert result.raw == raw
    assert result.message.text.encode("utf-8") == text.encode("utf-8")


def test_unknown_fields_are_kept() -> None:
    extra = {"tenant": "平台-甲", "score_hint": 0.25, "nested": {"a": [1, "二"]}, "flag": None}
    raw = encode(message(**extra))
    result = VALIDATOR.parse(raw)
    assert isinstance(result, Valid)
    assert result.message.model_extra == extra
    for key, value in extra.items():
        assert result.as_received[key] == value
    assert result.as_received == json.loads(raw)


def test_as_received_keeps_original_value_formatting() -> None:
    raw = encode(message(published_at="2026-11-23T08:00:00.123+08:00"))
    result = VALIDATOR.parse(raw)
    assert isinstance(result, Valid)
    assert result.as_received["published_at"] == "2026-11-23T08:00:00.123+08:00"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def mutated_message() -> st.SearchStrategy[bytes]:
    fields = st.dictionaries(
        st.sampled_from([*message().keys(), "group_id", "attachments", "extra"]), JSON_VALUES, max_size=4
    )
    return st.builds(lambda changes: encode(message(**changes)), fields)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000) | mutated_message() | st.text().map(lambda t: encode(message(text=t))))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    result = VALIDATOR.parse(raw)
    assert isinstance(result, Valid | Invalid)
    assert result.raw == raw
    if isinstance(result, Invalid):
        assert isinstance(result.reason, DeadLetterReason)
        assert result.detail
    else:
        assert result.message.service_type in SERVICES
