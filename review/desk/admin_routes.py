"""The accounts (admin) and the audit trail (auditor, admin), read-only: accounts are changed with
`modpipe review users ...` on the server, where the operator already is."""

from __future__ import annotations

from aiohttp import web

from review.desk.web import fail, review_of

MAX_AUDIT = 10_000


async def accounts(request: web.Request) -> web.StreamResponse:
    listing = review_of(request).accounts.listing()
    return web.json_response({"users": [{"name": name, "role": role.value} for name, role in listing]})


async def audit(request: web.Request) -> web.StreamResponse:
    try:
        limit = int(request.query.get("limit", "1000"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_AUDIT:
        return fail(request, 400, "bad_request", f"limit: a whole number from 1 to {MAX_AUDIT}")
    review = review_of(request)
    return web.json_response({"events": await review.run(review.audit.tail, limit)})
