"""Quality sampling, the pure part (review.queue.qa): the draw, the strata, the answers, the Wilson interval."""

from __future__ import annotations

import math

import pytest

from modpipe.settings import Action, SettingsError, load_settings
from modpipe.settings.qa import QaSampling
from review.queue.qa import (
    CORRECT,
    NO_VIOLATION,
    WRONG,
    draw,
    is_sampled,
    judged,
    qa_document,
    sample_share,
    strata,
    stratum_category,
    wilson,
)
from tests.unit.review.factory import make_verdict


def test_the_draw_is_fixed_by_the_message_id_and_spread_evenly() -> None:
    assert draw("m-1") == draw("m-1")
    values = [draw(f"m-{i}") for i in range(20_000)]
    assert all(0 <= v < 1 for v in values)
    assert abs(sum(values) / len(values) - 0.5) < 0.01
    share = sum(v < 0.05 for v in values) / len(values)
    assert abs(share - 0.05) < 0.005  # about 5 sigma of a binomial of 20,000 at 5%


def test_a_stratum_is_the_action_and_the_machines_category() -> None:
    block = make_verdict("b", action=Action.BLOCK, flagged=("C7", "C9"), scores={"C7": 0.8, "C9": 0.95, "C4": 0.99})
    assert stratum_category(block) == "C9"  # the highest-scoring flagged category, not C4 (not flagged)
    lexicon_block = make_verdict("l", action=Action.BLOCK, flagged=(), scores={"C7": 0.2, "C8": 0.3})
    assert stratum_category(lexicon_block) == "C8"
    passed = make_verdict("p", action=Action.PASS, flagged=(), scores={"C6": 0.1, "C7": 0.4})
    assert stratum_category(passed) == "C7"
    assert stratum_category(make_verdict("n", action=Action.PASS, flagged=(), scores={})) == NO_VIOLATION


def test_shares_per_action_and_category_and_what_is_never_drawn() -> None:
    sampling = QaSampling.model_validate({"pass": 0.01, "block": 0.05, "categories": {"C7": {"block": 0.5}}})
    c7 = make_verdict("b", action=Action.BLOCK, flagged=("C7",))
    c9 = make_verdict("b", action=Action.BLOCK, flagged=("C9",))
    passed = make_verdict("p", action=Action.PASS, flagged=(), scores={"C7": 0.3})
    assert sample_share(c7, sampling) == 0.5
    assert sample_share(c9, sampling) == 0.05
    assert sample_share(passed, sampling) == 0.01  # C7's pass share is the default one
    assert sample_share(make_verdict("r", action=Action.REVIEW), sampling) == 0.0
    assert sample_share(c7.model_copy(update={"gate": "author_blacklisted"}), sampling) == 0.0
    assert sample_share(c7.model_copy(update={"decided_by": "alice"}), sampling) == 0.0


def test_a_larger_share_keeps_every_earlier_draw() -> None:
    small, large = QaSampling(block=0.1), QaSampling(block=0.3)
    verdicts = [make_verdict(f"m{i}", action=Action.BLOCK) for i in range(2000)]
    drawn_small = {v.message_id for v in verdicts if is_sampled(v, small)}
    drawn_large = {v.message_id for v in verdicts if is_sampled(v, large)}
    assert drawn_small < drawn_large
    assert 150 < len(drawn_small) < 250
    assert 500 < len(drawn_large) < 700


def test_the_document_holds_what_a_moderator_judges_and_no_personal_data() -> None:
    doc = qa_document(make_verdict("m1", action=Action.BLOCK), QaSampling())
    assert doc["action"] == "block"
    assert doc["category"] == "C9"
    assert doc["share"] == 0.05
    assert doc["text"] == "出售枪支弹药，私聊价格"
    assert "author" not in str(doc)
    assert "203.0.113.7" not in str(doc)


def test_an_answer_is_a_label_and_says_whether_the_machine_was_right() -> None:
    assert judged("block", "C9") == CORRECT
    assert judged("block", "C7") == CORRECT  # the takedown was right, whatever the category
    assert judged("block", NO_VIOLATION) == WRONG
    assert judged("pass", NO_VIOLATION) == CORRECT
    assert judged("pass", "C6") == WRONG


def test_wilson_interval() -> None:
    est = wilson(45, 50)
    assert est.point == 0.9
    # Textbook value for 45 of 50 at 95%: [0.7864, 0.9565].
    assert est.low is not None
    assert est.high is not None
    assert math.isclose(est.low, 0.7864, abs_tol=1e-4)
    assert math.isclose(est.high, 0.9565, abs_tol=1e-4)
    none = wilson(0, 20)
    assert none.point == 0
    assert none.low == 0
    assert none.high is not None
    assert 0.15 < none.high < 0.17
    assert wilson(20, 20).high == 1.0
    empty = wilson(0, 0)
    assert empty.point is None
    assert empty.low is None


def test_strata_give_precision_for_blocks_and_miss_rate_for_passes() -> None:
    counts = {
        ("block", "C7"): {"sampled": 12, "answered": 10, "wrong": 2, "labels": {"none": 2}},
        ("pass", "C7"): {"sampled": 40, "answered": 40, "wrong": 1, "labels": {"C7": 1}},
    }
    block, passed = strata(counts, QaSampling())
    assert (block.action, block.estimate.hits, block.estimate.n) == ("block", 8, 10)
    assert (passed.action, passed.estimate.hits, passed.estimate.n) == ("pass", 1, 40)
    assert block.share == 0.05
    assert passed.share == 0.01


def test_per_category_shares_are_checked_on_load() -> None:
    settings = load_settings(environ={"MODPIPE__REVIEW__QA_SAMPLE__CATEGORIES__C7__BLOCK": "0.5"})
    assert settings.review.qa_sample.share("block", "C7") == 0.5
    assert settings.review.qa_sample.share("block", "C8") == 0.05
    with pytest.raises(SettingsError, match=r"review\.qa_sample\.categories\.C99.*a category code"):
        load_settings(environ={}, overrides={"review.qa_sample.categories": {"C99": {"pass": 0.1}}})
    with pytest.raises(SettingsError, match=r"review\.qa_sample\.pass"):
        load_settings(environ={}, overrides={"review.qa_sample.pass": 1.5})
