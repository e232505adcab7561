"""The corpus stays honest: enough messages of every category and sub-label, written rather than templated."""

from __future__ import annotations

from collections import Counter

import pytest

from classifiers.corpus import SERVICE_KINDS, CorpusRow, load_corpus, split_of
from classifiers.corpus.check import PLACEHOLDER, count_problems, near_duplicates


@pytest.fixture(scope="module")
def rows() -> list[CorpusRow]:
    return load_corpus()


def test_every_category_and_sub_label_has_its_minimum(rows: list[CorpusRow]) -> None:
    assert count_problems(rows) == []


def test_no_two_texts_are_near_duplicates(rows: list[CorpusRow]) -> None:
    pairs = near_duplicates([r.text for r in rows])
    assert [(rows[p.a].text, rows[p.b].text, p.jaccard) for p in pairs[:5]] == []


def test_near_duplicates_are_found_across_files_and_spacing() -> None:
    texts = ["加微信看片，新人首充送一百", "加 微信 看片，新人首充送一百！", "今天的雨下得真大，记得带伞"]
    assert [(p.a, p.b) for p in near_duplicates(texts)] == [(0, 1)]


def test_no_template_placeholders_are_left(rows: list[CorpusRow]) -> None:
    assert [r.text for r in rows if PLACEHOLDER.search(r.text)] == []
    assert PLACEHOLDER.search("联系{name}领取")
    assert PLACEHOLDER.search("加微信 <PHONE>")


def test_lengths_and_platform_spread(rows: list[CorpusRow]) -> None:
    assert all(4 <= len(r.text) <= 300 for r in rows)
    assert {(r.service_type, r.kind) for r in rows} == {(s, k) for s, ks in SERVICE_KINDS.items() for k in ks}
    violating = Counter(r.service_type for r in rows if r.labels)
    assert min(violating.values()) >= 0.1 * sum(violating.values()), violating


def test_the_split_is_a_stable_fifth_by_text(rows: list[CorpusRow]) -> None:
    assert split_of("加微信看片") == split_of("加微信看片")
    dev = sum(1 for r in rows if r.split == "dev") / len(rows)
    assert 0.17 < dev < 0.23
    codes = {code for r in rows for code in r.labels}
    assert all(any(r.split == "dev" and code in r.labels for r in rows) for code in codes)
