"""How stored values appear on the review page: escaped, times in the configured zone with their offset, stored
words (statuses, actions, outcomes) and category codes in the page's language (review.desk.i18n)."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from review.desk.i18n import N_, local_time, name_of, t


def e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def when(value: object) -> str:
    """A time as a <time> element: shown in the configured zone with its offset, the stored value kept for
    machines in `datetime`; a value that is not a time is shown as it is."""
    shown = local_time(value)
    if shown is None:
        return f"<time>{e(value)}</time>"
    return f'<time datetime="{e(value)}">{e(shown)}</time>'


# Stored values shown on the page (statuses, actions, message kinds): marked for the catalogue, shown by word().
WORDS = frozenset(
    {N_("pending"), N_("reported"), N_("claimed"), N_("confirmed"), N_("overturned"), N_("all"), N_("review"),
     N_("block"), N_("pass"), N_("post"), N_("comment"), N_("group_message")}
)  # fmt: skip


def word(value: object) -> str:
    text = "" if value is None else str(value)
    return t(text) if text in WORDS else text


def categories(codes: Iterable[object]) -> str:
    """Categories by name in the page's language (Chinese name or English id), the code as a tooltip."""
    return " ".join(f'<span class="cat" title="{e(c)}">{e(name_of(str(c)))}</span>' for c in codes)


def te(message: str, /, **markup: str) -> str:
    """t() for a message whose fields are HTML already (a link, a <time>): the translation is escaped, then the
    fields are put in, so neither a catalogue nor a stored value can inject markup."""
    return e(t(message)).format(**markup)
