"""Hits highlighted at their character spans, with every piece of user text escaped."""

from __future__ import annotations

import re
from html import unescape

from hypothesis import given
from hypothesis import strategies as st

from review.desk.highlight import highlight, pieces


def test_hit_marked_at_its_span_and_markup_in_the_text_escaped() -> None:
    text = "<b>出售枪支</b> & 私聊"
    html = highlight(text, [{"start": 5, "end": 7, "matched": "枪支", "category": "C9", "term": "枪支"}])
    assert html == '&lt;b&gt;出售<mark class="hit cat-C9" title="C9 枪支">枪支</mark>&lt;/b&gt; &amp; 私聊'


def test_overlapping_hits_split_into_pieces_with_both_labels() -> None:
    text = "出售枪支弹药"
    hits = [
        {"start": 2, "end": 4, "category": "C9", "term": "枪支"},
        {"start": 3, "end": 6, "category": "C7", "term": "支弹药"},
    ]
    assert pieces(text, hits) == [
        ("出售", ()),
        ("枪", ("C9 枪支",)),
        ("支", ("C7 支弹药", "C9 枪支")),
        ("弹药", ("C7 支弹药",)),
    ]


def test_spans_that_do_not_fit_the_text_are_not_marked() -> None:
    text = "今天天气很好"
    hits = [
        {"start": 4, "end": 99, "category": "C6"},  # past the end
        {"start": 3, "end": 3, "category": "C6"},  # empty
        {"start": 0, "end": 2, "matched": "明天", "category": "C6"},  # claims other characters
        {"start": "x", "end": 2},
    ]
    assert highlight(text, hits) == text


def test_emoji_and_astral_characters_count_as_one_position() -> None:
    text = "😀😀买枪"
    assert highlight(text, [{"start": 3, "end": 4, "matched": "枪", "category": "C9"}]).endswith(
        '买<mark class="hit cat-C9" title="C9">枪</mark>'
    )


def test_an_attribute_cannot_be_broken_out_of() -> None:
    html = highlight("ab", [{"start": 0, "end": 1, "category": 'C9" onmouseover="x', "term": "<i>"}])
    assert 'onmouseover="x' not in html
    assert "<i>" not in html


@given(
    st.text(alphabet=st.sampled_from("ab<>&\"'枪支😀 \n"), max_size=30),
    st.lists(st.tuples(st.integers(0, 35), st.integers(0, 35), st.sampled_from(["C7", "C9"])), max_size=5),
)
def test_removing_the_marks_gives_back_the_text(text: str, spans: list[tuple[int, int, str]]) -> None:
    hits = [{"start": s, "end": e, "category": c} for s, e, c in spans]
    html = highlight(text, hits)
    assert unescape(re.sub(r"</?mark[^>]*>", "", html)) == text
    assert "<" not in re.sub(r"</?mark[^>]*>", "", html)
