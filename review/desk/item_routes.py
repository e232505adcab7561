"""The queue, a selection of it and one item, as pages and as JSON; source IPs only for the roles that need them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from review.desk import measure_routes, render, work_routes, worklist
from review.desk.context import Context
from review.desk.filters import BadFilter, parse_filter
from review.desk.i18n import t
from review.desk.render_context import context_section
from review.desk.render_decision import decision_parts
from review.desk.roles import CORRECTORS, DECIDERS
from review.desk.tags import allowed_tags
from review.desk.web import ROLE, SESSION, fail, html, is_api, review_of, sees_source_ip
from review.queue import ItemNotFound
from review.queue.exceptions import BadCursor

MAX_SELECTION = 100_000


async def queue(request: web.Request) -> web.StreamResponse:
    review = review_of(request)
    session = request[SESSION]
    query = dict(request.query)
    try:
        flt = parse_filter(query, review.clock.now(), review.settings.review.zone)
    except BadFilter as exc:
        return fail(request, 400, "bad_filter", str(exc))
    try:
        page = await review.run(review.store.search, flt, query.get("cursor") or None)
    except BadCursor as exc:
        return fail(request, 400, "bad_cursor", str(exc))
    if is_api(request):
        show_ip = sees_source_ip(request)
        return web.json_response(
            {
                "total": page.total, "counts": page.counts, "position": page.position,
                "next_cursor": page.next_cursor, "items": [api_item(i, show_ip) for i in page.items],
            }
        )  # fmt: skip
    can_decide = request[ROLE] in DECIDERS
    mine = work_routes.work_of(request).assignments.get(session.user) if can_decide else None
    assigned = work_routes.assigned_label(mine)
    return html(
        render.queue_page(
            review.settings, page, flt, query, session.user, session.csrf, review.clock.now(), can_decide=can_decide,
            assigned=assigned,
        )
    )  # fmt: skip


async def selection(request: web.Request) -> web.StreamResponse:
    """The ids of every item the filters match, from one snapshot: what a bulk action over a whole queue acts on."""
    review = review_of(request)
    try:
        flt = parse_filter(dict(request.query), review.clock.now(), review.settings.review.zone)
        limit = int(request.query.get("limit", str(MAX_SELECTION)) or MAX_SELECTION)
    except BadFilter as exc:
        return fail(request, 400, "bad_filter", str(exc))
    except ValueError:
        return fail(request, 400, "bad_filter", t("limit: a whole number from 1 to {max}", max=MAX_SELECTION))
    if not 1 <= limit <= MAX_SELECTION:
        return fail(request, 400, "bad_filter", t("limit: a whole number from 1 to {max}", max=MAX_SELECTION))
    ids = await review.run(review.store.select_ids, flt, limit)
    return web.json_response({"count": len(ids), "limit": limit, "ids": ids})


def without_source_ip(source: dict[str, Any]) -> dict[str, Any]:
    out = dict(source)
    if isinstance(out.get("source"), dict):
        out["source"] = {k: v for k, v in out["source"].items() if k != "ip"}
    if isinstance(out.get("labels"), dict):
        out["labels"] = {k: v for k, v in out["labels"].items() if k != "source_ip"}
    return out


def api_item(item: Any, show_ip: bool) -> dict[str, Any]:
    source = dict(item.source) if show_ip else without_source_ip(item.source)
    moderation = {k: v for k, v in (source.get("moderation") or {}).items() if k != "tokens"}
    return {"id": item.id, "status": render.status_of(item), **source, "moderation": moderation}


async def item_view(
    request: web.Request, message_id: str, notice: str = "", error: str = "", status: int = 200, work: str = ""
) -> web.StreamResponse:
    review = review_of(request)
    session = request[SESSION]
    show_ip = sees_source_ip(request)
    # The page (not the API) is a moderator having the item open: it claims it, or names who has it.
    hold_note, mine = await work_routes.claim_on_open(request, message_id) if not is_api(request) else ("", False)
    renew_s = max(10, review.settings.review.claim_ttl_s // 3) if mine else 0
    try:
        item = await review.run(review.store.get, message_id)
    except ItemNotFound:
        return fail(request, 404, "not_found", t("No item {id} in the queue.", id=message_id))
    parent_id = item.source.get("labels", {}).get("parent_id")
    parent = await review.run(review.store.find, parent_id) if parent_id else None
    author = item.source.get("user", {}).get("id")
    author_items = await review.run(review.store.by_author, author, item.id) if author else []
    context = await review.run(review.context.around, item, parent) if review.context else Context()
    if is_api(request):
        body = {
            **api_item(item, show_ip),
            "parent": api_item(parent, show_ip) if parent else None,
            "author_items": [api_item(i, show_ip) for i in author_items],
            "context": context.as_json(),
        }
        return web.json_response(body, status=status)
    around = context_section(context, item.id, str(item.source.get("message", "")))
    allowed = allowed_tags(review.settings, item)
    inside, correction = decision_parts(item, session.csrf, allowed, can_correct=request[ROLE] in CORRECTORS)
    page = render.item_page(
        review.settings, item, parent, author_items, session.user, session.csrf, notice=notice, error=error,
        can_decide=request[ROLE] in DECIDERS, show_ip=show_ip, now=review.clock.now(), work=work,
        bar=worklist.item_bar(message_id, session.csrf, work, hold_note, renew_s), context=around,
        decision_extra=inside, correction=correction,
    )  # fmt: skip
    page = measure_routes.with_section(page, await measure_routes.section(request, item.source, item.id))
    return html(page, status)


async def item(request: web.Request) -> web.StreamResponse:
    notice = t("Your decision was recorded and sent for execution.") if request.query.get("decided") else ""
    if request.query.get("corrected"):
        notice = t("Your correction was recorded and sent for execution.")
    work = request.query.get("work", "") if request[ROLE] in DECIDERS else ""
    return await item_view(request, request.match_info["message_id"], notice=notice, work=work)
