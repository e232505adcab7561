"""Violation tags: the item's categories' sub-labels and the free tags of review.tags; nothing else."""

from __future__ import annotations

import pytest

from modpipe.settings import load_settings
from review.desk.tags import BadTags, allowed_tags, check_tags
from review.queue import Item
from tests.support import REPO


def test_a_decision_may_carry_its_categories_sub_labels_and_the_free_tags_only() -> None:
    settings = load_settings(REPO / "config", environ={})
    item = Item("m1", {"rule": {"category": ["C9"]}})
    allowed = allowed_tags(settings, item)
    assert allowed[: len(settings.categories["C9"].sub_labels)] == list(settings.categories["C9"].sub_labels)
    assert set(settings.review.tags) <= set(allowed)
    assert check_tags([" weapons", "weapons", "repeat_offender", ""], allowed) == ("weapons", "repeat_offender")
    with pytest.raises(BadTags, match="gambling") as info:  # a C7 sub-label is no tag of a C9 item
        check_tags(["gambling"], allowed)
    assert "weapons" in str(info.value)  # the allowed ones are named
