"""Sign-in and sign-out, page and API. Password checks run in a pool of their own, one thread with a short queue:
argon2 is meant to be slow, and sharing the queue store's threads let a login flood delay every other request
(issue 16: 0.16 s became 5 s); past the queue a login is answered 503 at once, unhashed."""

from __future__ import annotations

import asyncio
import math
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from aiohttp import web

from review.desk import render
from review.desk.i18n import t
from review.desk.roles import home
from review.desk.sessions import same_token
from review.desk.web import (
    COOKIE,
    LOGIN_COOKIE,
    ROLE,
    SESSION,
    client_ip,
    html,
    is_api,
    redirect,
    review_of,
    set_cookie,
)

HASH_QUEUE = 8


@dataclass
class Hashing:
    """The bounded pool the password checks run in."""

    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="argon2"))
    limit: int = HASH_QUEUE
    waiting: int = 0


HASHING = web.AppKey("hashing", Hashing)


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str
    retry_after_s: int = 0


async def _check_password(request: web.Request, name: str, password: str) -> Refusal | None:
    """None when the password is right, else why not; every outcome goes to the audit trail."""
    review = review_of(request)
    client = client_ip(request)
    name = name[:65]  # no account name is longer than 64; the brake's keys and the trail stay small
    wait = review.brake.begin(client, name)
    refusal: Refusal | None = None
    if wait > 0:
        seconds = math.ceil(wait)
        message = t("Too many failed attempts; try again in {seconds} s.", seconds=seconds)
        refusal = Refusal(429, "slow_down", message, seconds)
    elif not name or not password:
        refusal = Refusal(401, "not_signed_in", t("Wrong account or password."))
    else:
        hashing = request.app[HASHING]
        if hashing.waiting >= hashing.limit:
            refusal = Refusal(503, "busy", t("Sign-in is busy; try again in a moment."), 1)
        else:
            hashing.waiting += 1
            try:
                loop = asyncio.get_running_loop()
                right = await loop.run_in_executor(hashing.pool, review.accounts.verify, name, password)
            finally:
                hashing.waiting -= 1
            if not right:
                refusal = Refusal(401, "not_signed_in", t("Wrong account or password."))
    if refusal is None:
        review.brake.succeeded(client, name)
        review.audit.record("login", name, client, role=str(review.accounts.role(name)), via=_via(request))
    else:
        review.audit.record("login_failed", name, client, reason=refusal.code, via=_via(request))
    return refusal


def _via(request: web.Request) -> str:
    return "api" if is_api(request) else "page"


def _retry(refusal: Refusal) -> dict[str, str]:
    return {"Retry-After": str(refusal.retry_after_s)} if refusal.retry_after_s else {}


async def login_form(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = html(render.login_page(token))
    set_cookie(request, response, LOGIN_COOKIE, token, "/login")
    return response


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name, password = str(form.get("username", "")), str(form.get("password", ""))
    login_token = request.cookies.get(LOGIN_COOKIE, "")
    if not login_token or not same_token(str(form.get("csrf", "")), login_token):
        return html(
            render.login_page(login_token or secrets.token_urlsafe(24), t("Reload the page and try again.")), 403
        )
    refusal = await _check_password(request, name, password)
    if refusal:
        response = html(render.login_page(login_token, refusal.message, name), refusal.status)
        response.headers.update(_retry(refusal))
        return response
    session = review_of(request).sessions.create(name)
    role = review_of(request).accounts.role(name)
    response = redirect(home(role) if role else "/")
    set_cookie(request, response, COOKIE, session.token, "/", max_age=review_of(request).sessions.ttl_s)
    response.del_cookie(LOGIN_COOKIE, path="/login")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    session = request[SESSION]
    review = review_of(request)
    review.sessions.end(session.token)
    review.audit.record("logout", session.user, client_ip(request), role=request[ROLE].value)
    if is_api(request):
        return web.json_response({"signed_out": True})
    response = redirect("/login")
    response.del_cookie(COOKIE, path="/")
    return response


async def api_login(request: web.Request) -> web.StreamResponse:
    try:
        body = await request.json()
        name, password = str(body["username"]), str(body["password"])
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "bad_request", "message": "JSON {username, password}"}, status=400)
    refusal = await _check_password(request, name, password)
    if refusal:
        body = {"error": refusal.code, "message": refusal.message}
        return web.json_response(body, status=refusal.status, headers=_retry(refusal))
    session = review_of(request).sessions.create(name)
    role = review_of(request).accounts.role(name)
    return web.json_response(
        {"token": session.token, "expires_at": session.expires_at.isoformat(), "user": name, "role": str(role)}
    )
