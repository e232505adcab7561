"""Violation tags of a decision: the sub-labels of the item's categories (config/categories.yaml) and the free tags
of the setting `review.tags`. An unknown tag is refused with the allowed ones named."""

from __future__ import annotations

from collections.abc import Iterable

from modpipe.errors import TerminalError
from modpipe.settings import Settings
from review.queue import Item

MAX_TAGS = 20


class BadTags(TerminalError, ValueError):
    """Tags a decision may not carry: the request is answered 400 naming the allowed ones."""


def allowed_tags(settings: Settings, item: Item) -> list[str]:
    codes = item.source.get("rule", {}).get("category") or []
    subs = [sub for code in codes if (cat := settings.categories.get(code)) is not None for sub in cat.sub_labels]
    return list(dict.fromkeys([*subs, *settings.review.tags]))


def check_tags(given: Iterable[object], allowed: list[str]) -> tuple[str, ...]:
    tags = tuple(dict.fromkeys(str(tag).strip() for tag in given if str(tag).strip()))
    unknown = [tag for tag in tags if tag not in allowed]
    if unknown:
        raise BadTags(f"tags: unknown {unknown}; allowed for this item: {allowed}")
    if len(tags) > MAX_TAGS:
        raise BadTags(f"tags: at most {MAX_TAGS}")
    return tags
