"""MessageValidator: every dead-letter reason keeps the original bytes; Unicode passes through untouched."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modpipe.clock import FixedClock
from modpipe.contracts.message import DeadLetterReason, Invalid, MessageValidator, Valid, nesting_exceeds
from modpipe.settings import SettingsError, load_settings

SERVICES = frozenset({"bbs", "comment", "group", "public_account"})
RECEIVED = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)  # the base message's published_at is 08:00+08:00 = 00:00Z
VALIDATOR = MessageValidator(SERVICES, max_text_chars=50, max_message_bytes=2048, clock=FixedClock(RECEIVED))


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


def test_group_roles_are_optional_and_checked() -> None:
    raw = encode(message(group_id="g-1", author_role="admin", group_owner_id="u-9"))
    result = VALIDATOR.parse(raw)
    assert isinstance(result, Valid)
    assert (result.message.author_role, result.message.group_owner_id) == ("admin", "u-9")
    plain = VALIDATOR.parse(encode(message()))
    assert isinstance(plain, Valid)
    assert (plain.message.author_role, plain.message.group_owner_id) == (None, None)
    wrong = VALIDATOR.parse(encode(message(author_role="moderator")))
    assert isinstance(wrong, Invalid)
    assert "author_role" in wrong.detail
    empty = VALIDATOR.parse(encode(message(group_owner_id="")))
    assert isinstance(empty, Invalid)
    assert "group_owner_id" in empty.detail


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


# -- published_at is bounded by the receipt time (the injected clock) ------------------------------------------


@pytest.mark.parametrize(
    ("published_at", "ok"),
    [
        ("2026-10-24T00:30:00Z", True),  # exactly 30 days before receipt
        ("2026-10-24T00:29:59.999Z", False),
        ("2026-11-24T00:30:00+00:00", True),  # exactly a day after
        ("2026-11-24T08:30:00.001+08:00", False),
        ("1970-01-01T00:00:00Z", False),
        ("2026-01-01T00:00:00+08:00", False),
        ("9999-12-31T23:59:59Z", False),
        ("9999-12-31T23:59:59-08:00", False),
        ("0001-01-01T00:00:00+08:00", False),
    ],
)
def test_published_at_outside_the_window_is_a_bad_timestamp(published_at: str, ok: bool) -> None:
    result = VALIDATOR.parse(encode(message(published_at=published_at)))
    if ok:
        assert isinstance(result, Valid), getattr(result, "detail", "")
        return
    assert isinstance(result, Invalid)
    assert result.reason is DeadLetterReason.BAD_TIMESTAMP
    assert "receipt" in result.detail
    assert published_at[:4] in result.detail


def test_receipt_time_comes_from_the_clock_or_the_caller() -> None:
    clock = FixedClock(RECEIVED)
    validator = MessageValidator(SERVICES, 50, 2048, clock=clock, max_age=timedelta(hours=1), max_future=timedelta(0))
    raw = encode(message())  # 00:00Z
    assert isinstance(validator.parse(raw), Valid)
    clock.advance(timedelta(minutes=31))
    assert isinstance(validator.parse(raw), Invalid)
    assert isinstance(validator.parse(raw, received_at=RECEIVED), Valid)  # the batch's own reading of the clock
    early = datetime(2026, 11, 22, 23, 59, 59, tzinfo=UTC)
    assert isinstance(validator.parse(raw, received_at=early), Invalid)  # a second in the future


def test_the_window_and_depth_come_from_settings() -> None:
    settings = load_settings(environ={}, overrides={"message.max_age_days": 2, "message.max_future_s": 60,
                                                    "message.max_depth": 5})  # fmt: skip
    validator = MessageValidator.from_settings(settings, FixedClock(RECEIVED))
    assert (validator.max_age, validator.max_future, validator.max_depth) == (
        timedelta(days=2),
        timedelta(seconds=60),
        5,
    )
    defaults = MessageValidator.from_settings(load_settings(environ={}), FixedClock(RECEIVED))
    assert (defaults.max_age, defaults.max_future, defaults.max_depth) == (timedelta(30), timedelta(1), 32)


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("message.max_age_days", 0, "greater than or equal to 1"),
        ("message.max_future_s", -1, "greater than or equal to 0"),
        ("message.max_depth", 1000, "less than or equal to 128"),
        ("message.max_depth", "deep", "valid integer"),
    ],
)
def test_bad_window_and_depth_settings_stop_with_their_name(setting: str, value: object, expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={}, overrides={setting: value})
    assert setting in str(caught.value)
    assert expected in str(caught.value)


# -- nesting depth is bounded before parsing ---------------------------------------------------------------------


def nested(depth: int, inner: str = "1") -> str:
    """JSON of exactly `depth` levels: alternating arrays and objects around `inner`."""
    text = inner
    for level in range(depth):
        text = f"[{text}]" if level % 2 else f'{{"k":{text}}}'
    return text


@pytest.mark.parametrize("depth", [1, 2, 31, 32, 33, 64, 150])
def test_nesting_is_measured_exactly(depth: int) -> None:
    value = json.loads(nested(depth))
    assert nesting_exceeds([value], 33) is (depth > 32)  # as a field's value: one level below the object


def test_brackets_inside_strings_do_not_nest() -> None:
    text = "表情[微笑]" * 40 + '{"quoted": [[[' + '\\"[[[' * 50 + "\\\\"
    raw = encode(message(text=text, tags=["[" * 100, "{" * 100], nested={"a": [{"b": "]]]]"}]}))
    assert isinstance(MessageValidator(SERVICES, 10_000, 100_000, clock=FixedClock(RECEIVED)).parse(raw), Valid)


def test_a_message_nested_too_deep_is_a_dead_letter_at_intake() -> None:
    validator = MessageValidator(SERVICES, 50, 2_000_000, clock=FixedClock(RECEIVED), max_depth=32)
    ok = encode(message()).replace(b'"kind"', b'"extra":' + nested(31).encode() + b',"kind"', 1)
    assert isinstance(validator.parse(ok), Valid)  # the message object and 31 levels inside it
    deep = encode(message()).replace(b'"kind"', b'"extra":' + nested(32).encode() + b',"kind"', 1)
    result = validator.parse(deep)
    assert isinstance(result, Invalid)
    assert result.reason is DeadLetterReason.TOO_DEEP
    assert "32" in result.detail
    assert result.raw == deep


def test_a_huge_nesting_is_refused_quickly_and_never_raises() -> None:
    validator = MessageValidator(SERVICES, 50, 2_000_000, clock=FixedClock(RECEIVED))
    head = encode(message())[:-1] + b',"extra":'
    cases = [
        b"[" * 1_000_000,  # not even closed
        head + b"[" * 500_000 + b"]" * 500_000 + b"}",
        head + b'{"a":' * 200_000 + b"1" + b"}" * 200_001,
        head + b"[" + b"[[],[[]]]," * 100_000 + b"[]]}",  # wide, shallow: fine
    ]
    reasons = []
    for raw in cases:
        started = time.perf_counter()
        result = validator.parse(raw)
        if raw is not cases[-1]:
            assert time.perf_counter() - started < 0.5  # refused at the parser's first levels past its limit
        reasons.append(result.reason if isinstance(result, Invalid) else None)
    assert reasons == [DeadLetterReason.TOO_DEEP, DeadLetterReason.TOO_DEEP, DeadLetterReason.TOO_DEEP, None]
