"""The parts of the item page about decisions that issue 16 added: violation tags to choose and to show, and a
senior's reopen / reverse form with its mandatory reason."""

from __future__ import annotations

from collections.abc import Iterable

from review.desk.i18n import t
from review.desk.render import e, item_url
from review.queue import Item
from review.queue.decisions import DECIDED, in_effect


def tag_choices(allowed: list[str]) -> str:
    if not allowed:
        return ""
    boxes = "".join(
        f'<label class="tag"><input type="checkbox" name="tags" value="{e(tag)}"> {e(tag)}</label>' for tag in allowed
    )
    return f'<fieldset class="tags"><legend>{e(t("Violation tags"))}</legend>{boxes}</fieldset>'


def tags_shown(tags: Iterable[object]) -> str:
    listed = [str(tag) for tag in tags]
    if not listed:
        return ""
    marks = "".join(f'<span class="badge tag">{e(tag)}</span> ' for tag in listed)
    return f'<p class="tags" id="decision-tags">{e(t("Tags"))}: {marks}</p>'


def correction_box(item: Item, csrf: str, allowed: list[str], can_correct: bool) -> str:
    """For a senior, on an item whose decision was carried out: reopen it or reverse it, with a reason."""
    m = item.moderation
    if not can_correct or item.claimed or m.get("status") not in DECIDED:
        return ""
    reverse_to = "overturned" if in_effect(m) == "confirmed" else "confirmed"
    effect = t("restores the item") if reverse_to == "overturned" else t("takes the item down")
    return f"""<section class="correction" id="correction"><h2>{e(t("Correct this decision"))}</h2>
<form method="post" action="{e(item_url(item.id))}/correction" class="correct">
<input type="hidden" name="csrf" value="{e(csrf)}">
<label>{e(t("Reason (required)"))} <textarea name="reason" rows="2" maxlength="2000" required></textarea></label>
{tag_choices(allowed)}
<button type="submit" name="action" value="reopen" class="reopen">{e(t("Reopen for re-review"))}</button>
<button type="submit" name="action" value="reverse" class="reverse">{e(t("Reverse to"))} {e(t(reverse_to))} \
({e(effect)})</button>
</form></section>"""


def decision_parts(item: Item, csrf: str, allowed: list[str], *, can_correct: bool) -> tuple[str, str]:
    """What goes inside the decision box (a reopening's note and the tags to choose on an open item, the tags
    chosen on a decided one) and the correction form after it."""
    m = item.moderation
    if m.get("status") in DECIDED or item.claimed:
        return tags_shown(m.get("tags") or ()), correction_box(item, csrf, allowed, can_correct)
    note = ""
    if m.get("applied_id") and m.get("decided_by"):
        note = (
            f'<p class="reopened" id="reopened">{e(t("Reopened for re-review by"))} <b>{e(m.get("decided_by"))}</b> '
            f"<time>{e(m.get('decided_at'))}</time>: {e(m.get('comment'))}</p>"
        )
    return note + tag_choices(allowed), ""
