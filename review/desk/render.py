"""Server-rendered HTML of the review page. Every value from a document passes through `e()` (html.escape)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from modpipe.settings import Settings
from retention.dates import parse_time
from review.desk import shown, worklist
from review.desk.filters import PERIODS, STATUSES
from review.desk.highlight import highlight
from review.desk.i18n import N_, language, name_of, t, zone_label
from review.desk.shown import categories, te, when, word
from review.queue import Item, Page, QueueFilter
from review.queue.queue import OPEN

e = shown.e  # render.e: how the route modules escape what they put in a page


def item_url(message_id: str) -> str:
    return "/items/" + quote(message_id, safe="")


def layout(title: str, body: str, user: str | None = None, csrf: str = "") -> str:
    account = ""
    if user:
        account = (
            f'<form method="post" action="/logout" class="account"><span>{e(t("Signed in as"))} <b>{e(user)}</b></span>'
            f'<input type="hidden" name="csrf" value="{e(csrf)}"><button type="submit">{e(t("Sign out"))}</button>'
            "</form>"
        )
    brand = e(t("modpipe review"))
    return f"""<!doctype html>
<html lang="{e(language())}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} · {brand}</title><link rel="stylesheet" href="/static/review.css">
<script src="/static/review.js" defer></script></head>
<body><header><a class="brand" href="/">{brand}</a>{account}</header><main>{body}</main></body></html>"""


def login_page(csrf: str, error: str = "", name: str = "") -> str:
    msg = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    body = f"""<section class="login"><h1>{e(t("Sign in"))}</h1>{msg}
<form method="post" action="/login"><input type="hidden" name="csrf" value="{e(csrf)}">
<label>{e(t("Account"))} <input name="username" autocomplete="username" required value="{e(name)}"></label>
<label>{e(t("Password"))} <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">{e(t("Sign in"))}</button></form></section>"""
    return layout(t("Sign in"), body)


def _options(values: Iterable[tuple[str, str]], chosen: str) -> str:
    return "".join(
        f'<option value="{e(v)}"{" selected" if v == chosen else ""}>{e(label)}</option>' for v, label in values
    )


def _filter_form(settings: Settings, flt: QueueFilter, query: Mapping[str, str]) -> str:
    cats = [("", t("all categories"))] + [(c.code, f"{c.code} {name_of(c.code)}") for c in settings.categories.values()]
    svcs = [("", t("all services"))] + [(s.name, name_of(s.name)) for s in settings.services.values()]
    periods = [("", t("any time"))] + [(p, t("last {period}", period=p)) for p in PERIODS]
    zone = e(zone_label())
    return f"""<form method="get" action="/" class="filters" id="filters">
<label>{e(t("Status"))} <select name="status">{_options(((s, word(s)) for s in STATUSES), flt.status)}</select></label>
<label>{e(t("Category"))} <select name="category">{_options(cats, flt.category)}</select></label>
<label>{e(t("Service"))} <select name="service_type">{_options(svcs, flt.service_type)}</select></label>
<label>{e(t("Action"))} <select name="action">{
        _options([("", t("review + block")), ("review", word("review")), ("block", word("block"))], flt.action)
    }</select></label>
<label>{e(t("Period"))} <select name="period">{_options(periods, query.get("period", ""))}</select></label>
<label>{e(t("From"))} ({zone}) <input type="datetime-local" name="since" value="{e(query.get("since", ""))}"></label>
<label>{e(t("Until"))} ({zone}) <input type="datetime-local" name="until" value="{e(query.get("until", ""))}"></label>
<label>{e(t("Author"))} <input name="author" value="{e(flt.author)}" size="12"></label>
<label>{e(t("Text"))} <input name="q" type="search" value="{e(flt.text)}" size="14"></label>
<label>{e(t("Sort"))} <select name="sort">{_options(((k, t(v)) for k, v in SORT_LABELS), flt.sort)}</select></label>
<button type="submit">{e(t("Filter"))}</button></form>"""


SORT_LABELS = [
    ("default", N_("review first, then blocks, by due time")),
    ("due", N_("due time")),
    ("score", N_("highest score")),
    ("oldest", N_("oldest first")),
    ("newest", N_("newest first")),
    ("reports_due", N_("reports due first")),
    ("priority", N_("report priority")),
]


def _badge(kind: str, value: object) -> str:
    return f'<span class="badge {e(kind)}-{e(value)}">{e(word(value))}</span>'


def status_of(item: Item) -> str:
    m = item.moderation
    status = str(m.get("status") or "pending")
    return "claimed" if status in OPEN and item.claimed else status


def _excerpt(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def queue_page(
    settings: Settings,
    page: Page,
    flt: QueueFilter,
    query: Mapping[str, str],
    user: str,
    csrf: str,
    now: datetime | None = None,
    *,
    can_decide: bool = True,
    assigned: str = "",
) -> str:
    listed = [(item, status_of(item), overdue(item.moderation, now)) for item in page.items]
    table = worklist.rows(listed, now, user, can_decide)
    done = ""
    if query.get("worked"):
        done = f'<p class="notice" id="worked">{e(t("Nothing left to work in this queue."))}</p>'

    counts = " · ".join(f"{e(word(k))}: {v}" for k, v in sorted(page.counts.items()))
    body = (
        f"<h1>{e(t('Moderation queue'))}</h1>{done}{_filter_form(settings, flt, query)}"
        f"{worklist.work_bar(query, csrf, can_decide, assigned)}"
        f'<p class="summary">{_shown(page)} · {e(t("by status:"))} {counts or e(t("none"))}</p>'
        f"{table}{_pages(page, flt, query)}{worklist.help_overlay()}"
    )
    return layout(t("Queue"), body, user, csrf)


def _shown(page: Page) -> str:
    first, last = page.position + 1, page.position + len(page.items)
    if not page.items:
        return te("{total} matching", total=f'<span id="total">{page.total}</span>')
    return te(
        "items {first}–{last} of {total} matching",
        first=f'<span id="first">{first}</span>', last=f'<span id="last">{last}</span>',
        total=f'<span id="total">{page.total}</span>',
    )  # fmt: skip


def _pages(page: Page, flt: QueueFilter, query: Mapping[str, str]) -> str:
    """First, previous, next and last page. Next follows the cursor (search_after in the page's snapshot); the
    others are offsets, which the store reaches at any depth."""
    base = {k: v for k, v in query.items() if k not in ("offset", "cursor")}
    links = []
    if page.position > 0:
        links.append(f'<a href="/?{e(urlencode(base))}" rel="first">« {e(t("first"))}</a>')
        previous = {**base, "offset": max(0, page.position - flt.size)}
        links.append(f'<a href="/?{e(urlencode(previous))}" rel="prev" id="prev">← {e(t("previous"))}</a>')
    if page.next_cursor:
        links.append(
            f'<a href="/?{e(urlencode({**base, "cursor": page.next_cursor}))}" rel="next" id="next">'
            f"{e(t('next'))} →</a>"
        )
        last = {**base, "offset": (page.total - 1) // flt.size * flt.size}
        links.append(f'<a href="/?{e(urlencode(last))}" rel="last" id="last-page">{e(t("last"))} »</a>')
    return f'<nav class="pages">{" ".join(links)}</nav>'


def _scores(settings: Settings, scores: Mapping[str, Any], flagged: list[str]) -> str:
    rows = []
    for code, score in sorted(scores.items(), key=lambda kv: -float(kv[1] or 0)):
        cat = settings.categories.get(code)
        name = name_of(code) if cat else ""
        mark = " flagged" if code in flagged else ""
        value = float(score or 0)
        rows.append(
            f'<tr class="score{mark}"><th>{e(code)}</th><td>{e(name)}</td>'
            f'<td><meter min="0" max="1" value="{value:.3f}"></meter> {value:.2f}</td></tr>'
        )
    return '<table class="scores">' + "".join(rows) + "</table>"


def _hits(hits: list[dict[str, Any]]) -> str:
    if not hits:
        return f"<p>{e(t('No lexicon hits (model score only).'))}</p>"
    items = "".join(
        f'<li><mark class="hit cat-{e(h.get("category"))}">{e(h.get("matched") or h.get("term"))}</mark> '
        f"{categories([h.get('category')])}{' / ' + e(h.get('sub_label')) if h.get('sub_label') else ''} "
        f'<span class="span">[{e(h.get("start"))}, {e(h.get("end"))})</span></li>'
        for h in hits
    )
    return f'<ul class="hits">{items}</ul>'


def _mini_list(items: list[Item]) -> str:
    if not items:
        return f"<p>{e(t('None.'))}</p>"
    lis = "".join(
        f'<li><a href="{e(item_url(i.id))}">{e(_excerpt(str(i.source.get("message", "")), 60))}</a> '
        f"{_badge('status', status_of(i))} {when(i.source.get('@timestamp'))}</li>"
        for i in items
    )
    return f'<ul class="mini">{lis}</ul>'


def _parent(parent_id: str | None, parent: Item | None) -> str:
    if not parent_id:
        return ""
    if parent is None:
        return (
            f'<section class="parent"><h2>{e(t("Replies to"))}</h2><p>'
            + te(
                "Item {id} is not in the queue (it was not flagged); its text is in the kept records.",
                id=f"<code>{e(parent_id)}</code>",
            )
            + "</p></section>"
        )
    text = highlight(str(parent.source.get("message", "")), parent.moderation.get("hits") or [])
    return (
        f'<section class="parent"><h2>{e(t("Replies to"))}</h2><blockquote class="text">{text}</blockquote>'
        f'<p><a href="{e(item_url(parent.id))}">{e(t("open {id}", id=parent.id))}</a> '
        f"{_badge('status', status_of(parent))}</p>"
        "</section>"
    )


def overdue(m: Mapping[str, Any], now: datetime | None) -> bool:
    """An item with open user reports whose earliest due time has passed (L7: reports are handled in time)."""
    r = m.get("reports") or {}
    due = parse_time(r.get("due_at"))
    return now is not None and bool(r.get("open")) and due is not None and due <= now


def _reports(m: Mapping[str, Any], now: datetime | None = None) -> str:
    """User reports of the item (L7): how many, why, when due (and whether that has passed), and what the
    screening found."""
    r = m.get("reports")
    if not r:
        return ""
    late = f' <b class="overdue" id="overdue">{e(t("overdue"))}</b>' if overdue(m, now) else ""
    reasons = ", ".join(str(x) for x in r.get("reason_counts") or ())
    campaign = (
        f'<p class="error" id="campaign"><b>{e(t("Suspected report campaign"))}</b>: '
        f"{e(t('reports alone never take content down.'))}</p>"
        if r.get("suspected_campaign")
        else ""
    )
    screening = "".join(f"<li>{e(line)}</li>" for line in r.get("screening") or ())
    return (
        f'<section class="reports" id="reports"><h2>{e(t("User reports"))}</h2>{campaign}<dl>'
        f"<dt>{e(t('Reports'))}</dt><dd>"
        + e(
            t(
                "{count} ({open} open, {reporters} reporters)",
                count=r.get("count"),
                open=r.get("open"),
                reporters=r.get("reporters"),
            )
        )
        + f"</dd><dt>{e(t('Reasons'))}</dt><dd>{e(reasons)}</dd>"
        f"<dt>{e(t('Due'))}</dt><dd>{when(r.get('due_at') or '-')}{late}</dd>"
        f"<dt>{e(t('Priority'))}</dt><dd>{e(r.get('priority'))}</dd></dl>"
        + (f'<h3>{e(t("Screening"))}</h3><ul id="screening">{screening}</ul>' if screening else "")
        + "</section>"
    )


def _decision_box(item: Item, csrf: str, can_decide: bool, work: str = "", extra: str = "") -> str:
    m = item.moderation
    status = status_of(item)
    if status in OPEN and not can_decide:
        return (
            f'<section class="decision" id="decision"><h2>{e(t("Decide"))}</h2>'
            f"<p>{e(t('Open; your role reads only.'))}</p></section>"
        )
    if status not in OPEN:
        state = t("being carried out") if item.claimed else t("carried out")
        comment = f"<p>{e(t('Comment:'))} {e(m.get('comment'))}</p>" if m.get("comment") else ""
        said = te(
            "{outcome} by {user} at {time} ({state}).", outcome=f"<b>{e(word(m.get('outcome') or status))}</b>",
            user=f"<b>{e(m.get('decided_by'))}</b>", time=when(m.get("decided_at")), state=e(state),
        )  # fmt: skip
        heading = f'<section class="decision done" id="decision"><h2>{e(t("Decision"))}</h2>'
        return f"{heading}<p>{said}</p>{comment}{extra}</section>"
    action = item.source.get("event", {}).get("action")
    confirm, overturn = (
        (t("Confirm block (stays down)"), t("Overturn (restore the item)"))
        if action == "block"
        else (t("Confirm (take the item down)"), t("Overturn (leave it up)"))
    )
    return f"""<section class="decision" id="decision"><h2>{e(t("Decide"))}</h2>
<form method="post" action="{e(item_url(item.id))}/decision" class="decide">
<input type="hidden" name="csrf" value="{e(csrf)}">{_work_field(work)}
<label>{e(t("Comment (optional)"))} <textarea name="comment" rows="2" maxlength="2000"></textarea></label>{extra}
<button type="submit" name="outcome" value="confirmed" class="confirm">{e(confirm)}</button>
<button type="submit" name="outcome" value="overturned" class="overturn">{e(overturn)}</button>
</form></section>"""


def _work_field(work: str) -> str:
    """In work mode the decision carries the work filter, so the answer opens the next item."""
    return f'<input type="hidden" name="work" value="{e(work)}">' if work else ""


def item_page(
    settings: Settings,
    item: Item,
    parent: Item | None,
    author_items: list[Item],
    user: str,
    csrf: str,
    notice: str = "",
    error: str = "",
    *,
    can_decide: bool = True,
    show_ip: bool = True,
    now: datetime | None = None,
    work: str = "",
    bar: str = "",
    context: str = "",
    decision_extra: str = "",
    correction: str = "",
) -> str:
    """`context`: the rendered context around the item (render_context), shown instead of the bare parent;
    `decision_extra`: inside the decision box (tags to choose, or the tags chosen); `correction`: after it."""
    src = item.source
    m = item.moderation
    labels = src.get("labels", {})
    service = src.get("service", {}).get("type")
    meta = [
        (t("Message id"), item.id),
        (t("Service type"), name_of(service) if service else None),
        (t("Platform"), labels.get("platform")),
        (t("Kind"), word(labels.get("kind")) if labels.get("kind") else None),
        (t("Author"), src.get("user", {}).get("id")),
        (t("Source IP"), (src.get("source", {}).get("ip") or labels.get("source_ip")) if show_ip else None),
        (t("Group"), labels.get("group_id")),
        (t("Public account"), labels.get("account_id")),
        (t("URL"), src.get("url", {}).get("original")),
        (t("Verdict"), t("{verdict} (model {model}, lexicon {lexicon}, policy {policy})", verdict=m.get("verdict_id"),
                         model=m.get("model_version"), lexicon=m.get("lexicon_version"),
                         policy=m.get("policy_version"))),
    ]  # fmt: skip
    published = f"<dt>{e(t('Published'))}</dt><dd>{when(src.get('@timestamp'))}</dd>"
    rows = [f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in meta if v]
    dl = "".join([*rows[:1], published, *rows[1:]])  # the id first, then the (zoned) time, as before
    flagged = list(src.get("rule", {}).get("category") or [])
    hits = m.get("hits") or []
    banner = f'<p class="notice" role="status">{e(notice)}</p>' if notice else ""
    banner += f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    author = src.get("user", {}).get("id", "")
    text = highlight(str(src.get("message", "")), hits)
    body = f"""<p><a href="/">← {e(t("queue"))}</a></p>{banner}{bar}
<h1>{e(t("Item {id}", id=item.id))} {_badge("action", src.get("event", {}).get("action"))} {
        _badge("status", status_of(item))
    }</h1>
<div class="columns"><div class="main">
<section><h2>{e(t("Text"))}</h2><div class="text" id="text" lang="zh">{text}</div></section>
{_reports(m, now)}
{_decision_box(item, csrf, can_decide, work, decision_extra)}{correction}
<section><h2>{e(t("Lexicon hits"))}</h2>{_hits(hits)}</section>
{context or _parent(labels.get("parent_id"), parent)}
</div><aside>
<section><h2>{e(t("Category scores"))}</h2>{_scores(settings, m.get("scores") or {}, flagged)}</section>
<section><h2>{e(t("Details"))}</h2><dl>{dl}</dl></section>
<section class="author"><h2>{e(t("Author's recent flagged items"))}</h2>{_mini_list(author_items)}
<p><a href="/?{e(urlencode({"author": author, "status": "all", "sort": "newest"}))}">{
        e(t("all of {author}'s items", author=author))
    }</a></p>
</section></aside></div>{worklist.help_overlay()}"""
    return layout(t("Item {id}", id=item.id), body, user, csrf)


def error_page(title: str, message: str, user: str | None = None, csrf: str = "") -> str:
    return layout(
        title,
        f'<h1>{e(title)}</h1><p class="error">{e(message)}</p><p><a href="/">← {e(t("queue"))}</a></p>',
        user,
        csrf,
    )
