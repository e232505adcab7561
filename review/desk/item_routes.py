"""The queue, a selection of it and one item, as pages and as JSON; source IPs only for the roles that need them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from review.desk import measure_routes, render
from review.desk.filters import BadFilter, parse_filter
from review.desk.roles import DECIDERS
from review.desk.web import ROLE, SESSION, fail, html, is_api, review_of, sees_source_ip
from review.queue import ItemNotFound
from review.queue.exceptions import BadCursor

MAX_SELECTION = 100_000


async def queue(request: web.Request) -> web.StreamResponse:
    review = review_of(request)
    session = request[SESSION]
    query = dict(request.query)
    try:
        flt = parse_filter(query, review.clock.now())
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
    return html(render.queue_page(review.settings, page, flt, query, session.user, session.csrf, review.clock.now()))


async def selection(request: web.Request) -> web.StreamResponse:
    """The ids of every item the filters match, from one snapshot: what a bulk action over a whole queue acts on."""
    review = review_of(request)
    try:
        flt = parse_filter(dict(request.query), review.clock.now())
        limit = int(request.query.get("limit", str(MAX_SELECTION)) or MAX_SELECTION)
    except BadFilter as exc:
        return fail(request, 400, "bad_filter", str(exc))
    except ValueError:
        return fail(request, 400, "bad_filter", f"limit: a whole number from 1 to {MAX_SELECTION}")
    if not 1 <= limit <= MAX_SELECTION:
        return fail(request, 400, "bad_filter", f"limit: a whole number from 1 to {MAX_SELECTION}")
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
    request: web.Request, message_id: str, notice: str = "", error: str = "", status: int = 200
) -> web.StreamResponse:
    review = review_of(request)
    session = request[SESSION]
    show_ip = sees_source_ip(request)
    try:
        item = await review.run(review.store.get, message_id)
    except ItemNotFound:
        return fail(request, 404, "not_found", f"No item {message_id} in the queue.")
    parent_id = item.source.get("labels", {}).get("parent_id")
    parent = await review.run(review.store.find, parent_id) if parent_id else None
    author = item.source.get("user", {}).get("id")
    author_items = await review.run(review.store.by_author, author, item.id) if author else []
    if is_api(request):
        body = {
            **api_item(item, show_ip),
            "parent": api_item(parent, show_ip) if parent else None,
            "author_items": [api_item(i, show_ip) for i in author_items],
        }
        return web.json_response(body, status=status)
    page = render.item_page(
        review.settings, item, parent, author_items, session.user, session.csrf, notice=notice, error=error,
        can_decide=request[ROLE] in DECIDERS, show_ip=show_ip, now=review.clock.now(),
    )  # fmt: skip
    page = measure_routes.with_section(page, await measure_routes.section(request, item.source, item.id))
    return html(page, status)


async def item(request: web.Request) -> web.StreamResponse:
    notice = "Your decision was recorded and sent for execution." if request.query.get("decided") else ""
    return await item_view(request, request.match_info["message_id"], notice=notice)
