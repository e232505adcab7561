"""The one gate every request passes: sign-in, the role table (review.desk.roles), CSRF, security headers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from review.desk.i18n import t
from review.desk.roles import PUBLIC, allowed
from review.desk.sessions import Session, same_token
from review.desk.web import COOKIE, ROLE, SESSION, add_headers, fail, is_api, redirect, review_of
from review.queue import SearchUnavailable

log = logging.getLogger("modpipe.review")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _session_of(request: web.Request) -> tuple[Session | None, str]:
    review = review_of(request)
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return review.sessions.get(auth[7:].strip()), "bearer"
    return review.sessions.get(request.cookies.get(COOKIE)), "cookie"


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Everything but sign-in needs a live session of an account that still exists, with a role the route table
    allows (read from the users file at each request, so a changed role counts at once); cookie POSTs need the CSRF
    token (bearer-token API calls cannot be forged by another site, so they need none)."""
    if request.path in PUBLIC or request.path.startswith("/static/"):
        return add_headers(request, await handler(request))
    review = review_of(request)
    session, via = _session_of(request)
    role = review.accounts.role(session.user) if session is not None else None
    if session is not None and role is None:
        review.sessions.end(session.token)
        session = None
    if session is None or role is None:
        if is_api(request):
            return add_headers(request, web.json_response({"error": "not_signed_in"}, status=401))
        return add_headers(request, redirect("/login"))
    request[SESSION] = session
    request[ROLE] = role
    if request.match_info.http_exception is not None:  # no such route or method: 404/405 for the signed-in
        return add_headers(request, await handler(request))
    if not allowed(request.method, _route(request), role):
        message = t("Your role ({role}) may not do this.", role=role.value)
        return add_headers(request, fail(request, 403, "forbidden", message, role=role.value))
    if request.method == "POST" and via == "cookie":
        given = request.headers.get("X-CSRF-Token")
        if given is None and request.content_type == "application/x-www-form-urlencoded":
            given = str((await request.post()).get("csrf", ""))
        if not same_token(given, session.csrf):
            message = t("This form has expired; reload the page and try again.")
            return add_headers(request, fail(request, 403, "csrf", message))
    try:
        return add_headers(request, await handler(request))
    except SearchUnavailable:
        log.exception("Elasticsearch unavailable")
        return add_headers(
            request, fail(request, 503, "search_unavailable", t("The queue store is unavailable; retry."))
        )
