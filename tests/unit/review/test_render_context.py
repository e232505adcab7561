"""The context around an item as HTML: every text escaped, a queued neighbour's hits highlighted, a parent that was
found nowhere said so."""

from __future__ import annotations

from review.desk.context import Context, Neighbour
from review.desk.render_context import context_section


def test_context_is_escaped_highlighted_and_says_where_the_parent_came_from() -> None:
    hit = {"term": "枪支", "category": "C9", "start": 2, "end": 4, "matched": "枪支"}
    queued = Neighbour("q1", "出售枪支", "2026-11-23T08:00:00+00:00", "a1", "review", status="pending", queued=True,
                       hits=(hit,))  # fmt: skip
    passed = Neighbour("p1", "<script>alert(1)</script>", "2026-11-23T07:50:00+00:00", "a2", "pass")
    html = context_section(
        Context(parent_id="p1", parent=passed, siblings=[queued], group_id="g1", before=[queued], author=[passed]),
        "m1", "<b>me</b>",
    )  # fmt: skip
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;b&gt;me&lt;/b&gt;" in html
    assert '<mark class="hit cat-C9"' in html
    assert 'href="/items/q1"' in html
    assert "from the records" in html
    missing = context_section(Context(parent_id="gone"), "m1", "")
    assert "not found in the records searched" in missing
