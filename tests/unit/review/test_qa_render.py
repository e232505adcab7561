"""The QA pages (review.desk.render_qa): blind items, escaped values, and the dashboard's figures."""

from __future__ import annotations

from modpipe.settings import Action, load_settings
from review.desk.render_qa import dashboard_page, qa_page
from review.queue.qa import Stratum, qa_document
from review.queue.qa_store import QaItem
from tests.unit.review.factory import make_verdict

SETTINGS = load_settings(environ={})


def test_the_item_is_shown_blind_and_escaped() -> None:
    verdict = make_verdict("m<1>", "<script>x</script>出售枪支", action=Action.BLOCK, flagged=("C9",))
    doc = qa_document(verdict, SETTINGS.review.qa_sample)
    page = qa_page(SETTINGS, QaItem(verdict.verdict_id, {**doc, "status": "open"}), 7, "alice", "tok")
    assert "&lt;script&gt;x&lt;/script&gt;出售枪支" in page
    assert "<script>x" not in page
    assert "block" not in page.lower().replace("blocks", "")  # neither the action ...
    assert "0.9" not in page  # ... nor the scores
    assert 'name="label" value="none"' in page
    for code in SETTINGS.categories:
        assert f'name="label" value="{code}"' in page
    assert 'id="qa-open">Open QA items: 7<' in page


def test_nothing_to_judge() -> None:
    assert "Nothing to judge" in qa_page(SETTINGS, None, 0, "alice", "tok")


def test_the_dashboard_shows_each_estimate_with_its_interval_and_counts() -> None:
    strata = [
        Stratum("block", "C7", 0.05, 60, 50, 5, {"none": 5}),
        Stratum("pass", "C7", 0.01, 40, 0, 0, {}),
        Stratum("pass", "C9", 0.01, 30, 30, 2, {"C9": 1, "C6": 1}),
    ]
    page = dashboard_page(SETTINGS, strata, 30, "", ["m1", "m2"], "sen", "tok")
    c7 = page.split('data-category="C7"')[1].split("</tr>")[0]
    assert "90.0%" in c7
    assert "[78.6% – 95.7%]" in c7
    assert "45 of 50 answered · 60 drawn · share 5.0%" in c7
    assert "none×5" in c7
    assert "no answer yet" in c7  # C7's passes: drawn, none answered
    c9 = page.split('data-category="C9"')[1].split("</tr>")[0]
    assert "6.7%" in c9
    assert "C6×1, C9×1" in c9
    assert "no sample" in c9  # no C9 block drawn
    assert 'id="qa-answered">Answers in the window: 80<' in page
    assert '<option value="m2">m2</option>' in page
