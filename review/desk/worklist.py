"""The dense queue list, the work-mode and bulk bars and the shortcuts overlay (server-rendered HTML; every value from
a document passes through `e()`; every word through `t()`).

One line per item, so a 1080p screen shows 30 and more: when it is due, the action, the top score, the categories,
the text around its first lexicon hit with the hits marked (review.desk.highlight), who has it in hand, the status.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from review.desk.highlight import highlight
from review.desk.i18n import N_, local_time, name_of, t
from review.desk.shown import categories, e, word
from review.queue import Item
from review.queue.claims import live_hold

WINDOW = 60  # characters of text shown around the first hit
LEAD = 12  # of which before it

SHORTCUTS = [
    ("j / ↓", N_("next row")),
    ("k / ↑", N_("previous row")),
    ("Enter / o", N_("open the row")),
    ("Space", N_("select the row for a bulk decision")),
    ("w", N_("work the queue: claim and open the next item")),
    ("c", N_("confirm the item")),
    ("x", N_("overturn the item")),
    ("s", N_("skip (release the claim, next item)")),
    ("g", N_("go to the context")),
    ("?", N_("this help")),
]
HEADINGS = (
    N_("Due"), N_("Action"), N_("Score"), N_("Categories"), N_("Service"), N_("Author"), N_("Text"),
    N_("Claimed by"), N_("Status"),
)  # fmt: skip


def evidence(text: str, hits: list[dict[str, Any]]) -> str:
    """The text around its first hit, the hits in that window marked; the whole text when it is short."""
    spans = sorted(int(h["start"]) for h in hits if isinstance(h.get("start"), int))
    start = max(0, spans[0] - LEAD) if spans and len(text) > WINDOW else 0
    end = min(len(text), start + WINDOW)
    shifted = [{**h, "start": int(h["start"]) - start, "end": int(h["end"]) - start} for h in hits if _int_span(h)]
    inside = [h for h in shifted if h["start"] >= 0 and h["end"] <= end - start]
    body = highlight(text[start:end], inside)
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def _int_span(hit: Mapping[str, Any]) -> bool:
    return isinstance(hit.get("start"), int) and isinstance(hit.get("end"), int)


def _short_time(value: object) -> str:
    """The minute in the page's zone, with its offset (`2026-11-23 16:00 +08:00`): the list has no room for seconds."""
    return local_time(value, "minutes") or str(value or "")


def rows(items: list[tuple[Item, str, bool]], now: datetime | None, user: str, can_decide: bool) -> str:
    """The table of the queue; `items` with their status as the page names it and whether their reports are
    overdue."""
    if not items:
        return f'<p class="empty">{e(t("Nothing here: no item matches these filters."))}</p>'
    out = []
    for item, status, late in items:
        src = item.source
        m = item.moderation
        hold = live_hold(item, now) if now is not None else None
        holder = ""
        if hold is not None:
            mine = " mine" if hold.holder == user else ""
            holder = (
                f'<span class="holder{mine}" title="{e(t("claimed until"))} {e(hold.until.isoformat())}">'
                f"{e(hold.holder)}</span>"
            )
        decided = " " + e(t("by {user}", user=m.get("decided_by"))) if m.get("decided_by") else ""
        if late:
            decided += f' <b class="overdue">{e(t("overdue"))}</b>'
        check = (
            f'<td class="pick"><input type="checkbox" name="ids" value="{e(item.id)}" form="bulk" '
            f'aria-label="{e(t("select"))}"></td>'
            if can_decide
            else ""
        )
        score = float(m.get("score") or 0)
        author = src.get("user", {}).get("id", "")
        out.append(
            f'<tr data-id="{e(item.id)}" data-href="{e("/items/" + quote(item.id, safe=""))}">{check}'
            f'<td class="due"><time datetime="{e(m.get("due_at"))}">{e(_short_time(m.get("due_at")))}</time></td>'
            f'<td><span class="badge action-{e(src.get("event", {}).get("action"))}">'
            f"{e(word(src.get('event', {}).get('action')))}</span></td>"
            f'<td class="score">{score:.2f}</td>'
            f'<td class="cats">{categories(src.get("rule", {}).get("category") or [])}</td>'
            f'<td class="svc">{e(name_of(str(src.get("service", {}).get("type"))))}</td>'
            f'<td class="author"><a href="/?{e(urlencode({"author": author, "status": "all"}))}">'
            f"{e(src.get('user', {}).get('id'))}</a></td>"
            f'<td class="text"><a href="{e("/items/" + quote(item.id, safe=""))}">'
            f"{evidence(str(src.get('message', '')), m.get('hits') or [])}</a></td>"
            f'<td class="who">{holder}</td>'
            f'<td><span class="badge status-{e(status)}">{e(word(status))}</span>{decided}</td></tr>'
        )
    head = "".join(f"<th>{e(t(h))}</th>" for h in HEADINGS)
    pick = f'<th class="pick"><input type="checkbox" id="pick-page" aria-label="{e(t("select the page"))}"></th>'
    return (
        f'<table class="queue dense"><thead><tr>{pick if can_decide else ""}{head}</tr></thead>'
        f"<tbody>{''.join(out)}</tbody></table>"
    )


def work_bar(query: Mapping[str, str], csrf: str, can_decide: bool, assigned: str = "") -> str:
    """Work mode and the bulk decision bar above the list."""
    if not can_decide:
        return ""
    filters = urlencode({k: v for k, v in query.items() if k not in ("offset", "cursor", "worked")})
    queue = ""
    if assigned:
        queue = f' <span class="assigned" id="assigned">{e(t("Your assigned queue:"))} {e(assigned)}</span>'
    return f"""<div class="bars"><form method="post" action="/work" class="work" id="work">
<input type="hidden" name="csrf" value="{e(csrf)}"><input type="hidden" name="filters" value="{e(filters)}">
<button type="submit" class="work" id="work-start">{e(t("Work the queue"))} (w)</button>{queue}</form>
<form method="post" action="/bulk" class="bulk" id="bulk"><input type="hidden" name="csrf" value="{e(csrf)}">
<input type="hidden" name="filters" value="{e(filters)}">
<span id="picked">0</span> {e(t("selected"))}
<button type="button" id="pick-all">{e(t("Select all matching"))}</button>
<input name="comment" id="bulk-reason" required maxlength="2000" placeholder="{e(t("Reason (required)"))}">
<button type="submit" name="outcome" value="confirmed" class="confirm">{e(t("Confirm selected"))}</button>
<button type="submit" name="outcome" value="overturned" class="overturn">{e(t("Overturn selected"))}</button>
<span id="bulk-result" role="status" data-empty="{e(t("Select items and give a reason."))}"></span></form></div>"""


def item_bar(message_id: str, csrf: str, work: str, hold_note: str, renew_s: int = 0) -> str:
    """On the item page: who has it in hand and, in work mode, the skip button. `renew_s` > 0: the page holds the
    claim and renews it that often while it is open (review.js)."""
    renew = ""
    if renew_s > 0:
        url = "/api/items/" + quote(message_id, safe="") + "/claim"
        renew = f' data-renew="{e(url)}" data-every="{renew_s * 1000}"'
    note = f'<p class="holder-note" id="claim"{renew}>{e(hold_note)}</p>' if hold_note else ""
    if not work:
        return note
    return (
        f'{note}<form method="post" action="/items/{e(quote(message_id, safe=""))}/skip" class="skip" id="skip">'
        f'<input type="hidden" name="csrf" value="{e(csrf)}"><input type="hidden" name="work" value="{e(work)}">'
        f'<span class="working">{e(t("Work mode"))}</span> '
        f'<button type="submit">{e(t("Skip"))} (s)</button> <a href="/?{e(work)}">{e(t("Stop working"))}</a></form>'
    )


def help_overlay() -> str:
    rows_ = "".join(f"<tr><th><kbd>{e(k)}</kbd></th><td>{e(t(what))}</td></tr>" for k, what in SHORTCUTS)
    return (
        f'<div class="help" id="shortcuts" hidden role="dialog" aria-label="{e(t("Keyboard shortcuts"))}">'
        f"<h2>{e(t('Keyboard shortcuts'))}</h2><table>{rows_}</table><p>{e(t('Esc or ? closes this.'))}</p></div>"
    )
