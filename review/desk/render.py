"""Server-rendered HTML of the review page. Every value from a document passes through `e()` (html.escape)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from modpipe.settings import Settings
from retention.dates import parse_time
from review.desk.filters import PERIODS, STATUSES
from review.desk.highlight import highlight
from review.queue import Item, Page, QueueFilter
from review.queue.queue import OPEN


def e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def item_url(message_id: str) -> str:
    return "/items/" + quote(message_id, safe="")


def layout(title: str, body: str, user: str | None = None, csrf: str = "") -> str:
    account = ""
    if user:
        account = (
            f'<form method="post" action="/logout" class="account"><span>Signed in as <b>{e(user)}</b></span>'
            f'<input type="hidden" name="csrf" value="{e(csrf)}"><button type="submit">Sign out</button></form>'
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} · modpipe review</title><link rel="stylesheet" href="/static/review.css">
<script src="/static/review.js" defer></script></head>
<body><header><a class="brand" href="/">modpipe review</a>{account}</header><main>{body}</main></body></html>"""


def login_page(csrf: str, error: str = "", name: str = "") -> str:
    msg = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    body = f"""<section class="login"><h1>Sign in</h1>{msg}
<form method="post" action="/login"><input type="hidden" name="csrf" value="{e(csrf)}">
<label>Account <input name="username" autocomplete="username" required value="{e(name)}"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form></section>"""
    return layout("Sign in", body)


def _options(values: Iterable[tuple[str, str]], chosen: str) -> str:
    return "".join(
        f'<option value="{e(v)}"{" selected" if v == chosen else ""}>{e(label)}</option>' for v, label in values
    )


def _filter_form(settings: Settings, flt: QueueFilter, query: Mapping[str, str]) -> str:
    cats = [("", "all categories")] + [(c.code, f"{c.code} {c.id}") for c in settings.categories.values()]
    svcs = [("", "all services")] + [(s.name, s.name) for s in settings.services.values()]
    periods = [("", "any time")] + [(p, f"last {p}") for p in PERIODS]
    return f"""<form method="get" action="/" class="filters" id="filters">
<label>Status <select name="status">{_options(((s, s) for s in STATUSES), flt.status)}</select></label>
<label>Category <select name="category">{_options(cats, flt.category)}</select></label>
<label>Service <select name="service_type">{_options(svcs, flt.service_type)}</select></label>
<label>Action <select name="action">{
        _options([("", "review + block"), ("review", "review"), ("block", "block")], flt.action)
    }</select></label>
<label>Period <select name="period">{_options(periods, query.get("period", ""))}</select></label>
<label>From (UTC) <input type="datetime-local" name="since" value="{e(query.get("since", ""))}"></label>
<label>Until (UTC) <input type="datetime-local" name="until" value="{e(query.get("until", ""))}"></label>
<label>Author <input name="author" value="{e(flt.author)}" size="12"></label>
<label>Text <input name="q" type="search" value="{e(flt.text)}" size="14"></label>
<label>Sort <select name="sort">{_options(SORT_LABELS, flt.sort)}</select></label>
<button type="submit">Filter</button></form>"""


SORT_LABELS = [
    ("default", "review first, then blocks, by due time"),
    ("due", "due time"),
    ("score", "highest score"),
    ("oldest", "oldest first"),
    ("newest", "newest first"),
    ("reports_due", "reports due first"),
    ("priority", "report priority"),
]


def _badge(kind: str, value: object) -> str:
    return f'<span class="badge {e(kind)}-{e(value)}">{e(value)}</span>'


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
) -> str:
    rows = []
    for item in page.items:
        src = item.source
        m = item.moderation
        decided = f" by {e(m.get('decided_by'))}" if m.get("decided_by") else ""
        if overdue(m, now):
            decided += ' <b class="overdue">overdue</b>'
        rows.append(
            f'<tr data-id="{e(item.id)}"><td><time>{e(src.get("@timestamp"))}</time></td>'
            f"<td>{e(src.get('service', {}).get('type'))}</td>"
            f"<td>{_badge('action', src.get('event', {}).get('action'))}</td>"
            f"<td>{e(' '.join(src.get('rule', {}).get('category') or []))}</td>"
            f'<td><a href="/?{e(urlencode({"author": src.get("user", {}).get("id", ""), "status": "all"}))}">'
            f"{e(src.get('user', {}).get('id'))}</a></td>"
            f'<td class="text"><a href="{e(item_url(item.id))}">{e(_excerpt(str(src.get("message", ""))))}</a></td>'
            f"<td>{_badge('status', status_of(item))}{decided}</td></tr>"
        )
    table = (
        '<table class="queue"><thead><tr><th>Published</th><th>Service</th><th>Action</th><th>Categories</th>'
        "<th>Author</th><th>Text</th><th>Status</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        if rows
        else '<p class="empty">Nothing here: no item matches these filters.</p>'
    )
    counts = " · ".join(f"{e(k)}: {v}" for k, v in sorted(page.counts.items()))
    body = (
        f"<h1>Moderation queue</h1>{_filter_form(settings, flt, query)}"
        f'<p class="summary">{_shown(page)} · by status: {counts or "none"}</p>'
        f"{table}{_pages(page, flt, query)}"
    )
    return layout("Queue", body, user, csrf)


def _shown(page: Page) -> str:
    first, last = page.position + 1, page.position + len(page.items)
    where = f'items <span id="first">{first}</span>–<span id="last">{last}</span> of ' if page.items else ""
    return f'{where}<span id="total">{page.total}</span> matching'


def _pages(page: Page, flt: QueueFilter, query: Mapping[str, str]) -> str:
    """First, previous, next and last page. Next follows the cursor (search_after in the page's snapshot); the
    others are offsets, which the store reaches at any depth."""
    base = {k: v for k, v in query.items() if k not in ("offset", "cursor")}
    links = []
    if page.position > 0:
        links.append(f'<a href="/?{e(urlencode(base))}" rel="first">« first</a>')
        previous = {**base, "offset": max(0, page.position - flt.size)}
        links.append(f'<a href="/?{e(urlencode(previous))}" rel="prev" id="prev">← previous</a>')
    if page.next_cursor:
        links.append(
            f'<a href="/?{e(urlencode({**base, "cursor": page.next_cursor}))}" rel="next" id="next">next →</a>'
        )
        last = {**base, "offset": (page.total - 1) // flt.size * flt.size}
        links.append(f'<a href="/?{e(urlencode(last))}" rel="last" id="last-page">last »</a>')
    return f'<nav class="pages">{" ".join(links)}</nav>'


def _scores(settings: Settings, scores: Mapping[str, Any], flagged: list[str]) -> str:
    rows = []
    for code, score in sorted(scores.items(), key=lambda kv: -float(kv[1] or 0)):
        cat = settings.categories.get(code)
        name = f"{cat.id} · {cat.name_zh}" if cat else ""
        mark = " flagged" if code in flagged else ""
        value = float(score or 0)
        rows.append(
            f'<tr class="score{mark}"><th>{e(code)}</th><td>{e(name)}</td>'
            f'<td><meter min="0" max="1" value="{value:.3f}"></meter> {value:.2f}</td></tr>'
        )
    return '<table class="scores">' + "".join(rows) + "</table>"


def _hits(hits: list[dict[str, Any]]) -> str:
    if not hits:
        return "<p>No lexicon hits (model score only).</p>"
    items = "".join(
        f'<li><mark class="hit cat-{e(h.get("category"))}">{e(h.get("matched") or h.get("term"))}</mark> '
        f"{e(h.get('category'))}{' / ' + e(h.get('sub_label')) if h.get('sub_label') else ''} "
        f'<span class="span">[{e(h.get("start"))}, {e(h.get("end"))})</span></li>'
        for h in hits
    )
    return f'<ul class="hits">{items}</ul>'


def _mini_list(items: list[Item]) -> str:
    if not items:
        return "<p>None.</p>"
    lis = "".join(
        f'<li><a href="{e(item_url(i.id))}">{e(_excerpt(str(i.source.get("message", "")), 60))}</a> '
        f"{_badge('status', status_of(i))} <time>{e(i.source.get('@timestamp'))}</time></li>"
        for i in items
    )
    return f'<ul class="mini">{lis}</ul>'


def _parent(parent_id: str | None, parent: Item | None) -> str:
    if not parent_id:
        return ""
    if parent is None:
        return (
            f'<section class="parent"><h2>Replies to</h2><p>Item <code>{e(parent_id)}</code> is not in the queue '
            "(it was not flagged); its text is in the kept records.</p></section>"
        )
    text = highlight(str(parent.source.get("message", "")), parent.moderation.get("hits") or [])
    return (
        f'<section class="parent"><h2>Replies to</h2><blockquote class="text">{text}</blockquote>'
        f'<p><a href="{e(item_url(parent.id))}">open {e(parent.id)}</a> {_badge("status", status_of(parent))}</p>'
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
    late = ' <b class="overdue" id="overdue">overdue</b>' if overdue(m, now) else ""
    reasons = ", ".join(str(x) for x in r.get("reason_counts") or ())
    campaign = (
        '<p class="error" id="campaign"><b>Suspected report campaign</b>: reports alone never take content down.</p>'
        if r.get("suspected_campaign")
        else ""
    )
    screening = "".join(f"<li>{e(line)}</li>" for line in r.get("screening") or ())
    return (
        f'<section class="reports" id="reports"><h2>User reports</h2>{campaign}<dl>'
        f"<dt>Reports</dt><dd>{e(r.get('count'))} ({e(r.get('open'))} open, {e(r.get('reporters'))} reporters)</dd>"
        f"<dt>Reasons</dt><dd>{e(reasons)}</dd><dt>Due</dt><dd><time>{e(r.get('due_at') or '-')}</time>{late}</dd>"
        f"<dt>Priority</dt><dd>{e(r.get('priority'))}</dd></dl>"
        + (f'<h3>Screening</h3><ul id="screening">{screening}</ul>' if screening else "")
        + "</section>"
    )


def _decision_box(item: Item, csrf: str, can_decide: bool, extra: str = "") -> str:
    m = item.moderation
    status = status_of(item)
    if status in OPEN and not can_decide:
        return '<section class="decision" id="decision"><h2>Decide</h2><p>Open; your role reads only.</p></section>'
    if status not in OPEN:
        state = "being carried out" if item.claimed else "carried out"
        comment = f"<p>Comment: {e(m.get('comment'))}</p>" if m.get("comment") else ""
        return (
            f'<section class="decision done" id="decision"><h2>Decision</h2><p><b>{e(m.get("outcome") or status)}</b>'
            f" by <b>{e(m.get('decided_by'))}</b> at <time>{e(m.get('decided_at'))}</time> ({state}).</p>"
            f"{comment}{extra}</section>"
        )
    action = item.source.get("event", {}).get("action")
    confirm, overturn = (
        ("Confirm block (stays down)", "Overturn (restore the item)")
        if action == "block"
        else ("Confirm (take the item down)", "Overturn (leave it up)")
    )
    return f"""<section class="decision" id="decision"><h2>Decide</h2>
<form method="post" action="{e(item_url(item.id))}/decision" class="decide">
<input type="hidden" name="csrf" value="{e(csrf)}">
<label>Comment (optional) <textarea name="comment" rows="2" maxlength="2000"></textarea></label>{extra}
<button type="submit" name="outcome" value="confirmed" class="confirm">{e(confirm)}</button>
<button type="submit" name="outcome" value="overturned" class="overturn">{e(overturn)}</button>
</form></section>"""


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
    context: str = "",
    decision_extra: str = "",
    correction: str = "",
) -> str:
    """`context`: the rendered context around the item (render_context), shown instead of the bare parent;
    `decision_extra`: inside the decision box (tags to choose, or the tags chosen); `correction`: after it."""
    src = item.source
    m = item.moderation
    labels = src.get("labels", {})
    meta = [
        ("Message id", item.id),
        ("Published", src.get("@timestamp")),
        ("Service type", src.get("service", {}).get("type")),
        ("Platform", labels.get("platform")),
        ("Kind", labels.get("kind")),
        ("Author", src.get("user", {}).get("id")),
        ("Source IP", (src.get("source", {}).get("ip") or labels.get("source_ip")) if show_ip else None),
        ("Group", labels.get("group_id")),
        ("Public account", labels.get("account_id")),
        ("URL", src.get("url", {}).get("original")),
        ("Verdict", f"{m.get('verdict_id')} (model {m.get('model_version')}, lexicon {m.get('lexicon_version')}, "
                    f"policy {m.get('policy_version')})"),
    ]  # fmt: skip
    dl = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in meta if v)
    flagged = list(src.get("rule", {}).get("category") or [])
    hits = m.get("hits") or []
    banner = f'<p class="notice" role="status">{e(notice)}</p>' if notice else ""
    banner += f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    author = src.get("user", {}).get("id", "")
    text = highlight(str(src.get("message", "")), hits)
    body = f"""<p><a href="/">← queue</a></p>{banner}
<h1>Item {e(item.id)} {_badge("action", src.get("event", {}).get("action"))} {_badge("status", status_of(item))}</h1>
<div class="columns"><div class="main">
<section><h2>Text</h2><div class="text" id="text" lang="zh">{text}</div></section>
{_reports(m, now)}
{_decision_box(item, csrf, can_decide, decision_extra)}{correction}
<section><h2>Lexicon hits</h2>{_hits(hits)}</section>
{context or _parent(labels.get("parent_id"), parent)}
</div><aside>
<section><h2>Category scores</h2>{_scores(settings, m.get("scores") or {}, flagged)}</section>
<section><h2>Details</h2><dl>{dl}</dl></section>
<section class="author"><h2>Author's recent flagged items</h2>{_mini_list(author_items)}
<p><a href="/?{e(urlencode({"author": author, "status": "all", "sort": "newest"}))}">all of {e(author)}'s items</a></p>
</section></aside></div>"""
    return layout(f"Item {item.id}", body, user, csrf)


def error_page(title: str, message: str, user: str | None = None, csrf: str = "") -> str:
    return layout(
        title, f'<h1>{e(title)}</h1><p class="error">{e(message)}</p><p><a href="/">← queue</a></p>', user, csrf
    )
