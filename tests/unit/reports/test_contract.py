"""ReportValidator: every bad report gets a dead-letter reason and keeps its bytes; a good one keeps every field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modpipe.contracts import DeadLetterReason, Invalid
from modpipe.settings import Settings
from reports import Report, ReportValidator, ValidReport
from tests.unit.reports.factory import report_fields

pytestmark = pytest.mark.obligation("L7")


@pytest.fixture(scope="module")
def validator(app_settings: Settings) -> ReportValidator:
    return ReportValidator.for_settings(app_settings)


def encode(**changes: Any) -> bytes:
    return json.dumps(report_fields(**changes), ensure_ascii=False).encode()


def test_a_good_report_keeps_every_field(validator: ReportValidator) -> None:
    raw = encode(reason="C7", sub_label="terror", detail="煽动暴恐", extra_field={"kept": True})
    result = validator.parse(raw)
    assert isinstance(result, ValidReport), result
    assert result.raw == raw
    assert result.report.reason_key == "C7.terror"
    assert result.report.detail == "煽动暴恐"
    assert result.report.model_dump(mode="json")["extra_field"] == {"kept": True}


@pytest.mark.parametrize("reason", ["C1", "C9", "other"])
def test_every_category_code_and_other_is_a_reason(validator: ReportValidator, reason: str) -> None:
    assert isinstance(validator.parse(encode(reason=reason)), ValidReport)


@pytest.mark.parametrize(
    ("raw", "reason", "detail"),
    [
        (b"\xff\xfe", DeadLetterReason.NOT_UTF8, "UTF-8"),
        (b"{not json", DeadLetterReason.NOT_JSON, ""),
        (b"[1, 2]", DeadLetterReason.NOT_OBJECT, "not an object"),
        (encode(reporter_id=..., platform=...), DeadLetterReason.MISSING_FIELD, "missing: platform, reporter_id"),
        (encode(reported_at="2026-11-23T08:00:00"), DeadLetterReason.BAD_TIMESTAMP, "reported_at"),
        (encode(reported_at="yesterday"), DeadLetterReason.BAD_TIMESTAMP, "RFC 3339"),
        (encode(reporter_created_at="2026-11-01"), DeadLetterReason.BAD_TIMESTAMP, "reporter_created_at"),
        (encode(reporter_id=42), DeadLetterReason.WRONG_TYPE, "reporter_id"),
        (encode(report_id=""), DeadLetterReason.BAD_VALUE, "report_id"),
        (encode(service_type="radio"), DeadLetterReason.UNKNOWN_SERVICE_TYPE, "'radio' is not one of: bbs"),
        (encode(reason="C12"), DeadLetterReason.BAD_VALUE, "reason 'C12' is not one of: C1, C2"),
        (encode(reason="spam"), DeadLetterReason.BAD_VALUE, "C9, other"),
        (encode(reason="C7", sub_label="fraud"), DeadLetterReason.BAD_VALUE, "sub_label 'fraud' of C7"),
        (encode(reason="C8", sub_label="terror"), DeadLetterReason.BAD_VALUE, "not one of: none"),
        (encode(detail="x" * 2001), DeadLetterReason.TEXT_TOO_LONG, "2001 characters > 2000"),
        (encode(detail="x" * 70_000), DeadLetterReason.TOO_LARGE, "> 65536"),
    ],
)
def test_dead_letter_reasons_keep_the_bytes(
    validator: ReportValidator, raw: bytes, reason: DeadLetterReason, detail: str
) -> None:
    result = validator.parse(raw)
    assert isinstance(result, Invalid), result
    assert result.reason is reason
    assert detail in result.detail
    assert result.raw == raw


def test_the_reason_key_is_the_reason_without_a_sub_label() -> None:
    report = Report.model_validate(report_fields(reason="other"), strict=False)
    assert report.reason_key == "other"
