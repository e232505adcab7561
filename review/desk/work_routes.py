"""Working the queue: claims while an item is open, work mode (claim the next item of the current filter, or of the
queue a senior assigned, and move on after each decision or skip), bulk decisions, and the seniors' assignments.

Every claim taken and released goes into the audit trail (events `claim`, `claim_released`); a renewal by the open
page is not an event. Bulk decisions go one item at a time through the same decision path as a single one
(review.desk.decide: first wins, one published decision per accepted item), each logged as a `decision`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

from modpipe.contracts import DecisionOutcome
from review.desk import render
from review.desk.assignments import Assignment, Assignments
from review.desk.exceptions import PublishFailed
from review.desk.filters import BadFilter, parse_filter
from review.desk.i18n import t
from review.desk.roles import DECIDERS
from review.desk.web import ROLE, SESSION, client_ip, fail, html, is_api, redirect, review_of
from review.queue import AlreadyDecided, ItemNotFound, QueueFilter
from review.queue.claims import Claims, Held, live_hold

MAX_BULK = 1000  # ids per bulk request; the page sends a large selection in several
BULK_PARALLEL = 3  # of the desk's four threads, so other moderators' pages still load during a bulk
SKIPS_KEPT = 500
MAX_COMMENT = 2000


@dataclass
class Work:
    claims: Claims
    assignments: Assignments
    skipped: dict[str, deque[str]] = field(default_factory=dict)  # per moderator, this process's memory

    def skips(self, user: str) -> deque[str]:
        return self.skipped.setdefault(user, deque(maxlen=SKIPS_KEPT))


WORK = web.AppKey("work", Work)


def work_of(request: web.Request) -> Work:
    return request.app[WORK]


def assigned_label(a: Assignment | None) -> str:
    if a is None:
        return ""
    return " · ".join(x for x in (a.category, a.service_type) if x)


def work_filter(request: web.Request, filters: str) -> QueueFilter:
    """The filter work mode draws from: the list's filters, open items only, and the senior's assignment (category
    and/or service type) in place of the moderator's own choice of those."""
    review = review_of(request)
    query = dict(parse_qsl(filters))
    if query.get("status") not in ("pending", "reported"):
        query["status"] = "pending"
    assignment = work_of(request).assignments.get(request[SESSION].user)
    if assignment is not None:
        query["category"], query["service_type"] = assignment.category, assignment.service_type
    return parse_filter(query, review.clock.now(), review.settings.review.zone)


async def claim_on_open(request: web.Request, message_id: str) -> tuple[str, bool]:
    """A decider who opens an item claims it (or renews their claim). Returns the note saying who has it and
    whether it is the caller."""
    review, work = review_of(request), work_of(request)
    user = request[SESSION].user
    now = review.clock.now()
    if request[ROLE] not in DECIDERS:
        item = await review.run(review.store.find, message_id)
        held = live_hold(item, now) if item is not None else None
        return (f"{t('Claimed by')} {held.holder} {t('until')} {held.until.isoformat()}" if held else "", False)
    try:
        hold, new = await review.run(work.claims.take, message_id, user, now)
    except Held as exc:
        if exc.until.startswith("decided"):
            return "", False
        return f"{t('Claimed by')} {exc.holder} {t('until')} {exc.until}", False
    except ItemNotFound:
        return "", False
    if new:
        review.audit.record("claim", user, client_ip(request), role=request[ROLE].value, item=message_id,
                            until=hold.until.isoformat())  # fmt: skip
    return f"{t('You have this item until')} {hold.until.isoformat()}", True


async def next_response(request: web.Request, filters: str) -> web.StreamResponse:
    """Claim the next item of the work filter and open it; back to the list when nothing is left."""
    review, work = review_of(request), work_of(request)
    user = request[SESSION].user
    filters = urlencode(parse_qsl(filters))  # rebuilt, so nothing but a query string reaches the Location header
    try:
        flt = work_filter(request, filters)
    except BadFilter as exc:
        return fail(request, 400, "bad_filter", str(exc))
    found = await review.run(work.claims.next_item, flt, user, review.clock.now(), tuple(work.skips(user)))
    if found is None:
        return redirect(f"/?{filters}{'&' if filters else ''}worked=1")
    message_id, hold = found
    review.audit.record("claim", user, client_ip(request), role=request[ROLE].value, item=message_id,
                        until=hold.until.isoformat(), via="work")  # fmt: skip
    return redirect(f"{render.item_url(message_id)}?{urlencode({'work': filters or 'status=pending'})}")


async def start(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    return await next_response(request, str(form.get("filters", "")))


async def skip(request: web.Request) -> web.StreamResponse:
    review, work = review_of(request), work_of(request)
    user = request[SESSION].user
    message_id = request.match_info["message_id"]
    form = await request.post()
    released = await review.run(work.claims.release, message_id, user, review.clock.now())
    work.skips(user).append(message_id)
    if released:
        review.audit.record("claim_released", user, client_ip(request), role=request[ROLE].value, item=message_id,
                            reason="skip")  # fmt: skip
    filters = str(form.get("work", ""))
    return await next_response(request, filters) if filters else redirect("/")


async def renew(request: web.Request) -> web.StreamResponse:
    """The open item page renews its claim (and takes it when it has expired and nobody else did)."""
    review, work = review_of(request), work_of(request)
    user, message_id = request[SESSION].user, request.match_info["message_id"]
    try:
        hold, new = await review.run(work.claims.take, message_id, user, review.clock.now())
    except Held as exc:
        return web.json_response({"error": "claimed", "holder": exc.holder, "until": exc.until}, status=409)
    except ItemNotFound:
        return fail(request, 404, "not_found", f"No item {message_id} in the queue.")
    if new:
        review.audit.record("claim", user, client_ip(request), role=request[ROLE].value, item=message_id,
                            until=hold.until.isoformat())  # fmt: skip
    return web.json_response({"holder": hold.holder, "until": hold.until.isoformat(), "new": new})


async def _decide_all(request: web.Request, ids: list[str], outcome: DecisionOutcome, comment: str) -> dict[str, Any]:
    review = review_of(request)
    user, role, client = request[SESSION].user, request[ROLE].value, client_ip(request)
    gate = asyncio.Semaphore(BULK_PARALLEL)
    failed: dict[str, str] = {}
    decided: list[str] = []

    async def one(message_id: str) -> None:
        async with gate:
            what = {"role": role, "item": message_id, "outcome": outcome.value, "via": "bulk"}
            try:
                decision = await review.run(review.decider.decide, message_id, outcome, user, comment)
            except AlreadyDecided as exc:
                state = "in flight" if exc.in_flight else "already decided"
                failed[message_id] = f"{state}: {exc.outcome} by {exc.decided_by}"
                review.audit.record("decision_refused", user, client, reason="already_decided",
                                    decided_by=exc.decided_by, in_flight=exc.in_flight, **what)  # fmt: skip
                return
            except ItemNotFound:
                failed[message_id] = "not in the queue"
                return
            except PublishFailed:
                failed[message_id] = "not sent (broker unavailable); retry"
                review.audit.record("decision_refused", user, client, reason="publish_failed", **what)
                return
            decided.append(message_id)
            review.audit.record("decision", user, client, decision_id=decision.decision_id, comment=comment, **what)

    await asyncio.gather(*(one(i) for i in dict.fromkeys(ids)))
    return {"decided": len(decided), "failed": failed, "ids": decided}


def _bulk_args(body: Mapping[str, Any]) -> tuple[list[str], DecisionOutcome, str] | str:
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids) or not 1 <= len(ids) <= MAX_BULK:
        return f"ids: a list of 1 to {MAX_BULK} message ids"
    try:
        outcome = DecisionOutcome(str(body.get("outcome", "")))
    except ValueError:
        return "outcome: confirmed or overturned"
    comment = str(body.get("comment") or "").strip()[:MAX_COMMENT]
    if not comment:
        return "comment: a reason is required for a bulk decision"
    return ids, outcome, comment


async def bulk_api(request: web.Request) -> web.StreamResponse:
    try:
        body = await request.json()
    except ValueError:
        body = None
    args = _bulk_args(body) if isinstance(body, dict) else 'JSON {"ids": [...], "outcome", "comment"}'
    if isinstance(args, str):
        return fail(request, 400, "bad_request", args)
    return web.json_response(await _decide_all(request, *args))


async def bulk_form(request: web.Request) -> web.StreamResponse:
    """The same without JavaScript: the rows ticked on the page."""
    form = await request.post()
    ids = [str(v) for v in form.getall("ids", [])]
    body = {"ids": ids, "outcome": form.get("outcome"), "comment": form.get("comment")}
    args = _bulk_args(body)
    if isinstance(args, str):
        return fail(request, 400, "bad_request", args)
    result = await _decide_all(request, *args)
    session = request[SESSION]
    failed = sorted(result["failed"].items())
    lines = "".join(f"<li><code>{render.e(i)}</code>: {render.e(why)}</li>" for i, why in failed)
    body_html = (
        f'<h1>{render.e(t("Bulk decision"))}</h1><p class="notice" id="bulk-done">{result["decided"]} '
        f"{render.e(t('decided'))}, {len(result['failed'])} {render.e(t('not decided'))}</p><ul>{lines}</ul>"
        f'<p><a href="/?{render.e(str(form.get("filters", "")))}">{render.e(t("← queue"))}</a></p>'
    )
    return html(render.layout(t("Bulk decision"), body_html, session.user, session.csrf))


async def assignments_api(request: web.Request) -> web.StreamResponse:
    table = work_of(request).assignments.listing()
    return web.json_response({"assignments": {n: vars(a) for n, a in table.items()}})


async def assignments_page(request: web.Request) -> web.StreamResponse:
    review, work = review_of(request), work_of(request)
    session = request[SESSION]
    table = work.assignments.listing()
    moderators = [name for name, role in review.accounts.listing() if role in DECIDERS]
    rows = "".join(
        f'<tr data-user="{render.e(n)}"><td>{render.e(n)}</td><td>{render.e(assigned_label(table.get(n)))}</td>'
        f"<td>{render.e(table[n].by if n in table else '')}</td></tr>"
        for n in moderators
    )
    cats = "".join(f'<option value="{render.e(c)}">{render.e(c)} {render.e(v.id)}</option>'
                   for c, v in review.settings.categories.items())  # fmt: skip
    names = [s.name for s in review.settings.services.values()]
    svcs = "".join(f'<option value="{render.e(s)}">{render.e(s)}</option>' for s in names)
    people = "".join(f'<option value="{render.e(n)}">{render.e(n)}</option>' for n in moderators)
    body = f"""<h1>{render.e(t("Assigned queues"))}</h1>
<table class="accounts"><thead><tr><th>{render.e(t("Moderator"))}</th><th>{render.e(t("Queue"))}</th>
<th>{render.e(t("Assigned by"))}</th></tr></thead><tbody>{rows}</tbody></table>
<form method="post" action="/assignments" class="filters" id="assign"><input type="hidden" name="csrf"
value="{render.e(session.csrf)}"><label>{render.e(t("Moderator"))} <select name="moderator">{people}</select></label>
<label>{render.e(t("Category"))} <select name="category"><option value="">{render.e(t("any"))}</option>{cats}
</select></label><label>{render.e(t("Service"))} <select name="service_type"><option value="">{render.e(t("any"))}
</option>{svcs}</select></label><button type="submit">{render.e(t("Assign (both empty: clear)"))}</button></form>"""
    return html(render.layout(t("Assigned queues"), body, session.user, session.csrf))


async def assign(request: web.Request) -> web.StreamResponse:
    review, work = review_of(request), work_of(request)
    if request.content_type == "application/json":
        try:
            raw = await request.json()
        except ValueError:
            raw = None
        form: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    else:
        form = await request.post()
    name = str(form.get("moderator", ""))
    category, service = str(form.get("category", "") or ""), str(form.get("service_type", "") or "")
    role = review.accounts.role(name)
    if role is None or role not in DECIDERS:
        return fail(request, 400, "bad_request", "moderator: the name of a moderator or senior account")
    if category and category not in review.settings.categories:
        return fail(request, 400, "bad_request", f"category: one of {', '.join(review.settings.categories)}")
    services = [s.name for s in review.settings.services.values()]
    if service and service not in services:
        return fail(request, 400, "bad_request", f"service_type: one of {', '.join(services)}")
    user = request[SESSION].user
    now = review.clock.now().isoformat()
    assignment = Assignment(category, service, user, now) if category or service else None
    work.assignments.assign(name, assignment)
    review.audit.record("assign", user, client_ip(request), role=request[ROLE].value, moderator=name,
                        category=category, service_type=service)  # fmt: skip
    if is_api(request) or request.content_type == "application/json":
        return web.json_response({"moderator": name, "queue": assigned_label(assignment)})
    return redirect("/assignments")
