"""Query parameters of the queue page and API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from review.desk.filters import BadFilter, parse_filter

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_defaults_are_the_unclaimed_pending_queue_review_items_first() -> None:
    flt = parse_filter({}, NOW)
    assert (flt.status, flt.sort, flt.offset, flt.size) == ("pending", "default", 0, 50)
    assert flt.query()["bool"]["must_not"] == [{"exists": {"field": "moderation.decision_id"}}]


def test_sorts_and_the_old_order_parameter() -> None:
    assert parse_filter({"sort": "score"}, NOW).sort == "score"
    assert parse_filter({"sort": "due"}, NOW).sort == "due"
    assert parse_filter({"order": "oldest"}, NOW).sort == "oldest"
    assert parse_filter({"order": "newest"}, NOW).sort == "newest"
    assert parse_filter({"order": "newest", "sort": "score"}, NOW).sort == "score"


def test_filters_become_term_and_range_clauses() -> None:
    flt = parse_filter(
        {
            "status": "confirmed",
            "category": "C7",
            "service_type": "group",
            "period": "24h",
            "until": "2026-11-23T10:00",
        },
        NOW,
    )
    clauses = flt.query()["bool"]["filter"]
    assert {"term": {"moderation.status": "confirmed"}} in clauses
    assert {"term": {"rule.category": "C7"}} in clauses
    assert {"term": {"service.type": "group"}} in clauses
    assert {"range": {"@timestamp": {"gte": (NOW - timedelta(hours=24)).isoformat(),
                                     "lt": "2026-11-23T10:00:00+00:00"}}} in clauses  # fmt: skip


def test_times_with_an_offset_keep_it() -> None:
    assert parse_filter({"since": "2026-11-23T16:00+08:00"}, NOW).since == datetime(2026, 11, 23, 8, tzinfo=UTC)


def test_all_statuses_has_no_status_clause_and_text_searches_phrases() -> None:
    query = parse_filter({"status": "all", "q": " 枪 "}, NOW).query()["bool"]
    assert query["filter"] == []
    assert {"match_phrase": {"message.chars": "枪"}} in query["must"][0]["bool"]["should"]


@pytest.mark.parametrize(
    "query",
    [{"status": "deleted"}, {"period": "1y"}, {"since": "yesterday"}, {"offset": "x"}, {"order": "random"},
     {"action": "pass"}, {"sort": "random"}],
)  # fmt: skip
def test_bad_values_are_refused_with_the_parameter_named(query: dict[str, str]) -> None:
    with pytest.raises(BadFilter, match=next(iter(query))):
        parse_filter(query, NOW)
